import { deleteConnection } from './connections-store';
import type { InvocationContext, RouteResult, WebSocketRouteEvent } from './events';
import { errorFields } from './log';
import type { RouteDeps } from './route-deps';

/** `$disconnect` (best effort, DESIGN §3): deletes the connection's row; a missing row is fine. */
export async function handleDisconnect(event: WebSocketRouteEvent, deps: RouteDeps, context?: InvocationContext): Promise<RouteResult> {
  const { connectionId } = event.requestContext;
  const base = { event: 'disconnect', connectionId, requestId: context?.awsRequestId };
  try {
    await deleteConnection(deps.dynamo, deps.config.tableName, connectionId);
  } catch (err) {
    // The row still goes with its TTL or with the next 410 Gone.
    deps.log({ level: 'error', ...base, outcome: 'error', ...errorFields(err) });
    throw err;
  }
  deps.log({ level: 'info', ...base, outcome: 'disconnected' });
  return { statusCode: 200 };
}
