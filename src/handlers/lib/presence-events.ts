import { readRoom } from './connections-store';
import { deliver, emptyStats, listRecipients } from './fanout';
import { encodeFrame, memberFrame, SERVER_ACTIONS } from './frames';
import { errorFields } from './log';
import { postPolicyOf, postTargetOf, type PostingDeps } from './posting-deps';

/**
 * `member_joined` / `member_left`: told to the other members of a room when a user's first connection joins it, or
 * its last one leaves. Only in rooms of at most `presenceEventsMaxConnections` connections (default 100): every
 * join costs a read of the room and a post to each member, so in a room of N a connect storm would cost N² posts.
 * Larger rooms use the `presence` request instead. Best effort: a failure is logged, never fails the caller.
 */
export type PresenceChange = 'joined' | 'left';

export interface PresenceOutcome {
  /** Members told. */
  readonly posted: number;
  /** Why nothing was posted, when nothing was. */
  readonly skipped?: 'disabled' | 'room_too_large' | 'not_first_or_last' | 'no_one_else' | 'error';
}

export async function announcePresence(
  deps: PostingDeps,
  change: PresenceChange,
  roomId: string,
  userId: string,
  connectionId: string,
  remainingTimeMs?: number,
): Promise<PresenceOutcome> {
  const max = deps.config.presenceEventsMaxConnections;
  if (max <= 0) return { posted: 0, skipped: 'disabled' };
  try {
    const nowSeconds = Math.floor((deps.now ?? Date.now)() / 1000);
    const room = await readRoom(deps.dynamo, { tableName: deps.config.tableName, roomId, nowSeconds }, max + 1);
    // The index may still list (or not yet list) the connection itself: it is never one of the others.
    const others = room.members.filter((m) => m.connectionId !== connectionId);
    if (room.truncated || others.length + 1 > max) return { posted: 0, skipped: 'room_too_large' };
    if (others.some((m) => m.userId === userId)) return { posted: 0, skipped: 'not_first_or_last' };
    if (others.length === 0) return { posted: 0, skipped: 'no_one_else' };
    const frame = encodeFrame(memberFrame(change === 'joined' ? SERVER_ACTIONS.memberJoined : SERVER_ACTIONS.memberLeft, roomId, userId));
    const stats = await deliver({
      ...postPolicyOf(deps, remainingTimeMs),
      target: postTargetOf(deps),
      recipients: listRecipients(others.map((m) => m.connectionId)),
      payload: () => frame,
      concurrency: deps.config.fanoutConcurrency,
      stats: emptyStats(),
    });
    return { posted: stats.delivered };
  } catch (err) {
    deps.log({ level: 'warn', event: 'presenceEvent', change, roomId, connectionId, outcome: 'error', ...errorFields(err) });
    return { posted: 0, skipped: 'error' };
  }
}
