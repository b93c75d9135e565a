import { getMembership, listMemberships, putMembership } from './connections-store';
import { bodyText, roomAllowed, type InvocationContext, type RouteResult, type WebSocketRouteEvent } from './events';
import { errorFrame, parseRoomRequest, SERVER_ACTIONS, withRequestId } from './frames';
import { latestSeq } from './history-store';
import { errorFields } from './log';
import type { PostingDeps } from './posting-deps';
import { announcePresence } from './presence-events';
import { connectionTtl } from './rooms';
import { answeringRoute } from './route-call';
import { ERROR_CODES } from '../../shared/contract';

/**
 * `join`: adds the connection to a room (idempotent) and answers `joined` with the room's `latest_seq` (history on).
 * The rooms claim of the token governs every join (`FORBIDDEN_ROOM`); a connection is in at most
 * `maxRoomsPerConnection` rooms (`TOO_MANY_ROOMS`). Nothing is written for a refused join. Two joins racing on the
 * same connection may pass the cap by one: the count is read, not locked.
 */
export async function handleJoin(event: WebSocketRouteEvent, deps: PostingDeps, context?: InvocationContext): Promise<RouteResult> {
  return answeringRoute('join', event, deps, context, async ({ connectionId, identity, remainingMs, base, answer }) => {
    const parsed = parseRoomRequest(bodyText(event));
    if (!parsed.ok) return answer(parsed.error, { outcome: 'rejected', code: parsed.error.code });
    const { roomId, requestId } = parsed.value;
    if (!roomAllowed(identity.rooms, roomId)) {
      return answer(errorFrame(ERROR_CODES.forbiddenRoom, `Your token does not allow the room ${JSON.stringify(roomId)}.`, requestId), { outcome: 'rejected', code: ERROR_CODES.forbiddenRoom, roomId });
    }
    const nowMs = (deps.now ?? Date.now)();
    const nowSeconds = Math.floor(nowMs / 1000);
    const { tableName, maxRoomsPerConnection, messagesTable } = deps.config;
    let added = false;
    try {
      if (!(await getMembership(deps.dynamo, tableName, connectionId, roomId, nowSeconds))) {
        const rooms = await listMemberships(deps.dynamo, tableName, connectionId, nowSeconds, maxRoomsPerConnection);
        if (rooms.length >= maxRoomsPerConnection) {
          return await answer(
            errorFrame(ERROR_CODES.tooManyRooms, `A connection may be in at most ${maxRoomsPerConnection} rooms: leave one first.`, requestId),
            { outcome: 'rejected', code: ERROR_CODES.tooManyRooms, roomId },
          );
        }
        await putMembership(deps.dynamo, tableName, connectionId, roomId, identity.userId, connectionTtl(event, deps, nowMs));
        added = true;
      }
    } catch (err) {
      deps.log({ level: 'error', ...base, outcome: 'error', roomId, ...errorFields(err) });
      throw err;
    }
    let latest: number | undefined;
    if (messagesTable) {
      try {
        latest = await latestSeq(deps.dynamo, messagesTable, roomId);
      } catch (err) {
        deps.log({ level: 'error', ...base, outcome: 'error', roomId, ...errorFields(err) });
        return answer(
          errorFrame(ERROR_CODES.unavailable, 'You joined the room, but its latest seq could not be read: send join again (it is idempotent).', requestId),
          { outcome: 'joined', roomId, code: ERROR_CODES.unavailable },
        );
      }
    }
    const presence = added ? await announcePresence(deps, 'joined', roomId, identity.userId, connectionId, remainingMs) : undefined;
    return answer(
      { action: SERVER_ACTIONS.joined, room_id: roomId, ...(latest !== undefined ? { latest_seq: latest } : {}), ...withRequestId(requestId) },
      { outcome: 'joined', roomId, userId: identity.userId, added, presencePosts: presence?.posted },
    );
  });
}
