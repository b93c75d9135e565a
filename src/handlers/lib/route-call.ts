import { readIdentity, type ConnectionIdentity, type InvocationContext, type RouteResult, type WebSocketRouteEvent } from './events';
import type { ServerFrame } from './frames';
import type { PostingDeps } from './posting-deps';
import { replyToSender } from './reply';

/** One invocation of a route that answers its sender (`join`, `leave`, `presence`, `history`). */
export interface RouteCall {
  readonly connectionId: string;
  /** Who is on the connection (from the authorizer context). */
  readonly identity: ConnectionIdentity;
  /** The invocation's remaining time at its start, when known. */
  readonly remainingMs?: number;
  /** The fields every log line of this invocation carries. */
  readonly base: { readonly event: string; readonly connectionId: string; readonly requestId?: string };
  /** Posts `frame` to the sender and writes the invocation's one log line with `fields`. */
  answer(frame: ServerFrame, fields: Record<string, unknown>): Promise<RouteResult>;
}

/**
 * Runs a route that answers its sender: a connection without an authorizer context (never trusted) gets 403 and
 * nothing else; otherwise `body` runs with the call's identity and its `answer`.
 */
export async function answeringRoute(
  name: string,
  event: WebSocketRouteEvent,
  deps: PostingDeps,
  context: InvocationContext | undefined,
  body: (call: RouteCall) => Promise<RouteResult>,
): Promise<RouteResult> {
  const { connectionId } = event.requestContext;
  const base = { event: name, connectionId, requestId: context?.awsRequestId };
  const identity = readIdentity(event);
  if (!identity) {
    deps.log({ level: 'warn', ...base, outcome: 'rejected', reason: 'missing_authorizer_context' });
    return { statusCode: 403 };
  }
  const remainingMs = context?.getRemainingTimeInMillis?.();
  const answer = async (frame: ServerFrame, fields: Record<string, unknown>): Promise<RouteResult> => {
    const post = await replyToSender(deps, connectionId, frame, remainingMs);
    deps.log({ level: post.outcome === 'failed' ? 'warn' : 'info', ...base, ...fields, post: post.outcome });
    return { statusCode: 200 };
  };
  return body({ connectionId, identity, remainingMs, base, answer });
}
