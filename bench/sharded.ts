/**
 * Large rooms: a broadcast that hands the rest of the room to fan-out workers past `shardThreshold`, against the same
 * room from one invocation (sharding off). The broadcast (`sendMessage`) and each worker (`fanout-worker`) run as
 * the shipped bundles in their own processes, one invocation per process at a time (./invoke-api.ts): the broadcast
 * starts its workers through Lambda's Invoke API (`AWS_ENDPOINT_URL_LAMBDA`), as it does in AWS. The `@connections`
 * stand-in answers after the latency and enforces the token bucket (429 above it, counted).
 *
 * Every run checks that each connection of the room got the frame exactly once. CPU time is read per process, so a
 * run says where the machine's cores went: the handlers (broadcast and workers), the stand-in, dynalite, the rest.
 */
import * as os from 'node:os';
import { cpuMsOf, bundlePath, CREDS, epochMs, LARGE, log, machineBusyMs, round, type StandIn } from './common';
import type { FunctionDef, InvocationRecord, LambdaPool } from './invoke-api';
import { DEFAULTS, ENV, SHARDS } from '../src/shared/contract';
import { TIMEOUT_SECONDS } from '../src/shared/spec';

export const largeRoom = (size: number): { room: string; sender: string } => ({ room: `large-${size}`, sender: `L${size}-0` });
export const WARM_ROOM = 'warm-room';
export const WARM_CONNECTION = 'warm-0';

/** Lambda's CPU share: one vCPU at 1,769 MiB, in proportion below it. */
export const lambdaVcpu = (memoryMiB: number): number => Math.min(memoryMiB, 1769) / 1769;

export interface CpuSplit {
  /** CPU ms of each part during the run. */
  broadcast: number;
  workers: number;
  stand_in: number;
  dynalite: number;
  bench: number;
  /** Everything else on the machine (other users of its cores). */
  other: number;
  /** Cores busy on average: all of the above over the run's wall time. */
  cores_busy: number;
}

export interface ShardedRow {
  connections: number;
  /** `maxFanoutWorkers` of the run, and the workers the broadcast started. */
  workers: number;
  workers_started: number;
  shard_threshold: number;
  /** Items the broadcast read itself, and how many of them it posted to (the workers took the rest of the room). */
  broadcast_items_read: number;
  broadcast_recipients: number;
  /** From the invoke: the first worker started, the broadcast ended, the last worker ended (ms). */
  timeline: RunResult['timeline'];
  rate_budget: number;
  bucket: number;
  burst: number;
  /** From the invoke to the last post's arrival at the stand-in. */
  seconds: number;
  /** Connections that got the frame (all of them unless the broadcast was cut by its deadline). */
  delivered: number;
  broadcast_truncated: boolean;
  posts_per_second: number;
  percent_of_bucket: number;
  /** The same room from one invocation (sharding off), under the same bucket. */
  single_invocation_seconds: number | null;
  single_invocation_posts_per_second: number | null;
  throttled_429: number;
  /** Post retries (429s and time-outs) by all participants, and frames delivered twice (a time-out whose post got through). */
  retries: number;
  duplicates: number;
  /** Worker invocations that failed (a DynamoDB time-out under load) and were retried, as Lambda retries them. */
  retried_workers: number;
  cold_workers: boolean;
  /** CPU of the handlers (broadcast + workers) per post delivered. */
  cpu_ms_per_post: number;
  cpu: CpuSplit;
  cpus: number;
  /** What Lambda would reach at the fan-out memory size, from the CPU per post measured here (a model). */
  lambda_model_posts_per_second: number;
  lambda_model_seconds: number;
}

export interface SingleRow {
  connections: number;
  seconds: number;
  posts_per_second: number;
  delivered: number;
  /** The 29 s deadline came first. */
  truncated: boolean;
  cpu_ms_per_post: number;
  cpu: CpuSplit;
}

