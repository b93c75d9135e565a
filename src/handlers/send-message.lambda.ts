import type { InvocationContext, RouteResult, WebSocketRouteEvent } from './lib/events';
import { postingDepsFromEnv, type PostingDeps } from './lib/posting-deps';
import { handleSendMessage } from './lib/send-message';

let deps: PostingDeps | undefined;

/** `sendMessage`: validates the frame and broadcasts it to the sender's room. */
export const handler = async (event: WebSocketRouteEvent, context?: InvocationContext): Promise<RouteResult> =>
  handleSendMessage(event, (deps ??= postingDepsFromEnv()), context);
