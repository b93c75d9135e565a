import { ACTIONS, ERROR_CODES, isValidRoomId, LIMITS } from '../../shared/contract';

/**
 * The wire protocol: server → client frames, and the validation of client frames. Every answer to a client frame
 * echoes the frame's `request_id` (a string of at most 64 characters), so a client can match answers to requests.
 */

/** `action` values of server → client frames. */
export const SERVER_ACTIONS = {
  message: 'message',
  event: 'event',
  error: 'error',
  pong: 'pong',
  joined: 'joined',
  left: 'left',
  presence: 'presence',
  history: 'history',
  memberJoined: 'member_joined',
  memberLeft: 'member_left',
} as const;

export type ErrorCode = (typeof ERROR_CODES)[keyof typeof ERROR_CODES];

/** Fields every answer to a client frame may carry. */
export interface Answer {
  readonly request_id?: string;
}

/** `{"action":"error","code":…,"message":…}`, sent to the sender only. */
export interface ErrorFrame extends Answer {
  readonly action: typeof SERVER_ACTIONS.error;
  readonly code: ErrorCode;
  readonly message: string;
}

/** A chat message, to every live connection of the room (the sender's own copy echoes its `request_id`). */
export interface MessageFrame extends Answer {
  readonly action: typeof SERVER_ACTIONS.message;
  readonly message_id: string;
  readonly room_id: string;
  /** The room's sequence number; absent when history is off. */
  readonly seq?: number;
  readonly user_id: string;
  readonly message: string;
  readonly timestamp: string;
}

/** An event pushed by a backend (`publish`); `room_id` and `seq` when it was pushed to a room. */
export interface EventFrame {
  readonly action: typeof SERVER_ACTIONS.event;
  readonly event_id: string;
  readonly type: string;
  readonly data: unknown;
  readonly timestamp: string;
  readonly room_id?: string;
  readonly seq?: number;
}

/** What a room's history holds: the frames as delivered. */
export type StoredFrame = MessageFrame | EventFrame;

export interface PongFrame extends Answer {
  readonly action: typeof SERVER_ACTIONS.pong;
}

export interface JoinedFrame extends Answer {
  readonly action: typeof SERVER_ACTIONS.joined;
  readonly room_id: string;
  /** The room's latest seq (0 before its first message); absent when history is off. */
  readonly latest_seq?: number;
}

export interface LeftFrame extends Answer {
  readonly action: typeof SERVER_ACTIONS.left;
  readonly room_id: string;
}

export interface PresenceFrame extends Answer {
  readonly action: typeof SERVER_ACTIONS.presence;
  readonly room_id: string;
  /** Distinct user ids of the room's live connections, sorted. */
  readonly users: string[];
  /** Live connections counted (a lower bound when `truncated`). */
  readonly connections: number;
  readonly truncated: boolean;
}

export interface HistoryFrame extends Answer {
  readonly action: typeof SERVER_ACTIONS.history;
  readonly room_id: string;
  /** Stored frames, ascending `seq`. */
  readonly messages: StoredFrame[];
  readonly latest_seq: number;
  /** More stored messages lie beyond this page in the requested direction. */
  readonly has_more: boolean;
}

export interface MemberFrame {
  readonly action: typeof SERVER_ACTIONS.memberJoined | typeof SERVER_ACTIONS.memberLeft;
  readonly room_id: string;
  readonly user_id: string;
}

export type ServerFrame =
  | ErrorFrame
  | MessageFrame
  | EventFrame
  | PongFrame
  | JoinedFrame
  | LeftFrame
  | PresenceFrame
  | HistoryFrame
  | MemberFrame;

/** The outcome of validating a client frame: a value, or the error frame to send back. */
export type FrameResult<T> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly error: ErrorFrame };

/** The built-in client actions, listed in the `UNKNOWN_ACTION` error when no other list is configured. */
export const BUILT_IN_ACTIONS: readonly string[] = Object.values(ACTIONS);

export function errorFrame(code: ErrorCode, message: string, requestId?: string): ErrorFrame {
  return { action: SERVER_ACTIONS.error, code, message, ...withRequestId(requestId) };
}

export function pongFrame(requestId?: string): PongFrame {
  return { action: SERVER_ACTIONS.pong, ...withRequestId(requestId) };
}

