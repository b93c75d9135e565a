/**
 * Cold starts of every shipped handler bundle (every handler of the spec): a fresh Node process loads the bundle
 * and handles one event of a room of one (./cold-start-probe.ts), the median of several. The same entry points
 * built with the AWS SDK left external (resolved from node_modules, as Lambda's runtime copy would be) are measured
 * alike, for the bundling decision.
 */
import { execFile } from 'node:child_process';
import { randomUUID, createHmac } from 'node:crypto';
import { statSync } from 'node:fs';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import * as path from 'node:path';
import { build } from 'esbuild';
import { bundlePath, CONNECTIONS, CREDS, log, MESSAGES, median, ROOT, round, SECRET, TMP } from './common';
import { putItems, seedItems } from './dynamo';
import type { DynamoCall } from '../src/local/table';
import { ENV, SHARDS } from '../src/shared/contract';
import { HANDLERS, type HandlerId } from '../src/shared/spec';

export interface ColdRow { name: string; sdk: 'bundled' | 'external'; bundle_bytes: number; cold_init_ms: number; load_ms: number; first_event_ms: number }

/** The room of one every probe works in, and its only member. */
export const COLD_ROOM = 'cold-room';
const COLD_CONNECTION = 'cold-0';
const LEAVER = 'cold-leaver';
const LEAVE_ROOM = 'cold-leave-room';

/** The seed of the cold-start room: one connection in it (and one that leaves a room of its own). */
export const coldSeeds = [{ id: COLD_CONNECTION, rooms: [COLD_ROOM], user: 'cold-user' }, { id: LEAVER, rooms: [LEAVE_ROOM], user: 'leaver' }];

/** A minimal Secrets Manager GetSecretValue endpoint, for the authorizer's cold start. */
export async function startSecrets(): Promise<{ url: string; close: () => void }> {
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
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, close: () => server.close() };
}

function hs256(claims: Record<string, unknown>): string {
  const enc = (o: object): string => Buffer.from(JSON.stringify(o)).toString('base64url');
  const input = `${enc({ alg: 'HS256', typ: 'JWT' })}.${enc(claims)}`;
  return `${input}.${createHmac('sha256', SECRET).update(input).digest('base64url')}`;
}

/** The same entry points with the AWS SDK left external. */
async function buildExternalVariants(): Promise<void> {
  for (const h of HANDLERS) {
    await build({
      entryPoints: [path.join(ROOT, 'src', 'handlers', `${h.bundle}.lambda.ts`)],
      bundle: true,
      platform: 'node',
      target: 'node24',
      minify: true,
      mainFields: ['module', 'main'],
      logLevel: 'error',
      external: ['@aws-sdk/*', '@smithy/*'],
      tsconfig: path.join(ROOT, 'tsconfig.dev.json'),
      outfile: path.join(TMP, 'external', `${h.bundle}.lambda`, 'index.js'),
    });
  }
}

/** One event of each handler, in the room of one (`connection`: a fresh id per run where the handler creates one). */
function probeEvent(id: HandlerId, token: string, run: string): unknown {
  const now = Date.now();
  const ctx = (routeKey: string, eventType: string, connectionId = COLD_CONNECTION) => ({
    routeKey,
    eventType,
    connectionId,
    apiId: 'bench',
    stage: 'bench',
    domainName: '127.0.0.1',
    requestId: `r-${run}`,
    requestTimeEpoch: now,
    connectedAt: now,
    messageDirection: 'IN',
    identity: { sourceIp: '127.0.0.1' },
    authorizer: { principalId: 'cold-user', userId: 'cold-user', roomId: COLD_ROOM },
  });
  const frame = (routeKey: string, body: object, connectionId?: string) => ({
    requestContext: ctx(routeKey, 'MESSAGE', connectionId),
    body: JSON.stringify(body),
    isBase64Encoded: false,
  });
  switch (id) {
    case 'authorizer':
      return {
        type: 'REQUEST',
        methodArn: 'arn:aws:execute-api:us-east-1:000000000000:bench/bench/$connect',
        headers: {},
        queryStringParameters: { token, room_id: COLD_ROOM },
        requestContext: ctx('$connect', 'CONNECT'),
      };
    // A handshake room of its own: the new connection is its only member.
    case 'connect': return { requestContext: { ...ctx('$connect', 'CONNECT', `probe-${run}`), authorizer: { principalId: 'probe', userId: 'probe', roomId: `cold-connect-${run}` } } };
    case 'disconnect': return { requestContext: ctx('$disconnect', 'DISCONNECT', `probe-${run}`) };
    case 'sendMessage': return frame('sendMessage', { action: 'sendMessage', room_id: COLD_ROOM, message: 'hi' });
    case 'default': return frame('$default', { action: 'nope' });
    case 'ping': return frame('ping', { action: 'ping' });
    case 'join': return frame('join', { action: 'join', room_id: COLD_ROOM });
    case 'leave': return frame('leave', { action: 'leave', room_id: LEAVE_ROOM }, LEAVER);
    case 'presence': return frame('presence', { action: 'presence', room_id: COLD_ROOM });
    case 'history': return frame('history', { action: 'history', room_id: COLD_ROOM, after_seq: 0, limit: 100 });
    case 'publish': return { room_id: COLD_ROOM, type: 'bench.cold', data: { run } };
    case 'fanoutWorker': return {
      broadcast_id: randomUUID(),
      room_id: COLD_ROOM,
      shard_from: 0,
      shard_to: SHARDS - 1,
      frame: JSON.stringify({ action: 'message', room_id: COLD_ROOM, message: 'hi' }),
      rate: 8000,
      now_seconds: Math.floor(now / 1000),
    };
  }
}

