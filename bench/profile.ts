/**
 * Where the CPU goes: V8 CPU profiles (`--cpu-prof`) of a broadcast from one invocation (a room of 5,000) and of
 * the fan-out workers of a sharded broadcast, summed by category. The profiled bundles are built from the same entry
 * points with the same esbuild options as the shipped ones, plus a source map: the code is the same, and each sample
 * maps back to its source file (our SigV4 signer, the `@connections` client, the fan-out loop, the AWS SDK's
 * DynamoDB client, Node's HTTP stack…).
 */
import { readdirSync, readFileSync, rmSync } from 'node:fs';
import { SourceMap } from 'node:module';
import * as path from 'node:path';
import { build } from 'esbuild';
import { CONNECTIONS, log, ROOT, round, runProbe, TMP, type Options } from './common';
import { fanoutRoom } from './fanout';
import { shardedRuns, type Services } from './sharded';
import { DEFAULTS, ENV } from '../src/shared/contract';

export interface ProfileRow {
  /** What was profiled. */
  what: string;
  category: string;
  /** Share of the profile's CPU time (idle time left out), %. */
  percent: number;
  ms: number;
}

interface CallFrame { functionName: string; url: string; lineNumber: number; columnNumber: number }
interface ProfileNode { id: number; callFrame: CallFrame; children?: number[] }
interface CpuProfile { nodes: ProfileNode[]; samples: number[]; timeDeltas: number[] }

const IDLE = 'idle';
const PROFILE_DIR = path.join(TMP, 'profile');
const twin = (bundle: string): string => path.join(PROFILE_DIR, `${bundle}.lambda`, 'index.js');

/** The shipped bundle's build (the projen `bundle:handlers/*` task's esbuild options), with a source map. */
async function buildTwin(bundle: string): Promise<void> {
  await build({
    entryPoints: [path.join(ROOT, 'src', 'handlers', `${bundle}.lambda.ts`)],
    bundle: true,
    platform: 'node',
    target: 'node24',
    minify: true,
    mainFields: ['module', 'main'],
    alias: { '@aws-sdk/credential-provider-node': path.join(ROOT, 'src', 'handlers', 'runtime', 'env-credentials.ts') },
    tsconfig: path.join(ROOT, 'tsconfig.dev.json'),
    sourcemap: 'external',
    logLevel: 'error',
    outfile: twin(bundle),
  });
}

