import type { InvocationContext, RouteResult, WebSocketRouteEvent } from './lib/events';
import { handlePing } from './lib/ping';
import { postingDepsFromEnv, type PostingDeps } from './lib/posting-deps';

let deps: PostingDeps | undefined;

/** `ping`: answers `{"action":"pong"}`. */
export const handler = async (event: WebSocketRouteEvent, context?: InvocationContext): Promise<RouteResult> =>
  handlePing(event, (deps ??= postingDepsFromEnv()), context);
