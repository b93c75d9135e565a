import { bodyText, type InvocationContext, type RouteResult, type WebSocketRouteEvent } from './events';
import { errorFrame, parseHistoryRequest, SERVER_ACTIONS, withRequestId } from './frames';
import { latestSeq, readHistory } from './history-store';
import { errorFields } from './log';
import type { PostingDeps } from './posting-deps';
import { requireMember } from './rooms';
import { answeringRoute } from './route-call';
import { ERROR_CODES } from '../../shared/contract';

/**
 * `history`: a page of a room's stored messages, to members only — after `after_seq` (replay, ascending), before
 * `before_seq` (paging back), or the latest; at most `limit` (≤ 100) and ~120 KB. `has_more` says more stored
 * messages lie beyond the page in the requested direction; `latest_seq` is the room's newest seq.
 */
export async function handleHistory(event: WebSocketRouteEvent, deps: PostingDeps, context?: InvocationContext): Promise<RouteResult> {
  return answeringRoute('history', event, deps, context, async ({ connectionId, base, answer }) => {
    const { messagesTable } = deps.config;
    if (!messagesTable) {
      return answer(errorFrame(ERROR_CODES.unknownAction, 'History is off for this chat.'), { outcome: 'rejected', code: ERROR_CODES.unknownAction });
    }
    const parsed = parseHistoryRequest(bodyText(event));
    if (!parsed.ok) return answer(parsed.error, { outcome: 'rejected', code: parsed.error.code });
    const request = parsed.value;
    const nowSeconds = Math.floor((deps.now ?? Date.now)() / 1000);
    try {
      const member = await requireMember(deps, connectionId, request.roomId, nowSeconds, request.requestId);
      if (!member.ok) return await answer(member.error, { outcome: 'rejected', code: member.error.code, roomId: request.roomId });
      // The page first, then the counter: latest_seq is then never below a seq the page returns.
      const page = await readHistory(deps.dynamo, { tableName: messagesTable, ...request, nowSeconds });
      const latest = await latestSeq(deps.dynamo, messagesTable, request.roomId);
      return await answer(
        {
          action: SERVER_ACTIONS.history,
          room_id: request.roomId,
          messages: page.messages,
          latest_seq: latest,
          has_more: page.hasMore,
          ...withRequestId(request.requestId),
        },
        { outcome: 'answered', roomId: request.roomId, messages: page.messages.length, hasMore: page.hasMore },
      );
    } catch (err) {
      deps.log({ level: 'error', ...base, outcome: 'error', roomId: request.roomId, ...errorFields(err) });
      throw err;
    }
  });
}
