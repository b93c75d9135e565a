export * from './websocket-chat';
export * from './chat-auth';
export * from './custom-domain';
