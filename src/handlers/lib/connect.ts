import { connectionRow, putConnection } from './connections-store';
import { readIdentity, type InvocationContext, type RouteResult, type WebSocketRouteEvent } from './events';
import { errorFields } from './log';
import type { RouteDeps } from './route-deps';

/**
 * `$connect` (after the authorizer allowed it): records the connection with the authorizer's user and room and a
 * TTL of API Gateway's 2 h + margin. Without an authorizer context nothing is written and the answer is 403.
 */
export async function handleConnect(event: WebSocketRouteEvent, deps: RouteDeps, context?: InvocationContext): Promise<RouteResult> {
  const { connectionId } = event.requestContext;
  const base = { event: 'connect', connectionId, requestId: context?.awsRequestId };
  const identity = readIdentity(event);
  if (!identity) {
    deps.log({ level: 'warn', ...base, outcome: 'rejected', reason: 'missing_authorizer_context' });
    return { statusCode: 403 };
  }
  const row = connectionRow(connectionId, identity, (deps.now ?? Date.now)(), deps.config.connectionTtlSeconds);
  try {
    await putConnection(deps.dynamo, deps.config.tableName, row);
  } catch (err) {
    deps.log({ level: 'error', ...base, outcome: 'error', roomId: identity.roomId, userId: identity.userId, ...errorFields(err) });
    throw err;
  }
  deps.log({ level: 'info', ...base, outcome: 'connected', roomId: identity.roomId, userId: identity.userId });
  return { statusCode: 200 };
}
