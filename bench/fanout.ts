/**
 * Fan-out from one invocation (sharding off): ours against the published approaches, and the concurrency sweep
 * that picks `fanoutConcurrency`. Each measurement runs in a fresh process (./probe.ts).
 */
import { bundlePath, CONNECTIONS, log, median, round, runProbe, type StandIn } from './common';
import type { ProbeResult } from './probe';
import { DEFAULTS, ENV } from '../src/shared/contract';

export interface FanoutRow {
  connections: number;
  latency_ms: number;
  concurrency: number;
  seconds: number;
  posts_per_second: number;
  sequential_seconds: number | null;
  scan_unbounded_seconds: number;
  items_read: number;
  scan_items_read: number;
  peak_rss_mb: number;
  cpu_ms_per_post: number;
  /** The same for scan_unbounded, which posts through the AWS SDK client. */
  scan_unbounded_cpu_ms_per_post: number;
}

export interface FanoutPlan {
  readonly rooms: readonly number[];
  /** Concurrencies swept, by room size. */
  readonly sweep: Readonly<Record<number, readonly number[]>>;
  readonly sequentialMax: number;
  readonly latencyMs: number;
}

/** The room of `size` connections and a member of it (the sender). */
export const fanoutRoom = (size: number): { room: string; sender: string } => ({ room: `room-${size}`, sender: `c-${size}-0` });

const secondsOf = (r: ProbeResult): number[] => r.reps.map((rep) => rep.seconds);

export async function fanoutBench(plan: FanoutPlan, dynamoEndpoint: string, standIn: StandIn): Promise<{ rows: FanoutRow[]; sweep: FanoutRow[] }> {
  const base = {
    [ENV.connectionsTable]: CONNECTIONS,
    [ENV.managementEndpoint]: `${standIn.url}/bench`,
    [ENV.metricsNamespace]: 'Bench',
    AWS_ENDPOINT_URL_DYNAMODB: dynamoEndpoint,
    BENCH_BUNDLE: bundlePath('send-message'),
  };
  const ours = async (connections: number, concurrency: number): Promise<ProbeResult> => {
    await standIn.reset();
    const { room, sender } = fanoutRoom(connections);
    const r = await runProbe({ ...base, BENCH_MODE: 'ours', BENCH_ROOM: room, BENCH_SENDER: sender, [ENV.fanoutConcurrency]: String(concurrency), BENCH_REPS: '3' });
    const s = await standIn.stats();
    if (r.delivered !== connections || s.posts !== connections * 4) {
      throw new Error(`ours at ${connections}/${concurrency}: delivered ${r.delivered}, the stand-in saw ${s.posts} posts over 4 runs`);
    }
    if (s.maxInFlight > concurrency) throw new Error(`concurrency ${concurrency} exceeded: ${s.maxInFlight} in flight`);
    log(`  ours        ${connections} @ ${concurrency}: ${median(secondsOf(r)).toFixed(3)} s, ${round(r.cpuMsPerPost)} ms CPU/post (max in flight ${s.maxInFlight})`);
    return r;
  };
  const baseline = async (mode: 'sequential' | 'scan_unbounded', connections: number): Promise<ProbeResult> => {
    const sequential = mode === 'sequential';
    const r = await runProbe({ ...base, BENCH_MODE: mode, BENCH_ROOM: fanoutRoom(connections).room, BENCH_REPS: sequential ? '1' : '3', BENCH_WARMUP: sequential ? '0' : '1' });
    if (r.delivered !== connections) throw new Error(`${mode} at ${connections}: delivered ${r.delivered}`);
    log(`  ${mode.padEnd(11)} ${connections}: ${median(secondsOf(r)).toFixed(3)} s, ${r.itemsRead} items read`);
    return r;
  };
  const row = (connections: number, concurrency: number, r: ProbeResult, seq: ProbeResult | undefined, scan: ProbeResult): FanoutRow => ({
    connections,
    latency_ms: plan.latencyMs,
    concurrency,
    seconds: round(median(secondsOf(r))),
    posts_per_second: Math.round(connections / median(secondsOf(r))),
    sequential_seconds: seq ? round(median(secondsOf(seq))) : null,
    scan_unbounded_seconds: round(median(secondsOf(scan))),
    items_read: r.itemsRead ?? 0,
    scan_items_read: scan.itemsRead ?? 0,
    peak_rss_mb: round(r.peakRssMb, 1),
    cpu_ms_per_post: round(r.cpuMsPerPost, 3),
    scan_unbounded_cpu_ms_per_post: round(scan.cpuMsPerPost, 3),
  });

  const rows: FanoutRow[] = [];
  const sweep: FanoutRow[] = [];
  for (const connections of plan.rooms) {
    log(`room of ${connections}`);
    const scan = await baseline('scan_unbounded', connections);
    const seq = connections <= plan.sequentialMax ? await baseline('sequential', connections) : undefined;
    const def = await ours(connections, DEFAULTS.fanoutConcurrency);
    rows.push(row(connections, DEFAULTS.fanoutConcurrency, def, seq, scan));
    if (plan.sweep[connections]) {
      for (const concurrency of plan.sweep[connections]) {
        const r = concurrency === DEFAULTS.fanoutConcurrency ? def : await ours(connections, concurrency);
        sweep.push(row(connections, concurrency, r, seq, scan));
      }
    }
  }
  return { rows, sweep };
}
