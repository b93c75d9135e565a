/**
 * History: what storing a message costs (`sendMessage` with history on against off: DynamoDB requests and write
 * units per message, and the time before the fan-out starts), what a replay of 100 messages costs (`history` with
 * `after_seq` and `limit: 100`: latency, bytes, read units), and one room's sustained message rate against its
 * partition's write ceiling — a model, computed from the write units measured here, and the shipped bundle driven
 * past a scaled-down ceiling that the accounting proxy enforces, so that the SDK's own retries decide what a sender
 * sees.
 */
import { bundlePath, CONNECTIONS, cpuMsOf, log, machineBusyMs, MESSAGES, median, percentile, round, runProbe, type StandIn } from './common';
import type { AccountingProxy } from './dynamo';
import { fanoutRoom } from './fanout';
import type { ProbeResult } from './probe';
import { ENV, MESSAGES as MESSAGE_ATTRIBUTES } from '../src/shared/contract';

export const REPLAY_ROOMS = [
  { room: 'replay-100b', member: 'replay-100b-0', messageBytes: 100 },
  { room: 'replay-1kb', member: 'replay-1kb-0', messageBytes: 1000 },
];
export const RATE_ROOM = { room: 'rate-room', member: 'rate-0' };

export interface HistoryCostRow {
  history: 'off' | 'on';
  connections: number;
  /** Median from the handler's start to the first / last post's arrival at the stand-in, ms. */
  first_post_ms: number;
  last_post_ms: number;
  /** Median of the handler's own duration, ms. */
  handler_ms: number;
  /** DynamoDB requests per message, by operation, and write units per message. */
  requests_per_message: Record<string, number>;
  write_units_per_message: number;
  read_units_per_message: number;
  cpu_ms_per_message: number;
}

export interface ReplayRow {
  message_bytes: number;
  messages: number;
  has_more: boolean;
  /** Median from the handler's start to the answer's arrival at the stand-in, ms. */
  latency_ms: number;
  p90_latency_ms: number;
  answer_bytes: number;
  read_units: number;
  requests: Record<string, number>;
}

export interface PartitionRow {
  /** Write units a second the (scaled) partition ceiling allows. */
  ceiling_wcu: number;
  /** Messages a second offered to the room, as a multiple of what the ceiling sustains. */
  offered_per_second: number;
  offered_ratio: number;
  stored_per_second: number;
  unavailable: number;
  unavailable_percent: number;
  messages: number;
  /** Sender's latency (handler start to its end), ms. */
  p50_ms: number;
  p99_ms: number;
  throttled_writes: number;
  /** CPU per message: the sender's handler (its process), dynalite; and the machine's cores busy on average. */
  handler_cpu_ms_per_message: number;
  dynalite_cpu_ms_per_message: number;
  cores_busy: number;
}

export interface HistoryResults {
  cost: HistoryCostRow[];
  replay: ReplayRow[];
  partition: PartitionRow[];
  /** Write units of one message (counter + frame), measured; the partition model follows from it. */
  write_units_per_message: number;
  /** What dynalite sustains (no partition ceiling), messages a second into one room. */
  dynalite_messages_per_second: number;
}

export interface HistoryPlan {
  readonly reps: number;
  readonly replayReps: number;
  readonly openLoopSeconds: number;
  /** The scaled ceiling (write units a second) and the offered load, as multiples of what it sustains. */
  readonly ceilingWcu: number;
  readonly ratios: readonly number[];
  /** Offered rate of the unthrottled run (what dynalite sustains). */
  readonly dynaliteRate: number;
  /** Module scopes the open loop spreads its messages over (Lambda's execution environments, each its own SDK retry quota). */
  readonly environments: number;
}

function env(dynamoEndpoint: string, standIn: StandIn, history: boolean): Record<string, string> {
  return {
    [ENV.connectionsTable]: CONNECTIONS,
    ...(history ? { [ENV.messagesTable]: MESSAGES } : {}),
    [ENV.managementEndpoint]: `${standIn.url}/bench`,
    [ENV.metricsNamespace]: 'Bench',
    AWS_ENDPOINT_URL_DYNAMODB: dynamoEndpoint,
    BENCH_STANDIN: standIn.url,
  };
}

function frameEvent(action: string, body: object, connectionId: string, room: string): string {
  return JSON.stringify({
    requestContext: {
      routeKey: action,
      eventType: 'MESSAGE',
      connectionId,
      apiId: 'bench',
      stage: 'bench',
      domainName: '127.0.0.1',
      requestId: 'r{{n}}',
      requestTimeEpoch: Date.now(),
      connectedAt: Date.now(),
      messageDirection: 'IN',
      identity: { sourceIp: '127.0.0.1' },
      authorizer: { principalId: 'bench-user', userId: 'bench-user', roomId: room },
    },
    body: JSON.stringify({ action, ...body }),
    isBase64Encoded: false,
  });
}

