import {
  batchWrite,
  connectionItem,
  deleteConnectionItems,
  deleteGoneConnection,
  HANDSHAKE_GRACE_MS,
  deleteMembership,
  getMembership,
  listMemberships,
  membershipItem,
  putConnection,
  putMembership,
  queryRoomPage,
  readRoom,
  roomPages,
  userConnections,
} from '../../../src/handlers/lib/connections-store';
import { shardOf, SHARDS } from '../../../src/shared/contract';
import { setLocalAwsEnv } from '../../support/aws-env';
import { allConnectionIds, allItems, getConnection, idRange, nowSeconds, roomsOf, seedConnections } from '../../support/connections-table';
import { startDynalite, type LocalDynamo } from '../../support/dynalite';

setLocalAwsEnv();
let dynamo: LocalDynamo;
beforeAll(async () => {
  dynamo = await startDynalite();
});
afterAll(() => dynamo.close());

const idsOf = (page: { members: Array<{ connectionId: string }> }) => page.members.map((m) => m.connectionId);

describe('items', () => {
  test('the connection item: user, ttl, created_at and the rooms claim when there is one', () => {
    expect(connectionItem({ connectionId: 'c', userId: 'u', ttl: 99, createdAt: 'T' })).toEqual({
      connection_id: { S: 'c' },
      sk: { S: 'connection' },
      user_id: { S: 'u' },
      ttl: { N: '99' },
      created_at: { S: 'T' },
    });
    expect(connectionItem({ connectionId: 'c', userId: 'u', ttl: 99, createdAt: 'T', rooms: ['a', 'b'] }).rooms).toEqual({ S: '["a","b"]' });
  });

  test('a membership item: room, user, shard (FNV-1a of the id mod 64) and ttl', () => {
    expect(membershipItem('L0SM9cOFvHcCIhw=', 'lobby', 'u', 5)).toEqual({
      connection_id: { S: 'L0SM9cOFvHcCIhw=' },
      sk: { S: 'room#lobby' },
      room_id: { S: 'lobby' },
      user_id: { S: 'u' },
      shard: { N: String(shardOf('L0SM9cOFvHcCIhw=')) },
      ttl: { N: '5' },
    });
  });

  test('shards spread evenly and stay in range', () => {
    const counts = new Array<number>(SHARDS).fill(0);
    for (const id of idRange('conn', 6400)) counts[shardOf(id)]++;
    expect(Math.min(...counts)).toBeGreaterThan(50);
    expect(Math.max(...counts)).toBeLessThan(160);
  });
});

