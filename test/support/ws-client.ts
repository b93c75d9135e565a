import { WebSocket, type ClientOptions } from 'ws';

/** A frame a test client received: the parsed JSON, or the raw text when it is not JSON. */
export type Frame = Record<string, unknown> & { readonly raw: string };

interface Waiter {
  readonly predicate: (frame: Frame) => boolean;
  readonly count: number;
  readonly resolve: (frames: Frame[]) => void;
}

/** A real `ws` client that records every frame and lets a test wait for frames, with timeouts. */
export class TestClient {
  /** Opens a connection; rejects with `HandshakeRejected` when the server answers with an HTTP status. */
  static connect(url: string, options: ClientOptions = {}): Promise<TestClient> {
    return new Promise((resolve, reject) => {
      const ws = new WebSocket(url, options);
      const client = new TestClient(ws);
      ws.once('open', () => resolve(client));
      ws.once('unexpected-response', (_req, res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (body += chunk));
        res.on('end', () => reject(new HandshakeRejected(res.statusCode ?? 0, body)));
        res.on('error', () => reject(new HandshakeRejected(res.statusCode ?? 0, body)));
      });
      ws.once('error', reject);
    });
  }

  readonly frames: Frame[] = [];
  readonly closed: Promise<{ code: number; reason: string }>;
  private readonly waiters = new Set<Waiter>();

  private constructor(readonly ws: WebSocket) {
    ws.on('error', () => undefined);
    ws.on('message', (data: Buffer) => {
      const raw = data.toString('utf8');
      let frame: Frame;
      try {
        const parsed = JSON.parse(raw) as unknown;
        frame = (parsed !== null && typeof parsed === 'object' ? { ...parsed, raw } : { value: parsed, raw }) as Frame;
      } catch {
        frame = { raw } as Frame;
      }
      this.frames.push(frame);
      for (const waiter of [...this.waiters]) this.check(waiter);
    });
    this.closed = new Promise((resolve) => ws.once('close', (code, reason) => resolve({ code, reason: reason.toString() })));
  }

  send(frame: string | Record<string, unknown>): void {
    this.ws.send(typeof frame === 'string' ? frame : JSON.stringify(frame));
  }

  /** Sends one text message as frames of at most `frameBytes` (API Gateway accepts frames up to 32 KB). */
  sendFragmented(text: string, frameBytes = 32 * 1024): void {
    const data = Buffer.from(text);
    for (let offset = 0; offset < data.length; offset += frameBytes) {
      const end = Math.min(offset + frameBytes, data.length);
      this.ws.send(data.subarray(offset, end), { binary: false, fin: end === data.length });
    }
  }

  /** Frames received so far that match. */
  matching(predicate: (frame: Frame) => boolean): Frame[] {
    return this.frames.filter(predicate);
  }

  /** Resolves once `count` received frames (counting those already here) match; rejects after `timeoutMs`. */
  waitFor(predicate: (frame: Frame) => boolean, count = 1, timeoutMs = 10_000): Promise<Frame[]> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiters.delete(waiter);
        const got = this.matching(predicate).length;
        reject(new Error(`timed out after ${timeoutMs} ms: ${got}/${count} matching frames; last frames: ${JSON.stringify(this.frames.slice(-3).map((f) => f.raw))}`));
      }, timeoutMs);
      const waiter: Waiter = {
        predicate,
        count,
        resolve: (frames) => {
          clearTimeout(timer);
          resolve(frames);
        },
      };
      this.waiters.add(waiter);
      this.check(waiter);
    });
  }

  /** The first frame with this `action` (waits for it). */
  async next(action: string, timeoutMs?: number): Promise<Frame> {
    return (await this.waitFor((f) => f.action === action, 1, timeoutMs))[0];
  }

  /** Closes the socket and waits for the close to complete. */
  async close(): Promise<void> {
    if (this.ws.readyState === WebSocket.OPEN || this.ws.readyState === WebSocket.CONNECTING) this.ws.close();
    await this.closed;
  }

  private check(waiter: Waiter): void {
    const frames = this.matching(waiter.predicate);
    if (frames.length >= waiter.count) {
      this.waiters.delete(waiter);
      waiter.resolve(frames);
    }
  }
}

/** The HTTP status a server answered a WebSocket handshake with. */
export class HandshakeRejected extends Error {
  constructor(readonly statusCode: number, readonly body: string) {
    super(`handshake rejected with HTTP ${statusCode}: ${body}`);
    this.name = 'HandshakeRejected';
  }
}

/** Connects expecting a rejected handshake; resolves with the HTTP status (fails if the handshake succeeds). */
export async function handshakeStatus(url: string, options?: ClientOptions): Promise<number> {
  try {
    const client = await TestClient.connect(url, options);
    await client.close();
  } catch (err) {
    if (err instanceof HandshakeRejected) return err.statusCode;
    throw err;
  }
  throw new Error(`handshake to ${url} was accepted`);
}

/** `ws://…/stage?room_id=…&token=…` */
export function connectUrl(base: string, params: Record<string, string | undefined>): string {
  const url = new URL(base);
  for (const [key, value] of Object.entries(params)) if (value !== undefined) url.searchParams.set(key, value);
  return url.toString();
}
