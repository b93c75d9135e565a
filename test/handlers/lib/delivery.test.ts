import { postToConnection, type PostPolicy, type StatusPoster } from '../../../src/handlers/lib/delivery';
import { fanOutRoom } from '../../../src/handlers/lib/fanout';
import { seedConnections, allConnectionIds, nowSeconds } from '../../support/connections-table';
import { startHandlerFixture, type HandlerFixture } from '../../support/handler-fixture';

let fx: HandlerFixture;
beforeAll(async () => {
  fx = await startHandlerFixture();
});
afterEach(() => fx.server.reset());
afterAll(() => fx.close());

const policy: PostPolicy = { maxAttempts: 3, timeoutMs: 1000, backoffBaseMs: 10 };

test('the backoff uses full jitter, growing per attempt', async () => {
  const table = await fx.dynamo.newTable();
  fx.server.script('c', 503, 503, 200);
  const delays: number[] = [];
  const result = await postToConnection({ management: fx.management, dynamo: fx.dynamo.client, tableName: table }, {
    ...policy,
    backoffBaseMs: 100,
    random: () => 0.5,
    sleep: async (ms) => void delays.push(ms),
  }, 'c', 'x');
  expect(result).toEqual({ outcome: 'delivered', attempts: 3 });
  expect(delays).toEqual([50, 100]);
});

test('no retry starts when it could not finish before the deadline', async () => {
  const table = await fx.dynamo.newTable();
  fx.server.script('c', 500);
  const now = 1_000_000;
  const result = await postToConnection(
    { management: fx.management, dynamo: fx.dynamo.client, tableName: table },
    // The first attempt (1 s) just fits; a retry after any backoff would not.
    { ...policy, now: () => now, deadlineMs: now + 1000, random: () => 0.5 },
    'c',
    'x',
  );
  expect(result).toMatchObject({ outcome: 'failed', attempts: 1, status: 500, deadline: true });
  expect(fx.server.postsTo('c')).toHaveLength(1);
});

test('no first attempt starts when it could not finish before the deadline', async () => {
  const table = await fx.dynamo.newTable();
  const now = 1_000_000;
  const result = await postToConnection(
    { management: fx.management, dynamo: fx.dynamo.client, tableName: table },
    { ...policy, now: () => now, deadlineMs: now + 999 },
    'c',
    'x',
  );
  expect(result).toEqual({ outcome: 'failed', attempts: 0, deadline: true });
  expect(fx.server.postsTo('c')).toHaveLength(0);
});

test('a 410 whose row cannot be deleted is still "gone" and never throws', async () => {
  fx.server.script('c', 410);
  const result = await postToConnection({ management: fx.management, dynamo: fx.dynamo.client, tableName: 'no-such-table' }, policy, 'c', 'x');
  expect(result).toMatchObject({ outcome: 'gone', attempts: 1, status: 410, rowDeleted: false });
});

test('a 410 for a row already deleted (e.g. by $disconnect) reports rowDeleted: false', async () => {
  const table = await fx.dynamo.newTable();
  await seedConnections(fx.dynamo.client, table, [{ id: 'keep', room: 'r' }]);
  fx.server.script('c', 410).script('keep', 410);
  const target = { management: fx.management, dynamo: fx.dynamo.client, tableName: table };
  expect(await postToConnection(target, policy, 'c', 'x')).toMatchObject({ outcome: 'gone', rowDeleted: false });
  expect(await postToConnection(target, policy, 'keep', 'x')).toMatchObject({ outcome: 'gone', rowDeleted: true });
  expect(await allConnectionIds(fx.dynamo.client, table)).toEqual([]);
});

test('the error name and status of the last attempt are reported', async () => {
  const table = await fx.dynamo.newTable();
  fx.server.script('c', 403);
  const result = await postToConnection({ management: fx.management, dynamo: fx.dynamo.client, tableName: table }, policy, 'c', 'x');
  expect(result).toEqual({ outcome: 'failed', attempts: 1, status: 403, errorName: 'ForbiddenException' });
});

describe('a StatusPoster (status-answering client) plugs into the same retry / 410 rules', () => {
  // A minimal poster over fetch against the real test server (unsigned: the fake endpoint does not check).
  const poster: StatusPoster = {
    async post(connectionId, data, timeoutMs) {
      const signal = timeoutMs === undefined ? undefined : AbortSignal.timeout(timeoutMs);
      const res = await fetch(`${fx.server.endpoint}/@connections/${encodeURIComponent(connectionId)}`, { method: 'POST', body: typeof data === 'string' ? data : Buffer.from(data).toString('utf8'), signal });
      await res.arrayBuffer();
      return { status: res.status, errorType: res.headers.get('x-amzn-errortype') ?? undefined };
    },
  };

  test('fan-out with it: delivered, 429 retried, 410 deleted, 413 failed, hang timed out', async () => {
    const table = await fx.dynamo.newTable();
    await seedConnections(fx.dynamo.client, table, ['ok', 'busy', 'gone', 'big', 'hung'].map((id) => ({ id, room: 'r' })));
    fx.server.script('busy', 429, 200).script('gone', 410).script('big', 413).script('hung', 'hang');
    const stats = await fanOutRoom({ ...policy, nowSeconds: nowSeconds(), timeoutMs: 500, dynamo: fx.dynamo.client, management: poster, tableName: table, roomId: 'r', data: 'x', concurrency: 3 });
    expect(stats).toMatchObject({ recipients: 5, delivered: 2, gone: 1, failed: 2 });
    expect(fx.server.postsTo('busy').map((p) => p.reply)).toEqual([429, 200]);
    expect(fx.server.postsTo('big')).toHaveLength(1);
    expect(fx.server.postsTo('hung')).toHaveLength(3);
    expect(await allConnectionIds(fx.dynamo.client, table)).toEqual(['big', 'busy', 'hung', 'ok']);
  });
});
