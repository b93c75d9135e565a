import { WebSocket } from 'ws';
import { FakeChatServer } from './fake-chat-server';
import { ChatClient, type ChatClientOptions, type ChatError, type ConnectionState, type EventFrame, type MessageFrame } from '../../../packages/client/src';

/** A client under test and everything it reported. */
export interface Harness {
  readonly server: FakeChatServer;
  readonly client: ChatClient;
  readonly messages: MessageFrame[];
  readonly events: EventFrame[];
  readonly states: ConnectionState[];
  readonly errors: ChatError[];
}

/** Short durations, so a test runs in milliseconds; a test overrides what it exercises. */
export const FAST: Partial<ChatClientOptions> = {
  requestTimeoutMs: 1_000,
  connectTimeoutMs: 1_000,
  pingAfterMs: 60_000,
  rotateAfterMs: [60_000, 60_000],
  overlapMs: 20,
  backoffBaseMs: 5,
  backoffMaxMs: 20,
  gapTimeoutMs: 1_000,
};

const started: Array<{ server: FakeChatServer; clients: ChatClient[] }> = [];

/** Starts a fake server. */
export async function startServer(): Promise<FakeChatServer> {
  const server = await FakeChatServer.start();
  started.push({ server, clients: [] });
  return server;
}

/** A client of `server` (with `ws` as its WebSocket and the FAST durations), and what it reports. */
export function connectClient(server: FakeChatServer, options: Partial<ChatClientOptions> = {}): Harness {
  const client = new ChatClient({ url: server.url, token: 'alice', WebSocket, ...FAST, ...options });
  started.find((entry) => entry.server === server)?.clients.push(client);
  const harness: Harness = { server, client, messages: [], events: [], states: [], errors: [] };
  client.on('message', (message) => harness.messages.push(message));
  client.on('event', (event) => harness.events.push(event));
  client.on('state', (state) => harness.states.push(state));
  client.on('error', (error) => harness.errors.push(error));
  return harness;
}

/** Closes every client and server started by the test. */
export async function cleanUp(): Promise<void> {
  for (const { server, clients } of started.splice(0)) {
    for (const client of clients) client.close();
    await server.close();
  }
}

/** Polls `check` until it is true; fails after `timeoutMs` with `what`. */
export async function until(check: () => boolean, what: string, timeoutMs = 3_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(2);
  }
}

/** Waits `ms` real milliseconds. */
export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** The message texts a harness received, in order. */
export function texts(harness: Harness): string[] {
  return harness.messages.map((message) => message.message);
}
