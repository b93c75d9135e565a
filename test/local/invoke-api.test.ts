import { mkdtempSync, rmSync } from 'node:fs';
import { request, type IncomingMessage } from 'node:http';
import { networkInterfaces, tmpdir } from 'node:os';
import * as path from 'node:path';
import { InvokeCommand, LambdaClient, ResourceNotFoundException, InvalidRequestContentException } from '@aws-sdk/client-lambda';
import type { LocalAppSpec, LocalFunctionSpec } from '../../src/local/app-model';
import { defaultApp } from '../../src/local/default-app';
import { isLocalCaller } from '../../src/local/internal-http';
import { functionNameOf, type AsyncInvocationResult } from '../../src/local/invoke-api';
import { FIXTURE_HANDLERS, startTestGateway, type TestGateway } from '../support/local-gateway';
import { waitForEvent } from '../support/wait';
import { connectUrl, TestClient } from '../support/ws-client';

/**
 * Lambda's Invoke API on the gateway's port, through the real `@aws-sdk/client-lambda` client: results, function
 * errors, asynchronous invocations and their retries, names and ARNs, and who may call it.
 */

const RUNTIME = path.join(__dirname, 'fixtures', 'runtime');
let gw: TestGateway;
let lambda: LambdaClient;
let dir: string;

/** The library's defaults on the fixture bundles, plus functions of the app's own. */
function app(): LocalAppSpec {
  const base = defaultApp({ handlersDir: FIXTURE_HANDLERS });
  const extra = (name: string, code: string, more: Partial<LocalFunctionSpec> = {}): LocalFunctionSpec => ({
    name,
    codeDir: path.join(RUNTIME, code),
    handler: 'index.handler',
    env: {},
    timeoutSeconds: 1,
    ...more,
  });
  return {
    ...base,
    functions: [
      ...base.functions,
      extra('flaky', 'flaky.lambda'),
      extra('counter', 'counter.lambda', { aliases: ['MyStack-Counter-ABC123'] }),
      // Its target is another function, named by the construct id of the built-in publish function.
      extra('invoker', 'invoker.lambda', { env: { TARGET_FUNCTION: { localFunction: 'Publish' } }, timeoutSeconds: 5 }),
    ],
  };
}

beforeAll(async () => {
  dir = mkdtempSync(path.join(tmpdir(), 'invoke-api-'));
  gw = await startTestGateway({ app: app(), asyncRetryDelaysMs: [100, 200], handlerEnv: { FIXTURE_STATE_DIR: dir } });
  lambda = new LambdaClient({
    endpoint: gw.lambdaEndpoint,
    region: 'us-east-1',
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
    maxAttempts: 1,
  });
});
afterAll(async () => {
  lambda?.destroy();
  await gw?.close();
  rmSync(dir, { recursive: true, force: true });
});

const json = (value: unknown) => Buffer.from(JSON.stringify(value));
const parse = (payload: Uint8Array | undefined) => JSON.parse(Buffer.from(payload ?? []).toString('utf8'));

test('a synchronous invocation answers 200 with the function\'s result', async () => {
  const out = await lambda.send(new InvokeCommand({ FunctionName: 'publish', Payload: json({ room_id: 'r1', type: 't', data: { x: 1 } }) }));
  expect(out.StatusCode).toBe(200);
  expect(out.FunctionError).toBeUndefined();
  expect(out.ExecutedVersion).toBe('$LATEST');
  expect(parse(out.Payload)).toEqual({
    delivered: 0,
    gone: 0,
    failed: 0,
    received: { room_id: 'r1', type: 't', data: { x: 1 } },
    functionName: 'publish',
  });
});

test('a function is found by its name, an alias, its ARN, a partial ARN, or with a qualifier', async () => {
  for (const name of [
    'publish',
    'Publish',
    'arn:aws:lambda:us-east-1:000000000000:function:publish',
    '000000000000:function:publish',
    'publish:$LATEST',
    'arn:aws:lambda:us-east-1:000000000000:function:MyStack-Counter-ABC123',
  ]) {
    const out = await lambda.send(new InvokeCommand({ FunctionName: name, Payload: json({}) }));
    expect(out.StatusCode).toBe(200);
  }
  expect(functionNameOf('arn:aws-cn:lambda:cn-north-1:123456789012:function:fn:live')).toBe('fn');
});

