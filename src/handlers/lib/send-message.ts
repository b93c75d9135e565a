import { randomUUID } from 'node:crypto';
import { bodyText, readIdentity, type InvocationContext, type RouteResult, type WebSocketRouteEvent } from './events';
import { emptyStats, FanoutQueryError, type FanoutStats } from './fanout';
import { encodeFrame, errorFrame, messageFrame, parseSendMessage, withRequestId, type ErrorFrame, type MessageFrame } from './frames';
import { MAX_REPLAYABLE_FRAME_BYTES, nextSeq, storeFrame } from './history-store';
import { errorFields } from './log';
import { emfFields } from './metrics';
import type { PostingDeps } from './posting-deps';
import { replyToSender } from './reply';
import { broadcastToRoom } from './room-broadcast';
import { resolveRoom } from './rooms';
import { ERROR_CODES, LIMITS } from '../../shared/contract';

/** Extra knobs of `sendMessage` (tests and benchmarks). */
export interface SendMessageDeps extends PostingDeps {
  /** Message ids. @default crypto.randomUUID */
  readonly newMessageId?: () => string;
  /** `Limit` of each Query page. @default DynamoDB's 1 MB pages */
  readonly pageSize?: number;
}

/** The largest seq a frame could carry: frames are sized with it before a seq is taken. */
const WIDEST_SEQ = Number.MAX_SAFE_INTEGER;

/**
 * `sendMessage`: validates the frame, finds its room (the named one, which the connection must be in, or its only
 * room), stores the message in the room's history with the room's next `seq` (history on), and broadcasts
 * `{"action":"message",…}` to every live connection of the room, the sender included (its copy echoes its
 * `request_id`). The user comes from the authorizer context, never from the body. A message that cannot be stored
 * is not delivered: the sender gets `UNAVAILABLE` (and that seq is never delivered: a gap clients skip). A bad frame
 * gets an error frame back to the sender only. One JSON log line per invocation, which is also a CloudWatch EMF
 * document for broadcasts (`PostsDelivered`, `ConnectionsGone`, `PostsFailed`, `Recipients`, `FanoutWorkers`,
 * `TimeToLastPostMs`, `MessagesStored`, `StoreFailures` by `ApiId`); replies to the sender are not counted.
 */
export async function handleSendMessage(event: WebSocketRouteEvent, deps: SendMessageDeps, context?: InvocationContext): Promise<RouteResult> {
  const now = deps.now ?? Date.now;
  const startedMs = now();
  const nowSeconds = Math.floor(startedMs / 1000);
  const { connectionId } = event.requestContext;
  const remainingMs = context?.getRemainingTimeInMillis?.();
  const apiId = event.requestContext.apiId ?? 'unknown';
  const base = { event: 'sendMessage', connectionId, requestId: context?.awsRequestId ?? event.requestContext.requestId };
  const identity = readIdentity(event);
  if (!identity) {
    deps.log({ level: 'warn', ...base, outcome: 'rejected', reason: 'missing_authorizer_context' });
    return { statusCode: 403 };
  }
  const emit = (level: 'info' | 'warn' | 'error', fields: Record<string, unknown>, metrics?: Parameters<typeof emfFields>[2]): void => {
    deps.log({
      level,
      ...base,
      userId: identity.userId,
      ...fields,
      durationMs: now() - startedMs,
      ...(metrics ? emfFields(deps.config.metricsNamespace, apiId, metrics, startedMs) : {}),
    });
  };
  const reject = async (error: ErrorFrame, fields: Record<string, unknown> = {}, metrics?: Parameters<typeof emfFields>[2]): Promise<RouteResult> => {
    const reply = await replyToSender(deps, connectionId, error, remainingMs);
    emit('info', { outcome: 'rejected', code: error.code, reply: reply.outcome, ...fields }, metrics);
    return { statusCode: 200 };
  };

  const parsed = parseSendMessage(bodyText(event), { maxMessageBytes: deps.config.maxMessageBytes });
  if (!parsed.ok) return reject(parsed.error);
  const { message, requestId } = parsed.value;

  let room;
  try {
    room = await resolveRoom(deps, connectionId, parsed.value.roomId, nowSeconds, requestId);
  } catch (err) {
    emit('error', { outcome: 'error', roomId: parsed.value.roomId, ...errorFields(err) });
    throw err;
  }
  if (!room.ok) return reject(room.error, { roomId: parsed.value.roomId });
  const roomId = room.value;

  const messageId = (deps.newMessageId ?? randomUUID)();
  const timestamp = new Date(startedMs).toISOString();
  const frameWith = (seq?: number): MessageFrame => messageFrame({ messageId, roomId, seq, userId: identity.userId, message, timestamp });
  const history = deps.config.messagesTable;
  const widest = encodeFrame({ ...frameWith(history ? WIDEST_SEQ : undefined), ...withRequestId(requestId) });
  // JSON escaping can grow a message past what @connections accepts; refuse it rather than fail every post. A stored
  // frame must also fit a history answer, or it could never be replayed.
  const limit = history ? MAX_REPLAYABLE_FRAME_BYTES : LIMITS.maxMessageBytes;
  if (widest.length > limit) {
    return reject(
      errorFrame(ERROR_CODES.messageTooLarge, `The message frame would be ${widest.length} bytes; the limit is ${limit} bytes.`, requestId),
      { roomId },
    );
  }

  // Stored before it is fanned out: a message any client saw can always be replayed.
  let seq: number | undefined;
  if (history) {
    try {
      seq = await nextSeq(deps.dynamo, history, roomId);
      await storeFrame(deps.dynamo, history, { ...frameWith(seq), room_id: roomId, seq }, nowSeconds, deps.config.historyRetentionSeconds);
    } catch (err) {
      deps.log({ level: 'error', ...base, roomId, messageId, seq, outcome: 'store_failed', ...errorFields(err) });
      return reject(
        errorFrame(ERROR_CODES.unavailable, 'The message could not be stored, so it was not delivered: send it again.', requestId),
        { roomId, messageId, seq },
        { stored: 0, storeFailed: 1 },
      );
    }
  }
  const frame = frameWith(seq);
  let stats: FanoutStats;
  try {
    stats = await broadcastToRoom(deps, {
      roomId,
      frame: encodeFrame(frame),
      sender: { connectionId, frame: encodeFrame({ ...frame, ...withRequestId(requestId) }) },
      startedMs,
      pageSize: deps.pageSize,
    }, remainingMs);
  } catch (err) {
    const partial = err instanceof FanoutQueryError ? err.stats : emptyStats();
    emit('error', { outcome: 'error', roomId, messageId, seq, ...partial, ...errorFields(err instanceof FanoutQueryError ? err.cause : err) }, {
      ...partial,
      stored: history ? 1 : undefined,
    });
    throw err;
  }
  emit(stats.failed > 0 ? 'warn' : 'info', { outcome: 'broadcast', roomId, messageId, seq, ...stats }, { ...stats, stored: history ? 1 : undefined });
  return { statusCode: 200 };
}
