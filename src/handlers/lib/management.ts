import { Agent as HttpAgent, request as httpRequest, type IncomingMessage } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import type { PostResponse, StatusPoster } from './delivery';
import { encodeRfc3986, SigV4Signer, type Credentials } from './sigv4';

export type { Credentials } from './sigv4';

export interface SignedConnectionsApiOptions {
  /** `https://{apiId}.execute-api.{region}.{urlSuffix}/{stage}` (the stage path included). */
  readonly endpoint: string;
  readonly region: string;
  /** Resolves the credentials to sign with (the SDK's provider: cached and refreshed by it). */
  readonly credentials: () => Promise<Credentials>;
  /** Keep-alive sockets to the endpoint: match the fan-out concurrency. */
  readonly maxSockets: number;
  /** @default Date.now */
  readonly now?: () => number;
}

const SERVICE = 'execute-api';
/** Idle keep-alive sockets older than this are not reused (see `dropStaleSockets`). */
const STALE_SOCKET_MS = 15_000;
const CONTENT_TYPE = 'application/octet-stream';

/** A post that got no answer within its time-out (the request is destroyed; the caller may retry). */
export class PostTimeoutError extends Error {
  readonly code = 'ETIMEDOUT';
  constructor(ms: number) {
    super(`no answer within ${ms} ms`);
    this.name = 'TimeoutError';
  }
}

/**
 * A lean client for `POST {endpoint}/@connections/{id}`: SigV4-signed requests over keep-alive agents.
 *
 * Why not `ApiGatewayManagementApiClient.send(PostToConnectionCommand)`: its middleware stack costs about
 * 1.1 ms of CPU per post on the benchmark machine, against 0.3 ms here (see BENCHMARKS.md). A fan-out is
 * CPU-bound long before it is network-bound, and a 256 MB Lambda has a sixth of a vCPU. Credentials still come
 * from the SDK's provider chain; only the hot path is lean. The signature is checked against the SDK's
 * `SignatureV4` in the tests.
 */
export class SignedConnectionsApi implements StatusPoster {
  private readonly url: URL;
  private readonly basePath: string;
  private readonly hostname: string;
  private readonly agent: HttpAgent | HttpsAgent;
  private readonly send: typeof httpRequest;
  private readonly now: () => number;
  private readonly signer: SigV4Signer;
  private lastUsedMs = 0;

  constructor(private readonly options: SignedConnectionsApiOptions) {
    this.url = new URL(options.endpoint);
    this.basePath = this.url.pathname.replace(/\/+$/, '');
    this.hostname = this.url.hostname.replace(/^\[(.*)\]$/, '$1'); // an IPv6 literal, without its URL brackets
    const agentOptions = { keepAlive: true, maxSockets: options.maxSockets };
    const https = this.url.protocol === 'https:';
    this.agent = https ? new HttpsAgent(agentOptions) : new HttpAgent(agentOptions);
    this.send = https ? httpsRequest : httpRequest;
    this.now = options.now ?? Date.now;
    this.signer = new SigV4Signer(options.region, SERVICE, this.now);
  }

  /**
   * Posts one frame. A "Signature expired" answer (a skewed clock) corrects the clock from the server's `Date`
   * and is retried once, at once.
   * @param timeoutMs the request's own time-out: no answer within it rejects with {@link PostTimeoutError}
   */
  async post(connectionId: string, data: Uint8Array | string, timeoutMs?: number): Promise<PostResponse> {
    this.dropStaleSockets();
    const body = typeof data === 'string' ? Buffer.from(data) : data;
    const path = `${this.basePath}/@connections/${encodeRfc3986(connectionId)}`;
    const credentials = await this.options.credentials();
    const first = await this.request(path, body, credentials, timeoutMs);
    if (first.signatureExpired && this.signer.correctClock(first.date)) {
      return (await this.request(path, body, credentials, timeoutMs)).response;
    }
    return first.response;
  }

