import type { ChatClientOptions } from './options';
import { globalTimers } from './timers';
import type { WebSocketConstructor } from './websocket';

/** Options with every default applied. */
export type ResolvedOptions = Required<Omit<ChatClientOptions, 'token' | 'getToken' | 'room'>> & {
  readonly getToken: () => Promise<string>;
  readonly room?: string;
};

/** Applies the defaults; throws a `TypeError` for options that cannot work. */
export function resolveOptions(options: ChatClientOptions): ResolvedOptions {
  const { token, getToken } = options;
  if (token === undefined && getToken === undefined) throw new TypeError('cdk-websocket-chat-client: give `token` or `getToken`.');
  const WebSocket = options.WebSocket ?? (globalThis as { WebSocket?: WebSocketConstructor }).WebSocket;
  if (!WebSocket) throw new TypeError('cdk-websocket-chat-client: no global WebSocket here; pass one as `WebSocket` (e.g. from the ws package).');
  return {
    url: options.url,
    room: options.room,
    WebSocket,
    getToken: async () => (getToken ? getToken() : (token as string)),
    requestTimeoutMs: options.requestTimeoutMs ?? 10_000,
    connectTimeoutMs: options.connectTimeoutMs ?? 15_000,
    pingAfterMs: options.pingAfterMs ?? 5 * 60_000,
    rotateAfterMs: options.rotateAfterMs ?? [100 * 60_000, 115 * 60_000],
    overlapMs: options.overlapMs ?? 2_000,
    backoffBaseMs: options.backoffBaseMs ?? 1_000,
    backoffMaxMs: options.backoffMaxMs ?? 30_000,
    gapTimeoutMs: options.gapTimeoutMs ?? 10_000,
    maxRefusals: options.maxRefusals ?? 3,
    timers: options.timers ?? globalTimers,
    random: options.random ?? Math.random,
  };
}
