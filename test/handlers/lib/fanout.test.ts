import { DynamoDBClient, ProvisionedThroughputExceededException, QueryCommand } from '@aws-sdk/client-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { fanOutRoom, FanoutQueryError, type RoomFanoutOptions } from '../../../src/handlers/lib/fanout';
import { createManagementClient, type SignedConnectionsApi } from '../../../src/handlers/lib/management';
import { RateLimiter } from '../../../src/handlers/lib/rate-limiter';
import { setLocalAwsEnv } from '../../support/aws-env';
import { ConnectionsServer } from '../../support/connections-server';
import { allConnectionIds, idRange, nowSeconds, seedConnections } from '../../support/connections-table';
import { LOCAL_CREDENTIALS, startDynalite, type LocalDynamo } from '../../support/dynalite';

setLocalAwsEnv();

let dynamo: LocalDynamo;
let server: ConnectionsServer;
let management: SignedConnectionsApi;

beforeAll(async () => {
  [dynamo, server] = await Promise.all([startDynalite(), ConnectionsServer.start('prod')]);
  management = createManagementClient({ endpoint: server.endpoint, maxSockets: 50, region: 'us-east-1', credentials: async () => LOCAL_CREDENTIALS });
});
afterEach(() => server.reset());
afterAll(async () => {
  management.destroy();
  await Promise.all([server.close(), dynamo.close()]);
});

const FRAME = JSON.stringify({ action: 'message', message: 'héllo 👋' });

type FanoutOptions = Omit<RoomFanoutOptions, 'nowSeconds'> & { readonly nowSeconds?: number };
/** A room fan-out at the current time unless the options say otherwise. */
const fanOut = (o: FanoutOptions) => fanOutRoom({ nowSeconds: nowSeconds(), ...o });

function options(tableName: string, roomId: string, overrides: Partial<FanoutOptions> = {}): FanoutOptions {
  return {
    dynamo: dynamo.client,
    management,
    tableName,
    roomId,
    data: FRAME,
    concurrency: 10,
    maxAttempts: 3,
    // Far above any healthy post, even on a slow, busy machine: where posts are counted exactly, a healthy one must
    // never be timed out and retried. The tests about time-outs set their own.
    timeoutMs: 10_000,
    backoffBaseMs: 1,
    ...overrides,
  };
}

test('posts to every live connection of the room and nobody else', async () => {
  const table = await dynamo.newTable();
  await seedConnections(dynamo.client, table, [
    ...idRange('a', 5).map((id) => ({ id, room: 'room-a' })),
    ...idRange('b', 3).map((id) => ({ id, room: 'room-b' })),
  ]);

  const stats = await fanOut(options(table, 'room-a'));

  expect(stats).toMatchObject({ recipients: 5, delivered: 5, gone: 0, failed: 0, itemsRead: 5, pages: 1, truncated: false });
  expect(server.deliveredIds()).toEqual(idRange('a', 5));
  for (const id of idRange('a', 5)) expect(server.postsTo(id).map((p) => p.body)).toEqual([FRAME]);
  expect(server.received.every((p) => p.signed)).toBe(true);
});

test('stops starting posts at its deadline, counts what it did not post as failed, and keeps every row', async () => {
  const table = await dynamo.newTable();
  const ids = idRange('late', 20);
  await seedConnections(dynamo.client, table, ids.map((id) => ({ id, room: 'late' })));
  // A clock that moves 100 ms per reading, and a deadline 1.5 s away with 1 s attempts: the first posts start,
  // then the deadline is reached long before the room is done.
  let clock = 0;
  const now = () => (clock += 100);
  const stats = await fanOut(options(table, 'late', { concurrency: 1, now, deadlineMs: 1500, timeoutMs: 1000 }));
  expect(stats.truncated).toBe(true);
  expect(stats.delivered).toBeGreaterThan(0);
  expect(stats.delivered).toBeLessThan(ids.length);
  expect(stats.failed).toBeGreaterThanOrEqual(1);
  expect(server.received).toHaveLength(stats.delivered);
  expect(await allConnectionIds(dynamo.client, table)).toEqual(expect.arrayContaining(ids));
});

test('an empty room reads one page and posts nothing', async () => {
  const table = await dynamo.newTable();
  const stats = await fanOut(options(table, 'nobody-here'));
  expect(stats).toMatchObject({ recipients: 0, delivered: 0, gone: 0, failed: 0, itemsRead: 0, pages: 1, truncated: false });
  expect(server.received).toHaveLength(0);
});