  private request(path: string, body: Uint8Array, credentials: Credentials, timeoutMs?: number) {
    const headers = this.sign(path, body, credentials);
    return new Promise<{ response: PostResponse; signatureExpired: boolean; date?: string }>((resolve, reject) => {
      let settled = false;
      const req = this.send({
        protocol: this.url.protocol,
        hostname: this.hostname,
        port: this.url.port || undefined,
        method: 'POST',
        path,
        headers: { ...headers, 'content-length': String(body.byteLength) },
        agent: this.agent,
      }, (res: IncomingMessage) => {
        const status = res.statusCode ?? 0;
        const errorType = res.headers['x-amzn-errortype'];
        // Only a 403 body is read (it tells a skewed clock apart); any other body is drained unread.
        const chunks: Buffer[] = [];
        if (status === 403) res.on('data', (chunk: Buffer) => chunks.length < 8 && chunks.push(chunk));
        else res.resume();
        res.on('end', () => {
          settled = true;
          const text = status === 403 ? Buffer.concat(chunks).toString('utf8') : '';
          resolve({
            response: { status, ...(typeof errorType === 'string' ? { errorType: errorType.split(':')[0] } : {}) },
            signatureExpired: status === 403 && /Signature expired|Signature not yet current|RequestTimeTooSkewed/i.test(text),
            date: res.headers.date,
          });
        });
        res.on('error', reject);
      });
      if (timeoutMs !== undefined) {
        req.setTimeout(timeoutMs, () => {
          // Node runs expired timers before it reads the sockets. After the event loop stalled (a starved CPU, a long
          // pause), every time-out would fire before the answers already waiting on their sockets are read, and those
          // answered posts would be retried and delivered twice. Decide once this turn's I/O has been read.
          setImmediate(() => {
            if (!settled) req.destroy(new PostTimeoutError(timeoutMs));
          });
        });
      }
      req.on('error', reject);
      req.end(body);
    });
  }

  /**
   * Keep-alive sockets idle for longer than {@link STALE_SOCKET_MS} were most likely frozen with the Lambda and
   * closed by the server meanwhile: writing on one costs an attempt (a reset) or a whole time-out (a silent drop).
   * Open fresh ones instead.
   */
  private dropStaleSockets(): void {
    const now = this.now();
    if (this.lastUsedMs !== 0 && now - this.lastUsedMs > STALE_SOCKET_MS) {
      for (const sockets of Object.values(this.agent.freeSockets)) {
        for (const socket of sockets ?? []) socket.destroy();
      }
    }
    this.lastUsedMs = now;
  }

  /** Closes the keep-alive sockets. */
  destroy(): void {
    this.agent.destroy();
  }

  /** SigV4 headers for a POST of `body` to `path` (exported through the class for the tests). */
  sign(path: string, body: Uint8Array, credentials: Credentials): Record<string, string> {
    return this.signer.sign('POST', this.url.host, path, body, { 'content-type': CONTENT_TYPE }, credentials);
  }
}

export interface ManagementClientOptions {
  /** `https://{apiId}.execute-api.{region}.{urlSuffix}/{stage}` (the stage path included). */
  readonly endpoint: string;
  /** Sockets per origin: match the fan-out concurrency. */
  readonly maxSockets: number;
  /** Where credentials come from: an SDK client's provider (cached and refreshed by the SDK). */
  readonly credentials: () => Promise<Credentials>;
  /** @default AWS_REGION */
  readonly region?: string;
}

/**
 * The `@connections` client of the handlers: SigV4-signed posts over keep-alive agents whose `maxSockets`
 * matches the fan-out concurrency. It never retries by itself: the caller does, with its own policy, so a post is
 * never retried twice over.
 */
export function createManagementClient(options: ManagementClientOptions): SignedConnectionsApi {
  const region = options.region ?? process.env.AWS_REGION;
  if (!region) throw new Error('AWS_REGION is not set: the @connections client cannot sign its requests');
  return new SignedConnectionsApi({ endpoint: options.endpoint, region, credentials: options.credentials, maxSockets: options.maxSockets });
}
