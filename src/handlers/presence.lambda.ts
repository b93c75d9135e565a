import type { InvocationContext, RouteResult, WebSocketRouteEvent } from './lib/events';
import { postingDepsFromEnv, type PostingDeps } from './lib/posting-deps';
import { handlePresence } from './lib/presence';

let deps: PostingDeps | undefined;

/** `presence` route (see ./lib/presence.ts). */
export const handler = async (event: WebSocketRouteEvent, context?: InvocationContext): Promise<RouteResult> =>
  handlePresence(event, (deps ??= postingDepsFromEnv()), context);
