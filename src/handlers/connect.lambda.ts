import { handleConnect } from './lib/connect';
import type { InvocationContext, RouteResult, WebSocketRouteEvent } from './lib/events';
import { postingDepsFromEnv, type PostingDeps } from './lib/posting-deps';

let deps: PostingDeps | undefined;

/** `$connect`: records the connection. */
export const handler = async (event: WebSocketRouteEvent, context?: InvocationContext): Promise<RouteResult> =>
  handleConnect(event, (deps ??= postingDepsFromEnv()), context);
