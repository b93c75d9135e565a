/**
 * The chat's wire protocol: the JSON frames a client sends and receives. Field names are the wire names
 * (snake_case), so a frame reaches listeners exactly as the server sent it.
 */

/** Codes of the server's `error` frames. */
export type ServerErrorCode =
  | 'INVALID_JSON'
  | 'INVALID_MESSAGE'
  | 'MESSAGE_TOO_LARGE'
  | 'ROOM_MISMATCH'
  | 'FORBIDDEN_ROOM'
  | 'TOO_MANY_ROOMS'
  | 'INVALID_ROOM'
  | 'UNAVAILABLE'
  | 'UNKNOWN_ACTION';

/** A chat message, delivered to every live connection of the room (the sender's own copy echoes its `request_id`). */
export interface MessageFrame {
  readonly action: 'message';
  readonly message_id: string;
  readonly room_id: string;
  /** The room's sequence number; absent when the server keeps no history. */
  readonly seq?: number;
  readonly user_id: string;
  readonly message: string;
  /** ISO-8601. */
  readonly timestamp: string;
  readonly request_id?: string;
}

/** An event pushed by a backend to a room, a user or a connection. */
export interface EventFrame {
  readonly action: 'event';
  readonly event_id: string;
  readonly type: string;
  readonly data: unknown;
  /** ISO-8601. */
  readonly timestamp: string;
  /** Present when the event was pushed to a room. */
  readonly room_id?: string;
  /** Present when the event was pushed to a room that keeps history: room events share the room's sequence. */
  readonly seq?: number;
}

/** A user's first connection joined a room (`member_joined`), or its last one left (`member_left`). */
export interface MemberFrame {
  readonly action: 'member_joined' | 'member_left';
  readonly room_id: string;
  readonly user_id: string;
}

/** The answer to `join`. */
export interface JoinedFrame {
  readonly action: 'joined';
  readonly room_id: string;
  /** The room's latest sequence number; absent when the server keeps no history. */
  readonly latest_seq?: number;
  readonly request_id?: string;
}

/** The answer to `leave`. */
export interface LeftFrame {
  readonly action: 'left';
  readonly room_id: string;
  readonly request_id?: string;
}

/** The answer to `presence`. */
export interface PresenceFrame {
  readonly action: 'presence';
  readonly room_id: string;
  /** Distinct user ids of the room's live connections. */
  readonly users: readonly string[];
  readonly connections: number;
  /** True when the server stopped counting: `connections` is then a lower bound. */
  readonly truncated: boolean;
  readonly request_id?: string;
}

/** The answer to `history`: one page of stored frames, ascending `seq`. */
export interface HistoryFrame {
  readonly action: 'history';
  readonly room_id: string;
  readonly messages: ReadonlyArray<MessageFrame | EventFrame>;
  readonly latest_seq: number;
  /** More stored frames lie beyond this page in the requested direction. */
  readonly has_more: boolean;
  readonly request_id?: string;
}

/** The server's answer to a bad frame. */
export interface ErrorFrame {
  readonly action: 'error';
  readonly code: ServerErrorCode;
  readonly message: string;
  readonly request_id?: string;
}

/** Which page of a room's history to read. */
export interface HistoryQuery {
  /** Frames after this sequence number (ascending). */
  readonly afterSeq?: number;
  /** Frames before this sequence number, to page back. */
  readonly beforeSeq?: number;
  /** At most this many frames (the server caps it at 100). */
  readonly limit?: number;
}

