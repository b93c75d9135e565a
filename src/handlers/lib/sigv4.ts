import { createHash, createHmac } from 'node:crypto';

/** AWS credentials, as the SDK's providers resolve them. */
export interface Credentials {
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
  readonly sessionToken?: string;
}

const ALGORITHM = 'AWS4-HMAC-SHA256';

/**
 * A lean AWS Signature Version 4 signer for the hot paths (posts to `@connections`, asynchronous Lambda invokes),
 * checked byte for byte against the SDK's `SignatureV4` in the tests. Per broadcast the body is the same for every
 * post, so its hash is cached; the date string is computed once a second; the signing key once a day. A clock
 * offset learnt from the server's `Date` (after a "Signature expired" answer) corrects a skewed clock.
 */
export class SigV4Signer {
  /** Milliseconds to add to the local clock (learnt from a server's `Date` header). */
  public clockOffsetMs = 0;
  private signingKey?: { readonly id: string; readonly key: Buffer };
  private lastBody?: { readonly body: Uint8Array; readonly hash: string };
  private lastDate?: { readonly second: number; readonly amzDate: string };

  constructor(
    private readonly region: string,
    private readonly service: string,
    private readonly now: () => number = Date.now,
  ) {}

  /**
   * SigV4 headers for a request: the given headers plus `x-amz-content-sha256`, `x-amz-date`,
   * `x-amz-security-token` (with session credentials) and `authorization`. `host` is signed but not returned.
   */
  sign(
    method: string,
    host: string,
    path: string,
    body: Uint8Array,
    headers: Record<string, string>,
    credentials: Credentials,
  ): Record<string, string> {
    const amzDate = this.amzDate();
    const dateStamp = amzDate.slice(0, 8);
    const payloadHash = this.payloadHash(body);
    const all: Record<string, string> = {
      ...headers,
      'host': host,
      'x-amz-content-sha256': payloadHash,
      'x-amz-date': amzDate,
      ...(credentials.sessionToken ? { 'x-amz-security-token': credentials.sessionToken } : {}),
    };
    const names = Object.keys(all).map((n) => n.toLowerCase()).sort();
    const lower: Record<string, string> = {};
    for (const [name, value] of Object.entries(all)) lower[name.toLowerCase()] = value;
    const signedHeaders = names.join(';');
    const canonicalRequest = [
      method,
      // SigV4 for services other than S3 encodes each path segment once more.
      path.split('/').map((segment) => encodeRfc3986(segment)).join('/'),
      '',
      names.map((name) => `${name}:${canonicalHeaderValue(lower[name])}\n`).join(''),
      signedHeaders,
      payloadHash,
    ].join('\n');
    const scope = `${dateStamp}/${this.region}/${this.service}/aws4_request`;
    const stringToSign = [ALGORITHM, amzDate, scope, sha256Hex(canonicalRequest)].join('\n');
    const signature = createHmac('sha256', this.key(credentials.secretAccessKey, dateStamp)).update(stringToSign).digest('hex');
    const { host: _host, ...sent } = lower;
    return {
      ...sent,
      authorization: `${ALGORITHM} Credential=${credentials.accessKeyId}/${scope}, SignedHeaders=${signedHeaders}, Signature=${signature}`,
    };
  }

  /**
   * Learns the clock offset from a server's `Date` header.
   * @returns whether the offset changed by more than a second (a retry with the corrected clock may succeed)
   */
  correctClock(serverDate: string | undefined): boolean {
    const server = serverDate ? Date.parse(serverDate) : NaN;
    if (!Number.isFinite(server)) return false;
    const offset = server - this.now();
    const changed = Math.abs(offset - this.clockOffsetMs) > 1000;
    if (changed) {
      this.clockOffsetMs = offset;
      this.lastDate = undefined;
    }
    return changed;
  }

  private amzDate(): string {
    const ms = this.now() + this.clockOffsetMs;
    const second = Math.floor(ms / 1000);
    if (this.lastDate?.second !== second) {
      this.lastDate = { second, amzDate: new Date(second * 1000).toISOString().replace(/[-:]|\.\d{3}/g, '') };
    }
    return this.lastDate.amzDate;
  }

  private payloadHash(body: Uint8Array): string {
    if (this.lastBody?.body !== body) this.lastBody = { body, hash: sha256Hex(body) };
    return this.lastBody.hash;
  }

  /** The signing key is derived once a day (per secret), not once a request. */
  private key(secretAccessKey: string, dateStamp: string): Buffer {
    const id = `${dateStamp}/${secretAccessKey}`;
    if (this.signingKey?.id !== id) {
      const kDate = createHmac('sha256', `AWS4${secretAccessKey}`).update(dateStamp).digest();
      const kRegion = createHmac('sha256', kDate).update(this.region).digest();
      const kService = createHmac('sha256', kRegion).update(this.service).digest();
      this.signingKey = { id, key: createHmac('sha256', kService).update('aws4_request').digest() };
    }
    return this.signingKey.key;
  }
}

/**
 * A header value as SigV4 signs it: line breaks become spaces, runs of spaces and tabs one space, outer spaces
 * trimmed (the SDK's `SignatureV4` does the same; a bare `trim()` signs `a  b` differently and the request is refused).
 */
export function canonicalHeaderValue(value: string): string {
  return value.replace(/[\r\n]/g, ' ').replace(/[ \t]+/g, ' ').replace(/^ | $/g, '');
}

export function sha256Hex(data: Uint8Array | string): string {
  return createHash('sha256').update(data).digest('hex');
}

/** RFC 3986 percent-encoding, as SigV4 wants it (encodeURIComponent leaves !'()* alone). */
export function encodeRfc3986(value: string): string {
  return encodeURIComponent(value).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}
