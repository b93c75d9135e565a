import { putConnection } from './connections-store';
import { readIdentity, type InvocationContext, type RouteResult, type WebSocketRouteEvent } from './events';
import { errorFields } from './log';
import type { PostingDeps } from './posting-deps';
import { announcePresence } from './presence-events';
import { connectionTtl } from './rooms';

/**
 * `$connect` (after the authorizer allowed it): writes the connection item (user, rooms claim, TTL of API Gateway's
 * 2 h + margin) and, when the handshake named a room, its membership; then tells the room's other members (small
 * rooms only). Nothing is posted to the new connection itself: API Gateway answers 410 to a post before the handshake
 * completes. Without an authorizer context nothing is written and the answer is 403.
 */
export async function handleConnect(event: WebSocketRouteEvent, deps: PostingDeps, context?: InvocationContext): Promise<RouteResult> {
  const { connectionId } = event.requestContext;
  const base = { event: 'connect', connectionId, requestId: context?.awsRequestId };
  const identity = readIdentity(event);
  if (!identity) {
    deps.log({ level: 'warn', ...base, outcome: 'rejected', reason: 'missing_authorizer_context' });
    return { statusCode: 403 };
  }
  const nowMs = (deps.now ?? Date.now)();
  const record = {
    connectionId,
    userId: identity.userId,
    ttl: connectionTtl(event, deps, nowMs),
    createdAt: new Date(nowMs).toISOString(),
    rooms: identity.rooms,
  };
  try {
    await putConnection(deps.dynamo, deps.config.tableName, record, identity.roomId);
  } catch (err) {
    deps.log({ level: 'error', ...base, outcome: 'error', roomId: identity.roomId, userId: identity.userId, ...errorFields(err) });
    throw err;
  }
  const presence = identity.roomId
    ? await announcePresence(deps, 'joined', identity.roomId, identity.userId, connectionId, context?.getRemainingTimeInMillis?.())
    : undefined;
  deps.log({ level: 'info', ...base, outcome: 'connected', roomId: identity.roomId, userId: identity.userId, presencePosts: presence?.posted });
  return { statusCode: 200 };
}
