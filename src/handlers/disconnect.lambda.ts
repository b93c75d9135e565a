import { handleDisconnect } from './lib/disconnect';
import type { InvocationContext, RouteResult, WebSocketRouteEvent } from './lib/events';
import { routeDepsFromEnv, type RouteDeps } from './lib/route-deps';

let deps: RouteDeps | undefined;

/** `$disconnect`: deletes the connection's row. */
export const handler = async (event: WebSocketRouteEvent, context?: InvocationContext): Promise<RouteResult> =>
  handleDisconnect(event, (deps ??= routeDepsFromEnv()), context);