export function messageFrame(fields: {
  readonly messageId: string;
  readonly roomId: string;
  readonly seq?: number;
  readonly userId: string;
  readonly message: string;
  readonly timestamp: string;
}): MessageFrame {
  return {
    action: SERVER_ACTIONS.message,
    message_id: fields.messageId,
    room_id: fields.roomId,
    ...(fields.seq !== undefined ? { seq: fields.seq } : {}),
    user_id: fields.userId,
    message: fields.message,
    timestamp: fields.timestamp,
  };
}

export function eventFrame(fields: {
  readonly eventId: string;
  readonly type: string;
  readonly data: unknown;
  readonly timestamp: string;
  readonly roomId?: string;
  readonly seq?: number;
}): EventFrame {
  return {
    action: SERVER_ACTIONS.event,
    event_id: fields.eventId,
    type: fields.type,
    data: fields.data,
    timestamp: fields.timestamp,
    ...(fields.roomId !== undefined ? { room_id: fields.roomId } : {}),
    ...(fields.seq !== undefined ? { seq: fields.seq } : {}),
  };
}

export function memberFrame(action: MemberFrame['action'], roomId: string, userId: string): MemberFrame {
  return { action, room_id: roomId, user_id: userId };
}

/** `request_id` when there is one: answers carry it only then. */
export function withRequestId(requestId: string | undefined): { request_id?: string } {
  return requestId === undefined ? {} : { request_id: requestId };
}

/** The UTF-8 bytes of a frame, encoded once and posted to every recipient. */
export function encodeFrame(frame: ServerFrame | Record<string, unknown>): Buffer {
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

/** A client frame: a JSON object, with its validated `request_id`. */
export interface ClientFrame {
  readonly fields: Readonly<Record<string, unknown>>;
  readonly requestId?: string;
}

/**
 * Parses a client frame: a JSON object whose `request_id`, when present, is a string of at most 64 characters.
 * A frame that is an object but has a bad `request_id` is refused with `INVALID_MESSAGE` (without echoing it).
 */
export function parseClientFrame(text: string | undefined): FrameResult<ClientFrame> {
  const parsed = parseJsonFrame(text);
  if (!parsed.ok) return parsed;
  const frame = parsed.value;
  if (typeof frame !== 'object' || frame === null || Array.isArray(frame)) {
    return invalid(ERROR_CODES.invalidMessage, 'The frame must be a JSON object.');
  }
  const fields = frame as Record<string, unknown>;
  const requestId = fields.request_id;
  if (requestId !== undefined && (typeof requestId !== 'string' || requestId.length > LIMITS.maxRequestIdLength)) {
    return invalid(ERROR_CODES.invalidMessage, `"request_id" must be a string of at most ${LIMITS.maxRequestIdLength} characters.`);
  }
  return { ok: true, value: { fields, requestId: requestId as string | undefined } };
}

/**
 * A room id in a frame: `undefined` when absent and optional, else a valid id; `INVALID_ROOM` for anything else.
 */
export function roomIdOf(frame: ClientFrame, required: boolean): FrameResult<string | undefined> {
  const roomId = frame.fields.room_id;
  if (roomId === undefined && !required) return { ok: true, value: undefined };
  if (!isValidRoomId(roomId)) {
    return invalid(
      ERROR_CODES.invalidRoom,
      roomId === undefined ? '"room_id" is required.' : '"room_id" must be 1-128 characters of A-Z a-z 0-9 _ . : -',
      frame.requestId,
    );
  }
  return { ok: true, value: roomId };
}

/** A valid `sendMessage` frame. */
export interface SendMessageRequest {
  readonly message: string;
  /** The room named by the frame; undefined = the connection's only room. */
  readonly roomId?: string;
  readonly requestId?: string;
}

/**
 * Validates a `sendMessage` frame: a JSON object whose `message` is a non-empty string of at most
 * `maxMessageBytes` UTF-8 bytes, and whose optional `room_id` is a valid room id (membership is checked later).
 */
export function parseSendMessage(text: string | undefined, rules: { readonly maxMessageBytes: number }): FrameResult<SendMessageRequest> {
  const parsed = parseClientFrame(text);
  if (!parsed.ok) return parsed;
  const frame = parsed.value;
  const { message } = frame.fields;
  if (typeof message !== 'string') {
    return invalid(ERROR_CODES.invalidMessage, '"message" is required and must be a string.', frame.requestId);
  }
  if (message.length === 0) {
    return invalid(ERROR_CODES.invalidMessage, '"message" must not be empty.', frame.requestId);
  }
  const bytes = Buffer.byteLength(message, 'utf8');
  if (bytes > rules.maxMessageBytes) {
    return invalid(
      ERROR_CODES.messageTooLarge,
      `"message" is ${bytes} bytes; the limit is ${rules.maxMessageBytes} bytes (UTF-8).`,
      frame.requestId,
    );
  }
  const room = roomIdOf(frame, false);
  if (!room.ok) return room;
  return { ok: true, value: { message, roomId: room.value, requestId: frame.requestId } };
}

/** A valid `join` / `leave` / `presence` frame. */
export interface RoomRequest {
  readonly roomId: string;
  readonly requestId?: string;
}

/** Validates a frame that names one room (`join`, `leave`, `presence`). */
export function parseRoomRequest(text: string | undefined): FrameResult<RoomRequest> {
  const parsed = parseClientFrame(text);
  if (!parsed.ok) return parsed;
  const room = roomIdOf(parsed.value, true);
  if (!room.ok) return room;
  return { ok: true, value: { roomId: room.value!, requestId: parsed.value.requestId } };
}

/** A valid `history` frame: the messages after `afterSeq`, or before `beforeSeq` (the latest when neither). */
export interface HistoryRequest extends RoomRequest {
  readonly afterSeq?: number;
  readonly beforeSeq?: number;
  readonly limit: number;
}

/** Validates a `history` frame: `after_seq` or `before_seq` (not both; non-negative integers), `limit` 1–100. */
export function parseHistoryRequest(text: string | undefined): FrameResult<HistoryRequest> {
  const parsed = parseRoomRequest(text);
  if (!parsed.ok) return parsed;
  const { requestId } = parsed.value;
  const fields = JSON.parse(text!) as Record<string, unknown>;
  const seqField = (name: string): FrameResult<number | undefined> => {
    const value = fields[name];
    if (value === undefined || value === null) return { ok: true, value: undefined };
    if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0) {
      return invalid(ERROR_CODES.invalidMessage, `"${name}" must be a non-negative integer.`, requestId);
    }
    return { ok: true, value };
  };
  const after = seqField('after_seq');
  if (!after.ok) return after;
  const before = seqField('before_seq');
  if (!before.ok) return before;
  if (after.value !== undefined && before.value !== undefined) {
    return invalid(ERROR_CODES.invalidMessage, 'Give "after_seq" or "before_seq", not both.', requestId);
  }
  let limit: number = LIMITS.maxHistoryLimit;
  if (fields.limit !== undefined) {
    const value = fields.limit;
    if (typeof value !== 'number' || !Number.isInteger(value) || value < 1 || value > LIMITS.maxHistoryLimit) {
      return invalid(ERROR_CODES.invalidMessage, `"limit" must be an integer from 1 to ${LIMITS.maxHistoryLimit}.`, requestId);
    }
    limit = value;
  }
  return { ok: true, value: { ...parsed.value, afterSeq: after.value, beforeSeq: before.value, limit } };
}