test('skips expired rows (ttl <= now) that DynamoDB has not deleted yet', async () => {
  const table = await dynamo.newTable();
  const now = nowSeconds();
  await seedConnections(dynamo.client, table, [
    { id: 'live-1', room: 'r', ttl: now + 60 },
    { id: 'live-2', room: 'r', ttl: now + 1 },
    { id: 'dead-now', room: 'r', ttl: now },
    { id: 'dead-old', room: 'r', ttl: now - 3600 },
  ]);

  const stats = await fanOut(options(table, 'r', { nowSeconds: now }));

  expect(server.deliveredIds()).toEqual(['live-1', 'live-2']);
  expect(stats).toMatchObject({ recipients: 2, delivered: 2, itemsRead: 4 });
  // Expired rows are skipped, not deleted: TTL does that.
  expect(await allConnectionIds(dynamo.client, table)).toHaveLength(4);
});

test('follows LastEvaluatedKey across many pages (1200 rows, pages of 50)', async () => {
  const table = await dynamo.newTable();
  const now = nowSeconds();
  const live = idRange('big', 1200);
  await seedConnections(dynamo.client, table, [
    ...live.map((id) => ({ id, room: 'big-room' })),
    ...idRange('expired', 30).map((id) => ({ id, room: 'big-room', ttl: now - 10 })),
    ...idRange('other', 40).map((id) => ({ id, room: 'other-room' })),
  ]);

  const stats = await fanOut(options(table, 'big-room', { pageSize: 50, concurrency: 25, nowSeconds: now }));

  expect(stats.recipients).toBe(1200);
  expect(stats.delivered).toBe(1200);
  expect(stats.itemsRead).toBe(1230);
  expect(stats.pages).toBeGreaterThanOrEqual(Math.ceil(1230 / 50));
  expect(server.deliveredIds()).toEqual(live);
  // Each connection exactly once.
  expect(server.received).toHaveLength(1200);
});

test('streams: posting starts before the room is read to the end (at most one page fetched ahead)', async () => {
  const table = await dynamo.newTable();
  await seedConnections(dynamo.client, table, idRange('s', 60).map((id) => ({ id, room: 'stream' })));
  let queries = 0;
  dynamo.client.middlewareStack.add(
    (next, context) => async (args) => {
      if (context.commandName === 'QueryCommand') queries++;
      return next(args);
    },
    { step: 'initialize', name: 'countQueries' },
  );
  let queriesAtFirstPost: number | undefined;
  server.onPost = () => {
    queriesAtFirstPost ??= queries;
  };
  try {
    const stats = await fanOut(options(table, 'stream', { pageSize: 10, concurrency: 5 }));
    expect(stats.pages).toBeGreaterThanOrEqual(6);
    // When the first post arrives, only page 1 and the prefetch of page 2 can have been requested.
    expect(queriesAtFirstPost).toBeLessThanOrEqual(2);
    expect(queries).toBe(stats.pages);
  } finally {
    dynamo.client.middlewareStack.remove('countQueries');
  }
});

test('the concurrency bound holds at the server (fan-out workers, not only the socket pool)', async () => {
  const table = await dynamo.newTable();
  await seedConnections(dynamo.client, table, idRange('c', 100).map((id) => ({ id, room: 'busy' })));
  // The client's agent allows 50 sockets: only the fan-out's own bound (5) can keep it at 5.
  server.holdInBatchesOf(5);

  const stats = await fanOut(options(table, 'busy', { concurrency: 5, pageSize: 15 }));

  expect(stats.delivered).toBe(100);
  expect(server.maxInFlight).toBe(5);
});

test('the agent alone also caps sockets at maxSockets', async () => {
  const table = await dynamo.newTable();
  await seedConnections(dynamo.client, table, idRange('k', 40).map((id) => ({ id, room: 'pool' })));
  const narrow = createManagementClient({ endpoint: server.endpoint, maxSockets: 4, region: 'us-east-1', credentials: async () => LOCAL_CREDENTIALS });
  server.holdInBatchesOf(4);
  try {
    const stats = await fanOut(options(table, 'pool', { management: narrow, concurrency: 20 }));
    expect(stats.delivered).toBe(40);
    expect(server.maxInFlight).toBe(4);
  } finally {
    narrow.destroy();
  }
});

test('410 Gone deletes only that row and is not retried', async () => {
  const table = await dynamo.newTable();
  await seedConnections(dynamo.client, table, [
    { id: 'alive-1', room: 'g' },
    { id: 'gone-1', room: 'g' },
    { id: 'alive-2', room: 'g' },
    { id: 'elsewhere', room: 'other' },
  ]);
  server.script('gone-1', 410);

  const stats = await fanOut(options(table, 'g'));

  expect(stats).toMatchObject({ recipients: 3, delivered: 2, gone: 1, failed: 0 });
  expect(server.postsTo('gone-1')).toHaveLength(1);
  expect(await allConnectionIds(dynamo.client, table)).toEqual(['alive-1', 'alive-2', 'elsewhere']);
});

