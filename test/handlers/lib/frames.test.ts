import {
  defaultRouteError,
  encodeFrame,
  errorFrame,
  eventFrame,
  messageFrame,
  parseClientFrame,
  parseHistoryRequest,
  parseJsonFrame,
  parseRoomRequest,
  parseSendMessage,
  pongFrame,
} from '../../../src/handlers/lib/frames';

const rules = { maxMessageBytes: 32 * 1024 };
const send = (frame: unknown) => parseSendMessage(typeof frame === 'string' ? frame : JSON.stringify(frame), rules);
const codeOf = (result: ReturnType<typeof parseSendMessage>) => (result.ok ? 'OK' : result.error.code);

describe('parseSendMessage', () => {
  test('accepts a message, with or without a room_id, and keeps a request_id', () => {
    expect(send({ action: 'sendMessage', message: 'hi' })).toEqual({ ok: true, value: { message: 'hi' } });
    expect(send({ action: 'sendMessage', message: 'hi', room_id: 'lobby' })).toEqual({ ok: true, value: { message: 'hi', roomId: 'lobby' } });
    expect(send({ message: 'hi', request_id: 'r-1' })).toEqual({ ok: true, value: { message: 'hi', requestId: 'r-1' } });
  });

  test.each([
    ['malformed JSON', '{"action":"sendMessage","message":'],
    ['trailing garbage', '{"message":"hi"} x'],
    ['plain text', 'hello'],
    ['an empty body', ''],
  ])('%s is INVALID_JSON', (_what, body) => {
    const result = send(body);
    expect(result).toEqual({ ok: false, error: { action: 'error', code: 'INVALID_JSON', message: expect.any(String) } });
  });

  test('a missing body is INVALID_JSON', () => {
    expect(codeOf(parseSendMessage(undefined, rules))).toBe('INVALID_JSON');
  });

  test.each([
    ['an array', '[{"message":"hi"}]'],
    ['a number', '42'],
    ['a string', '"hi"'],
    ['null', 'null'],
    ['true', 'true'],
  ])('%s is INVALID_MESSAGE', (_what, body) => {
    expect(codeOf(send(body))).toBe('INVALID_MESSAGE');
  });

  test.each([
    ['missing', { action: 'sendMessage' }],
    ['a number', { message: 42 }],
    ['null', { message: null }],
    ['an object', { message: { text: 'hi' } }],
    ['an array', { message: ['hi'] }],
    ['empty', { message: '' }],
  ])('a message that is %s is INVALID_MESSAGE', (_what, frame) => {
    expect(codeOf(send(frame))).toBe('INVALID_MESSAGE');
  });

  test.each([
    ['a number', 1],
    ['null', null],
    ['an array', ['lobby']],
    ['an object', { id: 'lobby' }],
    ['empty', ''],
    ['too long', 'r'.repeat(129)],
    ['with a space', 'a b'],
  ])('a room_id that is %s is INVALID_ROOM (membership is checked by the handler)', (_what, roomId) => {
    expect(codeOf(send({ message: 'hi', room_id: roomId }))).toBe('INVALID_ROOM');
  });

  test.each([
    ['a number', 5],
    ['too long', 'x'.repeat(65)],
    ['an object', { id: 1 }],
  ])('a request_id that is %s is INVALID_MESSAGE, and is not echoed', (_what, requestId) => {
    const result = send({ message: 'hi', request_id: requestId });
    expect(result).toEqual({ ok: false, error: { action: 'error', code: 'INVALID_MESSAGE', message: expect.stringContaining('request_id') } });
  });

  test('an error echoes a valid request_id', () => {
    expect(send({ message: '', request_id: 'abc' })).toEqual({ ok: false, error: expect.objectContaining({ code: 'INVALID_MESSAGE', request_id: 'abc' }) });
  });

  test('size is counted in UTF-8 bytes, not characters', () => {
    const limit = { maxMessageBytes: 12 };
    expect(parseSendMessage(JSON.stringify({ message: 'a'.repeat(12) }), limit).ok).toBe(true);
    expect(codeOf(parseSendMessage(JSON.stringify({ message: 'a'.repeat(13) }), limit))).toBe('MESSAGE_TOO_LARGE');
    // 4 × 3 bytes = 12: fits; 5 × 3 = 15: does not, though only 5 characters.
    expect(parseSendMessage(JSON.stringify({ message: '€€€€' }), limit).ok).toBe(true);
    expect(codeOf(parseSendMessage(JSON.stringify({ message: '€€€€€' }), limit))).toBe('MESSAGE_TOO_LARGE');
    // 👋 is 2 UTF-16 units but 4 bytes.
    expect(parseSendMessage(JSON.stringify({ message: '👋👋👋' }), limit).ok).toBe(true);
    expect(codeOf(parseSendMessage(JSON.stringify({ message: '👋👋👋👋' }), { maxMessageBytes: 15 }))).toBe('MESSAGE_TOO_LARGE');
  });

  test('the default limit is 32 KiB', () => {
    expect(send({ message: 'x'.repeat(32 * 1024) }).ok).toBe(true);
    const tooBig = send({ message: 'x'.repeat(32 * 1024 + 1) });
    expect(tooBig).toEqual({ ok: false, error: { action: 'error', code: 'MESSAGE_TOO_LARGE', message: expect.stringContaining('32768') } });
  });

  test('message errors win over size, size over room', () => {
    const tiny = { maxMessageBytes: 1 };
    expect(codeOf(parseSendMessage(JSON.stringify({ message: 5, room_id: 5 }), tiny))).toBe('INVALID_MESSAGE');
    expect(codeOf(parseSendMessage(JSON.stringify({ message: 'long', room_id: 5 }), tiny))).toBe('MESSAGE_TOO_LARGE');
  });

  test('unicode round-trips intact', () => {
    const text = 'héllo wörld — 你好 — 👋🏽 — \u0000\u001f — "quoted" \\ slash';
    const result = send({ message: text });
    expect(result).toEqual({ ok: true, value: { message: text } });
  });
});

