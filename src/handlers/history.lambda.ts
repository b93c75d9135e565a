import type { InvocationContext, RouteResult, WebSocketRouteEvent } from './lib/events';
import { handleHistory } from './lib/history';
import { postingDepsFromEnv, type PostingDeps } from './lib/posting-deps';

let deps: PostingDeps | undefined;

/** `history` route (see ./lib/history.ts). */
export const handler = async (event: WebSocketRouteEvent, context?: InvocationContext): Promise<RouteResult> =>
  handleHistory(event, (deps ??= postingDepsFromEnv()), context);
