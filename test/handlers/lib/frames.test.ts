import {
  defaultRouteError,
  encodeFrame,
  errorFrame,
  messageFrame,
  parseJsonFrame,
  parseSendMessage,
  pongFrame,
} from '../../../src/handlers/lib/frames';

const rules = { maxMessageBytes: 32 * 1024, roomId: 'lobby' };
const send = (frame: unknown) => parseSendMessage(typeof frame === 'string' ? frame : JSON.stringify(frame), rules);
const codeOf = (result: ReturnType<typeof parseSendMessage>) => (result.ok ? 'OK' : result.error.code);

describe('parseSendMessage', () => {
  test('accepts a message, with or without the matching room_id', () => {
    expect(send({ action: 'sendMessage', message: 'hi' })).toEqual({ ok: true, value: { message: 'hi' } });
    expect(send({ action: 'sendMessage', message: 'hi', room_id: 'lobby' })).toEqual({ ok: true, value: { message: 'hi' } });
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
  ])('a room_id that is %s is INVALID_MESSAGE', (_what, roomId) => {
    expect(codeOf(send({ message: 'hi', room_id: roomId }))).toBe('INVALID_MESSAGE');
  });

  test('a different room_id is ROOM_MISMATCH', () => {
    expect(codeOf(send({ message: 'hi', room_id: 'other' }))).toBe('ROOM_MISMATCH');
    expect(codeOf(send({ message: 'hi', room_id: '' }))).toBe('ROOM_MISMATCH');
    expect(codeOf(send({ message: 'hi', room_id: 'Lobby' }))).toBe('ROOM_MISMATCH');
  });

  test('size is counted in UTF-8 bytes, not characters', () => {
    const limit = { maxMessageBytes: 12, roomId: 'lobby' };
    expect(parseSendMessage(JSON.stringify({ message: 'a'.repeat(12) }), limit).ok).toBe(true);
    expect(codeOf(parseSendMessage(JSON.stringify({ message: 'a'.repeat(13) }), limit))).toBe('MESSAGE_TOO_LARGE');
    // 4 × 3 bytes = 12: fits; 5 × 3 = 15: does not, though only 5 characters.
    expect(parseSendMessage(JSON.stringify({ message: '€€€€' }), limit).ok).toBe(true);
    expect(codeOf(parseSendMessage(JSON.stringify({ message: '€€€€€' }), limit))).toBe('MESSAGE_TOO_LARGE');
    // 👋 is 2 UTF-16 units but 4 bytes.
    expect(parseSendMessage(JSON.stringify({ message: '👋👋👋' }), limit).ok).toBe(true);
    expect(codeOf(parseSendMessage(JSON.stringify({ message: '👋👋👋👋' }), { maxMessageBytes: 15, roomId: 'lobby' }))).toBe('MESSAGE_TOO_LARGE');
  });

  test('the default limit is 32 KiB', () => {
    expect(send({ message: 'x'.repeat(32 * 1024) }).ok).toBe(true);
    const tooBig = send({ message: 'x'.repeat(32 * 1024 + 1) });
    expect(tooBig).toEqual({ ok: false, error: { action: 'error', code: 'MESSAGE_TOO_LARGE', message: expect.stringContaining('32768') } });
  });

  test('type errors win over size, size over room', () => {
    const tiny = { maxMessageBytes: 1, roomId: 'lobby' };
    expect(codeOf(parseSendMessage(JSON.stringify({ message: 'long', room_id: 5 }), tiny))).toBe('INVALID_MESSAGE');
    expect(codeOf(parseSendMessage(JSON.stringify({ message: 'long', room_id: 'other' }), tiny))).toBe('MESSAGE_TOO_LARGE');
  });

  test('unicode round-trips intact', () => {
    const text = 'héllo wörld — 你好 — 👋🏽 — \u0000\u001f — "quoted" \\ slash';
    const result = send({ message: text });
    expect(result).toEqual({ ok: true, value: { message: text } });
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
  });
});
