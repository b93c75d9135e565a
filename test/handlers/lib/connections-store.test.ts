import {
  connectionRow,
  deleteConnection,
  deleteGoneConnection,
  putConnection,
  queryRoomPage,
  roomPages,
} from '../../../src/handlers/lib/connections-store';
import { setLocalAwsEnv } from '../../support/aws-env';
import { allConnectionIds, getConnection, idRange, nowSeconds, seedConnections } from '../../support/connections-table';
import { startDynalite, type LocalDynamo } from '../../support/dynalite';

setLocalAwsEnv();
let dynamo: LocalDynamo;
beforeAll(async () => {
  dynamo = await startDynalite();
});
afterAll(() => dynamo.close());

test('connectionRow: TTL from the connect time, ISO created_at', () => {
  expect(connectionRow('c', { userId: 'u', roomId: 'r' }, 1_700_000_000_999, 7500)).toEqual({
    connectionId: 'c',
    roomId: 'r',
    userId: 'u',
    ttl: 1_700_000_000 + 7500,
    createdAt: '2023-11-14T22:13:20.999Z',
  });
});

test('put, then delete (idempotent)', async () => {
  const table = await dynamo.newTable();
  await putConnection(dynamo.client, table, connectionRow('c1', { userId: 'u', roomId: 'r' }, Date.now(), 60));
  expect(await getConnection(dynamo.client, table, 'c1')).toBeDefined();
  await deleteConnection(dynamo.client, table, 'c1');
  await deleteConnection(dynamo.client, table, 'c1');
  expect(await allConnectionIds(dynamo.client, table)).toEqual([]);
});

test('deleteGoneConnection is conditional and reports whether it deleted', async () => {
  const table = await dynamo.newTable();
  await seedConnections(dynamo.client, table, [{ id: 'g', room: 'r' }, { id: 'h', room: 'r' }]);
  expect(await deleteGoneConnection(dynamo.client, table, 'g')).toBe(true);
  expect(await deleteGoneConnection(dynamo.client, table, 'g')).toBe(false);
  expect(await allConnectionIds(dynamo.client, table)).toEqual(['h']);
});

test('queryRoomPage: live rows of the room, projected to connection_id, with Limit and LastEvaluatedKey', async () => {
  const table = await dynamo.newTable();
  const now = nowSeconds();
  await seedConnections(dynamo.client, table, [
    ...idRange('r', 5).map((id) => ({ id, room: 'room' })),
    { id: 'old', room: 'room', ttl: now - 1 },
    { id: 'x', room: 'elsewhere' },
  ]);
  const all = await queryRoomPage(dynamo.client, { tableName: table, roomId: 'room', nowSeconds: now });
  expect(all.connectionIds.sort()).toEqual(idRange('r', 5));
  expect(all.itemsRead).toBe(6);
  expect(all.lastEvaluatedKey).toBeUndefined();

  const first = await queryRoomPage(dynamo.client, { tableName: table, roomId: 'room', nowSeconds: now, pageSize: 4 });
  expect(first.itemsRead).toBe(4);
  expect(first.lastEvaluatedKey).toBeDefined();
  const second = await queryRoomPage(dynamo.client, { tableName: table, roomId: 'room', nowSeconds: now, pageSize: 4 }, first.lastEvaluatedKey);
  expect([...first.connectionIds, ...second.connectionIds].sort()).toEqual(idRange('r', 5));
});

test('roomPages follows LastEvaluatedKey to the end; stopping early is safe', async () => {
  const table = await dynamo.newTable();
  await seedConnections(dynamo.client, table, idRange('p', 23).map((id) => ({ id, room: 'room' })));
  const seen: string[] = [];
  let pages = 0;
  for await (const page of roomPages(dynamo.client, { tableName: table, roomId: 'room', nowSeconds: nowSeconds(), pageSize: 5 })) {
    pages++;
    seen.push(...page.connectionIds);
  }
  expect(seen.sort()).toEqual(idRange('p', 23));
  expect(pages).toBeGreaterThanOrEqual(5);

  // Break after the first page while the next one is being prefetched: no unhandled rejection, no hang.
  for await (const page of roomPages(dynamo.client, { tableName: table, roomId: 'room', nowSeconds: nowSeconds(), pageSize: 5 })) {
    expect(page.connectionIds).toHaveLength(5);
    break;
  }
});