export interface ShardedPlan {
  readonly rooms: readonly number[];
  readonly workers: readonly number[];
  readonly threshold: number;
  readonly rateBudget: number;
  readonly bucket: number;
  readonly burst: number;
  readonly latencyMs: number;
  /** A room (its size) every configuration first broadcasts to, untimed; 0 = none. */
  readonly warmRoom: number;
  /** Measured runs per configuration (a room of more than 50,000: one). */
  readonly reps: number;
  /** A first run with fresh worker processes (cold starts included). */
  readonly coldRun: boolean;
  /** Node flags of the worker processes (a profile). */
  readonly workerExecArgv?: readonly string[];
  readonly workerBundle?: string;
}

export interface Services {
  readonly pool: LambdaPool;
  readonly standIn: StandIn;
  readonly dynamoEndpoint: string;
  readonly dynamoPid: number;
}

function sendMessageEvent(room: string, sender: string, n: string): unknown {
  const now = Date.now();
  return {
    requestContext: {
      routeKey: 'sendMessage',
      eventType: 'MESSAGE',
      connectionId: sender,
      messageId: `m-${n}`,
      apiId: 'bench',
      stage: 'bench',
      domainName: '127.0.0.1',
      requestId: `r-${n}`,
      requestTimeEpoch: now,
      connectedAt: now,
      messageDirection: 'IN',
      identity: { sourceIp: '127.0.0.1' },
      authorizer: { principalId: 'bench-user', userId: 'bench-user', roomId: room },
    },
    body: JSON.stringify({ action: 'sendMessage', room_id: room, message: 'x'.repeat(100) }),
    isBase64Encoded: false,
  };
}

interface BroadcastSettings {
  readonly sharded: boolean;
  readonly threshold: number;
  readonly maxWorkers: number;
  readonly rateBudget: number;
}

function functions(services: Services, settings: BroadcastSettings, plan: ShardedPlan): { broadcast: FunctionDef; worker: FunctionDef } {
  const common = {
    ...CREDS,
    [ENV.connectionsTable]: LARGE,
    [ENV.managementEndpoint]: `${services.standIn.url}/bench`,
    [ENV.metricsNamespace]: 'Bench',
    AWS_ENDPOINT_URL_DYNAMODB: services.dynamoEndpoint,
    AWS_ENDPOINT_URL_LAMBDA: services.pool.url,
  };
  return {
    broadcast: {
      name: 'send-message',
      bundle: bundlePath('send-message'),
      env: {
        ...common,
        ...(settings.sharded ? { [ENV.fanoutWorkerFunction]: 'fanout-worker' } : {}),
        [ENV.shardThreshold]: String(settings.threshold),
        [ENV.maxFanoutWorkers]: String(settings.maxWorkers),
        [ENV.fanoutRateBudget]: String(settings.rateBudget),
      },
      timeoutMs: TIMEOUT_SECONDS.fanout * 1000,
      maxConcurrency: 1,
    },
    worker: {
      name: 'fanout-worker',
      bundle: plan.workerBundle ?? bundlePath('fanout-worker'),
      env: common,
      timeoutMs: TIMEOUT_SECONDS.worker * 1000,
      execArgv: plan.workerExecArgv,
    },
  };
}

/**
 * Warm environments: `count` workers and the broadcast, each having handled one small event (clients, sockets), then
 * one untimed broadcast to the warm-up room through all of them (compiled code, as in environments Lambda reuses).
 */
async function warm(services: Services, workers: number, warmRoom: number): Promise<void> {
  const { pool } = services;
  await pool.prewarm('send-message', 1);
  const event = (i: number) => ({
    broadcast_id: `warm-${i}-${Date.now()}`,
    room_id: WARM_ROOM,
    shard_from: 0,
    shard_to: SHARDS - 1,
    frame: '{"action":"message","message":"warm"}',
    rate: 1000,
    now_seconds: Math.floor(Date.now() / 1000),
  });
  if (workers > 0) {
    await pool.prewarm('fanout-worker', workers);
    await Promise.all(Array.from({ length: workers }, (_, i) => pool.invoke('fanout-worker', event(i))));
  }
  await pool.invoke('send-message', sendMessageEvent(WARM_ROOM, WARM_CONNECTION, `warm-${Date.now()}`));
  pool.takeRecords();
  if (warmRoom > 0) await broadcastOnce(services, warmRoom, { rate: 0, burst: 0 }, `warm-${warmRoom}-${Date.now()}`);
}

