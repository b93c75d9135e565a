export { ChatClient } from './client';
export type { ChatClientEvents, ConnectionState, Listener } from './events';
export { ChatError, type ChatErrorCode, type ClientErrorCode } from './errors';
export type { ChatClientOptions, Timers } from './options';
export type {
  ErrorFrame,
  EventFrame,
  HistoryFrame,
  HistoryQuery,
  JoinedFrame,
  LeftFrame,
  MemberFrame,
  MessageFrame,
  PresenceFrame,
  ServerErrorCode,
} from './protocol';
export type { WebSocketConstructor, WebSocketLike } from './websocket';
