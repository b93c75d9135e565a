/** What the benchmark's sections share: paths, options, the stand-ins' clients, processes and small statistics. */
import { fork } from 'node:child_process';
import { readFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { performance } from 'node:perf_hooks';
import type { ProbeResult } from './probe';
import { DEFAULTS } from '../src/shared/contract';

// The benchmark runs bundled, from bench/tmp/.
export const ROOT = path.resolve(__dirname, '..', '..');
export const TMP = path.join(ROOT, 'bench', 'tmp');
export const ASSETS = path.join(ROOT, 'assets', 'handlers');
/** A shipped bundle (BENCH_BUNDLE_DIR: the same layout elsewhere, e.g. the profiled builds in bench/tmp/profile). */
export const bundlePath = (bundle: string): string => path.join(process.env.BENCH_BUNDLE_DIR ?? ASSETS, `${bundle}.lambda`, 'index.js');

// NODE_NO_WARNINGS: the SDK's notice that it will need Node 22 from 2027 would fill the output.
export const CREDS = { AWS_REGION: 'us-east-1', AWS_ACCESS_KEY_ID: 'bench', AWS_SECRET_ACCESS_KEY: 'bench', NODE_NO_WARNINGS: '1' };
export const CONNECTIONS = 'bench-connections';
export const LARGE = 'bench-large';
export const MESSAGES = 'bench-messages';
export const SECRET = 'bench-secret-that-is-at-least-32-bytes-long';

/** Options: command-line flags first, then environment variables, then defaults. */
export interface Options {
  readonly quick: boolean;
  /** Sections to run (all when empty); a partial or quick run writes under bench/tmp only. */
  readonly only: readonly string[];
  readonly latencyMs: number;
  /** `maxFanoutWorkers` values of the sharded section. */
  readonly workers: readonly number[];
  /** The `@connections` stand-in's token bucket: requests a second, and the burst banked. */
  readonly bucket: number;
  readonly burst: number;
  /** `fanoutRateBudget` of the sharded broadcasts. */
  readonly rateBudget: number;
  /** A bucket this machine can fill (the scaled runs of the sharded section); 0 = none. */
  readonly scaledBucket: number;
  /** Room sizes of the sharded section. */
  readonly largeRooms: readonly number[];
}

export function readOptions(argv: readonly string[], env: NodeJS.ProcessEnv): Options {
  const flags = new Map<string, string>();
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (!arg.startsWith('--')) continue;
    const [name, inline] = arg.slice(2).split('=', 2);
    const value = inline ?? (argv[i + 1] && !argv[i + 1].startsWith('--') ? argv[++i] : 'true');
    flags.set(name, value);
  }
  const get = (flag: string, variable: string): string | undefined => flags.get(flag) ?? env[variable];
  const num = (flag: string, variable: string, fallback: number): number => {
    const raw = get(flag, variable);
    const value = raw === undefined ? fallback : Number(raw);
    if (!Number.isFinite(value) || value < 0) throw new Error(`--${flag} (${variable}) must be a number >= 0, got ${raw}`);
    return value;
  };
  const list = (flag: string, variable: string, fallback: number[]): number[] => {
    const raw = get(flag, variable);
    if (raw === undefined) return fallback;
    const values = raw.split(',').map(Number);
    if (values.some((v) => !Number.isInteger(v) || v < 1)) throw new Error(`--${flag} (${variable}) must list positive integers, got ${raw}`);
    return values;
  };
  const quick = get('quick', 'BENCH_QUICK') === '1' || get('quick', 'BENCH_QUICK') === 'true';
  const bucket = num('bucket', 'BENCH_BUCKET', 10_000);
  const cores = os.cpus().length;
  return {
    quick,
    only: (get('only', 'BENCH_ONLY') ?? '').split(',').map((s) => s.trim()).filter(Boolean),
    latencyMs: num('latency', 'BENCH_LATENCY_MS', 20),
    workers: list('workers', 'BENCH_WORKERS', quick ? [Math.max(2, cores)] : [...new Set([Math.max(2, cores), DEFAULTS.maxFanoutWorkers])]),
    bucket,
    burst: num('burst', 'BENCH_BURST', bucket / 2),
    rateBudget: num('rate-budget', 'BENCH_RATE_BUDGET', DEFAULTS.fanoutRateBudget),
    scaledBucket: num('scaled-bucket', 'BENCH_SCALED_BUCKET', quick ? 0 : 3000),
    largeRooms: list('rooms', 'BENCH_LARGE_ROOMS', quick ? [20_000] : [20_000, 100_000]),
  };
}