interface RunResult {
  seconds: number;
  /** Connections that got the frame, and how many of them got it twice (a retry after a time-out). */
  delivered: number;
  duplicates: number;
  /** Worker invocations that failed and were retried (as Lambda retries an asynchronous invocation). */
  retriedWorkers: number;
  throttled: number;
  retries: number;
  truncated: boolean;
  workersStarted: number;
  /** Items the broadcast itself read and posted to (the rest went to workers). */
  broadcastItemsRead: number;
  broadcastRecipients: number;
  /** From the invoke: the first worker started, the broadcast ended, the last worker ended (ms). */
  timeline: { first_worker_ms: number | null; broadcast_end_ms: number; last_worker_end_ms: number | null };
  handlerCpuMs: number;
  cpu: CpuSplit;
}

/** One broadcast to the room; resolves once it and all its workers have ended. */
async function broadcastOnce(services: Services, connections: number, bucket: { rate: number; burst: number }, label: string): Promise<RunResult> {
  const { pool, standIn } = services;
  const { room, sender } = largeRoom(connections);
  await standIn.reset({ track: true, bucketRate: bucket.rate, bucketBurst: bucket.burst });
  // Processes started during the run (cold environments) count from zero.
  const cpuOf = (name: string, since: Map<number, number>): number => pool.pids(name).reduce((sum, p) => sum + cpuMsOf(p) - (since.get(p) ?? 0), 0);
  const snapshot = (name: string): Map<number, number> => new Map(pool.pids(name).map((p) => [p, cpuMsOf(p)]));
  const before = {
    worker: snapshot('fanout-worker'),
    broadcast: snapshot('send-message'),
    standIn: cpuMsOf(standIn.pid),
    dynalite: cpuMsOf(services.dynamoPid),
    bench: process.cpuUsage(),
    machine: machineBusyMs(),
  };
  const t0 = epochMs();
  const record = await pool.invoke('send-message', sendMessageEvent(room, sender, label));
  await pool.settled();
  const t1 = epochMs();
  const stats = await standIn.stats();
  const benchCpu = process.cpuUsage(before.bench);
  const records = pool.takeRecords();
  // Lambda retries a failed worker (twice); its progress marks let the retry skip the shards it finished.
  const failed = records.filter((r) => !r.ok);
  const workerRecords = records.filter((r) => r.functionName === 'fanout-worker' && r.ok);
  const retriedWorkers = failed.filter((r) => r.functionName === 'fanout-worker').length;
  if (!record.ok || failed.length > retriedWorkers) {
    throw new Error(`${label}: ${failed.map((r) => `${r.functionName}: ${r.error?.errorMessage}`).join('; ')}`);
  }
  if (retriedWorkers > 0) log(`    ${label}: ${retriedWorkers} worker invocation(s) failed and were retried: ${failed.map((r) => r.error?.errorMessage).join('; ')}`);
  const line = logLine(record);
  const workerLines = workerRecords.map(logLine);
  if (process.env.BENCH_DEBUG) {
    for (const [i, w] of workerRecords.entries()) {
      const l = workerLines[i];
      log(`    worker ${l.shards}: start ${Math.round(w.startedAt - t0)} ms, end ${Math.round(w.endedAt - t0)} ms, ${l.delivered} delivered, `
        + `${l.pages} pages, ${Math.round(w.cpuMs)} ms CPU, rate ${JSON.stringify(l.rate ?? '')}`);
    }
  }
  const truncated = line.truncated === true;
  const sum = (key: string): number => [line, ...workerLines].reduce((s, l) => s + (Number(l[key]) || 0), 0);
  const retries = sum('retries');
  // (A retried worker re-posts what it posted in the shard it did not finish: at least once.)
  const explained = stats.duplicates <= retries || retriedWorkers > 0;
  if (!truncated && (stats.distinct !== connections || !explained || stats.posts !== connections + stats.duplicates)) {
    // Delivery is at least once: a post whose answer did not come within the post time-out is retried, and may have
    // been delivered (counted in `duplicates`). More duplicates than retries would be a bug.
    throw new Error(`${label}: ${stats.posts} posts to ${stats.distinct} of ${connections} connections (${stats.duplicates} more than once); `
      + `${sum('retries')} retries, ${sum('failed')} failed, ${sum('throttled')} throttled; logs: ${[line, ...workerLines].map((l) => JSON.stringify(l)).join('\n')}`);
  }
  const wall = t1 - t0;
  const split = {
    broadcast: cpuOf('send-message', before.broadcast),
    workers: cpuOf('fanout-worker', before.worker),
    stand_in: cpuMsOf(standIn.pid) - before.standIn,
    dynalite: cpuMsOf(services.dynamoPid) - before.dynalite,
    bench: (benchCpu.user + benchCpu.system) / 1000,
  };
  const ours = split.broadcast + split.workers + split.stand_in + split.dynalite + split.bench;
  const machine = machineBusyMs() - before.machine;
  const cpu: CpuSplit = { ...mapValues(split, Math.round), other: Math.max(0, Math.round(machine - ours)), cores_busy: round(machine / wall, 2) };
  const seconds = (stats.lastAt - t0) / 1000;
  const handlerCpuMs = record.cpuMs + workerRecords.reduce((total, r) => total + r.cpuMs, 0);
  return {
    seconds,
    delivered: stats.distinct,
    duplicates: stats.duplicates,
    retriedWorkers,
    throttled: stats.throttled,
    retries,
    truncated,
    workersStarted: Number(line.workers) || 0,
    broadcastItemsRead: Number(line.itemsRead) || 0,
    broadcastRecipients: Number(line.recipients) || 0,
    timeline: {
      first_worker_ms: workerRecords.length ? Math.round(Math.min(...workerRecords.map((w) => w.startedAt)) - t0) : null,
      broadcast_end_ms: Math.round(record.endedAt - t0),
      last_worker_end_ms: workerRecords.length ? Math.round(Math.max(...workerRecords.map((w) => w.endedAt)) - t0) : null,
    },
    handlerCpuMs,
    cpu,
  };
}

