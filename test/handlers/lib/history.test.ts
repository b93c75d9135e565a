import { eventFrame, messageFrame } from '../../../src/handlers/lib/frames';
import { handleHistory } from '../../../src/handlers/lib/history';
import { nextSeq, storeFrame } from '../../../src/handlers/lib/history-store';
import { publish } from '../../../src/handlers/lib/publish';
import { LIMITS } from '../../../src/shared/contract';
import { type SeedRow } from '../../support/connections-table';
import { routeEvent, startHandlerFixture, type FixtureDeps, type HandlerFixture } from '../../support/handler-fixture';

let fx: HandlerFixture;
beforeAll(async () => {
  fx = await startHandlerFixture();
});
afterEach(() => fx.server.reset());
afterAll(() => fx.close());

const NOW = Date.parse('2030-01-02T03:04:05.678Z');
const NOW_S = Math.floor(NOW / 1000);

async function setup(rows: SeedRow[] = [{ id: 'alice-1', user: 'alice', room: 'r' }], env: Record<string, string> = {}): Promise<FixtureDeps> {
  return fx.depsAt(NOW, rows, env);
}

const msg = (roomId: string, seq: number, message = `m${seq}`) =>
  ({ ...messageFrame({ messageId: `id-${seq}`, roomId, seq, userId: 'bob', message, timestamp: '2030-01-02T03:00:00.000Z' }), room_id: roomId, seq });

/** Takes `count` seqs of the room and stores a message under each (`expired`: stored long ago). */
async function post(
  deps: FixtureDeps,
  roomId: string,
  count: number,
  options: { expired?: (seq: number) => boolean; message?: (seq: number) => string } = {},
) {
  const table = deps.config.messagesTable!;
  for (let i = 0; i < count; i++) {
    const seq = await nextSeq(fx.dynamo.client, table, roomId);
    const storedAt = options.expired?.(seq) ? NOW_S - 2 * 86_400 : NOW_S;
    await storeFrame(fx.dynamo.client, table, msg(roomId, seq, options.message?.(seq)), storedAt, deps.config.historyRetentionSeconds);
  }
}

function history(frame: unknown, connectionId = 'alice-1') {
  return routeEvent({ connectionId, routeKey: 'history', userId: 'alice', body: typeof frame === 'string' ? frame : JSON.stringify(frame) });
}

const answer = (id = 'alice-1') => {
  const frames = fx.server.deliveredTo(id);
  expect(frames).toHaveLength(1);
  return frames[0];
};

test('after_seq: the messages after it, ascending, with latest_seq, has_more and the request_id', async () => {
  const deps = await setup();
  await post(deps, 'r', 6);
  await post(deps, 'other', 2);

  const result = await handleHistory(history({ action: 'history', room_id: 'r', after_seq: 2, limit: 3, request_id: 'h1' }), deps);

  expect(result).toEqual({ statusCode: 200 });
  expect(answer()).toEqual({
    action: 'history',
    room_id: 'r',
    messages: [msg('r', 3), msg('r', 4), msg('r', 5)],
    latest_seq: 6,
    has_more: true,
    request_id: 'h1',
  });
  expect(deps.logs.records).toEqual([expect.objectContaining({ event: 'history', outcome: 'answered', roomId: 'r', messages: 3, hasMore: true })]);
});

test.each<[string, Record<string, unknown>, number[], boolean]>([
  ['the latest when neither is given', {}, [5, 6, 7], true],
  ['the latest, all of them', { limit: 100 }, [1, 2, 3, 4, 5, 6, 7], false],
  ['before_seq pages back', { before_seq: 5 }, [2, 3, 4], true],
  ['before_seq: the oldest page', { before_seq: 4 }, [1, 2, 3], false],
  ['after_seq: the newest page', { after_seq: 4 }, [5, 6, 7], false],
  ['after_seq = latest_seq: nothing', { after_seq: 7 }, [], false],
  ['after_seq: 0 is from the start', { after_seq: 0 }, [1, 2, 3], true],
  ['null after_seq is as if absent', { after_seq: null }, [5, 6, 7], true],
])('%s', async (_what, fields, seqs, hasMore) => {
  const deps = await setup();
  await post(deps, 'r', 7);
  await handleHistory(history({ room_id: 'r', limit: 3, ...fields }), deps);
  const frame = answer();
  expect(frame.messages.map((m: { seq: number }) => m.seq)).toEqual(seqs);
  expect(frame).toMatchObject({ latest_seq: 7, has_more: hasMore });
});

test('the default limit is 100', async () => {
  const deps = await setup();
  await post(deps, 'r', 101);
  await handleHistory(history({ room_id: 'r' }), deps);
  const frame = answer();
  expect(frame.messages).toHaveLength(100);
  expect(frame.messages[0].seq).toBe(2);
  expect(frame).toMatchObject({ latest_seq: 101, has_more: true });
});

test('expired messages are skipped; latest_seq is still the counter', async () => {
  const deps = await setup();
  await post(deps, 'r', 6, { expired: (seq) => seq === 2 || seq >= 5 });
  await handleHistory(history({ room_id: 'r', after_seq: 0 }), deps);
  const frame = answer();
  expect(frame.messages.map((m: { seq: number }) => m.seq)).toEqual([1, 3, 4]);
  expect(frame).toMatchObject({ latest_seq: 6, has_more: false });
});

test('a room with no messages: latest_seq 0, nothing more', async () => {
  const deps = await setup();
  await handleHistory(history({ room_id: 'r', after_seq: 0, request_id: 'e' }), deps);
  expect(answer()).toEqual({ action: 'history', room_id: 'r', messages: [], latest_seq: 0, has_more: false, request_id: 'e' });
});