const OURS: Array<[RegExp, string]> = [
  [/src\/handlers\/lib\/sigv4\.ts$/, 'SigV4 signing (ours)'],
  [/src\/handlers\/lib\/management\.ts$/, '@connections client (ours)'],
  [/src\/handlers\/lib\/(fanout|delivery|rate-limiter|retry|room-broadcast|sharding|fanout-worker)\.ts$/, 'fan-out loop and rate limiter (ours)'],
  [/src\//, 'other handler code (ours)'],
  [/node_modules\/(@aws-sdk|@smithy|@aws-crypto)\//, 'AWS SDK (DynamoDB Query, credentials)'],
];

function nodeCategory(url: string): string | undefined {
  const m = url.replace(/^node:/, '');
  if (/^(internal\/)?(crypto)/.test(m)) return 'hashing and HMAC (SigV4)';
  if (/^_http_|^http$|^https$|^internal\/http/.test(m)) return 'Node HTTP client (requests, parsing)';
  if (/^net$|^internal\/(net|stream_base_commons|streams\/|socket)|^stream$|^internal\/dns|^dns$|^tls$|^_tls/.test(m)) return 'sockets and streams';
  if (/timers/.test(m)) return 'timers';
  if (/child_process|^v8$|serdes/.test(m)) return 'benchmark harness (IPC)';
  if (/^internal\/(process\/task_queues|async_hooks)|^events$/.test(m)) return 'promises, events';
  return undefined;
}

/** Sums a profile's self time by category. */
export function summarize(profile: CpuProfile, maps: Map<string, SourceMap>): Map<string, number> {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const cache = new Map<number, string>();
  const categoryOf = (id: number): string => {
    const cached = cache.get(id);
    if (cached) return cached;
    const { functionName, url, lineNumber, columnNumber } = byId.get(id)!.callFrame;
    let category: string;
    if (functionName === '(idle)') {category = IDLE;} else if (functionName === '(garbage collector)') {category = 'garbage collection';} else if (functionName === '(program)') {category = 'V8 and native (unattributed)';} else if (url.startsWith('node:')) {category = nodeCategory(url) ?? 'Node, other';} else if (url.endsWith('probe.js') || url.endsWith('lambda-host.js')) {category = 'benchmark harness (IPC)';} else if (url === '' || url.startsWith('native ')) {
      // A native function: its caller's category, except the hashes.
      if (/digest|update|hmac|hash/i.test(functionName)) category = 'hashing and HMAC (SigV4)';
      else category = parent.has(id) ? categoryOf(parent.get(id)!) : 'V8 and native (unattributed)';
    } else {
      const map = maps.get(url.replace(/^file:\/\//, ''));
      const source = map ? (map.findEntry(lineNumber, columnNumber) as { originalSource?: string }).originalSource ?? '' : url;
      category = OURS.find(([re]) => re.test(source))?.[1] ?? (map ? 'bundle, other' : 'other');
    }
    cache.set(id, category);
    return category;
  };
  const totals = new Map<string, number>();
  for (let i = 0; i < profile.samples.length; i++) {
    const category = categoryOf(profile.samples[i]);
    totals.set(category, (totals.get(category) ?? 0) + (profile.timeDeltas[i] ?? 0) / 1000);
  }
  return totals;
}

function rowsOf(what: string, files: string[]): ProfileRow[] {
  const maps = new Map<string, SourceMap>();
  for (const bundle of ['send-message', 'fanout-worker']) {
    const file = twin(bundle);
    try {
      maps.set(file, new SourceMap(JSON.parse(readFileSync(`${file}.map`, 'utf8'))));
    } catch {
      // not built
    }
  }
  const totals = new Map<string, number>();
  for (const file of files) {
    for (const [category, ms] of summarize(JSON.parse(readFileSync(file, 'utf8')) as CpuProfile, maps)) totals.set(category, (totals.get(category) ?? 0) + ms);
  }
  // Idle time is the process waiting (for answers, for its turn on a core, between invocations): left out.
  totals.delete(IDLE);
  const all = [...totals.values()].reduce((a, b) => a + b, 0);
  return [...totals.entries()]
    .sort((a, b) => b[1] - a[1])
    .map(([category, ms]) => ({ what, category, percent: round((100 * ms) / all, 1), ms: Math.round(ms) }));
}

const profilesIn = (dir: string): string[] => readdirSync(dir).filter((f) => f.endsWith('.cpuprofile')).map((f) => path.join(dir, f));

export async function profileBench(services: Services, options: Options, quick: boolean): Promise<ProfileRow[]> {
  rmSync(PROFILE_DIR, { recursive: true, force: true });
  await buildTwin('send-message');
  await buildTwin('fanout-worker');
  const rows: ProfileRow[] = [];

  // A broadcast from one invocation, at the default concurrency.
  const size = quick ? 1000 : 5000;
  const single = path.join(PROFILE_DIR, 'single');
  const { room, sender } = fanoutRoom(size);
  await services.standIn.reset();
  await runProbe({
    [ENV.connectionsTable]: CONNECTIONS,
    [ENV.managementEndpoint]: `${services.standIn.url}/bench`,
    AWS_ENDPOINT_URL_DYNAMODB: services.dynamoEndpoint,
    BENCH_BUNDLE: twin('send-message'),
    BENCH_MODE: 'ours',
    BENCH_ROOM: room,
    BENCH_SENDER: sender,
    BENCH_REPS: '3',
  }, ['--cpu-prof', `--cpu-prof-dir=${single}`]);
  rows.push(...rowsOf(`one invocation, ${size.toLocaleString('en-US')} connections`, profilesIn(single)));

  // The workers of a sharded broadcast (the first large room, the most workers of the run).
  const workersDir = path.join(PROFILE_DIR, 'workers');
  const large = options.largeRooms[0];
  const workers = Math.max(...options.workers);
  await shardedRuns(services, {
    rooms: [large],
    workers: [workers],
    threshold: DEFAULTS.shardThreshold,
    rateBudget: options.rateBudget,
    bucket: options.bucket,
    burst: options.burst,
    latencyMs: options.latencyMs,
    reps: 1,
    warmRoom: 0,
    coldRun: false,
    workerBundle: twin('fanout-worker'),
    workerExecArgv: ['--cpu-prof', `--cpu-prof-dir=${workersDir}`],
  }, large, undefined, DEFAULTS.fanoutMemorySize);
  await services.pool.stop('fanout-worker');
  await services.pool.stop('send-message');
  rows.push(...rowsOf(`fan-out workers (${workers}), ${large.toLocaleString('en-US')} connections`, profilesIn(workersDir)));
  for (const r of rows) log(`  ${r.what}: ${r.category} ${r.percent} %`);
  return rows;
}
