import * as path from 'node:path';
import { HandlerError, startHandlerRuntime, type HandlerRuntime } from '../../src/local/handlers';

/** The handler runtime: Lambda's calling conventions in worker threads, configured through env only. */

const DIR = path.join(__dirname, 'fixtures', 'runtime');
const runtimes: HandlerRuntime[] = [];

function runtime(workers = 1): HandlerRuntime {
  const rt = startHandlerRuntime({
    handlersDir: DIR,
    env: { RUNTIME_TEST_VALUE: 'from-env', AWS_REGION: 'eu-west-3' },
    timeoutMs: 2000,
    output: 'ignore',
    workers,
  });
  runtimes.push(rt);
  return rt;
}

afterAll(async () => {
  await Promise.all(runtimes.map((rt) => rt.close()));
});

test('the handlers see only the environment they are given; results go through JSON', async () => {
  const previous = process.env.RUNTIME_TEST_VALUE;
  process.env.RUNTIME_TEST_VALUE = 'from-the-test-process';
  try {
    expect(await runtime().invoke('env', {})).toEqual({ value: 'from-env', region: 'eu-west-3', date: '1970-01-01T00:00:00.000Z' });
  } finally {
    process.env.RUNTIME_TEST_VALUE = previous;
  }
});

test('callback-style handlers', async () => {
  const rt = runtime();
  expect(await rt.invoke('callback', { value: 7 })).toEqual({ statusCode: 200, echo: 7, fn: 'local-callback' });
  await expect(rt.invoke('callback', { fail: true })).rejects.toMatchObject({ message: 'callback failure' });
});

test('load errors are reported by warm() and by each invocation', async () => {
  const rt = runtime();
  const errors = await rt.warm(['env', 'load-error', 'no-handler', 'missing']);
  expect(errors.map((e) => e.name)).toEqual(['load-error', 'no-handler', 'missing']);
  expect(errors[0].error).toMatch(/missing configuration at module load/);
  const err = await rt.invoke('no-handler', {}).catch((e: unknown) => e);
  expect(err).toBeInstanceOf(HandlerError);
  expect((err as HandlerError).message).toMatch(/exports no handler/);
});

test('several workers share the load, each with its own module scope', async () => {
  const rt = runtime(2);
  const results = (await Promise.all(Array.from({ length: 8 }, () => rt.invoke('pid', { delayMs: 50 })))) as Array<{ threadId: number }>;
  expect(new Set(results.map((r) => r.threadId)).size).toBe(2);
});

test('after close(), invocations fail', async () => {
  const rt = runtime();
  await rt.close();
  await expect(rt.invoke('env', {})).rejects.toMatchObject({ errorType: 'Runtime.Closed' });
});
