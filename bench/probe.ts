/**
 * One measurement in a fresh process (so each configuration loads its own module scope and its peak RSS and CPU
 * time are its own). The parent passes the endpoints, the table and the mode in the environment:
 * - `ours`: the shipped `sendMessage` bundle broadcasting to `BENCH_ROOM`, configured only through its
 *   environment (FANOUT_CONCURRENCY…);
 * - `sequential` / `scan_unbounded`: the published approaches (./baselines);
 * - `handler`: any shipped bundle (`BENCH_BUNDLE`) handling `BENCH_EVENT` (JSON) once a repetition;
 * - `push_user` / `push_room`: a backend's hand-written push (./baselines `handWrittenPush`);
 * - `open_loop`: `sendMessage` to one room at `BENCH_RATE` messages a second for `BENCH_SECONDS`, each message its
 *   own handler call (they overlap), reporting what each sender got (broadcast, or `UNAVAILABLE`); the messages go
 *   round-robin to `BENCH_INSTANCES` copies of the bundle's module scope (each with its own SDK client, hence its own
 *   retry quota, as Lambda's execution environments have).
 * With `BENCH_STANDIN` (the `@connections` stand-in's URL) each repetition also reports when its first and last post
 * reached the stand-in, relative to its start. Reports over IPC.
 */
import { performance } from 'node:perf_hooks';
import { ApiGatewayManagementApiClient } from '@aws-sdk/client-apigatewaymanagementapi';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { handWrittenPush, scanUnbounded, sequential, type BaselineStats } from './baselines';
import { ENV } from '../src/shared/contract';

type Handler = (event: unknown, context: unknown) => Promise<unknown>;
type Mode = 'ours' | 'sequential' | 'scan_unbounded' | 'handler' | 'push_user' | 'push_room' | 'open_loop';

export interface RepResult {
  readonly seconds: number;
  /** From the start of the repetition to the first / last post's arrival at the stand-in, ms. */
  readonly firstPostMs?: number;
  readonly lastPostMs?: number;
  /** Posts the stand-in delivered, and their body bytes. */
  readonly posts?: number;
  readonly bytes?: number;
  readonly lastBody?: string;
}

export interface OpenLoopMessage {
  readonly sentAtMs: number;
  readonly latencyMs: number;
  readonly outcome: string;
  readonly code?: string;
  readonly seq?: number;
}

export interface ProbeResult extends Partial<BaselineStats> {
  readonly reps: RepResult[];
  readonly cpuMs: number;
  readonly cpuMsPerPost: number;
  readonly peakRssMb: number;
  readonly messages?: OpenLoopMessage[];
}

const mode = process.env.BENCH_MODE as Mode;
const roomId = process.env.BENCH_ROOM ?? '';
const reps = Number(process.env.BENCH_REPS ?? 3);
const warmup = process.env.BENCH_WARMUP !== '0';
const tableName = process.env[ENV.connectionsTable]!;
const endpoint = process.env[ENV.managementEndpoint]!;
const standIn = process.env.BENCH_STANDIN;
const remainingMs = Number(process.env.BENCH_REMAINING_MS ?? 29_000);
const message = 'x'.repeat(Number(process.env.BENCH_MESSAGE_BYTES ?? 100));
const epochMs = (): number => performance.timeOrigin + performance.now();

// The handlers' log lines (one JSON line per invocation): read back by request id.
const logLines: string[] = [];
(process.stdout as { write: unknown }).write = (chunk: string | Uint8Array): boolean => {
  for (const line of String(chunk).split('\n')) if (line) logLines.push(line);
  return true;
};

function logOf(requestId: string): Record<string, unknown> | undefined {
  for (let i = logLines.length - 1; i >= 0; i--) {
    if (!logLines[i].includes(requestId)) continue;
    const parsed = JSON.parse(logLines[i]) as Record<string, unknown>;
    if (parsed.requestId === requestId) return parsed;
  }
  return undefined;
}

function context(requestId: string): unknown {
  const deadline = Date.now() + remainingMs;
  return { awsRequestId: requestId, functionName: 'bench', getRemainingTimeInMillis: () => deadline - Date.now(), callbackWaitsForEmptyEventLoop: true };
}

/** A `sendMessage` route event from a member of the room, as API Gateway sends it. */
function sendMessageEvent(n: string, room: string, sender: string): unknown {
  const now = Date.now();
  return {
    requestContext: {
      routeKey: 'sendMessage',
      eventType: 'MESSAGE',
      connectionId: sender,
      messageId: `m${n}`,
      apiId: 'bench',
      stage: 'bench',
      domainName: '127.0.0.1',
      requestId: `r${n}`,
      requestTimeEpoch: now,
      connectedAt: now,
      messageDirection: 'IN',
      identity: { sourceIp: '127.0.0.1' },
      authorizer: { principalId: 'bench-user', userId: 'bench-user', roomId: room },
    },
    body: JSON.stringify({ action: 'sendMessage', room_id: room, message }),
    isBase64Encoded: false,
  };
}

async function standInReset(): Promise<void> {
  if (standIn) await fetch(`${standIn}/reset`, { method: 'POST', body: JSON.stringify({ keepBody: process.env.BENCH_KEEP_BODY === '1' }) });
}

async function standInStats(t0: number): Promise<Omit<RepResult, 'seconds'>> {
  if (!standIn) return {};
  const s = (await (await fetch(`${standIn}/stats${process.env.BENCH_KEEP_BODY === '1' ? '?body=1' : ''}`)).json()) as {
    posts: number; bytes: number; firstAt: number; lastAt: number; lastBody?: string;
  };
  return {
    posts: s.posts,
    bytes: s.bytes,
    firstPostMs: s.firstAt ? s.firstAt - t0 : undefined,
    lastPostMs: s.lastAt ? s.lastAt - t0 : undefined,
    ...(s.lastBody ? { lastBody: s.lastBody } : {}),
  };
}

