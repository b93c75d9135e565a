import { deleteConnectionItems } from './connections-store';
import { readIdentity, type InvocationContext, type RouteResult, type WebSocketRouteEvent } from './events';
import { errorFields } from './log';
import type { PostingDeps } from './posting-deps';
import { announcePresence } from './presence-events';

/**
 * `$disconnect` (best effort: items also go on a 410 Gone and by TTL): deletes every item of the connection, then
 * tells each of its small rooms when this was the user's last connection there.
 */
export async function handleDisconnect(event: WebSocketRouteEvent, deps: PostingDeps, context?: InvocationContext): Promise<RouteResult> {
  const { connectionId } = event.requestContext;
  const base = { event: 'disconnect', connectionId, requestId: context?.awsRequestId };
  let deleted;
  try {
    deleted = await deleteConnectionItems(deps.dynamo, deps.config.tableName, connectionId);
  } catch (err) {
    // The items still go with their TTL or with the next 410 Gone.
    deps.log({ level: 'error', ...base, outcome: 'error', ...errorFields(err) });
    throw err;
  }
  const userId = deleted.userId ?? readIdentity(event)?.userId;
  let presencePosts = 0;
  if (userId) {
    const remainingMs = context?.getRemainingTimeInMillis?.();
    for (const roomId of deleted.rooms) presencePosts += (await announcePresence(deps, 'left', roomId, userId, connectionId, remainingMs)).posted;
  }
  deps.log({ level: 'info', ...base, outcome: 'disconnected', userId, items: deleted.items, rooms: deleted.rooms.length, presencePosts });
  return { statusCode: 200 };
}
