import { postToConnection, type PostResult } from './delivery';
import { encodeFrame, type ServerFrame } from './frames';
import { postPolicyOf, postTargetOf, type PostingDeps } from './posting-deps';

/**
 * Posts a frame to the sender's own connection, with the fan-out's retry rules (a 410 deletes the sender's row).
 */
export function replyToSender(deps: PostingDeps, connectionId: string, frame: ServerFrame, remainingTimeMs?: number): Promise<PostResult> {
  return postToConnection(postTargetOf(deps), postPolicyOf(deps, remainingTimeMs), connectionId, encodeFrame(frame));
}
