import type { InvocationContext, RouteResult, WebSocketRouteEvent } from './events';
import { pongFrame } from './frames';
import type { PostingDeps } from './posting-deps';
import { replyToSender } from './reply';

/** `ping`: the sender gets `{"action":"pong"}` (keeps a client under the idle timeout). */
export async function handlePing(event: WebSocketRouteEvent, deps: PostingDeps, context?: InvocationContext): Promise<RouteResult> {
  const { connectionId } = event.requestContext;
  const result = await replyToSender(deps, connectionId, pongFrame(), context?.getRemainingTimeInMillis?.());
  deps.log({
    level: result.outcome === 'failed' ? 'warn' : 'info',
    event: 'ping',
    connectionId,
    requestId: context?.awsRequestId,
    post: result.outcome,
    attempts: result.attempts,
  });
  return { statusCode: 200 };
}