describe('room requests (join, leave, presence)', () => {
  test('need a valid room_id', () => {
    expect(parseRoomRequest('{"action":"join","room_id":"r1","request_id":"q"}')).toEqual({ ok: true, value: { roomId: 'r1', requestId: 'q' } });
    expect(parseRoomRequest('{"action":"join"}')).toEqual({ ok: false, error: expect.objectContaining({ code: 'INVALID_ROOM' }) });
    expect(parseRoomRequest('{"action":"join","room_id":"no spaces"}')).toEqual({ ok: false, error: expect.objectContaining({ code: 'INVALID_ROOM' }) });
    expect(parseRoomRequest('nope')).toEqual({ ok: false, error: expect.objectContaining({ code: 'INVALID_JSON' }) });
    expect(parseRoomRequest('[]')).toEqual({ ok: false, error: expect.objectContaining({ code: 'INVALID_MESSAGE' }) });
  });
});

describe('history requests', () => {
  const parse = (frame: Record<string, unknown>) => parseHistoryRequest(JSON.stringify({ action: 'history', room_id: 'r', ...frame }));
  test('after_seq, before_seq or neither; limit defaults to 100', () => {
    expect(parse({ after_seq: 41, limit: 50 })).toEqual({ ok: true, value: { roomId: 'r', afterSeq: 41, limit: 50 } });
    expect(parse({ before_seq: 10 })).toEqual({ ok: true, value: { roomId: 'r', beforeSeq: 10, limit: 100 } });
    expect(parse({})).toEqual({ ok: true, value: { roomId: 'r', limit: 100 } });
    expect(parse({ after_seq: 0 })).toEqual({ ok: true, value: { roomId: 'r', afterSeq: 0, limit: 100 } });
  });
  test.each([
    ['both directions', { after_seq: 1, before_seq: 5 }],
    ['a negative seq', { after_seq: -1 }],
    ['a fractional seq', { before_seq: 1.5 }],
    ['a string seq', { after_seq: '3' }],
    ['limit 0', { limit: 0 }],
    ['limit 101', { limit: 101 }],
  ])('%s is INVALID_MESSAGE', (_what, frame) => {
    expect(parse({ ...frame, request_id: 'q' })).toEqual({ ok: false, error: expect.objectContaining({ code: 'INVALID_MESSAGE', request_id: 'q' }) });
  });
});

