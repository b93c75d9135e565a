import { bodyText, type InvocationContext, type RouteResult, type WebSocketRouteEvent } from './events';
import { defaultRouteError } from './frames';
import type { PostingDeps } from './posting-deps';
import { replyToSender } from './reply';

/**
 * `$default`: a binary frame is refused as such; `INVALID_JSON` for a non-JSON frame; otherwise `UNKNOWN_ACTION`
 * listing the valid actions.
 */
export async function handleDefault(event: WebSocketRouteEvent, deps: PostingDeps, context?: InvocationContext): Promise<RouteResult> {
  const { connectionId } = event.requestContext;
  const frame = defaultRouteError(bodyText(event), deps.config.validActions, event.isBase64Encoded === true);
  const result = await replyToSender(deps, connectionId, frame, context?.getRemainingTimeInMillis?.());
  deps.log({
    level: result.outcome === 'failed' ? 'warn' : 'info',
    event: 'default',
    connectionId,
    requestId: context?.awsRequestId,
    code: frame.code,
    post: result.outcome,
    attempts: result.attempts,
  });
  return { statusCode: 200 };
}