test('429 then success is delivered on a retry and the row kept', async () => {
  const table = await dynamo.newTable();
  await seedConnections(dynamo.client, table, [{ id: 'throttled', room: 't' }, { id: 'fine', room: 't' }]);
  server.script('throttled', 429, 429, 200);

  const stats = await fanOut(options(table, 't'));

  expect(stats).toMatchObject({ recipients: 2, delivered: 2, gone: 0, failed: 0 });
  expect(server.postsTo('throttled').map((p) => p.reply)).toEqual([429, 429, 200]);
  expect(await allConnectionIds(dynamo.client, table)).toEqual(['fine', 'throttled']);
});

test('a persistent 500 is tried 3 times, counted failed, and the row kept', async () => {
  const table = await dynamo.newTable();
  await seedConnections(dynamo.client, table, [{ id: 'broken', room: 'e' }, { id: 'ok', room: 'e' }]);
  server.script('broken', 500);

  const stats = await fanOut(options(table, 'e'));

  expect(stats).toMatchObject({ recipients: 2, delivered: 1, gone: 0, failed: 1 });
  expect(server.postsTo('broken')).toHaveLength(3);
  expect(await allConnectionIds(dynamo.client, table)).toEqual(['broken', 'ok']);
});

test('a hung post hits its deadline on each attempt, is counted failed, and the row kept', async () => {
  const table = await dynamo.newTable();
  await seedConnections(dynamo.client, table, [{ id: 'hung', room: 'h' }, { id: 'ok', room: 'h' }]);
  server.script('hung', 'hang');

  const stats = await fanOut(options(table, 'h', { timeoutMs: 500 }));

  expect(stats).toMatchObject({ recipients: 2, delivered: 1, gone: 0, failed: 1 });
  expect(server.postsTo('hung')).toHaveLength(3);
  expect(server.deliveredIds()).toEqual(['ok']);
  expect(await allConnectionIds(dynamo.client, table)).toEqual(['hung', 'ok']);
});

test('403 and 413 are not retried, are counted failed, and keep their rows', async () => {
  const table = await dynamo.newTable();
  await seedConnections(dynamo.client, table, [{ id: 'forbidden', room: 'x' }, { id: 'too-large', room: 'x' }, { id: 'ok', room: 'x' }]);
  server.script('forbidden', 403).script('too-large', 413);

  const stats = await fanOut(options(table, 'x'));

  expect(stats).toMatchObject({ recipients: 3, delivered: 1, gone: 0, failed: 2 });
  expect(server.postsTo('forbidden')).toHaveLength(1);
  expect(server.postsTo('too-large')).toHaveLength(1);
  expect(await allConnectionIds(dynamo.client, table)).toEqual(['forbidden', 'ok', 'too-large']);
});

test('no live row is ever deleted by a transient error; only the 410s go', async () => {
  const table = await dynamo.newTable();
  const room = idRange('m', 30);
  await seedConnections(dynamo.client, table, room.map((id) => ({ id, room: 'mixed' })));
  const replies: Array<Parameters<ConnectionsServer['script']>[1][]> = [[429], [500], [502, 200], [503], ['hang'], [403], [413], [400], [410], [200]];
  room.forEach((id, i) => server.script(id, ...replies[i % replies.length]));

  const stats = await fanOut(options(table, 'mixed', { timeoutMs: 500 }));

  const goneIds = room.filter((_, i) => i % replies.length === 8);
  expect(stats.gone).toBe(goneIds.length);
  expect(stats.delivered + stats.gone + stats.failed).toBe(30);
  expect(await allConnectionIds(dynamo.client, table)).toEqual(room.filter((id) => !goneIds.includes(id)));
});

test('one failing connection never fails the broadcast, even when every post fails', async () => {
  const table = await dynamo.newTable();
  await seedConnections(dynamo.client, table, idRange('f', 12).map((id) => ({ id, room: 'doomed' })));
  server.setDefault(500);
  const stats = await fanOut(options(table, 'doomed', { maxAttempts: 2 }));
  expect(stats).toMatchObject({ recipients: 12, delivered: 0, failed: 12 });
  expect(server.received).toHaveLength(24);
});

test('connection ids are URL-encoded in the path', async () => {
  const table = await dynamo.newTable();
  const weird = 'L0SM9cOFvHcCIhw=';
  await seedConnections(dynamo.client, table, [{ id: weird, room: 'enc' }]);
  const stats = await fanOut(options(table, 'enc'));
  expect(stats.delivered).toBe(1);
  expect(server.deliveredIds()).toEqual([weird]);
});