function logLine(record: InvocationRecord): Record<string, unknown> {
  for (const text of record.logs) {
    try {
      const parsed = JSON.parse(text) as Record<string, unknown>;
      if (parsed.event === 'sendMessage' || parsed.event === 'fanoutWorker') return parsed;
    } catch {
      // not a JSON line
    }
  }
  return {};
}

function mapValues<T extends Record<string, number>>(o: T, f: (x: number) => number): T {
  return Object.fromEntries(Object.entries(o).map(([k, v]) => [k, f(v)])) as T;
}

function medianRun(runs: RunResult[]): RunResult {
  return [...runs].sort((a, b) => a.seconds - b.seconds)[Math.floor((runs.length - 1) / 2)];
}

/** The room from one invocation: sharding off, everything else alike. */
export async function singleInvocation(services: Services, plan: ShardedPlan, connections: number): Promise<SingleRow> {
  const { broadcast, worker } = functions(services, { sharded: false, threshold: plan.threshold, maxWorkers: 1, rateBudget: plan.rateBudget }, plan);
  services.pool.define(broadcast);
  services.pool.define(worker);
  await warm(services, 0, plan.warmRoom);
  const runs: RunResult[] = [];
  for (let i = 0; i < (connections > 50_000 ? 1 : plan.reps); i++) {
    runs.push(await broadcastOnce(services, connections, { rate: plan.bucket, burst: plan.burst }, `single-${connections}-${i}`));
  }
  const r = medianRun(runs);
  const row: SingleRow = {
    connections,
    seconds: round(r.seconds),
    posts_per_second: Math.round(r.delivered / r.seconds),
    delivered: r.delivered,
    truncated: r.truncated,
    cpu_ms_per_post: round(r.handlerCpuMs / Math.max(1, r.delivered), 3),
    cpu: r.cpu,
  };
  log(`  single invocation ${connections}: ${row.seconds} s, ${row.posts_per_second} posts/s${r.truncated ? ` (deadline: ${r.delivered} delivered)` : ''}, ${row.cpu_ms_per_post} ms CPU/post, cores busy ${r.cpu.cores_busy}`);
  return row;
}

