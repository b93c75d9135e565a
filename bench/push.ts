/**
 * Server push: `publish` invoked as a backend invokes it (`@aws-sdk/client-lambda` `InvokeCommand` against the Invoke
 * API, the shipped bundle in its own warm environment) to a user with 3 connections and to a room of 1,000, against
 * what a backend would write by hand without it (a Query and an `ApiGatewayManagementApiClient` post to each
 * connection, in a warm process of its own). Measured: from the invoke to the last post's arrival at the stand-in,
 * and to the answer.
 */
import { InvokeCommand, LambdaClient } from '@aws-sdk/client-lambda';
import { bundlePath, CONNECTIONS, CREDS, epochMs, log, MESSAGES, median, percentile, round, runProbe, type StandIn } from './common';
import { fanoutRoom } from './fanout';
import type { LambdaPool } from './invoke-api';
import { ENV } from '../src/shared/contract';
import { TIMEOUT_SECONDS } from '../src/shared/spec';

export const PUSH_USER = { user: 'push-user', connections: ['push-0', 'push-1', 'push-2'] };

export interface PushRow {
  target: string;
  connections: number;
  via: 'publish' | 'hand-written';
  /** Median and p90 from the invoke (or the start of the backend's own code) to the last post's arrival, ms. */
  last_post_ms: number;
  p90_last_post_ms: number;
  /** Median until the caller has the answer, ms. */
  answered_ms: number;
  /** Stored in the room's history with a seq (publish to a room, history on). */
  stored: boolean;
}

export async function pushBench(reps: number, dynamoEndpoint: string, pool: LambdaPool, standIn: StandIn): Promise<PushRow[]> {
  pool.define({
    name: 'publish',
    bundle: bundlePath('publish'),
    env: {
      ...CREDS,
      [ENV.connectionsTable]: CONNECTIONS,
      [ENV.messagesTable]: MESSAGES,
      [ENV.managementEndpoint]: `${standIn.url}/bench`,
      [ENV.metricsNamespace]: 'Bench',
      AWS_ENDPOINT_URL_DYNAMODB: dynamoEndpoint,
    },
    timeoutMs: TIMEOUT_SECONDS.fanout * 1000,
    maxConcurrency: 1,
  });
  const lambda = new LambdaClient({ endpoint: pool.url, region: CREDS.AWS_REGION, credentials: { accessKeyId: 'bench', secretAccessKey: 'bench' } });
  const room = fanoutRoom(1000).room;
  const targets = [
    { target: 'user (3 connections)', connections: 3, input: { user_id: PUSH_USER.user }, mode: 'push_user', room: '' },
    { target: 'room of 1,000', connections: 1000, input: { room_id: room }, mode: 'push_room', room },
  ];
  const rows: PushRow[] = [];
  for (const t of targets) {
    // publish, warm: one untimed invoke first.
    const last: number[] = [];
    const answered: number[] = [];
    for (let i = -1; i < reps; i++) {
      await standIn.reset();
      const t0 = epochMs();
      const out = await lambda.send(new InvokeCommand({ FunctionName: 'publish', Payload: JSON.stringify({ ...t.input, type: 'bench.push', data: { i } }) }));
      const t1 = epochMs();
      const result = JSON.parse(Buffer.from(out.Payload ?? []).toString('utf8') || '{}') as { delivered?: number };
      if (out.FunctionError || result.delivered !== t.connections) throw new Error(`publish to ${t.target}: ${Buffer.from(out.Payload ?? []).toString('utf8')}`);
      const stats = await standIn.stats();
      if (i < 0) continue;
      last.push(stats.lastAt - t0);
      answered.push(t1 - t0);
    }
    rows.push({
      target: t.target,
      connections: t.connections,
      via: 'publish',
      last_post_ms: round(median(last), 1),
      p90_last_post_ms: round(percentile(last, 90), 1),
      answered_ms: round(median(answered), 1),
      stored: t.mode === 'push_room',
    });
    // The same push written by hand, in a warm process of its own.
    const r = await runProbe({
      [ENV.connectionsTable]: CONNECTIONS,
      [ENV.managementEndpoint]: `${standIn.url}/bench`,
      AWS_ENDPOINT_URL_DYNAMODB: dynamoEndpoint,
      BENCH_STANDIN: standIn.url,
      BENCH_MODE: t.mode,
      BENCH_USER: PUSH_USER.user,
      BENCH_ROOM: t.room,
      BENCH_REPS: String(reps),
    });
    if (r.delivered !== t.connections) throw new Error(`hand-written push to ${t.target}: delivered ${r.delivered}`);
    const handLast = r.reps.map((rep) => rep.lastPostMs ?? NaN);
    rows.push({
      target: t.target,
      connections: t.connections,
      via: 'hand-written',
      last_post_ms: round(median(handLast), 1),
      p90_last_post_ms: round(percentile(handLast, 90), 1),
      answered_ms: round(median(r.reps.map((rep) => rep.seconds * 1000)), 1),
      stored: false,
    });
    log(`  push to ${t.target}: publish ${rows[rows.length - 2].last_post_ms} ms to the last post, by hand ${rows[rows.length - 1].last_post_ms} ms`);
  }
  lambda.destroy();
  await pool.stop('publish');
  return rows;
}
