import type { InvocationContext, RouteResult, WebSocketRouteEvent } from './events';
import type { PostingDeps } from './posting-deps';

export async function handleJoin(_event: WebSocketRouteEvent, _deps: PostingDeps, _context?: InvocationContext): Promise<RouteResult> {
  throw new Error('join: work in progress');
}
