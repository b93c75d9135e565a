import type { InvocationContext, RouteResult, WebSocketRouteEvent } from './lib/events';
import { handleLeave } from './lib/leave';
import { postingDepsFromEnv, type PostingDeps } from './lib/posting-deps';

let deps: PostingDeps | undefined;

/** `leave` route (see ./lib/leave.ts). */
export const handler = async (event: WebSocketRouteEvent, context?: InvocationContext): Promise<RouteResult> =>
  handleLeave(event, (deps ??= postingDepsFromEnv()), context);
