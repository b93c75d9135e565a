import { deleteMembership } from './connections-store';
import { bodyText, type InvocationContext, type RouteResult, type WebSocketRouteEvent } from './events';
import { parseRoomRequest, SERVER_ACTIONS, withRequestId } from './frames';
import { errorFields } from './log';
import type { PostingDeps } from './posting-deps';
import { announcePresence } from './presence-events';
import { answeringRoute } from './route-call';

/**
 * `leave`: removes the connection from a room and answers `left` (also when it was not in it: leaving is
 * idempotent); tells a small room's other members when this was the user's last connection there.
 */
export async function handleLeave(event: WebSocketRouteEvent, deps: PostingDeps, context?: InvocationContext): Promise<RouteResult> {
  return answeringRoute('leave', event, deps, context, async ({ connectionId, identity, remainingMs, base, answer }) => {
    const parsed = parseRoomRequest(bodyText(event));
    if (!parsed.ok) return answer(parsed.error, { outcome: 'rejected', code: parsed.error.code });
    const { roomId, requestId } = parsed.value;
    let removed;
    try {
      removed = await deleteMembership(deps.dynamo, deps.config.tableName, connectionId, roomId);
    } catch (err) {
      deps.log({ level: 'error', ...base, outcome: 'error', roomId, ...errorFields(err) });
      throw err;
    }
    const presence = removed ? await announcePresence(deps, 'left', roomId, identity.userId, connectionId, remainingMs) : undefined;
    return answer(
      { action: SERVER_ACTIONS.left, room_id: roomId, ...withRequestId(requestId) },
      { outcome: 'left', roomId, userId: identity.userId, wasMember: !!removed, presencePosts: presence?.posted },
    );
  });
}
