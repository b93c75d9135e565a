import { PutItemCommand } from '@aws-sdk/client-dynamodb';
import { InvokeCommand, LambdaClient } from '@aws-sdk/client-lambda';
import { ERROR_CODES, LIMITS } from '../../src/shared/contract';
import { REAL_HANDLERS, startTestGateway, type TestGateway } from '../support/local-gateway';
import { assertRealBundles } from '../support/real-handlers';
import { eventually, waitForEvent } from '../support/wait';
import { connectUrl, TestClient, type Frame } from '../support/ws-client';

/**
 * Server push end to end: a backend publishes through the gateway's Lambda Invoke API with the real
 * `@aws-sdk/client-lambda` (the same code it would run against AWS), to a connection, a user or a room; clients
 * on real sockets receive `event` frames.
 */

assertRealBundles();

let gw: TestGateway;
let lambda: LambdaClient;
const clients: TestClient[] = [];
let roomCounter = 0;

beforeAll(async () => {
  gw = await startTestGateway({ handlersDir: REAL_HANDLERS });
  lambda = new LambdaClient({ endpoint: gw.lambdaEndpoint, region: 'us-east-1', credentials: { accessKeyId: 'local', secretAccessKey: 'local' } });
});
afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.close()));
  await gw.settled();
});
afterAll(async () => {
  lambda?.destroy();
  await gw?.close();
});

const newRoom = (): string => `push-${++roomCounter}-${process.pid}`;

async function connect(user: string, room?: string): Promise<{ client: TestClient; id: string }> {
  const connected = waitForEvent<{ connectionId: string; authorizer?: Record<string, unknown> }>(gw.events, 'connect', (e) => e.authorizer?.userId === user);
  const client = await TestClient.connect(connectUrl(gw.url, { token: gw.devToken(user), room_id: room }));
  clients.push(client);
  return { client, id: (await connected).connectionId };
}

/** Invokes `publish` as a backend would; the parsed answer, or the function error. */
async function publish(input: unknown): Promise<{ result?: Record<string, unknown>; error?: { errorType: string; errorMessage: string } }> {
  const out = await lambda.send(new InvokeCommand({
    FunctionName: 'publish',
    Payload: typeof input === 'string' ? Buffer.from(input) : Buffer.from(JSON.stringify(input)),
  }));
  const body = JSON.parse(Buffer.from(out.Payload ?? new Uint8Array()).toString('utf8') || 'null') as Record<string, unknown>;
  return out.FunctionError ? { error: body as { errorType: string; errorMessage: string } } : { result: body };
}

const events = (c: TestClient): Frame[] => c.matching((f) => f.action === 'event');

