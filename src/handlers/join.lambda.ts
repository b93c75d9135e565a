import type { InvocationContext, RouteResult, WebSocketRouteEvent } from './lib/events';
import { handleJoin } from './lib/join';
import { postingDepsFromEnv, type PostingDeps } from './lib/posting-deps';

let deps: PostingDeps | undefined;

/** `join` route (see ./lib/join.ts). */
export const handler = async (event: WebSocketRouteEvent, context?: InvocationContext): Promise<RouteResult> =>
  handleJoin(event, (deps ??= postingDepsFromEnv()), context);