describe('parseClientFrame', () => {
  test('an object with an optional request_id', () => {
    expect(parseClientFrame('{"a":1}')).toEqual({ ok: true, value: { fields: { a: 1 }, requestId: undefined } });
    expect(parseClientFrame('{"request_id":"x"}')).toEqual({ ok: true, value: { fields: { request_id: 'x' }, requestId: 'x' } });
  });
});

describe('parseJsonFrame', () => {
  test('parses any JSON value', () => {
    expect(parseJsonFrame('[1]')).toEqual({ ok: true, value: [1] });
    expect(parseJsonFrame('null')).toEqual({ ok: true, value: null });
  });
});

describe('$default', () => {
  test('non-JSON is INVALID_JSON', () => {
    expect(defaultRouteError('nope').code).toBe('INVALID_JSON');
    expect(defaultRouteError(undefined).code).toBe('INVALID_JSON');
  });

  test('anything else is UNKNOWN_ACTION, listing the valid actions', () => {
    const frame = defaultRouteError('{"action":"dance"}');
    expect(frame).toEqual({ action: 'error', code: 'UNKNOWN_ACTION', message: expect.stringContaining('sendMessage, ping') });
    expect(frame.message).toContain('"dance"');
    expect(defaultRouteError('{"message":"hi"}').message).toContain('no valid "action"');
    expect(defaultRouteError('[]').code).toBe('UNKNOWN_ACTION');
    expect(defaultRouteError(JSON.stringify({ action: 'x'.repeat(65) })).message).not.toContain('x'.repeat(65));
  });

  test('a binary frame is refused as such (not as an unknown action named in it)', () => {
    const frame = defaultRouteError('{"action":"sendMessage","message":"hi"}', ['sendMessage', 'ping'], true);
    expect(frame.code).toBe('UNKNOWN_ACTION');
    expect(frame.message).toMatch(/^Binary frames are not accepted/);
    expect(frame.message).not.toContain('Unknown action');
  });

  test('echoes a request_id', () => {
    expect(defaultRouteError('{"action":"dance","request_id":"q1"}')).toMatchObject({ code: 'UNKNOWN_ACTION', request_id: 'q1' });
  });

  test('lists the configured actions (app routes included)', () => {
    expect(defaultRouteError('{"action":"x"}', ['sendMessage', 'ping', 'typing']).message).toContain('sendMessage, ping, typing');
  });
});

describe('server frames', () => {
  test('shapes', () => {
    expect(pongFrame()).toEqual({ action: 'pong' });
    expect(errorFrame('ROOM_MISMATCH', 'no')).toEqual({ action: 'error', code: 'ROOM_MISMATCH', message: 'no' });
    const frame = messageFrame({ messageId: 'm', roomId: 'r', userId: 'u', message: 'hi 👋', timestamp: '2024-01-01T00:00:00.000Z' });
    expect(frame).toEqual({ action: 'message', message_id: 'm', room_id: 'r', user_id: 'u', message: 'hi 👋', timestamp: '2024-01-01T00:00:00.000Z' });
    expect(JSON.parse(encodeFrame(frame).toString('utf8'))).toEqual(frame);
    expect(messageFrame({ messageId: 'm', roomId: 'r', seq: 7, userId: 'u', message: 'x', timestamp: 't' })).toMatchObject({ seq: 7 });
    expect(pongFrame('q')).toEqual({ action: 'pong', request_id: 'q' });
    expect(eventFrame({ eventId: 'e', type: 't', data: { a: [1] }, timestamp: 'ts' })).toEqual({ action: 'event', event_id: 'e', type: 't', data: { a: [1] }, timestamp: 'ts' });
    expect(eventFrame({ eventId: 'e', type: 't', data: null, timestamp: 'ts', roomId: 'r', seq: 3 })).toMatchObject({ room_id: 'r', seq: 3 });
  });
});