test('a function that throws: 200, X-Amz-Function-Error Unhandled, {errorType, errorMessage, trace}', async () => {
  const out = await lambda.send(new InvokeCommand({ FunctionName: 'publish', Payload: json({ fail: 'bad type' }) }));
  expect(out.StatusCode).toBe(200);
  expect(out.FunctionError).toBe('Unhandled');
  const payload = parse(out.Payload);
  expect(payload).toMatchObject({ errorType: 'TypeError', errorMessage: 'publish refused: bad type' });
  expect(payload.trace[0]).toBe('TypeError: publish refused: bad type');
});

test('a function that times out: a function error of type Sandbox.Timedout', async () => {
  const out = await lambda.send(new InvokeCommand({ FunctionName: 'counter', Payload: json({ sleepMs: 3000 }) }));
  expect(out.FunctionError).toBe('Unhandled');
  expect(parse(out.Payload)).toMatchObject({ errorType: 'Sandbox.Timedout', errorMessage: 'Task timed out after 1.00 seconds' });
});

test('no payload: the function gets an empty object', async () => {
  const out = await lambda.send(new InvokeCommand({ FunctionName: 'publish' }));
  expect(parse(out.Payload).received).toEqual({});
});

test('InvocationType Event: 202 at once; the function runs in the background', async () => {
  const connected = waitForEvent<{ connectionId: string }>(gw.events, 'connect');
  const client = await TestClient.connect(connectUrl(gw.url, { token: 'allow:alice', room_id: 'r' }));
  try {
    const id = (await connected).connectionId;
    const done = waitForEvent<{ functionName: string; ok: boolean }>(gw.events, 'asyncInvocation', (r) => r.functionName === 'publish');
    const out = await lambda.send(new InvokeCommand({
      FunctionName: 'publish',
      InvocationType: 'Event',
      Payload: json({ connection_id: id, type: 'order.shipped', data: { order: 7 } }),
    }));
    expect(out.StatusCode).toBe(202);
    expect(out.Payload?.length ?? 0).toBe(0);
    expect(await client.next('event')).toMatchObject({ type: 'order.shipped', data: { order: 7 } });
    expect(await done).toMatchObject({ ok: true, attempts: 1 });
  } finally {
    await client.close();
  }
});

test.each(['throw', 'crash'])('a failed asynchronous invocation (%s) is retried twice, like Lambda\'s', async (mode) => {
  const succeeds = waitForEvent<AsyncInvocationResult>(gw.events, 'asyncInvocation', (r) => r.functionName === 'flaky' && r.ok);
  await lambda.send(new InvokeCommand({ FunctionName: 'flaky', InvocationType: 'Event', Payload: json({ dir, id: `ok-${mode}`, failTimes: 2, mode }) }));
  expect(await succeeds).toMatchObject({ ok: true, attempts: 3 });

  const fails = waitForEvent<AsyncInvocationResult>(gw.events, 'asyncInvocation', (r) => r.functionName === 'flaky' && !r.ok);
  await lambda.send(new InvokeCommand({ FunctionName: 'flaky', InvocationType: 'Event', Payload: json({ dir, id: `ko-${mode}`, failTimes: 5, mode }) }));
  const failed = await fails;
  expect(failed).toMatchObject({ ok: false, attempts: 3, error: { errorType: mode === 'crash' ? 'Runtime.ExitError' : 'Error' } });
  const logged = gw.logs.filter((line) => line.includes('asynchronous invocation of flaky') && line.includes('attempt'));
  expect(logged.some((line) => /attempt 1 of 3: .*retrying in 100 ms/.test(line))).toBe(true);
  expect(logged.some((line) => /attempt 3 of 3: .*giving up/.test(line))).toBe(true);
});

test('InvocationType DryRun: 204, nothing runs', async () => {
  const before = gw.lambdaStats().byFunction.counter.invocations;
  const out = await lambda.send(new InvokeCommand({ FunctionName: 'counter', InvocationType: 'DryRun' }));
  expect(out.StatusCode).toBe(204);
  expect(gw.lambdaStats().byFunction.counter.invocations).toBe(before);
});

