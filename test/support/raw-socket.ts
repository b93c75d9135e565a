import { randomBytes } from 'node:crypto';
import { connect, type Socket } from 'node:net';

/** A WebSocket upgrade request written by hand on a raw TCP socket (for what a well-behaved client never does). */
export interface RawUpgrade {
  readonly socket: Socket;
  /** Resolves when the server closed the socket (or it errored). */
  readonly ended: Promise<void>;
  /** Everything the server wrote back so far. */
  received(): string;
  /** Resolves with the status line's code once the server answered. */
  status(): Promise<number>;
}

export function rawUpgrade(
  port: number,
  target: string,
  headers: Record<string, string | undefined> = {},
  options: { host?: string; method?: string } = {},
): RawUpgrade {
  const socket = connect({ port, host: options.host ?? '127.0.0.1' });
  const all: Record<string, string | undefined> = {
    'Host': `${options.host ?? '127.0.0.1'}:${port}`,
    'Upgrade': 'websocket',
    'Connection': 'Upgrade',
    'Sec-WebSocket-Key': randomBytes(16).toString('base64'),
    'Sec-WebSocket-Version': '13',
    ...headers,
  };
  const head = Object.entries(all).filter(([, v]) => v !== undefined).map(([k, v]) => `${k}: ${v}\r\n`).join('');
  socket.write(`${options.method ?? 'GET'} ${target} HTTP/1.1\r\n${head}\r\n`);
  let text = '';
  socket.setEncoding('latin1');
  socket.on('data', (chunk: string) => (text += chunk));
  socket.on('error', () => undefined);
  const ended = new Promise<void>((resolve) => {
    socket.once('close', () => resolve());
  });
  return {
    socket,
    received: () => text,
    ended,
    async status() {
      const deadline = Date.now() + 10_000;
      while (!/^HTTP\/1\.1 (\d{3})/.test(text)) {
        if (Date.now() > deadline || socket.destroyed) break;
        await new Promise((resolve) => setTimeout(resolve, 5));
      }
      const match = /^HTTP\/1\.1 (\d{3})/.exec(text);
      if (!match) throw new Error(`no HTTP status line; received ${JSON.stringify(text)}`);
      return Number(match[1]);
    },
  };
}
