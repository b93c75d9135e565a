import { handleConnect } from './lib/connect';
import type { InvocationContext, RouteResult, WebSocketRouteEvent } from './lib/events';
import { routeDepsFromEnv, type RouteDeps } from './lib/route-deps';

let deps: RouteDeps | undefined;

/** `$connect`: records the connection. */
export const handler = async (event: WebSocketRouteEvent, context?: InvocationContext): Promise<RouteResult> =>
  handleConnect(event, (deps ??= routeDepsFromEnv()), context);
