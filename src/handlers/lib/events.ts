import { AUTH_CONTEXT, isValidRoomId, LIMITS } from '../../shared/contract';

/**
 * The fields of an API Gateway WebSocket route event (`$connect`, `$disconnect`, `sendMessage`, …) that the
 * handlers read. The local gateway builds the same shape.
 */
export interface WebSocketRouteEvent {
  readonly body?: string | null;
  readonly isBase64Encoded?: boolean;
  readonly requestContext: {
    readonly connectionId: string;
    readonly routeKey?: string;
    readonly apiId?: string;
    readonly stage?: string;
    readonly requestId?: string;
    /** Epoch ms at which the connection was opened. */
    readonly connectedAt?: number;
    /** The authorizer's context (`userId`, `roomId`, `rooms`), plus `principalId` and API Gateway's own keys. */
    readonly authorizer?: Readonly<Record<string, unknown>> | null;
  };
}

/** What a route handler returns to API Gateway. */
export interface RouteResult {
  readonly statusCode: number;
}

/** The subset of the Lambda context the handlers use. */
export interface InvocationContext {
  readonly awsRequestId?: string;
  getRemainingTimeInMillis?(): number;
}

/** The rooms a token allows: `*` (any room), a list, or undefined (rooms are not restricted). */
export type RoomsClaim = '*' | readonly string[] | undefined;

/** Who is on a connection, as established by the `$connect` authorizer. */
export interface ConnectionIdentity {
  readonly userId: string;
  /** The handshake's room, if the connection named one. */
  readonly roomId?: string;
  /** The token's rooms claim (when rooms are restricted): it governs every `join`. */
  readonly rooms: RoomsClaim;
}

/**
 * The identity the authorizer put in `requestContext.authorizer`, or undefined when it is missing or malformed
 * (a route reached without the authorizer: never trusted).
 */
export function readIdentity(event: WebSocketRouteEvent): ConnectionIdentity | undefined {
  const context = event.requestContext.authorizer;
  const userId = context?.[AUTH_CONTEXT.userId];
  const roomId = context?.[AUTH_CONTEXT.roomId];
  const rooms = context?.[AUTH_CONTEXT.rooms];
  if (typeof userId !== 'string' || userId.length === 0 || userId.length > LIMITS.maxUserIdLength) return undefined;
  if (roomId !== undefined && roomId !== null && roomId !== '' && !isValidRoomId(roomId)) return undefined;
  const claim = parseRoomsClaim(rooms);
  if (claim === null) return undefined;
  return { userId, ...(typeof roomId === 'string' && roomId !== '' ? { roomId } : {}), rooms: claim };
}

/** The rooms claim from its context value (JSON); null when it is present but malformed. */
export function parseRoomsClaim(value: unknown): RoomsClaim | null {
  if (value === undefined || value === null || value === '') return undefined;
  if (typeof value !== 'string') return null;
  let parsed: unknown;
  try {
    parsed = JSON.parse(value);
  } catch {
    return null;
  }
  return normalizeRoomsClaim(parsed) ?? null;
}

/** A claim's value (a string or an array of strings) as a {@link RoomsClaim}; undefined when malformed. */
export function normalizeRoomsClaim(value: unknown): '*' | string[] | undefined {
  const list = typeof value === 'string' ? [value] : value;
  if (!Array.isArray(list)) return undefined;
  const rooms = list.filter((room): room is string => typeof room === 'string');
  return rooms.includes('*') ? '*' : rooms;
}

/** Whether the claim lets a connection into `roomId`. */
export function roomAllowed(rooms: RoomsClaim, roomId: string): boolean {
  if (rooms === undefined || rooms === '*') return true;
  return rooms.includes(roomId);
}

/** When the connection was opened (epoch ms), from API Gateway's `connectedAt`; undefined if absent. */
export function connectedAtOf(event: WebSocketRouteEvent): number | undefined {
  const value = event.requestContext.connectedAt;
  return typeof value === 'number' && Number.isFinite(value) && value > 0 ? value : undefined;
}

/** The frame's text (base64-decoded when API Gateway flagged it), or undefined when there is no body. */
export function bodyText(event: WebSocketRouteEvent): string | undefined {
  const { body } = event;
  if (body === undefined || body === null) return undefined;
  return event.isBase64Encoded ? Buffer.from(body, 'base64').toString('utf8') : body;
}