const perMessage = (counts: Record<string, number>, n: number): Record<string, number> =>
  Object.fromEntries(Object.entries(counts).sort().map(([k, v]) => [k, round(v / n, 2)]));

export async function historyBench(
  plan: HistoryPlan, dynamo: { endpoint: string; pid: number }, proxy: AccountingProxy, standIn: StandIn,
): Promise<HistoryResults> {
  const dynamoEndpoint = dynamo.endpoint;
  const sendMessage = bundlePath('send-message');
  const { room, sender } = fanoutRoom(100);

  // 1. The cost of storing: latency direct to dynalite, then the requests and units through the accounting proxy.
  const cost: HistoryCostRow[] = [];
  const event = frameEvent('sendMessage', { room_id: room, message: 'x'.repeat(100) }, sender, room);
  // Off and on in turns (three rounds each), so that a busy spell of the machine does not land on one side only.
  const timedRuns = new Map<boolean, ProbeResult[]>([[false, []], [true, []]]);
  for (let turn = 0; turn < 3; turn++) {
    for (const history of [false, true]) {
      await standIn.reset();
      timedRuns.get(history)!.push(await runProbe({
        ...env(dynamoEndpoint, standIn, history), BENCH_MODE: 'handler', BENCH_BUNDLE: sendMessage, BENCH_EVENT: event, BENCH_REPS: String(plan.reps),
      }));
    }
  }
  for (const history of [false, true]) {
    const runs = timedRuns.get(history)!;
    const timed = { reps: runs.flatMap((r) => r.reps), cpuMs: median(runs.map((r) => r.cpuMs)) };
    proxy.reset();
    const counted = await runProbe({ ...env(proxy.endpoint, standIn, history), BENCH_MODE: 'handler', BENCH_BUNDLE: sendMessage, BENCH_EVENT: event, BENCH_REPS: '10', BENCH_WARMUP: '0' });
    const acc = proxy.read();
    const units = (ops: string[]): number => ops.reduce((sum, op) => sum + (acc.units[op] ?? 0), 0);
    const row: HistoryCostRow = {
      history: history ? 'on' : 'off',
      connections: 100,
      first_post_ms: round(median(timed.reps.map((r) => r.firstPostMs ?? NaN)), 2),
      last_post_ms: round(median(timed.reps.map((r) => r.lastPostMs ?? NaN)), 2),
      handler_ms: round(median(timed.reps.map((r) => r.seconds * 1000)), 2),
      requests_per_message: perMessage(acc.requests, counted.reps.length),
      write_units_per_message: round(units(['PutItem', 'UpdateItem', 'DeleteItem', 'BatchWriteItem']) / counted.reps.length, 2),
      read_units_per_message: round(units(['GetItem', 'Query']) / counted.reps.length, 2),
      cpu_ms_per_message: round(timed.cpuMs, 2),
    };
    log(`  history ${row.history}: first post ${row.first_post_ms} ms, last ${row.last_post_ms} ms, ${JSON.stringify(row.requests_per_message)}, ${row.write_units_per_message} WCU`);
    cost.push(row);
  }
  const writeUnits = cost[1].write_units_per_message - cost[0].write_units_per_message;

  // 2. Replays: 120 stored messages, then `history` after_seq 20 with limit 100.
  const replay: ReplayRow[] = [];
  for (const r of REPLAY_ROOMS) {
    const fill = frameEvent('sendMessage', { room_id: r.room, message: 'y'.repeat(r.messageBytes) }, r.member, r.room);
    await runProbe({ ...env(dynamoEndpoint, standIn, true), BENCH_MODE: 'handler', BENCH_BUNDLE: sendMessage, BENCH_EVENT: fill, BENCH_REPS: '120', BENCH_WARMUP: '0' });
    const ask = frameEvent('history', { room_id: r.room, after_seq: 20, limit: 100 }, r.member, r.room);
    const timed = await runProbe({ ...env(dynamoEndpoint, standIn, true), BENCH_MODE: 'handler', BENCH_BUNDLE: bundlePath('history'), BENCH_EVENT: ask, BENCH_REPS: String(plan.replayReps), BENCH_KEEP_BODY: '1' });
    proxy.reset();
    await runProbe({ ...env(proxy.endpoint, standIn, true), BENCH_MODE: 'handler', BENCH_BUNDLE: bundlePath('history'), BENCH_EVENT: ask, BENCH_REPS: '1', BENCH_WARMUP: '0' });
    const acc = proxy.read();
    const answer = JSON.parse(timed.reps[timed.reps.length - 1].lastBody ?? '{}') as { messages?: unknown[]; has_more?: boolean };
    const latencies = timed.reps.map((rep) => rep.lastPostMs ?? NaN);
    const row: ReplayRow = {
      message_bytes: r.messageBytes,
      messages: answer.messages?.length ?? 0,
      has_more: answer.has_more === true,
      latency_ms: round(median(latencies), 2),
      p90_latency_ms: round(percentile(latencies, 90), 2),
      answer_bytes: timed.reps[timed.reps.length - 1].bytes ?? 0,
      read_units: round((acc.units.Query ?? 0) + (acc.units.GetItem ?? 0), 2),
      requests: perMessage(acc.requests, 1),
    };
    log(`  replay ${r.messageBytes} B × 100: ${row.messages} messages, ${row.answer_bytes} B, ${row.latency_ms} ms, ${row.read_units} RCU`);
    replay.push(row);
  }

  // 3. One room's sustained rate: unthrottled (what dynalite does), then past a scaled partition ceiling.
  const openLoop = async (rate: number, endpoint: string): Promise<{ r: ProbeResult; dynaliteMs: number; coresBusy: number }> => {
    await standIn.reset();
    const dynalite0 = cpuMsOf(dynamo.pid);
    const machine0 = machineBusyMs();
    const t0 = Date.now();
    const r = await runProbe({
      ...env(endpoint, standIn, true),
      BENCH_STANDIN: '',
      BENCH_MODE: 'open_loop',
      BENCH_BUNDLE: sendMessage,
      BENCH_ROOM: RATE_ROOM.room,
      BENCH_SENDER: RATE_ROOM.member,
      BENCH_RATE: String(rate),
      BENCH_SECONDS: String(plan.openLoopSeconds),
      BENCH_INSTANCES: String(plan.environments),
    });
    return { r, dynaliteMs: cpuMsOf(dynamo.pid) - dynalite0, coresBusy: (machineBusyMs() - machine0) / (Date.now() - t0) };
  };
  type OpenLoopRun = Awaited<ReturnType<typeof openLoop>>;
  const summarize = ({ r, dynaliteMs, coresBusy }: OpenLoopRun, rate: number, ceiling: number, throttled: number): PartitionRow => {
    const messages = r.messages ?? [];
    // Stored within the offered window: the sustained rate (stragglers still retrying after it are left out).
    const stored = messages.filter((m) => m.outcome === 'broadcast' && m.sentAtMs + m.latencyMs <= plan.openLoopSeconds * 1000).length;
    const unavailable = messages.filter((m) => m.code === 'UNAVAILABLE').length;
    const span = plan.openLoopSeconds;
    const sustained = ceiling > 0 ? ceiling / writeUnits : NaN;
    return {
      ceiling_wcu: ceiling,
      offered_per_second: rate,
      offered_ratio: ceiling > 0 ? round(rate / sustained, 2) : NaN,
      stored_per_second: Math.round(stored / span),
      unavailable,
      unavailable_percent: round((100 * unavailable) / Math.max(1, messages.length), 1),
      messages: messages.length,
      p50_ms: round(percentile(messages.map((m) => m.latencyMs), 50), 1),
      p99_ms: round(percentile(messages.map((m) => m.latencyMs), 99), 1),
      throttled_writes: throttled,
      handler_cpu_ms_per_message: round(r.cpuMs / Math.max(1, messages.length), 2),
      dynalite_cpu_ms_per_message: round(dynaliteMs / Math.max(1, messages.length), 2),
      cores_busy: round(coresBusy, 2),
    };
  };
  const free = await openLoop(plan.dynaliteRate, dynamoEndpoint);
  const freeRow = summarize(free, plan.dynaliteRate, 0, 0);
  log(`  one room, no ceiling: offered ${plan.dynaliteRate}/s, stored ${freeRow.stored_per_second}/s, p50 ${freeRow.p50_ms} ms, p99 ${freeRow.p99_ms} ms, `
    + `CPU per message: sender ${freeRow.handler_cpu_ms_per_message} ms, dynalite ${freeRow.dynalite_cpu_ms_per_message} ms, cores busy ${freeRow.cores_busy}`);
  const partition: PartitionRow[] = [freeRow];
  for (const ratio of plan.ratios) {
    const rate = Math.round((ratio * plan.ceilingWcu) / writeUnits);
    proxy.reset();
    proxy.setPartitionCeiling(MESSAGES, MESSAGE_ATTRIBUTES.partitionKey, plan.ceilingWcu);
    const r = await openLoop(rate, proxy.endpoint);
    proxy.setPartitionCeiling(MESSAGES, MESSAGE_ATTRIBUTES.partitionKey, 0);
    const row = summarize(r, rate, plan.ceilingWcu, proxy.read().throttled);
    log(`  one room, ceiling ${plan.ceilingWcu} WCU/s, offered ${rate}/s (${ratio}×): stored ${row.stored_per_second}/s, UNAVAILABLE ${row.unavailable_percent} %, p50 ${row.p50_ms} ms, p99 ${row.p99_ms} ms`);
    partition.push(row);
  }
  return { cost, replay, partition, write_units_per_message: round(writeUnits, 2), dynalite_messages_per_second: freeRow.stored_per_second };
}
