import { randomUUID } from 'node:crypto';
import { postToConnection, type PostResult } from './delivery';
import { bodyText, readIdentity, type InvocationContext, type RouteResult, type WebSocketRouteEvent } from './events';
import { emptyStats, fanOut, FanoutQueryError, type FanoutStats } from './fanout';
import { encodeFrame, errorFrame, messageFrame, parseSendMessage, type ErrorFrame } from './frames';
import { errorFields } from './log';
import { emfFields } from './metrics';
import { postPolicyOf, postTargetOf, type PostingDeps } from './posting-deps';
import { replyToSender } from './reply';
import { ERROR_CODES, LIMITS } from '../../shared/contract';

/** Extra knobs of `sendMessage` (tests and benchmarks). */
export interface SendMessageDeps extends PostingDeps {
  /** Message ids. @default crypto.randomUUID */
  readonly newMessageId?: () => string;
  /** `Limit` of each Query page. @default DynamoDB's 1 MB pages */
  readonly pageSize?: number;
}

/**
 * `sendMessage`: validates the frame and broadcasts `{"action":"message",…}` to every live connection of the
 * sender's room (the sender included). The user and room come from the authorizer context, never from the
 * body. A bad frame gets an error frame back to the sender only. Logs one JSON line per invocation that is
 * also a CloudWatch EMF document (`PostsDelivered`, `ConnectionsGone`, `PostsFailed`, `Recipients` by `ApiId`).
 */
export async function handleSendMessage(event: WebSocketRouteEvent, deps: SendMessageDeps, context?: InvocationContext): Promise<RouteResult> {
  const now = deps.now ?? Date.now;
  const startedMs = now();
  const { connectionId } = event.requestContext;
  const remainingMs = context?.getRemainingTimeInMillis?.();
  const base = { event: 'sendMessage', connectionId, requestId: context?.awsRequestId ?? event.requestContext.requestId };
  const identity = readIdentity(event);
  if (!identity) {
    deps.log({ level: 'warn', ...base, outcome: 'rejected', reason: 'missing_authorizer_context' });
    return { statusCode: 403 };
  }
  const emit = (level: 'info' | 'warn' | 'error', stats: FanoutStats, fields: Record<string, unknown>): void => {
    deps.log({
      level,
      ...base,
      roomId: identity.roomId,
      userId: identity.userId,
      ...fields,
      ...stats,
      durationMs: now() - startedMs,
      ...emfFields(deps.config.metricsNamespace, event.requestContext.apiId ?? 'unknown', stats, startedMs),
    });
  };
  const reject = async (error: ErrorFrame): Promise<RouteResult> => {
    const stats = statsOfSingle(await replyToSender(deps, connectionId, error, remainingMs));
    emit('info', stats, { outcome: 'rejected', code: error.code });
    return { statusCode: 200 };
  };

  const parsed = parseSendMessage(bodyText(event), { maxMessageBytes: deps.config.maxMessageBytes, roomId: identity.roomId });
  if (!parsed.ok) return reject(parsed.error);

  const messageId = (deps.newMessageId ?? randomUUID)();
  const timestamp = new Date(startedMs).toISOString();
  const data = encodeFrame(messageFrame({ messageId, roomId: identity.roomId, userId: identity.userId, message: parsed.value.message, timestamp }));
  if (data.length > LIMITS.maxMessageBytes) {
    // JSON escaping can grow a message past what @connections accepts; refuse it rather than fail every post.
    return reject(errorFrame(ERROR_CODES.messageTooLarge, `The message frame would be ${data.length} bytes; the limit is ${LIMITS.maxMessageBytes} bytes.`));
  }

  let stats: FanoutStats;
  let senderReached = false;
  try {
    stats = await fanOut({
      ...postPolicyOf(deps, remainingMs),
      dynamo: deps.dynamo,
      management: deps.management,
      tableName: deps.config.tableName,
      roomId: identity.roomId,
      data,
      concurrency: deps.config.fanoutConcurrency,
      pageSize: deps.pageSize,
      nowSeconds: Math.floor(startedMs / 1000),
      onPost: (id) => {
        if (id === connectionId) senderReached = true;
      },
    });
    if (!senderReached && !stats.truncated) {
      // The room index is eventually consistent: right after $connect, the sender's own row may not be in it
      // yet. The sender always gets its message.
      const own = await postToConnection(postTargetOf(deps), postPolicyOf(deps, remainingMs), connectionId, data);
      stats.recipients++;
      stats[own.outcome]++;
    }
  } catch (err) {
    const partial = err instanceof FanoutQueryError ? err.stats : emptyStats();
    emit('error', partial, { outcome: 'error', messageId, ...errorFields(err instanceof FanoutQueryError ? err.cause : err) });
    throw err;
  }
  emit(stats.failed > 0 ? 'warn' : 'info', stats, { outcome: 'broadcast', messageId });
  return { statusCode: 200 };
}

/** The stats of a single post to the sender (an error frame): no recipients, one post. */
function statsOfSingle(result: PostResult): FanoutStats {
  const stats = emptyStats();
  stats[result.outcome]++;
  return stats;
}