/** Sharded broadcasts of one room, for each `maxFanoutWorkers` of the plan. */
export async function shardedRuns(
  services: Services, plan: ShardedPlan, connections: number, single: SingleRow | undefined, memoryMiB: number,
): Promise<ShardedRow[]> {
  const rows: ShardedRow[] = [];
  for (const maxWorkers of plan.workers) {
    const { broadcast, worker } = functions(services, { sharded: true, threshold: plan.threshold, maxWorkers, rateBudget: plan.rateBudget }, plan);
    services.pool.define(broadcast);
    services.pool.define(worker);
    const runs: Array<{ run: RunResult; cold: boolean }> = [];
    if (plan.coldRun) {
      // Fresh processes for the broadcast and every worker: cold starts included, as after a quiet spell in Lambda.
      runs.push({ run: await broadcastOnce(services, connections, { rate: plan.bucket, burst: plan.burst }, `cold-${connections}-${maxWorkers}`), cold: true });
    }
    await warm(services, maxWorkers, plan.warmRoom);
    const warmRuns: RunResult[] = [];
    for (let i = 0; i < (connections > 50_000 ? 1 : plan.reps); i++) {
      warmRuns.push(await broadcastOnce(services, connections, { rate: plan.bucket, burst: plan.burst }, `sharded-${connections}-${maxWorkers}-${i}`));
    }
    runs.push({ run: medianRun(warmRuns), cold: false });
    for (const { run, cold } of runs) {
      const cpuPerPost = run.handlerCpuMs / Math.max(1, run.delivered);
      // Lambda: each environment posts at most as fast as its CPU share allows, and at most `concurrency / latency`.
      const envCap = Math.min((lambdaVcpu(memoryMiB) * 1000) / cpuPerPost, (DEFAULTS.fanoutConcurrency * 1000) / plan.latencyMs);
      const modelRate = Math.min(plan.rateBudget, plan.bucket, (run.workersStarted + 1) * envCap);
      const row: ShardedRow = {
        connections,
        workers: maxWorkers,
        workers_started: run.workersStarted,
        shard_threshold: plan.threshold,
        broadcast_items_read: run.broadcastItemsRead,
        broadcast_recipients: run.broadcastRecipients,
        timeline: run.timeline,
        rate_budget: plan.rateBudget,
        bucket: plan.bucket,
        burst: plan.burst,
        seconds: round(run.seconds),
        delivered: run.delivered,
        broadcast_truncated: run.truncated,
        posts_per_second: Math.round(run.delivered / run.seconds),
        percent_of_bucket: round((100 * run.delivered) / run.seconds / plan.bucket, 1),
        single_invocation_seconds: single ? single.seconds : null,
        single_invocation_posts_per_second: single ? single.posts_per_second : null,
        throttled_429: run.throttled,
        retries: run.retries,
        duplicates: run.duplicates,
        retried_workers: run.retriedWorkers,
        cold_workers: cold,
        cpu_ms_per_post: round(cpuPerPost, 3),
        cpu: run.cpu,
        cpus: os.cpus().length,
        lambda_model_posts_per_second: Math.round(modelRate),
        lambda_model_seconds: round(connections / modelRate, 1),
      };
      log(`  sharded ${connections} (≤${maxWorkers} workers, ${run.workersStarted} started${cold ? ', cold' : ''}${run.truncated ? `, CUT BY ITS DEADLINE: ${run.delivered} delivered` : ''}): `
        + `${row.seconds} s, ${row.posts_per_second} posts/s `
        + `(${row.percent_of_bucket} % of ${plan.bucket}/s), broadcast read ${row.broadcast_items_read} for ${row.broadcast_recipients}, 429s ${row.throttled_429}, ${row.cpu_ms_per_post} ms CPU/post, cores busy ${run.cpu.cores_busy} `
        + `[broadcast ${run.cpu.broadcast} workers ${run.cpu.workers} stand-in ${run.cpu.stand_in} dynalite ${run.cpu.dynalite} other ${run.cpu.other}] `
        + `timeline ${JSON.stringify(run.timeline)}`);
      rows.push(row);
    }
  }
  return rows;
}