describe('a connection and its rooms', () => {
  test('connect writes the connection item and its handshake room; without a room only the connection item', async () => {
    const table = await dynamo.newTable();
    const ttl = nowSeconds() + 60;
    await putConnection(dynamo.client, table, { connectionId: 'c1', userId: 'u', ttl, createdAt: 'T' }, 'lobby');
    await putConnection(dynamo.client, table, { connectionId: 'c2', userId: 'u', ttl, createdAt: 'T' });
    expect(await getConnection(dynamo.client, table, 'c1')).toMatchObject({ user_id: { S: 'u' } });
    expect(await roomsOf(dynamo.client, table, 'c1')).toEqual(['lobby']);
    expect(await roomsOf(dynamo.client, table, 'c2')).toEqual([]);
    expect((await allItems(dynamo.client, table)).length).toBe(3);
  });

  test('memberships: get (consistent, live only), list, delete returning the old item', async () => {
    const table = await dynamo.newTable();
    const now = nowSeconds();
    await putMembership(dynamo.client, table, 'c', 'a', 'u', now + 60);
    await putMembership(dynamo.client, table, 'c', 'b', 'u', now + 60);
    await putMembership(dynamo.client, table, 'c', 'old', 'u', now - 1);
    expect(await getMembership(dynamo.client, table, 'c', 'a', now)).toEqual({ roomId: 'a', userId: 'u', ttl: now + 60 });
    expect(await getMembership(dynamo.client, table, 'c', 'old', now)).toBeUndefined();
    expect(await getMembership(dynamo.client, table, 'c', 'zzz', now)).toBeUndefined();
    expect((await listMemberships(dynamo.client, table, 'c', now)).sort()).toEqual(['a', 'b']);
    expect(await listMemberships(dynamo.client, table, 'c', now, 1)).toHaveLength(1);
    expect(await deleteMembership(dynamo.client, table, 'c', 'a')).toMatchObject({ roomId: 'a', userId: 'u' });
    expect(await deleteMembership(dynamo.client, table, 'c', 'a')).toBeUndefined();
    expect((await listMemberships(dynamo.client, table, 'c', now)).sort()).toEqual(['b']);
  });

  test('deleteConnectionItems removes every item of the connection, and only them', async () => {
    const table = await dynamo.newTable();
    await seedConnections(dynamo.client, table, [
      { id: 'g', user: 'gus', rooms: idRange('room', 30) },
      { id: 'h', room: 'room-0001' },
    ]);
    const deleted = await deleteConnectionItems(dynamo.client, table, 'g');
    expect(deleted.items).toBe(31);
    expect(deleted.userId).toBe('gus');
    expect(deleted.rooms.sort()).toEqual(idRange('room', 30));
    expect(await allConnectionIds(dynamo.client, table)).toEqual(['h']);
    expect(await deleteConnectionItems(dynamo.client, table, 'g')).toEqual({ items: 0, userId: undefined, rooms: [] });
  });

  test('deleteGoneConnection reports whether there was anything to delete', async () => {
    const table = await dynamo.newTable();
    await seedConnections(dynamo.client, table, [{ id: 'g', room: 'r' }, { id: 'h', room: 'r' }]);
    expect(await deleteGoneConnection(dynamo.client, table, 'g')).toBe(true);
    expect(await deleteGoneConnection(dynamo.client, table, 'g')).toBe(false);
    expect(await allConnectionIds(dynamo.client, table)).toEqual(['h']);
  });

  test('a connection still in its handshake (items younger than the grace) survives a 410; $disconnect removes it anyway', async () => {
    const table = await dynamo.newTable();
    const now = Date.now();
    await seedConnections(dynamo.client, table, [
      { id: 'young', room: 'r', createdAt: new Date(now - 2_000).toISOString() },
      { id: 'old', room: 'r', createdAt: new Date(now - HANDSHAKE_GRACE_MS - 1_000).toISOString() },
    ]);
    expect(await deleteGoneConnection(dynamo.client, table, 'young', now)).toBe(false);
    expect(await deleteGoneConnection(dynamo.client, table, 'old', now)).toBe(true);
    expect(await allConnectionIds(dynamo.client, table)).toEqual(['young']);
    expect((await deleteConnectionItems(dynamo.client, table, 'young')).items).toBe(2);
    expect(await allConnectionIds(dynamo.client, table)).toEqual([]);
  });

  test('batchWrite handles more than 25 requests', async () => {
    const table = await dynamo.newTable();
    await batchWrite(dynamo.client, table, idRange('b', 60).map((id) => ({ PutRequest: { Item: connectionItem({ connectionId: id, userId: 'u', ttl: nowSeconds() + 60, createdAt: 'T' }) } })));
    expect(await allConnectionIds(dynamo.client, table)).toEqual(idRange('b', 60));
  });
});

