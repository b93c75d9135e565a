import { getMembership, listMemberships } from './connections-store';
import { connectedAtOf, type WebSocketRouteEvent } from './events';
import { errorFrame, type FrameResult } from './frames';
import type { RouteDeps } from './route-deps';
import { ERROR_CODES } from '../../shared/contract';

/** Room membership checks shared by the routes: always strongly consistent reads of the connection's own items. */

/**
 * The room a frame addresses: the named one if the connection is in it; with no name, the connection's only room.
 * `ROOM_MISMATCH` otherwise (not a member, or no room named while in none or several).
 */
export async function resolveRoom(
  deps: RouteDeps,
  connectionId: string,
  requested: string | undefined,
  nowSeconds: number,
  requestId?: string,
): Promise<FrameResult<string>> {
  if (requested !== undefined) {
    const membership = await getMembership(deps.dynamo, deps.config.tableName, connectionId, requested, nowSeconds);
    if (membership) return { ok: true, value: requested };
    return { ok: false, error: errorFrame(ERROR_CODES.roomMismatch, `This connection is not in the room ${JSON.stringify(requested)}: join it first.`, requestId) };
  }
  const rooms = await listMemberships(deps.dynamo, deps.config.tableName, connectionId, nowSeconds, 2);
  if (rooms.length === 1) return { ok: true, value: rooms[0] };
  return {
    ok: false,
    error: errorFrame(
      ERROR_CODES.roomMismatch,
      rooms.length === 0 ? 'This connection is in no room: join one first.' : 'This connection is in several rooms: name one with "room_id".',
      requestId,
    ),
  };
}

/** A member check: `ROOM_MISMATCH` unless the connection is in `roomId`. */
export async function requireMember(
  deps: RouteDeps,
  connectionId: string,
  roomId: string,
  nowSeconds: number,
  requestId?: string,
): Promise<FrameResult<string>> {
  return resolveRoom(deps, connectionId, roomId, nowSeconds, requestId);
}

/**
 * When a connection's items expire (epoch seconds): its connect time (API Gateway's `connectedAt`) plus the
 * connection lifetime, so memberships added later expire with the connection; the clock when `connectedAt` is absent.
 */
export function connectionTtl(event: WebSocketRouteEvent, deps: RouteDeps, nowMs: number): number {
  const connectedAt = connectedAtOf(event) ?? nowMs;
  return Math.floor(Math.min(connectedAt, nowMs) / 1000) + deps.config.connectionTtlSeconds;
}