test('an unknown function: 404 ResourceNotFoundException', async () => {
  const err = (await lambda.send(new InvokeCommand({ FunctionName: 'nope' })).catch((e: unknown) => e)) as ResourceNotFoundException;
  expect(err).toBeInstanceOf(ResourceNotFoundException);
  expect(err.$metadata.httpStatusCode).toBe(404);
  expect(err.message).toBe('Function not found: arn:aws:lambda:us-east-1:000000000000:function:nope');
  const raw = await call('POST', '/2015-03-31/functions/nope/invocations', '{}');
  expect(raw.status).toBe(404);
  expect(raw.headers['x-amzn-errortype']).toBe('ResourceNotFoundException');
});

test('a payload that is not JSON: 400 InvalidRequestContentException', async () => {
  const err = await lambda.send(new InvokeCommand({ FunctionName: 'publish', Payload: Buffer.from('not json') })).catch((e: unknown) => e);
  expect(err).toBeInstanceOf(InvalidRequestContentException);
  expect((err as InvalidRequestContentException).$metadata.httpStatusCode).toBe(400);
});

test('a function invokes another through the SDK, with the gateway as its Lambda endpoint', async () => {
  const out = await lambda.send(new InvokeCommand({ FunctionName: 'invoker', Payload: json({ payload: { type: 'nested' } }) }));
  expect(out.FunctionError).toBeUndefined();
  expect(parse(out.Payload)).toMatchObject({
    // {localFunction: 'Publish'} resolved to the function's local name.
    target: 'publish',
    endpoint: gw.lambdaEndpoint,
    statusCode: 200,
    payload: { received: { type: 'nested' }, functionName: 'publish' },
  });
});

test('a request from a web page (Origin, a CORS preflight) is refused with 403', async () => {
  for (const [method, headers] of [
    ['POST', { origin: 'http://evil.example' }],
    ['POST', { 'sec-fetch-site': 'cross-site' }],
    ['OPTIONS', { 'origin': 'http://evil.example', 'access-control-request-method': 'POST' }],
  ] as const) {
    const res = await call(method, '/2015-03-31/functions/publish/invocations', '{}', headers);
    expect(res.status).toBe(403);
    expect(res.headers['access-control-allow-origin']).toBeUndefined();
  }
});

test('a caller that is not on this machine is refused with 403', async () => {
  const fake = (remoteAddress: string, localAddress: string) => ({ socket: { remoteAddress, localAddress } }) as unknown as IncomingMessage;
  expect(isLocalCaller(fake('127.0.0.1', '127.0.0.1'))).toBe(true);
  expect(isLocalCaller(fake('::ffff:127.0.0.1', '::ffff:127.0.0.1'))).toBe(true);
  expect(isLocalCaller(fake('::1', '::1'))).toBe(true);
  // This machine calling one of its own addresses (a gateway on --host 192.168.1.5).
  expect(isLocalCaller(fake('192.168.1.5', '192.168.1.5'))).toBe(true);
  expect(isLocalCaller(fake('192.168.1.9', '192.168.1.5'))).toBe(false);
  expect(isLocalCaller(fake('10.0.0.2', '127.0.0.1'))).toBe(false);

  // For real, when this machine has a non-loopback address: a connection from it to the loopback port.
  const address = nonLoopbackIPv4();
  if (!address) return;
  const res = await call('POST', '/2015-03-31/functions/publish/invocations', '{}', {}, address);
  expect(res.status).toBe(403);
  expect(res.headers['x-amzn-errortype']).toBe('AccessDeniedException');
});

function nonLoopbackIPv4(): string | undefined {
  return Object.values(networkInterfaces()).flat().find((i) => i && i.family === 'IPv4' && !i.internal)?.address;
}

function call(
  method: string,
  pathname: string,
  body?: string,
  headers: Record<string, string> = {},
  localAddress?: string,
): Promise<{ status: number; headers: Record<string, unknown>; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port: gw.port, path: pathname, method, headers, localAddress }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (text += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: text }));
    });
    req.on('error', reject);
    req.end(body);
  });
}
