import type { InvocationContext, RouteResult, WebSocketRouteEvent } from './events';
import type { PostingDeps } from './posting-deps';

export async function handlePresence(_event: WebSocketRouteEvent, _deps: PostingDeps, _context?: InvocationContext): Promise<RouteResult> {
  throw new Error('presence: work in progress');
}
