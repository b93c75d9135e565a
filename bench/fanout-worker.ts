/**
 * One fan-out measurement in a fresh process (so each configuration loads its own module scope and its peak
 * RSS is its own). The parent passes the endpoints, the table, the room and the mode in the environment:
 * - `ours`: the shipped `sendMessage` bundle, configured only through its environment (FANOUT_CONCURRENCY…);
 * - `sequential` / `scan_unbounded`: the published approaches (./baselines).
 * Reports `{ seconds[], recipients, delivered, itemsRead, peakRssMb }` over IPC.
 */
import { ApiGatewayManagementApiClient } from '@aws-sdk/client-apigatewaymanagementapi';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { scanUnbounded, sequential, type BaselineStats } from './baselines';
import { ENV } from '../src/shared/contract';

type Handler = (event: unknown, context: unknown) => Promise<unknown>;

const mode = process.env.BENCH_MODE as 'ours' | 'sequential' | 'scan_unbounded';
const roomId = process.env.BENCH_ROOM!;
const reps = Number(process.env.BENCH_REPS ?? 3);
const warmup = process.env.BENCH_WARMUP !== '0';
const tableName = process.env[ENV.connectionsTable]!;
const endpoint = process.env[ENV.managementEndpoint]!;
const message = 'x'.repeat(Number(process.env.BENCH_MESSAGE_BYTES ?? 100));

/** Runs the shipped bundle's handler once, and reads the stats off the JSON line it logs. */
async function oursOnce(handler: Handler, n: number): Promise<BaselineStats> {
  const lines: string[] = [];
  const write = process.stdout.write.bind(process.stdout);
  (process.stdout as { write: unknown }).write = (chunk: string | Uint8Array): boolean => {
    lines.push(String(chunk));
    return true;
  };
  try {
    const now = Date.now();
    await handler({
      requestContext: {
        routeKey: 'sendMessage',
        eventType: 'MESSAGE',
        connectionId: process.env.BENCH_SENDER!, // a member of its room, as in production
        messageId: `m${n}`,
        apiId: 'bench',
        stage: 'bench',
        domainName: '127.0.0.1',
        requestId: `r${n}`,
        requestTimeEpoch: now,
        connectedAt: now,
        messageDirection: 'IN',
        identity: { sourceIp: '127.0.0.1' },
        authorizer: { principalId: 'bench-user', userId: 'bench-user', roomId },
      },
      body: JSON.stringify({ action: 'sendMessage', message }),
      isBase64Encoded: false,
    }, { awsRequestId: `r${n}`, functionName: 'bench', getRemainingTimeInMillis: () => 29_000, callbackWaitsForEmptyEventLoop: true });
  } finally {
    (process.stdout as { write: unknown }).write = write;
  }
  const log = lines.flatMap((l) => l.split('\n')).filter(Boolean).map((l) => JSON.parse(l) as Record<string, number>)
    .find((r) => (r as unknown as { event: string }).event === 'sendMessage');
  if (!log) throw new Error(`sendMessage logged no stats line: ${lines.join('')}`);
  return { recipients: log.recipients, delivered: log.delivered, itemsRead: log.itemsRead };
}

async function main(): Promise<void> {
  let once: (n: number) => Promise<BaselineStats>;
  if (mode === 'ours') {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const { handler } = require(process.env.BENCH_BUNDLE!) as { handler: Handler };
    once = (n) => oursOnce(handler, n);
  } else {
    const dynamo = new DynamoDBClient({});
    const management = new ApiGatewayManagementApiClient({ endpoint });
    const data = JSON.stringify({ action: 'message', message });
    const run = mode === 'sequential' ? sequential : scanUnbounded;
    once = () => run(dynamo, management, tableName, roomId, data);
  }
  if (warmup) await once(-1);
  const seconds: number[] = [];
  let stats: BaselineStats | undefined;
  const cpu0 = process.cpuUsage();
  for (let i = 0; i < reps; i++) {
    const t0 = process.hrtime.bigint();
    stats = await once(i);
    seconds.push(Number(process.hrtime.bigint() - t0) / 1e9);
  }
  const cpu = process.cpuUsage(cpu0);
  // CPU time of this process (user + system) per post: what a Lambda's memory-proportional CPU share pays for.
  const cpuMsPerPost = (cpu.user + cpu.system) / 1000 / (reps * Math.max(1, stats?.recipients ?? 0));
  const result = { seconds, ...stats, cpuMsPerPost, peakRssMb: process.resourceUsage().maxRSS / 1024 };
  await new Promise<void>((resolve) => process.send!(result, undefined, {}, () => resolve()));
}

main().then(
  () => process.exit(0),
  (err) => {
    process.stderr.write(`${(err as Error).stack}\n`);
    process.exit(1);
  },
);
