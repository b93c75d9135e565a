import { createHash, createHmac } from 'node:crypto';
import { Agent as HttpAgent, request as httpRequest, type IncomingMessage } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import type { PostResponse, StatusPoster } from './delivery';

/** AWS credentials, as the SDK's providers resolve them. */
export interface Credentials {
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
  readonly sessionToken?: string;
}

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
const ALGORITHM = 'AWS4-HMAC-SHA256';
const CONTENT_TYPE = 'application/octet-stream';

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
  private readonly agent: HttpAgent | HttpsAgent;
  private readonly send: typeof httpRequest;
  private readonly now: () => number;
  private signingKey?: { readonly id: string; readonly key: Buffer };
  private lastUsedMs = 0;

  constructor(private readonly options: SignedConnectionsApiOptions) {
    this.url = new URL(options.endpoint);
    this.basePath = this.url.pathname.replace(/\/+$/, '');
    const agentOptions = { keepAlive: true, maxSockets: options.maxSockets };
    const https = this.url.protocol === 'https:';
    this.agent = https ? new HttpsAgent(agentOptions) : new HttpAgent(agentOptions);
    this.send = https ? httpsRequest : httpRequest;
    this.now = options.now ?? Date.now;
  }

  async post(connectionId: string, data: Uint8Array | string, signal?: AbortSignal): Promise<PostResponse> {
    this.dropStaleSockets();
    const body = typeof data === 'string' ? Buffer.from(data) : data;
    const path = `${this.basePath}/@connections/${encodeRfc3986(connectionId)}`;
    const headers = this.sign(path, body, await this.options.credentials());
    return new Promise<PostResponse>((resolve, reject) => {
      const req = this.send({
        protocol: this.url.protocol,
        hostname: this.url.hostname.replace(/^\[(.*)\]$/, '$1'), // an IPv6 literal, without its URL brackets
        port: this.url.port || undefined,
        method: 'POST',
        path,
        headers: { ...headers, 'content-length': String(body.byteLength) },
        agent: this.agent,
        signal,
      }, (res: IncomingMessage) => {
        res.resume(); // the body (an error message at most) is not needed
        res.on('end', () => {
          const errorType = res.headers['x-amzn-errortype'];
          resolve({
            status: res.statusCode ?? 0,
            ...(typeof errorType === 'string' ? { errorType: errorType.split(':')[0] } : {}),
          });
        });
        res.on('error', reject);
      });
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
    const amzDate = new Date(this.now()).toISOString().replace(/[-:]|\.\d{3}/g, '');
    const dateStamp = amzDate.slice(0, 8);
    const host = this.url.host;
    const payloadHash = sha256Hex(body);
    // The same headers the SDK's signer signs (it adds x-amz-content-sha256 by default).
    const headers: Record<string, string> = {
      'content-type': CONTENT_TYPE,
      'host': host,
      'x-amz-content-sha256': payloadHash,
      'x-amz-date': amzDate,
      ...(credentials.sessionToken ? { 'x-amz-security-token': credentials.sessionToken } : {}),
    };
    const names = Object.keys(headers).sort();
    const signedHeaders = names.join(';');
    const canonicalRequest = [
      'POST',
      // SigV4 for services other than S3 encodes each path segment once more.
      path.split('/').map((segment) => encodeRfc3986(segment)).join('/'),
      '',
      names.map((name) => `${name}:${headers[name].trim()}\n`).join(''),
      signedHeaders,
      payloadHash,
    ].join('\n');
    const scope = `${dateStamp}/${this.options.region}/${SERVICE}/aws4_request`;
    const stringToSign = [ALGORITHM, amzDate, scope, sha256Hex(canonicalRequest)].join('\n');
    const signature = createHmac('sha256', this.key(credentials.secretAccessKey, dateStamp)).update(stringToSign).digest('hex');
    const { host: _host, ...sent } = headers;
    return {
      ...sent,
      authorization: `${ALGORITHM} Credential=${credentials.accessKeyId}/${scope}, SignedHeaders=${signedHeaders}, Signature=${signature}`,
    };
  }

  /** The signing key is derived once a day (per secret), not once a post. */
  private key(secretAccessKey: string, dateStamp: string): Buffer {
    const id = `${dateStamp}/${this.options.region}/${secretAccessKey}`;
    if (this.signingKey?.id !== id) {
      const kDate = createHmac('sha256', `AWS4${secretAccessKey}`).update(dateStamp).digest();
      const kRegion = createHmac('sha256', kDate).update(this.options.region).digest();
      const kService = createHmac('sha256', kRegion).update(SERVICE).digest();
      this.signingKey = { id, key: createHmac('sha256', kService).update('aws4_request').digest() };
    }
    return this.signingKey.key;
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

function sha256Hex(data: Uint8Array | string): string {
  return createHash('sha256').update(data).digest('hex');
}

/** RFC 3986 percent-encoding, as SigV4 wants it (encodeURIComponent leaves !'()* alone). */
function encodeRfc3986(value: string): string {
  return encodeURIComponent(value).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}