function loadHandler(): Handler {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  return (require(process.env.BENCH_BUNDLE!) as { handler: Handler }).handler;
}

/** Runs the shipped bundle's handler once; the stats come from the JSON line it logs. */
async function handlerOnce(handler: Handler, event: unknown, requestId: string): Promise<BaselineStats> {
  await handler(event, context(requestId));
  const line = logOf(requestId) as Record<string, number> | undefined;
  return { recipients: line?.recipients ?? 0, delivered: line?.delivered ?? 0, itemsRead: line?.itemsRead ?? 0 };
}

async function openLoop(handlers: Handler[]): Promise<OpenLoopMessage[]> {
  const rate = Number(process.env.BENCH_RATE);
  const seconds = Number(process.env.BENCH_SECONDS ?? 3);
  const sender = process.env.BENCH_SENDER!;
  const total = Math.round(rate * seconds);
  const start = epochMs();
  const runs: Array<Promise<OpenLoopMessage>> = [];
  for (let i = 0; i < total; i++) {
    const due = start + (i * 1000) / rate;
    const wait = due - epochMs();
    if (wait > 1) await new Promise((resolve) => setTimeout(resolve, wait));
    const sentAt = epochMs();
    const id = `open-${i}`;
    runs.push(handlers[i % handlers.length](sendMessageEvent(id, roomId, sender), context(id)).then(() => {
      const line = logOf(id) ?? {};
      return {
        sentAtMs: sentAt - start,
        latencyMs: epochMs() - sentAt,
        outcome: String(line.outcome ?? 'unknown'),
        ...(line.code ? { code: String(line.code) } : {}),
        ...(typeof line.seq === 'number' ? { seq: line.seq } : {}),
      };
    }));
  }
  return Promise.all(runs);
}

async function main(): Promise<void> {
  let once: (n: number) => Promise<BaselineStats>;
  if (mode === 'ours') {
    const handler = loadHandler();
    const sender = process.env.BENCH_SENDER!;
    const warmRoom = process.env.BENCH_WARMUP_ROOM;
    once = (n) => handlerOnce(handler, sendMessageEvent(String(n), n < 0 && warmRoom ? warmRoom : roomId, n < 0 && warmRoom ? process.env.BENCH_WARMUP_SENDER! : sender), `r${n}`);
  } else if (mode === 'handler') {
    const handler = loadHandler();
    const template = process.env.BENCH_EVENT!;
    once = (n) => handlerOnce(handler, JSON.parse(template.replace(/\{\{n\}\}/g, String(n))), `r${n}`);
  } else if (mode === 'open_loop') {
    const handlers: Handler[] = [];
    for (let i = 0; i < Number(process.env.BENCH_INSTANCES ?? 1); i++) {
      // A fresh module scope each: its own clients (and the SDK's retry quota), as a separate execution environment.
      delete require.cache[require.resolve(process.env.BENCH_BUNDLE!)];
      handlers.push(loadHandler());
    }
    // Warm: one message each (module scope, sockets), then the measured stream.
    for (const [i, handler] of handlers.entries()) await handlerOnce(handler, sendMessageEvent(`warm${i}`, roomId, process.env.BENCH_SENDER!), `rwarm${i}`);
    const cpu0 = process.cpuUsage();
    const messages = await openLoop(handlers);
    const cpu = process.cpuUsage(cpu0);
    const cpuMs = (cpu.user + cpu.system) / 1000;
    const result: ProbeResult = { reps: [], cpuMs, cpuMsPerPost: 0, peakRssMb: process.resourceUsage().maxRSS / 1024, messages };
    await new Promise<void>((resolve) => process.send!(result, undefined, {}, () => resolve()));
    return;
  } else {
    const dynamo = new DynamoDBClient({});
    const management = new ApiGatewayManagementApiClient({ endpoint });
    const data = JSON.stringify({ action: 'message', message });
    if (mode === 'push_user' || mode === 'push_room') {
      const target = mode === 'push_user' ? { user: process.env.BENCH_USER! } : { room: roomId };
      once = () => handWrittenPush(dynamo, management, tableName, target, data);
    } else {
      const run = mode === 'sequential' ? sequential : scanUnbounded;
      once = () => run(dynamo, management, tableName, roomId, data);
    }
  }
  if (warmup) await once(-1);
  const results: RepResult[] = [];
  let stats: BaselineStats | undefined;
  let cpuUs = 0;
  for (let i = 0; i < reps; i++) {
    await standInReset();
    const cpu0 = process.cpuUsage();
    const t0 = epochMs();
    stats = await once(i);
    const seconds = (epochMs() - t0) / 1000;
    const cpu = process.cpuUsage(cpu0);
    cpuUs += cpu.user + cpu.system;
    results.push({ seconds, ...(await standInStats(t0)) });
  }
  // CPU time of this process (user + system) per post: what a Lambda's memory-proportional CPU share pays for.
  const result: ProbeResult = {
    reps: results,
    ...stats,
    cpuMs: cpuUs / 1000 / Math.max(1, reps),
    cpuMsPerPost: cpuUs / 1000 / (reps * Math.max(1, stats?.recipients ?? 0)),
    peakRssMb: process.resourceUsage().maxRSS / 1024,
  };
  await new Promise<void>((resolve) => process.send!(result, undefined, {}, () => resolve()));
}

main().then(
  () => process.exit(0),
  (err) => {
    process.stderr.write(`${(err as Error).stack}\n`);
    process.exit(1);
  },
);
