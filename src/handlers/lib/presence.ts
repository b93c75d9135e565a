import { readRoom } from './connections-store';
import { bodyText, type InvocationContext, type RouteResult, type WebSocketRouteEvent } from './events';
import { parseRoomRequest, SERVER_ACTIONS, withRequestId } from './frames';
import { errorFields } from './log';
import type { PostingDeps } from './posting-deps';
import { requireMember } from './rooms';
import { answeringRoute } from './route-call';
import { LIMITS } from '../../shared/contract';

/**
 * `presence`: the distinct users of a room's live connections, to members only. It reads at most 1,000 membership
 * items; beyond them it answers `truncated: true` and `connections` is a lower bound.
 */
export async function handlePresence(event: WebSocketRouteEvent, deps: PostingDeps, context?: InvocationContext): Promise<RouteResult> {
  return answeringRoute('presence', event, deps, context, async ({ connectionId, identity, base, answer }) => {
    const parsed = parseRoomRequest(bodyText(event));
    if (!parsed.ok) return answer(parsed.error, { outcome: 'rejected', code: parsed.error.code });
    const { roomId, requestId } = parsed.value;
    const nowSeconds = Math.floor((deps.now ?? Date.now)() / 1000);
    try {
      const member = await requireMember(deps, connectionId, roomId, nowSeconds, requestId);
      if (!member.ok) return await answer(member.error, { outcome: 'rejected', code: member.error.code, roomId });
      const room = await readRoom(deps.dynamo, { tableName: deps.config.tableName, roomId, nowSeconds }, LIMITS.maxPresenceItems);
      const connections = new Set(room.members.map((m) => m.connectionId));
      // The asker is a member (checked strongly consistent), even if the eventually consistent index lags.
      const members = connections.has(connectionId) || room.truncated ? room.members : [...room.members, { connectionId, userId: identity.userId }];
      connections.add(connectionId);
      // The answer stays under API Gateway's 128 KB message limit: user ids past ~120 KB are left out (truncated).
      const users = new Set<string>();
      let bytes = 0;
      let truncated = room.truncated;
      for (const userId of members.map((m) => m.userId).sort()) {
        if (users.has(userId)) continue;
        bytes += Buffer.byteLength(JSON.stringify(userId), 'utf8') + 1;
        if (bytes > LIMITS.maxHistoryAnswerBytes - 1024) {
          truncated = true;
          break;
        }
        users.add(userId);
      }
      return await answer(
        {
          action: SERVER_ACTIONS.presence,
          room_id: roomId,
          users: [...users],
          connections: connections.size,
          truncated,
          ...withRequestId(requestId),
        },
        { outcome: 'answered', roomId, users: users.size, connections: connections.size, truncated },
      );
    } catch (err) {
      deps.log({ level: 'error', ...base, outcome: 'error', roomId, ...errorFields(err) });
      throw err;
    }
  });
}