test('a Query that fails part-way (throttling) rejects with the partial stats, after the first page was posted', async () => {
  const throttled = new DynamoDBClient({ region: 'us-east-1' });
  const mock = mockClient(throttled);
  mock
    .on(QueryCommand)
    .resolvesOnce({ Items: [{ connection_id: { S: 'p1-a' } }, { connection_id: { S: 'p1-b' } }], ScannedCount: 2, LastEvaluatedKey: { connection_id: { S: 'p1-b' } } })
    .rejects(new ProvisionedThroughputExceededException({ message: 'slow down', $metadata: { httpStatusCode: 400 } }));

  const error = await fanOut(options('any-table', 'q', { dynamo: throttled })).catch((err: unknown) => err);

  expect(error).toBeInstanceOf(FanoutQueryError);
  expect((error as FanoutQueryError).stats).toMatchObject({ recipients: 2, delivered: 2, pages: 1 });
  expect((error as FanoutQueryError).cause).toBeInstanceOf(ProvisionedThroughputExceededException);
  expect(server.deliveredIds()).toEqual(['p1-a', 'p1-b']);
  // The index is queried, never scanned, with the live-row filter and a minimal projection.
  const input = mock.commandCalls(QueryCommand)[0].args[0].input;
  expect(input).toMatchObject({
    IndexName: 'room_id-index',
    KeyConditionExpression: '#r = :r',
    FilterExpression: '#t > :now',
    ProjectionExpression: '#c, #u, #s',
    ExpressionAttributeNames: { '#r': 'room_id', '#t': 'ttl', '#c': 'connection_id', '#u': 'user_id', '#s': 'shard' },
    ExpressionAttributeValues: { ':r': { S: 'q' } },
  });
  expect(mock.commandCalls(QueryCommand)[1].args[0].input.ExclusiveStartKey).toEqual({ connection_id: { S: 'p1-b' } });
  mock.restore();
});

test('every connection gets its first attempt before any connection gets a retry', async () => {
  const table = await dynamo.newTable();
  const ids = idRange('q', 40);
  await seedConnections(dynamo.client, table, ids.map((id) => ({ id, room: 'queue' })));
  // The first ten fail once (500, then 200): their retries must all come after the last first attempt.
  for (const id of ids.slice(0, 10)) server.script(id, 500, 200);
  const stats = await fanOut(options(table, 'queue', { concurrency: 4 }));
  expect(stats).toMatchObject({ recipients: 40, delivered: 40, failed: 0, retries: 10 });
  const order = server.received.map((p) => p.connectionId);
  const firstAttemptsEnd = Math.max(...ids.map((id) => order.indexOf(id)));
  const firstRetry = Math.min(...ids.slice(0, 10).map((id) => order.lastIndexOf(id)));
  expect(firstRetry).toBeGreaterThan(firstAttemptsEnd);
});

test('a retry that could not finish before the deadline is not started', async () => {
  const table = await dynamo.newTable();
  await seedConnections(dynamo.client, table, [{ id: 'slow', room: 'd' }, { id: 'ok', room: 'd' }]);
  server.script('slow', 'hang');
  // 1 s attempts, a deadline 1.7 s away: the hung first attempt uses 1 s, a retry would not fit.
  const stats = await fanOut(options(table, 'd', { timeoutMs: 1000, deadlineMs: Date.now() + 1700, backoffBaseMs: 1 }));
  expect(stats).toMatchObject({ recipients: 2, delivered: 1, failed: 1, retries: 0 });
  expect(server.postsTo('slow')).toHaveLength(1);
});

test('a post that waited for the rate limiter past the deadline is not started (the deadline is checked after the wait)', async () => {
  const table = await dynamo.newTable();
  const ids = idRange('paced', 60);
  await seedConnections(dynamo.client, table, ids.map((id) => ({ id, room: 'paced' })));
  const arrivals: number[] = [];
  server.onPost = () => arrivals.push(Date.now());
  // 20 posts/s, 30 takers queued at once, attempts of 400 ms and a deadline 1.5 s away: about 22 posts fit.
  const started = Date.now();
  const deadlineMs = started + 1500;
  const stats = await fanOut(options(table, 'paced', { concurrency: 30, timeoutMs: 400, deadlineMs, rate: new RateLimiter(20) }));
  server.onPost = undefined;
  expect(stats.truncated).toBe(true);
  expect(stats.delivered).toBeGreaterThan(0);
  expect(stats.delivered).toBeLessThan(ids.length);
  expect(server.received).toHaveLength(stats.delivered);
  // Nothing started after the deadline less an attempt's time-out (150 ms for the way to the server on a busy
  // machine; without the check, the limiter's next slots would start posts up to the deadline and past it).
  expect(Math.max(...arrivals)).toBeLessThanOrEqual(deadlineMs - 400 + 150);
});
