import { handleDisconnect } from './lib/disconnect';
import type { InvocationContext, RouteResult, WebSocketRouteEvent } from './lib/events';
import { postingDepsFromEnv, type PostingDeps } from './lib/posting-deps';

let deps: PostingDeps | undefined;

/** `$disconnect`: deletes the connection's row. */
export const handler = async (event: WebSocketRouteEvent, context?: InvocationContext): Promise<RouteResult> =>
  handleDisconnect(event, (deps ??= postingDepsFromEnv()), context);