describe('publish', () => {
  test('to a user: one event on each of their sockets, nothing to anyone else', async () => {
    const phone = await connect('alice');
    const laptop = await connect('alice', newRoom());
    const bob = await connect('bob');
    const { result } = await publish({ user_id: 'alice', type: 'order.shipped', data: { order: 42, items: ['a'] } });
    expect(result).toEqual({ delivered: 2, gone: 0, failed: 0 });
    for (const device of [phone, laptop]) {
      const [event] = await device.client.waitFor((f) => f.action === 'event');
      expect(event).toMatchObject({ action: 'event', type: 'order.shipped', data: { order: 42, items: ['a'] }, event_id: expect.any(String) });
      expect(event).not.toHaveProperty('room_id');
      expect(new Date(event.timestamp as string).toISOString()).toBe(event.timestamp);
    }
    expect(events(phone.client)[0].event_id).toBe(events(laptop.client)[0].event_id);
    await gw.settled();
    expect(events(bob.client)).toEqual([]);
  });

  test('to a room: every member once, with the room\'s seq, and it is in the room\'s history', async () => {
    const room = newRoom();
    const alice = await connect('alice', room);
    const bob = await connect('bob', room);
    const outsider = await connect('eve', newRoom());
    alice.client.send({ action: 'sendMessage', message: 'before the event' });
    await bob.client.waitFor((f) => f.message === 'before the event');
    const { result } = await publish({ room_id: room, type: 'build.finished', data: { ok: true } });
    expect(result).toEqual({ delivered: 2, gone: 0, failed: 0, seq: 2 });
    for (const member of [alice, bob]) {
      const [event] = await member.client.waitFor((f) => f.action === 'event');
      expect(event).toMatchObject({ room_id: room, seq: 2, type: 'build.finished', data: { ok: true } });
    }
    await gw.settled();
    for (const member of [alice, bob]) expect(events(member.client)).toHaveLength(1);
    expect(events(outsider.client)).toEqual([]);
    bob.client.send({ action: 'history', room_id: room, after_seq: 0, request_id: 'h' });
    const [history] = await bob.client.waitFor((f) => f.action === 'history');
    expect((history.messages as Frame[]).map((m) => [m.seq, m.action])).toEqual([[1, 'message'], [2, 'event']]);
    // Stored as delivered.
    expect((history.messages as Frame[])[1]).toEqual(JSON.parse(events(bob.client)[0].raw));
  });

  test('to a connection: one post; a closed connection reports gone and loses its items', async () => {
    const alice = await connect('alice', newRoom());
    expect((await publish({ connection_id: alice.id, type: 'job.done', data: 'result' })).result).toEqual({ delivered: 1, gone: 0, failed: 0 });
    expect((await alice.client.next('event'))).toMatchObject({ type: 'job.done', data: 'result' });

    const ghost = await connect('ghost', newRoom());
    // A connection that went away while its items stayed (a $disconnect that never ran): put them back after the close.
    const items = await gw.items(ghost.id);
    const closed = waitForEvent(gw.events, 'disconnect', (e: { connectionId: string }) => e.connectionId === ghost.id);
    await ghost.client.close();
    await closed;
    // (An hour old: a connection in its first seconds keeps its items on a 410, as it may still be in its handshake.)
    const anHourAgo = new Date(Date.now() - 3_600_000).toISOString();
    for (const Item of items) {
      if (Item.created_at) Item.created_at = { S: anHourAgo };
      await gw.dynamo.send(new PutItemCommand({ TableName: gw.tableName, Item }));
    }
    expect(await gw.items(ghost.id)).toHaveLength(items.length);
    expect((await publish({ connection_id: ghost.id, type: 'job.done', data: null })).result).toEqual({ delivered: 0, gone: 1, failed: 0 });
    await eventually(async () => (await gw.items(ghost.id)).length === 0, 5000, 'the gone connection\'s items to be removed');
  });

  test('bad input is a clear function error naming the field; nothing posted, nothing deleted', async () => {
    const room = newRoom();
    const alice = await connect('alice', room);
    const before = await gw.rows();
    const cases: Array<[unknown, RegExp]> = [
      [{ type: 'x', data: 1 }, /^target: give exactly one of room_id, user_id, connection_id \(got none\)/],
      [{ room_id: room, user_id: 'alice', type: 'x' }, /^target: .*got room_id, user_id/],
      [{ user_id: 'alice', type: '' }, /^type: /],
      [{ user_id: 'alice', type: 't'.repeat(LIMITS.maxEventTypeLength + 1) }, /^type: /],
      [{ user_id: 'alice', type: 5 }, /^type: /],
      [{ room_id: 'bad room', type: 'x' }, /^room_id: /],
      [{ user_id: 'alice', type: 'x', data: 'y'.repeat(LIMITS.maxMessageBytes) }, /^data: the event frame would be \d+ bytes/],
      ['"just a string"', /^input: must be a JSON object/],
      [[1, 2], /^input: /],
    ];
    for (const [input, message] of cases) {
      const { error } = await publish(input);
      expect(error).toEqual(expect.objectContaining({ errorType: 'PublishValidationError', errorMessage: expect.stringMatching(message) }));
    }
    // Not even JSON: Lambda's own 400, before the function runs.
    await expect(lambda.send(new InvokeCommand({ FunctionName: 'publish', Payload: Buffer.from('{nope') }))).rejects.toMatchObject({ name: 'InvalidRequestContentException' });
    await gw.settled();
    expect(events(alice.client)).toEqual([]);
    expect(alice.client.matching((f) => f.action === 'error' && f.code === ERROR_CODES.unknownAction)).toEqual([]);
    expect((await gw.rows()).length).toBe(before.length);
  });

  test('the same idempotency_key twice delivers once', async () => {
    const alice = await connect('alice');
    const input = { user_id: 'alice', type: 'invoice.paid', data: { n: 1 }, idempotency_key: `inv-${Date.now()}` };
    expect((await publish(input)).result).toEqual({ delivered: 1, gone: 0, failed: 0 });
    expect((await publish(input)).result).toEqual({ duplicate: true });
    expect((await publish({ ...input, idempotency_key: `${input.idempotency_key}-other` })).result).toEqual({ delivered: 1, gone: 0, failed: 0 });
    await gw.settled();
    expect(events(alice.client)).toHaveLength(2);
  });
});
