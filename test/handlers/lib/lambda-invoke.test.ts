import { createHash } from 'node:crypto';
import { createServer, type IncomingHttpHeaders, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { InvokeCommand, LambdaClient } from '@aws-sdk/client-lambda';
import { SignatureV4 } from '@smithy/signature-v4';
import { createLambdaInvoker, InvokeError, lambdaEndpoint } from '../../../src/handlers/lib/lambda-invoke';
import type { Credentials } from '../../../src/handlers/lib/sigv4';
import { NodeSha256 } from '../../support/node-sha256';

interface Received {
  readonly method?: string;
  /** The raw request target, as sent. */
  readonly url: string;
  readonly headers: IncomingHttpHeaders;
  readonly body: Buffer;
}

/** A stand-in for Lambda's Invoke API on loopback: records requests, answers from a script. */
let server: Server;
let endpoint: string;
const received: Received[] = [];
let reply: (res: ServerResponse, req: Received) => void;
const accept = (res: ServerResponse) => res.writeHead(202).end();

beforeAll(async () => {
  server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const r = { method: req.method, url: req.url ?? '', headers: req.headers, body: Buffer.concat(chunks) };
      received.push(r);
      reply(res, r);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
beforeEach(() => {
  received.length = 0;
  reply = accept;
});
afterAll(async () => {
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

const CREDENTIALS: Credentials = { accessKeyId: 'AKIDLOCAL', secretAccessKey: 'local-secret' };
const invoker = (options: { credentials?: () => Promise<Credentials>; timeoutMs?: number; endpoint?: string } = {}) =>
  createLambdaInvoker({ region: 'us-east-1', credentials: options.credentials ?? (async () => CREDENTIALS), endpoint: options.endpoint ?? endpoint, timeoutMs: options.timeoutMs });

/** Checks a received request's signature by signing the same request again with the SDK's signer. */
async function verifySignature(r: Received, credentials: Credentials = CREDENTIALS): Promise<void> {
  const authorization = String(r.headers.authorization);
  const signedNames = /SignedHeaders=([^,]+),/.exec(authorization)![1].split(';');
  const headers: Record<string, string> = {};
  for (const name of signedNames) headers[name] = String(r.headers[name]);
  const date = String(r.headers['x-amz-date']);
  const signingDate = new Date(`${date.slice(0, 4)}-${date.slice(4, 6)}-${date.slice(6, 8)}T${date.slice(9, 11)}:${date.slice(11, 13)}:${date.slice(13, 15)}Z`);
  const signer = new SignatureV4({ service: 'lambda', region: 'us-east-1', credentials, sha256: NodeSha256 });
  const signed = await signer.sign({ method: r.method!, protocol: 'http:', hostname: '127.0.0.1', path: r.url, query: {}, headers, body: r.body }, { signingDate });
  expect(authorization).toBe(signed.headers.authorization);
}

test('an accepted invoke (202) resolves; the request is an asynchronous, signed Invoke with the JSON payload', async () => {
  const payload = { broadcast_id: 'b-1', room_id: 'r', shard_from: 3, shard_to: 9, frame: '{"message":"héllo 👋"}' };
  await expect(invoker().invokeAsync('chat-FanoutWorker', payload)).resolves.toBeUndefined();

  expect(received).toHaveLength(1);
  const [r] = received;
  expect(r.method).toBe('POST');
  expect(r.url).toBe('/2015-03-31/functions/chat-FanoutWorker/invocations');
  expect(JSON.parse(r.body.toString('utf8'))).toEqual(payload);
  expect(r.headers).toMatchObject({
    'x-amz-invocation-type': 'Event',
    'content-type': 'application/json',
    'content-length': String(r.body.byteLength),
    'x-amz-content-sha256': createHash('sha256').update(r.body).digest('hex'),
    'x-amz-date': expect.stringMatching(/^\d{8}T\d{6}Z$/),
    'authorization': expect.stringMatching(/^AWS4-HMAC-SHA256 Credential=AKIDLOCAL\/\d{8}\/us-east-1\/lambda\/aws4_request, SignedHeaders=content-type;host;x-amz-content-sha256;x-amz-date;x-amz-invocation-type, Signature=[0-9a-f]{64}$/),
  });
  expect(r.headers).not.toHaveProperty('x-amz-security-token');
  await verifySignature(r);
});

test('session credentials: the token is sent and signed; credentials are resolved for every invoke', async () => {
  let calls = 0;
  const credentials = async (): Promise<Credentials> => ({ accessKeyId: `AKID${++calls}`, secretAccessKey: `secret-${calls}`, sessionToken: `token-${calls}` });
  const inv = invoker({ credentials });
  await inv.invokeAsync('w', { n: 1 });
  await inv.invokeAsync('w', { n: 2 });
  expect(received.map((r) => r.headers['x-amz-security-token'])).toEqual(['token-1', 'token-2']);
  expect(String(received[1].headers.authorization)).toContain('Credential=AKID2/');
  expect(String(received[1].headers.authorization)).toContain('x-amz-security-token');
  await verifySignature(received[0], { accessKeyId: 'AKID1', secretAccessKey: 'secret-1', sessionToken: 'token-1' });
  await verifySignature(received[1], { accessKeyId: 'AKID2', secretAccessKey: 'secret-2', sessionToken: 'token-2' });
});

test('a 200 (a synchronous answer) also resolves', async () => {
  reply = (res) => res.writeHead(200, { 'content-type': 'application/json' }).end('null');
  await expect(invoker().invokeAsync('w', {})).resolves.toBeUndefined();
});

describe('refusals reject with an InvokeError', () => {
  test.each<[number, string | undefined, string]>([
    [404, 'ResourceNotFoundException:http://internal.amazon.com/coral/com.amazonaws.awsgirl/', 'ResourceNotFoundException'],
    [403, 'AccessDeniedException', 'AccessDeniedException'],
    [400, 'InvalidRequestContentException', 'InvalidRequestContentException'],
    [413, 'RequestTooLargeException', 'RequestTooLargeException'],
    [429, 'TooManyRequestsException', 'TooManyRequestsException'],
    [500, 'ServiceException', 'ServiceException'],
    [503, undefined, ''],
  ])('%i %s', async (status, header, errorType) => {
    const body = JSON.stringify({ Type: 'User', message: `refused with ${status}` });
    reply = (res) => res.writeHead(status, { 'content-type': 'application/json', ...(header ? { 'x-amzn-ErrorType': header } : {}) }).end(body);
    const error = await invoker().invokeAsync('worker', {}).then(() => undefined, (err: unknown) => err);
    expect(error).toBeInstanceOf(InvokeError);
    expect(error).toMatchObject({ name: 'InvokeError', status, errorType: errorType || undefined });
    expect((error as Error).message).toContain(`worker answered ${status}`);
    expect((error as Error).message).toContain(`refused with ${status}`);
  });

  test('a long error body is cut in the message', async () => {
    reply = (res) => res.writeHead(500).end('x'.repeat(10_000));
    const error = await invoker().invokeAsync('w', {}).catch((err: InvokeError) => err);
    expect((error as InvokeError).message.length).toBeLessThan(400);
  });

  test('no answer within the time-out rejects (the socket is closed)', async () => {
    reply = () => undefined; // never answers
    await expect(invoker({ timeoutMs: 100 }).invokeAsync('w', {})).rejects.toThrow(/no answer within 100 ms/);
  });

  test('nothing listening rejects', async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise<void>((resolve) => closed.close(() => resolve()));
    await expect(invoker({ endpoint: `http://127.0.0.1:${port}` }).invokeAsync('w', {})).rejects.toMatchObject({ code: 'ECONNREFUSED' });
  });

  test('credentials that cannot be resolved reject, and nothing is sent', async () => {
    const inv = invoker({ credentials: async () => Promise.reject(new Error('no credentials')) });
    await expect(inv.invokeAsync('w', {})).rejects.toThrow('no credentials');
    expect(received).toEqual([]);
  });
});

describe('the function name is one encoded path segment', () => {
  test.each([
    ['a name', 'chat-FanoutWorker-AbC123_x', '/2015-03-31/functions/chat-FanoutWorker-AbC123_x/invocations'],
    ['a full ARN', 'arn:aws:lambda:us-east-1:123456789012:function:worker', '/2015-03-31/functions/arn%3Aaws%3Alambda%3Aus-east-1%3A123456789012%3Afunction%3Aworker/invocations'],
    ['an ARN with an alias', 'arn:aws:lambda:us-east-1:123456789012:function:worker:live', '/2015-03-31/functions/arn%3Aaws%3Alambda%3Aus-east-1%3A123456789012%3Afunction%3Aworker%3Alive/invocations'],
    ['a name with a version', 'worker:7', '/2015-03-31/functions/worker%3A7/invocations'],
    ['a partial ARN', '123456789012:function:worker', '/2015-03-31/functions/123456789012%3Afunction%3Aworker/invocations'],
  ])('%s', async (_what, name, path) => {
    await invoker().invokeAsync(name, {});
    expect(received[0].url).toBe(path);
    expect(decodeURIComponent(received[0].url.split('/')[3])).toBe(name);
    await verifySignature(received[0]);
  });

  test.each([
    'worker',
    'arn:aws:lambda:us-east-1:123456789012:function:worker:live',
  ])('the same path as the AWS SDK\'s Lambda client sends for %s', async (name) => {
    const sdk = new LambdaClient({ region: 'us-east-1', endpoint, credentials: CREDENTIALS, maxAttempts: 1 });
    try {
      await sdk.send(new InvokeCommand({ FunctionName: name, InvocationType: 'Event', Payload: Buffer.from('{}') }));
    } finally {
      sdk.destroy();
    }
    await invoker().invokeAsync(name, {});
    expect(received).toHaveLength(2);
    expect(received[1].url).toBe(received[0].url);
    expect(received[1].headers['x-amz-invocation-type']).toBe(received[0].headers['x-amz-invocation-type']);
  });
});

describe('the endpoint', () => {
  const saved = { ...process.env };
  afterEach(() => {
    for (const name of ['AWS_ENDPOINT_URL_LAMBDA', 'AWS_ENDPOINT_URL']) {
      if (saved[name] === undefined) delete process.env[name];
      else process.env[name] = saved[name];
    }
  });

  test('AWS_ENDPOINT_URL_LAMBDA (the local gateway\'s Invoke API) when set', async () => {
    process.env.AWS_ENDPOINT_URL_LAMBDA = endpoint;
    process.env.AWS_ENDPOINT_URL = 'http://127.0.0.1:1';
    await createLambdaInvoker({ region: 'us-east-1', credentials: async () => CREDENTIALS }).invokeAsync('w', { via: 'env' });
    expect(received.map((r) => JSON.parse(r.body.toString()))).toEqual([{ via: 'env' }]);
    await verifySignature(received[0]);
  });

  test('AWS_ENDPOINT_URL when only it is set', async () => {
    delete process.env.AWS_ENDPOINT_URL_LAMBDA;
    process.env.AWS_ENDPOINT_URL = endpoint;
    await createLambdaInvoker({ region: 'us-east-1', credentials: async () => CREDENTIALS }).invokeAsync('w', {});
    expect(received).toHaveLength(1);
  });

  test('an endpoint with a base path keeps it (and signs it)', async () => {
    await invoker({ endpoint: `${endpoint}/lambda-api/` }).invokeAsync('w', {});
    expect(received[0].url).toBe('/lambda-api/2015-03-31/functions/w/invocations');
    await verifySignature(received[0]);
  });

  test('lambdaEndpoint: the variables, else the regional endpoint', () => {
    expect(lambdaEndpoint('eu-west-3', {})).toBe('https://lambda.eu-west-3.amazonaws.com');
    expect(lambdaEndpoint('eu-west-3', { AWS_ENDPOINT_URL: 'http://a' })).toBe('http://a');
    expect(lambdaEndpoint('eu-west-3', { AWS_ENDPOINT_URL: 'http://a', AWS_ENDPOINT_URL_LAMBDA: 'http://b' })).toBe('http://b');
  });
});

test('parallel invokes (a broadcast starting its workers) each get their own answer', async () => {
  reply = (res, r) => {
    const { n } = JSON.parse(r.body.toString()) as { n: number };
    if (n % 3 === 0) res.writeHead(429, { 'x-amzn-ErrorType': 'TooManyRequestsException' }).end('{}');
    else setTimeout(() => accept(res), 5 * (16 - n));
  };
  const inv = invoker();
  const results = await Promise.allSettled(Array.from({ length: 16 }, (_, n) => inv.invokeAsync('w', { n })));
  expect(results.map((r) => r.status)).toEqual(Array.from({ length: 16 }, (_, n) => (n % 3 === 0 ? 'rejected' : 'fulfilled')));
  expect(received).toHaveLength(16);
});
