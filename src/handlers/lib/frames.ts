import { ACTIONS, ERROR_CODES } from '../../shared/contract';

/** `action` values of server → client frames (DESIGN §2). */
export const SERVER_ACTIONS = {
  message: 'message',
  error: 'error',
  pong: 'pong',
} as const;

export type ErrorCode = (typeof ERROR_CODES)[keyof typeof ERROR_CODES];

/** `{"action":"error","code":…,"message":…}`, sent to the sender only. */
export interface ErrorFrame {
  readonly action: typeof SERVER_ACTIONS.error;
  readonly code: ErrorCode;
  readonly message: string;
}

/** The broadcast frame, sent to every live connection of the room. */
export interface MessageFrame {
  readonly action: typeof SERVER_ACTIONS.message;
  readonly message_id: string;
  readonly room_id: string;
  readonly user_id: string;
  readonly message: string;
  readonly timestamp: string;
}

export interface PongFrame {
  readonly action: typeof SERVER_ACTIONS.pong;
}

export type ServerFrame = ErrorFrame | MessageFrame | PongFrame;

/** The outcome of validating a client frame: a value, or the error frame to send back. */
export type FrameResult<T> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly error: ErrorFrame };

/** A valid `sendMessage` frame. */
export interface SendMessageRequest {
  readonly message: string;
}

export interface SendMessageRules {
  /** Largest `message`, in UTF-8 bytes. */
  readonly maxMessageBytes: number;
  /** The connection's room (from the authorizer): a `room_id` in the frame must equal it. */
  readonly roomId: string;
}

/** The built-in client actions, listed in the `UNKNOWN_ACTION` error when no other list is configured. */
export const BUILT_IN_ACTIONS: readonly string[] = Object.values(ACTIONS);

export function errorFrame(code: ErrorCode, message: string): ErrorFrame {
  return { action: SERVER_ACTIONS.error, code, message };
}

export function pongFrame(): PongFrame {
  return { action: SERVER_ACTIONS.pong };
}

export function messageFrame(fields: {
  readonly messageId: string;
  readonly roomId: string;
  readonly userId: string;
  readonly message: string;
  readonly timestamp: string;
}): MessageFrame {
  return {
    action: SERVER_ACTIONS.message,
    message_id: fields.messageId,
    room_id: fields.roomId,
    user_id: fields.userId,
    message: fields.message,
    timestamp: fields.timestamp,
  };
}

/** The UTF-8 bytes of a frame, encoded once and posted to every recipient. */
export function encodeFrame(frame: ServerFrame): Buffer {
  return Buffer.from(JSON.stringify(frame), 'utf8');
}

/** Parses a frame as JSON; `INVALID_JSON` for a missing or non-JSON body. */
export function parseJsonFrame(text: string | undefined): FrameResult<unknown> {
  if (text === undefined || text.length === 0) {
    return invalid(ERROR_CODES.invalidJson, 'The frame is empty; send a JSON object such as {"action":"sendMessage","message":"hi"}.');
  }
  try {
    return { ok: true, value: JSON.parse(text) as unknown };
  } catch {
    return invalid(ERROR_CODES.invalidJson, 'The frame is not valid JSON.');
  }
}

/**
 * Validates a `sendMessage` frame: a JSON object whose `message` is a non-empty string of at most
 * `maxMessageBytes` UTF-8 bytes, and whose optional `room_id` is the connection's room.
 */
export function parseSendMessage(text: string | undefined, rules: SendMessageRules): FrameResult<SendMessageRequest> {
  const parsed = parseJsonFrame(text);
  if (!parsed.ok) return parsed;
  const frame = parsed.value;
  if (typeof frame !== 'object' || frame === null || Array.isArray(frame)) {
    return invalid(ERROR_CODES.invalidMessage, 'The frame must be a JSON object.');
  }
  const { message, room_id: roomId } = frame as Record<string, unknown>;
  if (typeof message !== 'string') {
    return invalid(ERROR_CODES.invalidMessage, '"message" is required and must be a string.');
  }
  if (message.length === 0) {
    return invalid(ERROR_CODES.invalidMessage, '"message" must not be empty.');
  }
  if (roomId !== undefined && typeof roomId !== 'string') {
    return invalid(ERROR_CODES.invalidMessage, '"room_id" must be a string when present.');
  }
  const bytes = Buffer.byteLength(message, 'utf8');
  if (bytes > rules.maxMessageBytes) {
    return invalid(ERROR_CODES.messageTooLarge, `"message" is ${bytes} bytes; the limit is ${rules.maxMessageBytes} bytes (UTF-8).`);
  }
  if (roomId !== undefined && roomId !== rules.roomId) {
    return invalid(ERROR_CODES.roomMismatch, '"room_id" does not match the room this connection joined.');
  }
  return { ok: true, value: { message } };
}

/**
 * The answer of the `$default` route: `INVALID_JSON` for a non-JSON frame, otherwise `UNKNOWN_ACTION` listing
 * the valid actions.
 */
export function defaultRouteError(text: string | undefined, validActions: readonly string[] = BUILT_IN_ACTIONS): ErrorFrame {
  const parsed = parseJsonFrame(text);
  if (!parsed.ok) return parsed.error;
  const frame = parsed.value;
  const action = typeof frame === 'object' && frame !== null ? (frame as Record<string, unknown>).action : undefined;
  const valid = validActions.join(', ');
  const what = typeof action === 'string' && action.length > 0 && action.length <= 64
    ? `Unknown action ${JSON.stringify(action)}.`
    : 'The frame has no valid "action".';
  return errorFrame(ERROR_CODES.unknownAction, `${what} Valid actions: ${valid}.`);
}

function invalid(code: ErrorCode, message: string): { readonly ok: false; readonly error: ErrorFrame } {
  return { ok: false, error: errorFrame(code, message) };
}
