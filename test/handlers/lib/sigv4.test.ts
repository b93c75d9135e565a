import { SignatureV4 } from '@smithy/signature-v4';
import { encodeRfc3986, sha256Hex, SigV4Signer, type Credentials } from '../../../src/handlers/lib/sigv4';
import { NodeSha256 } from '../../support/node-sha256';

const NOW = Date.UTC(2026, 10, 22, 10, 11, 12, 345);
const CREDENTIALS: Credentials = { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY' };
const SESSION: Credentials = { ...CREDENTIALS, sessionToken: 'IQoJb3JpZ2luX2VjEXAMPLE//token+with/chars=' };

interface Request {
  readonly service: string;
  readonly region: string;
  readonly url: string;
  /** The path as sent (already percent-encoded once, as the callers build it). */
  readonly path: string;
  readonly headers: Record<string, string>;
  readonly body: Uint8Array;
  readonly credentials?: Credentials;
}

/** Every header the SDK's own signer produces for the same request (host included). */
async function sdkHeaders(request: Request, signingDateMs: number): Promise<Record<string, string>> {
  const url = new URL(request.url);
  const credentials = request.credentials ?? CREDENTIALS;
  const signer = new SignatureV4({ service: request.service, region: request.region, credentials, sha256: NodeSha256 });
  const signed = await signer.sign({
    method: 'POST',
    protocol: url.protocol,
    hostname: url.hostname,
    port: url.port ? Number(url.port) : undefined,
    path: request.path,
    query: {},
    headers: { host: url.host, ...request.headers },
    body: request.body,
  }, { signingDate: new Date(signingDateMs) });
  return signed.headers;
}

function ours(signer: SigV4Signer, request: Request): Record<string, string> {
  return signer.sign('POST', new URL(request.url).host, request.path, request.body, request.headers, request.credentials ?? CREDENTIALS);
}

const frame = Buffer.from('{"action":"message","message":"héllo 👋"}');
const connections = (url: string, stage: string, connectionId: string, credentials?: Credentials): Request => ({
  service: 'execute-api',
  region: 'eu-west-1',
  url,
  path: `/${stage}/@connections/${encodeRfc3986(connectionId)}`,
  headers: { 'content-type': 'application/octet-stream' },
  body: frame,
  credentials,
});
const invoke = (functionName: string, options: { url?: string; basePath?: string; credentials?: Credentials; body?: Uint8Array } = {}): Request => ({
  service: 'lambda',
  region: 'us-east-1',
  url: options.url ?? 'https://lambda.us-east-1.amazonaws.com',
  // As lambda-invoke.ts builds it.
  path: `${options.basePath ?? ''}/2015-03-31/functions/${encodeURIComponent(functionName)}/invocations`,
  headers: { 'content-type': 'application/json', 'x-amz-invocation-type': 'Event' },
  body: options.body ?? Buffer.from(JSON.stringify({ broadcast_id: 'b', room_id: 'r', shard_from: 3, shard_to: 9 })),
  credentials: options.credentials,
});

describe('byte for byte the SDK\'s SignatureV4', () => {
  test.each<[string, Request]>([
    ['execute-api: a plain id', connections('https://abc123.execute-api.eu-west-1.amazonaws.com', 'dev', 'L0SM9cOFvHcCIhw=')],
    ['execute-api: an id with + / = and !\'()*', connections('https://abc123.execute-api.eu-west-1.amazonaws.com', 'prod', "a+b/c=!'()*")],
    ['execute-api: session credentials', connections('https://abc123.execute-api.eu-west-1.amazonaws.com', 'dev', 'Zx=', SESSION)],
    ['execute-api: a local endpoint with a port', connections('http://127.0.0.1:8080', 'local', 'conn-1')],
    ['execute-api: a stage with a dash and dot', connections('https://abc123.execute-api.eu-west-1.amazonaws.com', 'my-stage.v2', 'c')],
    ['execute-api: an empty body', { ...connections('https://a.execute-api.eu-west-1.amazonaws.com', 'dev', 'c'), body: Buffer.alloc(0) }],
    ['execute-api: non-UTF-8 bytes', { ...connections('https://a.execute-api.eu-west-1.amazonaws.com', 'dev', 'c'), body: Buffer.from([0xff, 0xfe, 0x00, 0x80]) }],
    ['execute-api: 128 KB', { ...connections('https://a.execute-api.eu-west-1.amazonaws.com', 'dev', 'c'), body: Buffer.alloc(128 * 1024, 'z') }],
    ['lambda invoke: a function name', invoke('chat-FanoutWorker-AbC123')],
    ['lambda invoke: a full ARN with an alias', invoke('arn:aws:lambda:us-east-1:123456789012:function:chat-FanoutWorker:live')],
    ['lambda invoke: a partial ARN', invoke('123456789012:function:worker')],
    ['lambda invoke: session credentials', invoke('worker', { credentials: SESSION })],
    ['lambda invoke: a local endpoint with a base path', invoke('worker', { url: 'http://127.0.0.1:9001', basePath: '/lambda' })],
    ['lambda invoke: a China partition endpoint', { ...invoke('worker', { url: 'https://lambda.cn-north-1.amazonaws.com.cn' }), region: 'cn-north-1' }],
  ])('%s', async (_what, request) => {
    const signer = new SigV4Signer(request.region, request.service, () => NOW);
    const headers = ours(signer, request);
    const sdk = await sdkHeaders(request, NOW);
    // The same headers, values and signature; `host` is signed but left to the HTTP client.
    expect({ host: new URL(request.url).host, ...headers }).toEqual(sdk);
    expect(headers['x-amz-date']).toBe('20261122T101112Z');
    expect(headers['x-amz-content-sha256']).toBe(sha256Hex(request.body));
    expect(headers.authorization).toContain(`Credential=AKIDEXAMPLE/20261122/${request.region}/${request.service}/aws4_request`);
    if (request.credentials?.sessionToken) {
      expect(headers['x-amz-security-token']).toBe(request.credentials.sessionToken);
      expect(headers.authorization).toContain('x-amz-security-token');
    } else {
      expect(headers).not.toHaveProperty('x-amz-security-token');
    }
  });

  test('the invocation type header is signed', () => {
    const signer = new SigV4Signer('us-east-1', 'lambda', () => NOW);
    const { authorization } = ours(signer, invoke('w'));
    expect(authorization).toMatch(/SignedHeaders=content-type;host;x-amz-content-sha256;x-amz-date;x-amz-invocation-type, /);
    const other = ours(signer, { ...invoke('w'), headers: { 'content-type': 'application/json', 'x-amz-invocation-type': 'RequestResponse' } });
    expect(other.authorization).not.toBe(authorization);
  });

  test('header names in any case: lowercased, as the SDK signs them', async () => {
    const request = { ...invoke('w'), headers: { 'Content-Type': 'application/json', 'X-Amz-Invocation-Type': 'Event' } };
    const signer = new SigV4Signer('us-east-1', 'lambda', () => NOW);
    const headers = ours(signer, request);
    expect(Object.keys(headers).sort()).toEqual(['authorization', 'content-type', 'x-amz-content-sha256', 'x-amz-date', 'x-amz-invocation-type']);
    // The SDK returns the names as given, and signs them lowercased.
    expect(headers.authorization).toBe((await sdkHeaders(request, NOW)).authorization);
  });

  test('header values are canonicalized as the SDK does (outer spaces trimmed, inner runs of spaces collapsed)', async () => {
    const request = { ...invoke('w'), headers: { 'content-type': '  application/json ', 'x-amz-invocation-type': 'Event', 'x-custom': 'a   b\t\tc' } };
    const signer = new SigV4Signer('us-east-1', 'lambda', () => NOW);
    const { authorization } = ours(signer, request);
    expect(authorization).toBe((await sdkHeaders(request, NOW)).authorization);
  });
});

describe('caches', () => {
  test('the date is that of the current second; it moves with the clock', async () => {
    let now = NOW;
    const signer = new SigV4Signer('eu-west-1', 'execute-api', () => now);
    const request = connections('https://a.execute-api.eu-west-1.amazonaws.com', 'dev', 'c');
    for (const at of [NOW, NOW + 100, NOW + 654, NOW + 655, NOW + 1655, NOW + 61_000]) {
      now = at;
      const headers = ours(signer, request);
      expect(headers.authorization).toBe((await sdkHeaders(request, at)).authorization);
      expect(headers['x-amz-date']).toBe(new Date(Math.floor(at / 1000) * 1000).toISOString().replace(/[-:]|\.\d{3}/g, ''));
    }
  });

  test('the signing key follows the day (across midnight UTC)', async () => {
    const beforeMidnight = Date.UTC(2026, 11, 31, 23, 59, 59, 999);
    let now = beforeMidnight;
    const signer = new SigV4Signer('eu-west-1', 'execute-api', () => now);
    const request = connections('https://a.execute-api.eu-west-1.amazonaws.com', 'dev', 'c');
    expect(ours(signer, request).authorization).toBe((await sdkHeaders(request, now)).authorization);
    now = beforeMidnight + 1;
    const after = ours(signer, request);
    expect(after['x-amz-date']).toBe('20270101T000000Z');
    expect(after.authorization).toContain('/20270101/eu-west-1/execute-api/aws4_request');
    expect(after.authorization).toBe((await sdkHeaders(request, now)).authorization);
  });

  test('the signing key follows the secret (rotated credentials)', async () => {
    const signer = new SigV4Signer('eu-west-1', 'execute-api', () => NOW);
    const request = connections('https://a.execute-api.eu-west-1.amazonaws.com', 'dev', 'c');
    const rotated = { ...request, credentials: { accessKeyId: 'AKIDNEW', secretAccessKey: 'another-secret' } };
    for (const r of [request, rotated, request]) expect(ours(signer, r).authorization).toBe((await sdkHeaders(r, NOW)).authorization);
  });

  test('the payload hash is cached for the same body, recomputed for another', async () => {
    const signer = new SigV4Signer('eu-west-1', 'execute-api', () => NOW);
    const base = connections('https://a.execute-api.eu-west-1.amazonaws.com', 'dev', 'c');
    const a = { ...base, body: Buffer.from('first frame') };
    const b = { ...base, body: Buffer.from('second frame') };
    // An equal body in another buffer is hashed again, to the same value.
    const a2 = { ...base, body: Buffer.from('first frame') };
    for (const r of [a, a, b, a, a2, b]) {
      const headers = ours(signer, r);
      expect(headers['x-amz-content-sha256']).toBe(sha256Hex(r.body));
      expect(headers.authorization).toBe((await sdkHeaders(r, NOW)).authorization);
    }
  });

  test('one signer serves many connections (the path is not cached)', async () => {
    const signer = new SigV4Signer('eu-west-1', 'execute-api', () => NOW);
    for (const id of ['a', 'b', 'c=', 'd/e']) {
      const r = connections('https://a.execute-api.eu-west-1.amazonaws.com', 'dev', id);
      expect(ours(signer, r).authorization).toBe((await sdkHeaders(r, NOW)).authorization);
    }
  });
});

describe('clock offset correction', () => {
  const request = connections('https://a.execute-api.eu-west-1.amazonaws.com', 'dev', 'c');

  test('a server Date 5 minutes ahead: the next signatures use the server\'s time', async () => {
    const signer = new SigV4Signer('eu-west-1', 'execute-api', () => NOW);
    const serverDate = new Date(NOW + 5 * 60_000).toUTCString();
    expect(signer.correctClock(serverDate)).toBe(true);
    // The server's Date has whole seconds: the offset brings the local clock onto it.
    expect(signer.clockOffsetMs).toBe(Date.parse(serverDate) - NOW);
    const headers = ours(signer, request);
    expect(headers['x-amz-date']).toBe('20261122T101612Z');
    expect(headers.authorization).toBe((await sdkHeaders(request, Date.parse(serverDate))).authorization);
  });

  test('a server behind the local clock', async () => {
    const signer = new SigV4Signer('eu-west-1', 'execute-api', () => NOW);
    const serverDate = new Date(NOW - 20 * 60_000).toUTCString();
    expect(signer.correctClock(serverDate)).toBe(true);
    expect(ours(signer, request).authorization).toBe((await sdkHeaders(request, Date.parse(serverDate))).authorization);
  });

  test('the offset keeps applying as the local clock moves', async () => {
    let now = NOW;
    const signer = new SigV4Signer('eu-west-1', 'execute-api', () => now);
    const serverDate = new Date(NOW + 90_000).toUTCString();
    signer.correctClock(serverDate);
    now = NOW + 10_000;
    expect(ours(signer, request).authorization).toBe((await sdkHeaders(request, Date.parse(serverDate) + 10_000)).authorization);
  });

  test('an offset within a second, or the same offset again, changes nothing (no retry)', () => {
    const signer = new SigV4Signer('eu-west-1', 'execute-api', () => NOW);
    expect(signer.correctClock(new Date(NOW).toUTCString())).toBe(false);
    expect(signer.clockOffsetMs).toBe(0);
    const ahead = new Date(NOW + 120_000).toUTCString();
    expect(signer.correctClock(ahead)).toBe(true);
    expect(signer.correctClock(ahead)).toBe(false);
    // Back in step with the server.
    expect(signer.correctClock(new Date(NOW).toUTCString())).toBe(true);
    expect(Math.abs(signer.clockOffsetMs)).toBeLessThan(1000);
  });

  test.each([undefined, '', 'not a date'])('no usable Date (%p): nothing learnt', (date) => {
    const signer = new SigV4Signer('eu-west-1', 'execute-api', () => NOW);
    expect(signer.correctClock(date)).toBe(false);
    expect(signer.clockOffsetMs).toBe(0);
  });
});

describe('helpers', () => {
  test('encodeRfc3986 encodes what encodeURIComponent leaves (!\'()*)', () => {
    expect(encodeRfc3986("a!b'c(d)e*f")).toBe('a%21b%27c%28d%29e%2Af');
    expect(encodeRfc3986('L0SM9c+/=')).toBe('L0SM9c%2B%2F%3D');
    expect(encodeRfc3986('-_.~AZaz09')).toBe('-_.~AZaz09');
    expect(encodeRfc3986('é 👋')).toBe('%C3%A9%20%F0%9F%91%8B');
  });

  test('sha256Hex', () => {
    expect(sha256Hex('')).toBe('e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855');
    expect(sha256Hex(Buffer.from('abc'))).toBe('ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
  });
});