export const epochMs = (): number => performance.timeOrigin + performance.now();

export const median = (xs: readonly number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length === 0 ? NaN : s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};

/** The p-th percentile (nearest rank). */
export const percentile = (xs: readonly number[], p: number): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length === 0 ? NaN : s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))];
};

export const round = (x: number, digits = 3): number => Number(x.toFixed(digits));

export const log = (line: string): void => {
  process.stderr.write(`${line}\n`);
};

/** CPU time (user + system) of a process so far, ms; from /proc (Linux), 10 ms resolution. */
const TICK_MS = 10;
export function cpuMsOf(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // utime and stime are fields 14 and 15 of the line (11 and 12 after the command name).
    return (Number(fields[11]) + Number(fields[12])) * TICK_MS;
  } catch {
    return NaN;
  }
}

/** The machine's CPU time in use by anyone (busy jiffies of /proc/stat), ms, summed over cores. */
export function machineBusyMs(): number {
  try {
    const cpu = readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1).map(Number);
    // user nice system idle iowait irq softirq steal
    return (cpu[0] + cpu[1] + cpu[2] + cpu[5] + cpu[6] + cpu[7]) * TICK_MS;
  } catch {
    return NaN;
  }
}

/** Runs ./probe.js in a fresh process with the given environment. */
export function runProbe(env: Record<string, string>, execArgv: string[] = []): Promise<ProbeResult> {
  // BENCH_PROFILE_PROBES=dir: a CPU profile of every probe, for a closer look.
  if (process.env.BENCH_PROFILE_PROBES) execArgv = [...execArgv, '--cpu-prof', `--cpu-prof-dir=${process.env.BENCH_PROFILE_PROBES}`];
  return new Promise((resolve, reject) => {
    const child = fork(path.join(TMP, 'probe.js'), [], { env: { ...process.env, ...CREDS, ...env }, execArgv, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    let result: ProbeResult | undefined;
    child.on('message', (m: ProbeResult) => (result = m));
    child.on('exit', (code) => (code === 0 && result ? resolve(result) : reject(new Error(`probe (${env.BENCH_MODE} ${env.BENCH_ROOM ?? ''}) exited ${code}`))));
  });
}

/** The `@connections` stand-in (./connections-server.ts). */
export interface StandIn {
  readonly url: string;
  readonly pid: number;
  reset(options?: { track?: boolean; keepBody?: boolean; bucketRate?: number; bucketBurst?: number }): Promise<void>;
  stats(): Promise<StandInStats>;
  close(): void;
}

export interface StandInStats {
  posts: number;
  throttled: number;
  maxInFlight: number;
  bytes: number;
  firstAt: number;
  lastAt: number;
  distinct: number;
  duplicates: number;
  peakPerSecond: number;
  cpuMs: number;
  lastBody?: string;
}

export async function startStandIn(latencyMs: number): Promise<StandIn> {
  const child = fork(path.join(TMP, 'connections-server.js'), [], { env: { ...process.env, LATENCY_MS: String(latencyMs) } });
  const port = await new Promise<number>((resolve, reject) => {
    child.once('message', (m: { port: number }) => resolve(m.port));
    child.once('exit', (code) => reject(new Error(`connections stand-in exited ${code}`)));
  });
  const url = `http://127.0.0.1:${port}`;
  return {
    url,
    pid: child.pid!,
    reset: async (options = {}) => {
      await fetch(`${url}/reset`, { method: 'POST', body: JSON.stringify({ bucketRate: 0, ...options }) });
    },
    stats: async () => (await fetch(`${url}/stats`)).json() as Promise<StandInStats>,
    close: () => child.kill(),
  };
}
