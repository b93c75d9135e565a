import { WebSocket } from 'ws';
import { ChatClient, type ChatClientOptions, type ChatError, type ConnectionState, type EventFrame, type MemberFrame, type MessageFrame } from '../../../packages/client/src';
import type { TestGateway } from '../../support/local-gateway';

/**
 * Clients of the client package against a real local gateway (the real handler bundles, dynalite, real sockets):
 * `ws` as the WebSocket (Node 20 has no global one), recording every frame the client sends and receives and
 * everything it reports to listeners. `CLIENT_E2E_DEBUG=1` prints each frame with its socket.
 */

/** Short durations that still leave the real handlers (on 2 shared cores) plenty of time. */
export const GATEWAY_FAST: Partial<ChatClientOptions> = {
  requestTimeoutMs: 8_000,
  connectTimeoutMs: 8_000,
  backoffBaseMs: 100,
  backoffMaxMs: 400,
  gapTimeoutMs: 8_000,
  overlapMs: 300,
};

/** A client under test and everything it reported. */
export interface Recorded {
  readonly user: string;
  readonly client: ChatClient;
  readonly messages: MessageFrame[];
  readonly events: EventFrame[];
  /** Messages and events together, in the order listeners got them. */
  readonly delivered: Array<MessageFrame | EventFrame>;
  readonly members: MemberFrame[];
  readonly states: ConnectionState[];
  readonly errors: ChatError[];
  /** Every frame the client sent, parsed, on any of its sockets. */
  readonly sent: Array<Record<string, unknown>>;
  /** Every frame the client received, parsed, on any of its sockets. */
  readonly received: Array<Record<string, unknown>>;
  /** Every socket the client opened. */
  readonly sockets: WebSocket[];
}

const open: ChatClient[] = [];

/**
 * A client of `gw` for `user`, with a fresh dev token for every connection (`claims` go into it) unless
 * `getToken` or `token` is given.
 */
export function gatewayClient(
  gw: TestGateway,
  user: string,
  options: Partial<ChatClientOptions> = {},
  claims: Record<string, unknown> = {},
): Recorded {
  const debug = (line: string) => process.env.CLIENT_E2E_DEBUG && process.stderr.write(`${Date.now() % 100_000} ${user} ${line}\n`);
  const sent: Array<Record<string, unknown>> = [];
  const received: Array<Record<string, unknown>> = [];
  const sockets: WebSocket[] = [];
  class RecordingWebSocket extends WebSocket {
    constructor(url: string) {
      super(url);
      sockets.push(this);
      this.on('message', (data: Buffer) => {
        received.push(JSON.parse(data.toString('utf8')) as Record<string, unknown>);
        debug(`#${sockets.indexOf(this)} < ${data.toString('utf8').slice(0, 160)}`);
      });
      this.on('open', () => debug(`#${sockets.indexOf(this)} open`));
      this.on('close', (code: number) => debug(`#${sockets.indexOf(this)} close ${code}`));
    }
    override send(data: unknown, ...rest: unknown[]): void {
      sent.push(JSON.parse(String(data)) as Record<string, unknown>);
      debug(`#${sockets.indexOf(this)} > ${String(data).slice(0, 160)}`);
      (super.send as (...args: unknown[]) => void)(data, ...rest);
    }
  }
  const client = new ChatClient({
    url: gw.url,
    ...(options.token === undefined ? { getToken: () => gw.devToken(user, claims) } : {}),
    WebSocket: RecordingWebSocket,
    ...GATEWAY_FAST,
    ...options,
  });
  open.push(client);
  const recorded: Recorded = { user, client, messages: [], events: [], delivered: [], members: [], states: [], errors: [], sent, received, sockets };
  client.on('message', (m) => recorded.messages.push(m) && recorded.delivered.push(m));
  client.on('event', (e) => recorded.events.push(e) && recorded.delivered.push(e));
  client.on('member_joined', (m) => recorded.members.push(m));
  client.on('member_left', (m) => recorded.members.push(m));
  client.on('state', (s) => recorded.states.push(s));
  client.on('error', (e) => recorded.errors.push(e));
  return recorded;
}

/** Closes every client made by `gatewayClient`. */
export function closeGatewayClients(): void {
  for (const client of open.splice(0)) client.close();
}

/** Resolves once the client is open (rejects if it closes first or after `timeoutMs`). */
export function opened(recorded: Recorded, timeoutMs = 10_000): Promise<void> {
  return until(() => {
    if (recorded.client.state === 'closed') throw new Error(`${recorded.user}'s client closed: ${recorded.errors.map((e) => e.code).join(', ')}`);
    return recorded.client.state === 'open';
  }, `${recorded.user}'s client to open`, timeoutMs);
}

/** Polls `check` until it is true; fails after `timeoutMs` with `what`. */
export async function until(check: () => boolean, what: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(10);
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Closes a connection server-side, as a backend (or API Gateway) would: `DELETE @connections/{id}`. */
export async function dropConnection(gw: TestGateway, connectionId: string): Promise<void> {
  const res = await fetch(`${gw.managementEndpoint}/@connections/${encodeURIComponent(connectionId)}`, { method: 'DELETE' });
  if (res.status !== 204) throw new Error(`DELETE @connections/${connectionId} answered ${res.status}`);
}

/** Publishes through the gateway's Lambda Invoke API (what `@aws-sdk/client-lambda` calls); the function's answer. */
export async function publish(gw: TestGateway, input: Record<string, unknown>): Promise<Record<string, unknown>> {
  const res = await fetch(`${gw.lambdaEndpoint}/2015-03-31/functions/publish/invocations`, { method: 'POST', body: JSON.stringify(input) });
  const body = (await res.json()) as Record<string, unknown>;
  if (res.status !== 200 || res.headers.get('x-amz-function-error')) throw new Error(`publish failed (${res.status}): ${JSON.stringify(body)}`);
  return body;
}

/** Records the gateway's connects and rejects of one user from now on. */
export function watchHandshakes(gw: TestGateway, user?: string): { connects: string[]; rejects: number[]; stop(): void } {
  const connects: string[] = [];
  const rejects: number[] = [];
  const onConnect = (e: { connectionId: string; authorizer: Record<string, unknown> }) => {
    if (user === undefined || e.authorizer.userId === user) connects.push(e.connectionId);
  };
  const onReject = (e: { statusCode: number }) => rejects.push(e.statusCode);
  gw.events.on('connect', onConnect);
  gw.events.on('reject', onReject);
  return {
    connects,
    rejects,
    stop() {
      gw.events.off('connect', onConnect);
      gw.events.off('reject', onReject);
    },
  };
}