export async function coldStartBench(
  options: { runs: number; externalRuns: number },
  dynamo: { endpoint: string; call: DynamoCall },
  standInUrl: string,
  secretsUrl: string,
): Promise<ColdRow[]> {
  if (options.externalRuns > 0) await buildExternalVariants();
  const token = hs256({ sub: 'cold-user', exp: Math.floor(Date.now() / 1000) + 3600 });
  const env = {
    ...process.env,
    ...CREDS,
    [ENV.connectionsTable]: CONNECTIONS,
    [ENV.messagesTable]: MESSAGES,
    [ENV.managementEndpoint]: `${standInUrl}/bench`,
    [ENV.authMode]: 'hs256',
    [ENV.authSecretArn]: 'bench-secret',
    AWS_ENDPOINT_URL_DYNAMODB: dynamo.endpoint,
    AWS_ENDPOINT_URL_SECRETS_MANAGER: secretsUrl,
  };
  const rows: ColdRow[] = [];
  for (const sdk of options.externalRuns > 0 ? ['bundled', 'external'] as const : ['bundled'] as const) {
    for (const h of HANDLERS) {
      const bundle = sdk === 'bundled' ? bundlePath(h.bundle) : path.join(TMP, 'external', `${h.bundle}.lambda`, 'index.js');
      const samples: Array<{ coldInitMs: number; loadMs: number; firstEventMs: number }> = [];
      for (let i = 0; i < (sdk === 'bundled' ? options.runs : options.externalRuns); i++) {
        const run = `${sdk}-${i}`;
        // `leave` takes its connection out of a room: put it back, so every run does the same work.
        if (h.id === 'leave') await putItems(dynamo.call, CONNECTIONS, seedItems([{ id: LEAVER, rooms: [LEAVE_ROOM], user: 'leaver', membershipOnly: true }]));
        // `disconnect` removes the items `connect` wrote in the same run number.
        const stdout = await new Promise<string>((resolve, reject) => {
          execFile(process.execPath, [path.join(TMP, 'cold-start-probe.js')], {
            env: { ...env, PROBE_BUNDLE: bundle, PROBE_EVENT: JSON.stringify(probeEvent(h.id, token, run)) },
            encoding: 'utf8',
            timeout: 30_000,
          }, (err, out, stderr) => (err ? reject(new Error(`cold start of ${h.bundle} (${sdk}) failed: ${err.message} ${stderr}`)) : resolve(out)));
        });
        const sample = JSON.parse(stdout.trim().split('\n').pop()!) as { coldInitMs: number; loadMs: number; firstEventMs: number; result: unknown };
        if (i === 0) checkResult(h.id, sample.result);
        samples.push(sample);
      }
      const row: ColdRow = {
        name: h.bundle,
        sdk,
        bundle_bytes: statSync(bundle).size,
        cold_init_ms: round(median(samples.map((s) => s.coldInitMs)), 1),
        load_ms: round(median(samples.map((s) => s.loadMs)), 1),
        first_event_ms: round(median(samples.map((s) => s.firstEventMs)), 1),
      };
      log(`  cold start ${h.bundle.padEnd(14)} ${sdk.padEnd(8)} ${String(row.bundle_bytes).padStart(8)} B  ${row.cold_init_ms} ms (load ${row.load_ms})`);
      rows.push(row);
    }
  }
  return rows;
}

/** A probe that did not do its work (a refusal, an error) would measure the wrong thing. */
function checkResult(id: HandlerId, result: unknown): void {
  const r = result as { statusCode?: number; principalId?: string; policyDocument?: unknown; delivered?: number } | undefined;
  const ok = id === 'authorizer' ? JSON.stringify(r?.policyDocument ?? '').includes('Allow')
    : id === 'publish' || id === 'fanoutWorker' ? (r?.delivered ?? 0) >= 1
      : r?.statusCode === 200;
  if (!ok) throw new Error(`cold start probe of ${id} did not succeed: ${JSON.stringify(result)}`);
}