/**
 * The answer of the `$default` route: binary frames are refused as such; `INVALID_JSON` for a non-JSON frame;
 * otherwise `UNKNOWN_ACTION` listing the valid actions.
 */
export function defaultRouteError(text: string | undefined, validActions: readonly string[] = BUILT_IN_ACTIONS, binary = false): ErrorFrame {
  const valid = validActions.join(', ');
  if (binary) {
    return errorFrame(ERROR_CODES.unknownAction, `Binary frames are not accepted: send JSON as a text frame. Valid actions: ${valid}.`);
  }
  const parsed = parseJsonFrame(text);
  if (!parsed.ok) return parsed.error;
  const frame = parsed.value;
  const fields = typeof frame === 'object' && frame !== null && !Array.isArray(frame) ? (frame as Record<string, unknown>) : undefined;
  const action = fields?.action;
  const requestId = typeof fields?.request_id === 'string' && fields.request_id.length <= LIMITS.maxRequestIdLength ? fields.request_id : undefined;
  const what = typeof action === 'string' && action.length > 0 && action.length <= 64
    ? `Unknown action ${JSON.stringify(action)}.`
    : 'The frame has no valid "action".';
  return errorFrame(ERROR_CODES.unknownAction, `${what} Valid actions: ${valid}.`, requestId);
}

function invalid(code: ErrorCode, message: string, requestId?: string): { readonly ok: false; readonly error: ErrorFrame } {
  return { ok: false, error: errorFrame(code, message, requestId) };
}
