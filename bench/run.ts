/**
 * `npm run bench`: fan-out throughput, DynamoDB reads and cold starts of the shipped handler bundles, against
 * the approaches users copy today. Writes bench/results.json and regenerates the tables in BENCHMARKS.md.
 *
 * Everything runs on loopback: dynalite (a DynamoDB wire-protocol server, in this process), a stand-in
 * `@connections` endpoint with a simulated network latency (its own process), and each measurement in a fresh
 * Node process. Environment knobs: BENCH_LATENCY_MS (20), BENCH_QUICK=1 (smaller sweep, for a smoke run).
 */
import { execFile, fork, type ChildProcess } from 'node:child_process';
import { createHmac } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { BatchWriteItemCommand, DynamoDBClient, type WriteRequest } from '@aws-sdk/client-dynamodb';
import { build } from 'esbuild';
import { ensureConnectionsTable } from '../src/local/table';
import { DEFAULTS, ENV, TABLE } from '../src/shared/contract';

// This file runs bundled, from bench/tmp/.
const ROOT = path.resolve(__dirname, '..', '..');
const TMP = path.join(ROOT, 'bench', 'tmp');
const ASSETS = path.join(ROOT, 'assets', 'handlers');
const HANDLERS = ['authorizer', 'connect', 'disconnect', 'send-message', 'default', 'ping'] as const;
const LATENCY_MS = Number(process.env.BENCH_LATENCY_MS ?? 20);
const QUICK = process.env.BENCH_QUICK === '1';
const ROOM_SIZES = QUICK ? [100, 1000] : [100, 1000, 5000];
const OTHER_ROWS = QUICK ? 2000 : 20_000;
const SWEEP = QUICK ? [10, 50, 200] : [10, 25, 50, 100, 200, 400];
const SWEEP_ROOMS = QUICK ? [1000] : [1000, 5000];
const SEQUENTIAL_MAX = 1000;
const COLD_RUNS = QUICK ? 3 : 11;
const TABLE_NAME = 'bench-connections';
const COLD_ROOM = 'cold-room';
const SECRET = 'bench-secret-that-is-at-least-32-bytes-long';
// NODE_NO_WARNINGS: the SDK's notice that it will need Node 22 from 2027 would fill the output.
const CREDS = { AWS_REGION: 'us-east-1', AWS_ACCESS_KEY_ID: 'bench', AWS_SECRET_ACCESS_KEY: 'bench', NODE_NO_WARNINGS: '1' };

interface FanoutRow {
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

interface WorkerResult {
  seconds: number[];
  recipients: number;
  delivered: number;
  itemsRead: number;
  cpuMsPerPost: number;
  peakRssMb: number;
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};
const round = (x: number, digits = 3): number => Number(x.toFixed(digits));
const log = (line: string): void => {
  process.stderr.write(`${line}\n`);
};

async function listen(server: http.Server): Promise<number> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return (server.address() as AddressInfo).port;
}

