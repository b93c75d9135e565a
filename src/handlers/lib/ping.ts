import { bodyText, type InvocationContext, type RouteResult, type WebSocketRouteEvent } from './events';
import { parseClientFrame, pongFrame } from './frames';
import type { PostingDeps } from './posting-deps';
import { replyToSender } from './reply';

/** `ping`: the sender gets `{"action":"pong"}` (echoing a `request_id`); keeps a client under the idle timeout. */
export async function handlePing(event: WebSocketRouteEvent, deps: PostingDeps, context?: InvocationContext): Promise<RouteResult> {
  const { connectionId } = event.requestContext;
  const parsed = parseClientFrame(bodyText(event));
  const requestId = parsed.ok ? parsed.value.requestId : undefined;
  const result = await replyToSender(deps, connectionId, pongFrame(requestId), context?.getRemainingTimeInMillis?.());
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