test('the answer stays under API Gateway\'s 128 KB message limit: it stops early with has_more', async () => {
  const deps = await setup();
  // Messages of 31 KB (the largest sendMessage accepts) each.
  await post(deps, 'r', 6, { message: (seq) => `${seq}`.padEnd(31 * 1024, 'y') });
  await handleHistory(history({ room_id: 'r', after_seq: 0, request_id: 'x'.repeat(64) }), deps);
  const [posted] = fx.server.postsTo('alice-1');
  expect(Buffer.byteLength(posted.body)).toBeLessThanOrEqual(LIMITS.maxHistoryAnswerBytes);
  const frame = JSON.parse(posted.body);
  expect(frame.messages.map((m: { seq: number }) => m.seq)).toEqual([1, 2, 3]);
  expect(frame.has_more).toBe(true);
});

test('room events published to the room are replayed as delivered', async () => {
  const deps = await setup([{ id: 'alice-1', user: 'alice', room: 'r' }, { id: 'bob-1', user: 'bob', room: 'r' }]);
  for (let i = 1; i <= 3; i++) await publish({ room_id: 'r', type: 'tick', data: { i } }, deps);
  const delivered = fx.server.deliveredTo('bob-1');
  expect(delivered.map((f) => f.seq)).toEqual([1, 2, 3]);
  fx.server.reset();

  await handleHistory(history({ room_id: 'r', after_seq: 0 }), deps);
  expect(answer()).toEqual({ action: 'history', room_id: 'r', messages: delivered, latest_seq: 3, has_more: false });
  expect(delivered[0]).toEqual(eventFrame({ eventId: delivered[0].event_id, type: 'tick', data: { i: 1 }, timestamp: new Date(NOW).toISOString(), roomId: 'r', seq: 1 }));
});

describe('members only', () => {
  test.each<[string, SeedRow[]]>([
    ['not in the room', [{ id: 'alice-1', user: 'alice', room: 'elsewhere' }]],
    ['an expired membership', [{ id: 'alice-1', user: 'alice', room: 'r', ttl: NOW_S - 1 }]],
  ])('%s → ROOM_MISMATCH, no messages told', async (_what, rows) => {
    const deps = await setup(rows);
    await post(deps, 'r', 3, { message: () => 'secret' });
    await handleHistory(history({ room_id: 'r', request_id: 'q' }), deps);
    expect(answer()).toEqual({ action: 'error', code: 'ROOM_MISMATCH', message: expect.any(String), request_id: 'q' });
    expect(fx.server.postsTo('alice-1')[0].body).not.toContain('secret');
  });
});

describe('bad frames → an error to the sender, nothing read', () => {
  test.each<[string, string, unknown]>([
    ['limit 101', 'INVALID_MESSAGE', { room_id: 'r', limit: 101 }],
    ['limit 0', 'INVALID_MESSAGE', { room_id: 'r', limit: 0 }],
    ['limit 2.5', 'INVALID_MESSAGE', { room_id: 'r', limit: 2.5 }],
    ['limit "10"', 'INVALID_MESSAGE', { room_id: 'r', limit: '10' }],
    ['after_seq and before_seq', 'INVALID_MESSAGE', { room_id: 'r', after_seq: 1, before_seq: 5 }],
    ['a negative after_seq', 'INVALID_MESSAGE', { room_id: 'r', after_seq: -1 }],
    ['a fractional before_seq', 'INVALID_MESSAGE', { room_id: 'r', before_seq: 1.5 }],
    ['a string after_seq', 'INVALID_MESSAGE', { room_id: 'r', after_seq: '3' }],
    ['no room_id', 'INVALID_ROOM', { after_seq: 1 }],
    ['a malformed room_id', 'INVALID_ROOM', { room_id: 'r r' }],
    ['not JSON', 'INVALID_JSON', '{'],
  ])('%s → %s', async (_what, code, frame) => {
    const deps = await setup();
    await post(deps, 'r', 2);
    await handleHistory(history(frame), deps);
    expect(answer()).toMatchObject({ action: 'error', code });
  });

  test('limit 100 is accepted', async () => {
    const deps = await setup();
    await handleHistory(history({ room_id: 'r', limit: LIMITS.maxHistoryLimit }), deps);
    expect(answer()).toMatchObject({ action: 'history', messages: [] });
  });

  test('with history off: UNKNOWN_ACTION', async () => {
    const deps = await setup(undefined, { MESSAGES_TABLE: '' });
    await handleHistory(history({ room_id: 'r' }), deps);
    expect(answer()).toMatchObject({ action: 'error', code: 'UNKNOWN_ACTION' });
  });

  test('without an authorizer context: 403, nothing posted', async () => {
    const deps = await setup();
    expect(await handleHistory(routeEvent({ connectionId: 'alice-1', body: '{"room_id":"r"}', authorizer: null }), deps)).toEqual({ statusCode: 403 });
    expect(fx.server.received).toEqual([]);
  });

  test('a failed read is logged and thrown', async () => {
    const deps = await setup();
    const broken = { ...deps, config: { ...deps.config, messagesTable: 'missing-messages' } };
    await expect(handleHistory(history({ room_id: 'r' }), broken)).rejects.toThrow();
    expect(deps.logs.records).toEqual([expect.objectContaining({ level: 'error', event: 'history', outcome: 'error', roomId: 'r' })]);
    expect(fx.server.received).toEqual([]);
  });
});