/** dynalite in this process, with the construct's table seeded: the measured rooms plus OTHER_ROWS elsewhere. */
async function startDynamo(): Promise<{ endpoint: string; close: () => Promise<void> }> {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const dynalite = require('dynalite') as (opts: object) => http.Server;
  const server = dynalite({ createTableMs: 0, deleteTableMs: 0, updateTableMs: 0 });
  const endpoint = `http://127.0.0.1:${await listen(server)}`;
  const client = new DynamoDBClient({ endpoint, region: CREDS.AWS_REGION, credentials: { accessKeyId: 'b', secretAccessKey: 'b' } });
  await ensureConnectionsTable(client, TABLE_NAME);
  const ttl = Math.floor(Date.now() / 1000) + DEFAULTS.connectionTtlSeconds;
  const rows: Array<[string, string]> = [];
  for (const size of ROOM_SIZES) for (let i = 0; i < size; i++) rows.push([`room-${size}`, `c-${size}-${i}`]);
  for (let i = 0; i < OTHER_ROWS; i++) rows.push([`other-${i % 200}`, `o-${i}`]);
  // a room of one, for the cold starts: one event's worth of work
  rows.push([COLD_ROOM, 'cold-0']);
  const t0 = Date.now();
  const batches: WriteRequest[][] = [];
  for (let i = 0; i < rows.length; i += 25) {
    batches.push(rows.slice(i, i + 25).map(([room, id]) => ({
      PutRequest: {
        Item: {
          [TABLE.partitionKey]: { S: id },
          [TABLE.roomId]: { S: room },
          [TABLE.userId]: { S: `user-${id}` },
          [TABLE.ttl]: { N: String(ttl) },
          [TABLE.createdAt]: { S: new Date().toISOString() },
        },
      },
    })));
  }
  let next = 0;
  await Promise.all(Array.from({ length: 8 }, async () => {
    while (next < batches.length) {
      let items: Record<string, WriteRequest[]> | undefined = { [TABLE_NAME]: batches[next++] };
      while (items && Object.keys(items).length > 0) {
        const out: { UnprocessedItems?: Record<string, WriteRequest[]> } = await client.send(new BatchWriteItemCommand({ RequestItems: items }));
        items = out.UnprocessedItems;
      }
    }
  }));
  log(`seeded ${rows.length} rows in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  client.destroy();
  return { endpoint, close: () => new Promise((resolve) => server.close(() => resolve())) };
}

/** The stand-in @connections endpoint, in its own process. */
async function startConnectionsServer(): Promise<{ url: string; child: ChildProcess }> {
  const child = fork(path.join(TMP, 'connections-server.js'), [], { env: { ...process.env, LATENCY_MS: String(LATENCY_MS) } });
  const port = await new Promise<number>((resolve, reject) => {
    child.once('message', (m: { port: number }) => resolve(m.port));
    child.once('exit', (code) => reject(new Error(`connections server exited ${code}`)));
  });
  return { url: `http://127.0.0.1:${port}`, child };
}

/** A minimal Secrets Manager GetSecretValue endpoint, for the authorizer's cold start. */
async function startSecrets(): Promise<{ url: string; server: http.Server }> {
  const server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (c) => (body += c));
    req.on('end', () => {
      const { SecretId } = JSON.parse(body || '{}') as { SecretId?: string };
      res.writeHead(200, { 'content-type': 'application/x-amz-json-1.1' }).end(JSON.stringify({
        ARN: `arn:aws:secretsmanager:us-east-1:000000000000:secret:${SecretId}`, Name: SecretId, SecretString: SECRET, VersionId: 'v1',
      }));
    });
  });
  return { url: `http://127.0.0.1:${await listen(server)}`, server };
}

function hs256(claims: Record<string, unknown>): string {
  const enc = (o: object): string => Buffer.from(JSON.stringify(o)).toString('base64url');
  const input = `${enc({ alg: 'HS256', typ: 'JWT' })}.${enc(claims)}`;
  return `${input}.${createHmac('sha256', SECRET).update(input).digest('base64url')}`;
}