describe('the room index', () => {
  test('queryRoomPage: live members of the room (id, user, shard), with Limit and LastEvaluatedKey', async () => {
    const table = await dynamo.newTable();
    const now = nowSeconds();
    await seedConnections(dynamo.client, table, [
      ...idRange('r', 5).map((id) => ({ id, room: 'room', user: 'u' })),
      { id: 'old', room: 'room', ttl: now - 1 },
      { id: 'x', room: 'elsewhere' },
      { id: 'loner' },
    ]);
    const all = await queryRoomPage(dynamo.client, { tableName: table, roomId: 'room', nowSeconds: now });
    expect(idsOf(all).sort()).toEqual(idRange('r', 5));
    expect(all.members.every((m) => m.userId === 'u' && m.shard === shardOf(m.connectionId))).toBe(true);
    expect(all.itemsRead).toBe(6);
    expect(all.lastEvaluatedKey).toBeUndefined();

    const first = await queryRoomPage(dynamo.client, { tableName: table, roomId: 'room', nowSeconds: now, pageSize: 4 });
    expect(first.itemsRead).toBe(4);
    expect(first.lastEvaluatedKey).toBeDefined();
    const second = await queryRoomPage(dynamo.client, { tableName: table, roomId: 'room', nowSeconds: now, pageSize: 4 }, first.lastEvaluatedKey);
    expect([...idsOf(first), ...idsOf(second)].sort()).toEqual(idRange('r', 5));
  });

  test('pages come in ascending shard order, and a shard range reads only its shards', async () => {
    const table = await dynamo.newTable();
    const ids = idRange('s', 300);
    await seedConnections(dynamo.client, table, ids.map((id) => ({ id, room: 'big' })));
    const shards: number[] = [];
    for await (const page of roomPages(dynamo.client, { tableName: table, roomId: 'big', nowSeconds: nowSeconds(), pageSize: 7 })) {
      shards.push(...page.members.map((m) => m.shard));
    }
    expect(shards).toHaveLength(300);
    expect(shards).toEqual([...shards].sort((a, b) => a - b));

    const ranged: string[] = [];
    for await (const page of roomPages(dynamo.client, { tableName: table, roomId: 'big', nowSeconds: nowSeconds(), shards: { from: 10, to: 19 } })) {
      ranged.push(...idsOf(page));
    }
    expect(ranged.sort()).toEqual(ids.filter((id) => shardOf(id) >= 10 && shardOf(id) <= 19).sort());
  });

  test('roomPages follows LastEvaluatedKey to the end; stopping early is safe', async () => {
    const table = await dynamo.newTable();
    await seedConnections(dynamo.client, table, idRange('p', 23).map((id) => ({ id, room: 'room' })));
    const seen: string[] = [];
    let pages = 0;
    for await (const page of roomPages(dynamo.client, { tableName: table, roomId: 'room', nowSeconds: nowSeconds(), pageSize: 5 })) {
      pages++;
      seen.push(...idsOf(page));
    }
    expect(seen.sort()).toEqual(idRange('p', 23));
    expect(pages).toBeGreaterThanOrEqual(5);

    // Break after the first page while the next one is being prefetched: no unhandled rejection, no hang.
    for await (const page of roomPages(dynamo.client, { tableName: table, roomId: 'room', nowSeconds: nowSeconds(), pageSize: 5 })) {
      expect(page.members).toHaveLength(5);
      break;
    }
  });

  test('readRoom: a bounded read that says when the room is larger', async () => {
    const table = await dynamo.newTable();
    await seedConnections(dynamo.client, table, idRange('m', 12).map((id) => ({ id, room: 'r' })));
    const query = { tableName: table, roomId: 'r', nowSeconds: nowSeconds() };
    expect(await readRoom(dynamo.client, query, 12)).toMatchObject({ truncated: false, members: expect.any(Array) });
    expect((await readRoom(dynamo.client, query, 12)).members).toHaveLength(12);
    const small = await readRoom(dynamo.client, query, 5);
    expect(small).toMatchObject({ truncated: true });
    expect(small.members).toHaveLength(5);
  });
});

test('userConnections: the live connection items of a user, not their memberships', async () => {
  const table = await dynamo.newTable();
  const now = nowSeconds();
  await seedConnections(dynamo.client, table, [
    { id: 'a1', user: 'alice', rooms: ['r1', 'r2'] },
    { id: 'a2', user: 'alice' },
    { id: 'a-old', user: 'alice', ttl: now - 1 },
    { id: 'b1', user: 'bob', room: 'r1' },
  ]);
  expect((await userConnections(dynamo.client, table, 'alice', now)).sort()).toEqual(['a1', 'a2']);
  expect(await userConnections(dynamo.client, table, 'nobody', now)).toEqual([]);
});
