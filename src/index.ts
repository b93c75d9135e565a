// The public API, by name: nothing internal (the shared spec and contract, the construct's building blocks) leaks.
export { WebSocketChat } from './websocket-chat';
export type { IWebSocketChat, WebSocketChatAttributes } from './construct/imported';
export type {
  ChatAlarmOptions,
  ChatAlarmsOptions,
  ChatHandlerOptions,
  ChatRouteOptions,
  WebSocketChatProps,
} from './construct/props';
export { ChatAuth } from './chat-auth';
export type { ChatAuthClaimOptions, Hs256AuthOptions, JwksAuthOptions } from './chat-auth';
export type { ChatCustomDomainOptions } from './custom-domain';
