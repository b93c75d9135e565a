import { postToConnection, type PostPolicy } from '../../../src/handlers/lib/delivery';
import { seedConnections, allConnectionIds } from '../../support/connections-table';
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
    { ...policy, now: () => now, deadlineMs: now + 500 },
    'c',
    'x',
  );
  expect(result).toMatchObject({ outcome: 'failed', attempts: 1, status: 500 });
  expect(fx.server.postsTo('c')).toHaveLength(1);
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
