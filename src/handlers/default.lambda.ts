import { handleDefault } from './lib/default-route';
import type { InvocationContext, RouteResult, WebSocketRouteEvent } from './lib/events';
import { postingDepsFromEnv, type PostingDeps } from './lib/posting-deps';

let deps: PostingDeps | undefined;

/** `$default`: tells the sender its frame was not understood. */
export const handler = async (event: WebSocketRouteEvent, context?: InvocationContext): Promise<RouteResult> =>
  handleDefault(event, (deps ??= postingDepsFromEnv()), context);
