import type { InvocationContext, RouteResult, WebSocketRouteEvent } from './lib/events';
import { postingDepsFromEnv, type PostingDeps } from './lib/posting-deps';
import { handleHistory } from './lib/history';

let deps: PostingDeps | undefined;

/** `history` route (see ./lib/history.ts). */
export const handler = async (event: WebSocketRouteEvent, context?: InvocationContext): Promise<RouteResult> =>
  handleHistory(event, (deps ??= postingDepsFromEnv()), context);
