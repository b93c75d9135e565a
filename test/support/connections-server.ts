import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'http';
import type { AddressInfo } from 'net';

/**
 * How the fake `@connections` endpoint answers one post: an HTTP status (200, 403, 410, 413, 429, 500, …) with
 * API Gateway's error shape, or `hang` (never answer; the client must give up).
 */
export type Reply = number | 'hang';

/** One POST received. */
export interface ReceivedPost {
  readonly connectionId: string;
  readonly body: string;
  readonly reply: Reply;
  readonly signed: boolean;
}

const ERROR_TYPES: Record<number, string> = {
  400: 'BadRequestException',
  403: 'ForbiddenException',
  410: 'GoneException',
  413: 'PayloadTooLargeException',
  429: 'LimitExceededException',
  500: 'InternalServerErrorException',
  502: 'BadGatewayException',
  503: 'ServiceUnavailableException',
};

/**
 * A real HTTP server speaking the API Gateway management API's `POST /{stage}/@connections/{id}`, on loopback.
 * Records every post per connection id, answers from per-connection scripts, and tracks posts in flight.
 */
export class ConnectionsServer {
  /** Starts a server for `stage` on an ephemeral loopback port. */
  public static async start(stage = 'test'): Promise<ConnectionsServer> {
    const server = new ConnectionsServer(stage);
    await new Promise<void>((resolve, reject) => {
      server.server.once('error', reject);
      server.server.listen(0, '127.0.0.1', () => resolve());
    });
    return server;
  }

  /** Every post received, in arrival order. */
  public readonly received: ReceivedPost[] = [];
  /** Largest number of posts in flight at once since the last {@link reset}. */
  public maxInFlight = 0;
  /** Called as each post arrives (before it is answered). */
  public onPost?: (connectionId: string) => void;

  private readonly server: Server;
  private readonly scripts = new Map<string, Reply[]>();
  private defaultReply: Reply = 200;
  private inFlightCount = 0;
  private gate: { size: number; held: Array<() => void> } | undefined;
  private readonly hung = new Set<ServerResponse>();

  private constructor(public readonly stage: string) {
    this.server = createServer((req, res) => this.handle(req, res));
    this.server.keepAliveTimeout = 60_000;
  }

  /** `http://127.0.0.1:PORT/STAGE`, the shape of `MANAGEMENT_ENDPOINT`. */
  public get endpoint(): string {
    const { port } = this.server.address() as AddressInfo;
    return `http://127.0.0.1:${port}/${this.stage}`;
  }

  public get inFlight(): number {
    return this.inFlightCount;
  }

  /** Answers for `connectionId`, used in order; the last one repeats. */
  public script(connectionId: string, ...replies: Reply[]): this {
    if (replies.length === 0) throw new Error('script needs at least one reply');
    this.scripts.set(connectionId, [...replies]);
    return this;
  }

  /** The answer for connections without a script (200 unless set). */
  public setDefault(reply: Reply): this {
    this.defaultReply = reply;
    return this;
  }

  /**
   * Holds every post until `size` posts are held, then answers them all at once: with `size` equal to the
   * expected concurrency, the number in flight is pinned deterministically, with no timing involved.
   */
  public holdInBatchesOf(size: number): this {
    this.gate = { size, held: [] };
    return this;
  }

  /** Posts received for `connectionId` (every attempt). */
  public postsTo(connectionId: string): ReceivedPost[] {
    return this.received.filter((p) => p.connectionId === connectionId);
  }

  /** Bodies delivered (answered 200) to `connectionId`, parsed as JSON. */
  public deliveredTo(connectionId: string): any[] {
    return this.postsTo(connectionId).filter((p) => p.reply === 200).map((p) => JSON.parse(p.body));
  }

  /** Connection ids that got at least one 200. */
  public deliveredIds(): string[] {
    return [...new Set(this.received.filter((p) => p.reply === 200).map((p) => p.connectionId))].sort();
  }

  /** Forgets posts, scripts, the gate and the in-flight maximum; answers hung posts with 500. */
  public reset(): void {
    this.received.length = 0;
    this.scripts.clear();
    this.defaultReply = 200;
    this.releaseGate();
    this.gate = undefined;
    this.maxInFlight = 0;
    this.onPost = undefined;
    for (const res of this.hung) if (!res.writableEnded) res.destroy();
    this.hung.clear();
  }

  public async close(): Promise<void> {
    this.reset();
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private releaseGate(): void {
    const held = this.gate?.held.splice(0) ?? [];
    for (const release of held) release();
  }

  private handle(req: IncomingMessage, res: ServerResponse): void {
    const match = /^\/([^/]+)\/@connections\/([^/?]+)$/.exec(req.url ?? '');
    if (req.method !== 'POST' || !match || match[1] !== this.stage) {
      res.writeHead(404, { 'content-type': 'application/json' }).end('{"message":"Not Found"}');
      return;
    }
    const connectionId = decodeURIComponent(match[2]);
    this.inFlightCount++;
    this.maxInFlight = Math.max(this.maxInFlight, this.inFlightCount);
    let done = false;
    const finish = () => {
      if (!done) {
        done = true;
        this.inFlightCount--;
      }
    };
    res.on('close', finish);
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const script = this.scripts.get(connectionId);
      const reply = script ? (script.length > 1 ? script.shift()! : script[0]) : this.defaultReply;
      this.received.push({
        connectionId,
        body: Buffer.concat(chunks).toString('utf8'),
        reply,
        signed: typeof req.headers.authorization === 'string' && req.headers.authorization.startsWith('AWS4-HMAC-SHA256'),
      });
      this.onPost?.(connectionId);
      const answer = () => this.answer(res, reply);
      if (this.gate) {
        this.gate.held.push(answer);
        if (this.gate.held.length >= this.gate.size) this.releaseGate();
      } else {
        answer();
      }
    });
  }

  private answer(res: ServerResponse, reply: Reply): void {
    if (reply === 'hang') {
      this.hung.add(res);
      return;
    }
    if (reply >= 200 && reply < 300) {
      res.writeHead(reply).end();
      return;
    }
    const type = ERROR_TYPES[reply] ?? 'UnknownException';
    res
      .writeHead(reply, { 'content-type': 'application/json', 'x-amzn-ErrorType': type })
      .end(JSON.stringify({ message: type }));
  }
}