function runWorker(env: Record<string, string>): Promise<WorkerResult> {
  return new Promise((resolve, reject) => {
    const child = fork(path.join(TMP, 'fanout-worker.js'), [], { env: { ...process.env, ...CREDS, ...env }, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    let result: WorkerResult | undefined;
    child.on('message', (m: WorkerResult) => (result = m));
    child.on('exit', (code) => (code === 0 && result ? resolve(result) : reject(new Error(`fan-out worker (${JSON.stringify(env)}) exited ${code}`))));
  });
}

async function resetServer(url: string): Promise<void> {
  await fetch(`${url}/reset`, { method: 'POST' });
}

async function serverStats(url: string): Promise<{ posts: number; maxInFlight: number }> {
  return (await fetch(`${url}/stats`)).json() as Promise<{ posts: number; maxInFlight: number }>;
}

async function fanoutBench(dynamoEndpoint: string, connectionsUrl: string): Promise<{ rows: FanoutRow[]; sweep: FanoutRow[] }> {
  const base = {
    [ENV.connectionsTable]: TABLE_NAME,
    [ENV.managementEndpoint]: `${connectionsUrl}/bench`,
    [ENV.metricsNamespace]: 'Bench',
    AWS_ENDPOINT_URL_DYNAMODB: dynamoEndpoint,
    BENCH_BUNDLE: path.join(ASSETS, 'send-message.lambda', 'index.js'),
  };
  const ours = async (connections: number, concurrency: number): Promise<WorkerResult> => {
    await resetServer(connectionsUrl);
    const r = await runWorker({
      ...base,
      BENCH_MODE: 'ours',
      BENCH_ROOM: `room-${connections}`,
      BENCH_SENDER: `c-${connections}-0`,
      [ENV.fanoutConcurrency]: String(concurrency),
      BENCH_REPS: '3',
    });
    const s = await serverStats(connectionsUrl);
    if (r.delivered !== connections || s.posts !== connections * 4) {
      throw new Error(`ours at ${connections}/${concurrency}: delivered ${r.delivered}, server saw ${s.posts} posts over 4 runs`);
    }
    if (s.maxInFlight > concurrency) throw new Error(`concurrency ${concurrency} exceeded: ${s.maxInFlight} in flight`);
    log(`  ours        ${connections} @ ${concurrency}: ${median(r.seconds).toFixed(3)} s (max in flight ${s.maxInFlight})`);
    return r;
  };
  const baseline = async (mode: 'sequential' | 'scan_unbounded', connections: number): Promise<WorkerResult> => {
    const reps = mode === 'sequential' ? '1' : '3';
    const r = await runWorker({ ...base, BENCH_MODE: mode, BENCH_ROOM: `room-${connections}`, BENCH_REPS: reps, BENCH_WARMUP: mode === 'sequential' ? '0' : '1' });
    if (r.delivered !== connections) throw new Error(`${mode} at ${connections}: delivered ${r.delivered}`);
    log(`  ${mode.padEnd(11)} ${connections}: ${median(r.seconds).toFixed(3)} s, ${r.itemsRead} items read`);
    return r;
  };
  const row = (connections: number, concurrency: number, r: WorkerResult, seq: WorkerResult | undefined, scan: WorkerResult): FanoutRow => ({
    connections,
    latency_ms: LATENCY_MS,
    concurrency,
    seconds: round(median(r.seconds)),
    posts_per_second: Math.round(connections / median(r.seconds)),
    sequential_seconds: seq ? round(median(seq.seconds)) : null,
    scan_unbounded_seconds: round(median(scan.seconds)),
    items_read: r.itemsRead,
    scan_items_read: scan.itemsRead,
    peak_rss_mb: round(r.peakRssMb, 1),
    cpu_ms_per_post: round(r.cpuMsPerPost, 3),
    scan_unbounded_cpu_ms_per_post: round(scan.cpuMsPerPost, 3),
  });

  const rows: FanoutRow[] = [];
  const sweep: FanoutRow[] = [];
  for (const connections of ROOM_SIZES) {
    log(`room of ${connections}`);
    const scan = await baseline('scan_unbounded', connections);
    const seq = connections <= SEQUENTIAL_MAX ? await baseline('sequential', connections) : undefined;
    rows.push(row(connections, DEFAULTS.fanoutConcurrency, await ours(connections, DEFAULTS.fanoutConcurrency), seq, scan));
    if (SWEEP_ROOMS.includes(connections)) {
      for (const concurrency of SWEEP) {
        const r = concurrency === DEFAULTS.fanoutConcurrency ? undefined : await ours(connections, concurrency);
        sweep.push(r ? row(connections, concurrency, r, seq, scan) : rows[rows.length - 1]);
      }
    }
  }
  return { rows, sweep };
}

interface ColdRow { name: string; sdk: 'bundled' | 'external'; bundle_bytes: number; cold_init_ms: number; load_ms: number }

/** The same entry points bundled with the AWS SDK left external (resolved from node_modules, as Lambda's runtime SDK would be). */
async function buildExternalVariants(): Promise<void> {
  for (const name of HANDLERS) {
    await build({
      entryPoints: [path.join(ROOT, 'src', 'handlers', `${name}.lambda.ts`)],
      bundle: true,
      platform: 'node',
      target: 'node20',
      minify: true,
      logLevel: 'error',
      external: ['@aws-sdk/*', '@smithy/*'],
      tsconfig: path.join(ROOT, 'tsconfig.dev.json'),
      outfile: path.join(TMP, 'external', `${name}.lambda`, 'index.js'),
    });
  }
}

function probeEvent(name: typeof HANDLERS[number], token: string): unknown {
  const now = Date.now();
  const ctx = (routeKey: string, eventType: string) => ({
    routeKey,
    eventType,
    connectionId: 'c-100-0',
    apiId: 'bench',
    stage: 'bench',
    domainName: '127.0.0.1',
    requestId: 'r',
    requestTimeEpoch: now,
    connectedAt: now,
    messageDirection: 'IN',
    identity: { sourceIp: '127.0.0.1' },
    authorizer: { principalId: 'u', userId: 'u', roomId: 'room-100' },
  });
  switch (name) {
    case 'authorizer':
      return {
        type: 'REQUEST',
        methodArn: 'arn:aws:execute-api:us-east-1:000000000000:bench/bench/$connect',
        headers: {},
        queryStringParameters: { token, room_id: 'room-100' },
        requestContext: ctx('$connect', 'CONNECT'),
      };
    case 'connect': return { requestContext: { ...ctx('$connect', 'CONNECT'), connectionId: 'probe-conn' } };
    case 'disconnect': return { requestContext: { ...ctx('$disconnect', 'DISCONNECT'), connectionId: 'probe-conn' } };
    case 'send-message': return { requestContext: ctx('sendMessage', 'MESSAGE'), body: '{"action":"sendMessage","message":"hi"}', isBase64Encoded: false };
    case 'default': return { requestContext: ctx('$default', 'MESSAGE'), body: '{"action":"nope"}', isBase64Encoded: false };
    case 'ping': return { requestContext: ctx('ping', 'MESSAGE'), body: '{"action":"ping"}', isBase64Encoded: false };
  }
}

async function coldStartBench(dynamoEndpoint: string, connectionsUrl: string, secretsUrl: string): Promise<ColdRow[]> {
  await buildExternalVariants();
  const token = hs256({ sub: 'bench-user', exp: Math.floor(Date.now() / 1000) + 3600 });
  const env = {
    ...process.env,
    ...CREDS,
    [ENV.connectionsTable]: TABLE_NAME,
    [ENV.managementEndpoint]: `${connectionsUrl}/bench`,
    [ENV.authMode]: 'hs256',
    [ENV.authSecretArn]: 'bench-secret',
    AWS_ENDPOINT_URL_DYNAMODB: dynamoEndpoint,
    AWS_ENDPOINT_URL_SECRETS_MANAGER: secretsUrl,
    AWS_NODEJS_CONNECTION_REUSE_ENABLED: '1',
  };
  const rows: ColdRow[] = [];
  for (const sdk of ['bundled', 'external'] as const) {
    for (const name of HANDLERS) {
      const bundle = sdk === 'bundled' ? path.join(ASSETS, `${name}.lambda`, 'index.js') : path.join(TMP, 'external', `${name}.lambda`, 'index.js');
      const samples: Array<{ coldInitMs: number; loadMs: number }> = [];
      for (let i = 0; i < COLD_RUNS; i++) {
        // Asynchronously: dynalite and the secrets endpoint answer from this process.
        const stdout = await new Promise<string>((resolve, reject) => {
          execFile(process.execPath, [path.join(TMP, 'cold-start-probe.js')], {
            env: { ...env, PROBE_BUNDLE: bundle, PROBE_EVENT: JSON.stringify(probeEvent(name, token)) },
            encoding: 'utf8',
            timeout: 30_000,
          }, (err, out, stderr) => (err ? reject(new Error(`cold start of ${name} (${sdk}) failed: ${err.message} ${stderr}`)) : resolve(out)));
        });
        samples.push(JSON.parse(stdout.trim().split('\n').pop()!) as { coldInitMs: number; loadMs: number });
      }
      const row: ColdRow = {
        name,
        sdk,
        bundle_bytes: statSync(bundle).size,
        cold_init_ms: round(median(samples.map((s) => s.coldInitMs)), 1),
        load_ms: round(median(samples.map((s) => s.loadMs)), 1),
      };
      log(`  cold start ${name.padEnd(12)} ${sdk.padEnd(8)} ${String(row.bundle_bytes).padStart(8)} B  ${row.cold_init_ms} ms`);
      rows.push(row);
    }
  }
  return rows;
}

function table(headers: string[], rows: Array<Array<string | number | null>>): string {
  const line = (cells: Array<string | number | null>): string => `| ${cells.map((c) => (c === null ? '—' : String(c))).join(' | ')} |`;
  return [line(headers), line(headers.map(() => '---')), ...rows.map(line)].join('\n');
}

interface Results {
  machine: Record<string, unknown>;
  fanout: FanoutRow[];
  concurrency_sweep: FanoutRow[];
  cold_start: ColdRow[];
}

function renderTables(results: Results): string {
  const m = results.machine;
  const fanout = table(
    ['connections', 'ours (s)', 'posts/s', 'sequential (s)', 'scan + Promise.all (s)', 'speed-up vs sequential', 'items read (ours)',
      'items read (scan)', 'CPU per post: ours / scan (ms)', 'peak RSS (MB)'],
    results.fanout.map((r) => [
      r.connections, r.seconds, r.posts_per_second, r.sequential_seconds, r.scan_unbounded_seconds,
      r.sequential_seconds ? `${(r.sequential_seconds / r.seconds).toFixed(1)}×` : null, r.items_read, r.scan_items_read,
      `${r.cpu_ms_per_post} / ${r.scan_unbounded_cpu_ms_per_post}`, r.peak_rss_mb,
    ]),
  );
  const sweep = table(
    ['connections', 'concurrency', 'seconds', 'posts/s', 'CPU per post (ms)', 'peak RSS (MB)'],
    results.concurrency_sweep.map((r) => [r.connections, r.concurrency, r.seconds, r.posts_per_second, r.cpu_ms_per_post, r.peak_rss_mb]),
  );
  const cold = table(
    ['handler', 'AWS SDK', 'bundle (bytes)', 'cold init, median (ms)', 'of which loading (ms)'],
    results.cold_start.map((r) => [r.name, r.sdk, r.bundle_bytes, r.cold_init_ms, r.load_ms]),
  );
  return [
    `Measured ${m.date} on ${m.cpus} × ${m.cpu_model}, ${m.memory_gb} GB, Node ${m.node}, ${m.platform}; `
      + `@connections latency ${LATENCY_MS} ms; default concurrency ${DEFAULTS.fanoutConcurrency}${QUICK ? ' (BENCH_QUICK run)' : ''}.`,
    '',
    '### Fan-out (one broadcast, median of 3 warm runs; sequential: one run)',
    '',
    fanout,
    '',
    '### Concurrency sweep (ours)',
    '',
    sweep,
    '',
    '### Cold start (fresh Node process: load the bundle and handle one event; median of ' + COLD_RUNS + ')',
    '',
    cold,
  ].join('\n');
}

async function main(): Promise<void> {
  mkdirSync(TMP, { recursive: true });
  for (const name of HANDLERS) {
    if (!existsSync(path.join(ASSETS, `${name}.lambda`, 'index.js'))) throw new Error(`missing bundle ${name}: run "npx projen bundle" first`);
  }
  const dynamo = await startDynamo();
  const connections = await startConnectionsServer();
  const secrets = await startSecrets();
  try {
    const { rows, sweep } = await fanoutBench(dynamo.endpoint, connections.url);
    const cold = await coldStartBench(dynamo.endpoint, connections.url, secrets.url);
    const results = {
      machine: {
        date: new Date().toISOString().slice(0, 10),
        node: process.version,
        platform: `${os.platform()} ${os.arch()}`,
        cpus: os.cpus().length,
        cpu_model: os.cpus()[0]?.model.trim(),
        memory_gb: Math.round(os.totalmem() / 2 ** 30),
      },
      latency_ms: LATENCY_MS,
      default_concurrency: DEFAULTS.fanoutConcurrency,
      quick: QUICK,
      fanout: rows,
      concurrency_sweep: sweep,
      cold_start: cold,
    };
    writeFileSync(path.join(ROOT, 'bench', 'results.json'), `${JSON.stringify(results, null, 2)}\n`);
    const mdPath = path.join(ROOT, 'BENCHMARKS.md');
    const md = readFileSync(mdPath, 'utf8');
    const start = '<!-- bench:tables:start -->';
    const end = '<!-- bench:tables:end -->';
    if (!md.includes(start) || !md.includes(end)) throw new Error(`BENCHMARKS.md lacks the ${start} … ${end} markers`);
    writeFileSync(mdPath, `${md.slice(0, md.indexOf(start) + start.length)}\n${renderTables(results)}\n${md.slice(md.indexOf(end))}`);
    log('wrote bench/results.json and BENCHMARKS.md');
  } finally {
    connections.child.kill();
    secrets.server.close();
    await dynamo.close();
  }
}

main().then(
  () => process.exit(0),
  (err) => {
    process.stderr.write(`${(err as Error).stack}\n`);
    process.exit(1);
  },
);
