import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { HandlerError, startLambdaRuntime, type LambdaRuntime, type LambdaRuntimeOptions, type RuntimeFunction } from '../../src/local/lambda-runtime';
import { eventually } from '../support/wait';

/**
 * Lambda's execution model: one invocation per execution environment (a worker thread with its own module scope and
 * environment), more environments under load up to the caps, a FIFO queue beyond them, timeouts counted from the
 * start of an invocation, a fresh environment after a timeout or a crash, Lambda's rules for the Handler setting.
 */

const DIR = path.join(__dirname, 'fixtures', 'runtime');
const runtimes: LambdaRuntime[] = [];

function fn(name: string, codeDir: string, overrides: Partial<RuntimeFunction> = {}): RuntimeFunction {
  return {
    name,
    codeDir: path.join(DIR, codeDir),
    handler: 'index.handler',
    env: { RUNTIME_TEST_VALUE: `from-env-of-${name}`, AWS_REGION: 'eu-west-3' },
    timeoutMs: 2000,
    arn: `arn:aws:lambda:eu-west-3:000000000000:function:${name}`,
    ...overrides,
  };
}

function runtime(functions: RuntimeFunction[], options: Partial<LambdaRuntimeOptions> = {}): LambdaRuntime {
  const rt = startLambdaRuntime({ functions, output: 'ignore', ...options });
  runtimes.push(rt);
  return rt;
}

afterAll(async () => {
  await Promise.all(runtimes.map((rt) => rt.close()));
});

interface Counter {
  count: number;
  threadId: number;
  remainingAtStart: number;
  fn: string;
  arn: string;
  requestId: string;
}

describe('calling conventions', () => {
  test('each function sees only its own environment; results go through JSON; the context names the function', async () => {
    const previous = process.env.RUNTIME_TEST_VALUE;
    process.env.RUNTIME_TEST_VALUE = 'from-the-test-process';
    try {
      const rt = runtime([fn('one', 'env.lambda'), fn('two', 'env.lambda'), fn('counter', 'counter.lambda')]);
      expect(await rt.invoke('one', {})).toEqual({ value: 'from-env-of-one', region: 'eu-west-3', date: '1970-01-01T00:00:00.000Z' });
      expect(await rt.invoke('two', {})).toMatchObject({ value: 'from-env-of-two' });
      const result = (await rt.invoke('counter', {}, { requestId: 'req-1' })) as Counter;
      expect(result).toMatchObject({ fn: 'counter', arn: 'arn:aws:lambda:eu-west-3:000000000000:function:counter', requestId: 'req-1' });
    } finally {
      process.env.RUNTIME_TEST_VALUE = previous;
    }
  });

  test('callback-style handlers', async () => {
    const rt = runtime([fn('callback', 'callback.lambda')]);
    expect(await rt.invoke('callback', { value: 7 })).toEqual({ statusCode: 200, echo: 7, fn: 'callback' });
    await expect(rt.invoke('callback', { fail: true })).rejects.toMatchObject({ message: 'callback failure' });
  });

  test('a thrown error keeps its type and message, with the trace; the environment stays warm', async () => {
    const rt = runtime([fn('counter', 'counter.lambda')]);
    const err = (await rt.invoke('counter', { fail: 'out of range' }).catch((e: unknown) => e)) as HandlerError;
    expect(err).toBeInstanceOf(HandlerError);
    expect(err.toPayload()).toMatchObject({ errorType: 'RangeError', errorMessage: 'out of range' });
    expect(err.trace[0]).toBe('RangeError: out of range');
    expect(((await rt.invoke('counter', {})) as Counter).count).toBe(2);
  });

  test('the Handler setting, as Lambda reads it: a subdirectory, nested exports, .mjs, .cjs, "type": "module"', async () => {
    const rt = runtime([
      fn('sub', 'layout', { handler: 'src/app.main' }),
      fn('nested', 'layout', { handler: 'src/app.nested.deeper.fn' }),
      fn('mjs', 'layout', { handler: 'esm.handler' }),
      fn('cjs', 'layout', { handler: 'common.handler' }),
      fn('module', 'esm-pkg', { handler: 'index.handler' }),
    ]);
    expect(await rt.invoke('sub', {})).toEqual({ from: 'src/app.js main' });
    expect(await rt.invoke('nested', {})).toEqual({ from: 'src/app.js nested.deeper.fn' });
    expect(await rt.invoke('mjs', {})).toEqual({ from: 'esm.mjs' });
    expect(await rt.invoke('cjs', {})).toEqual({ from: 'common.cjs' });
    expect(await rt.invoke('module', {})).toEqual({ from: 'index.js under "type": "module"', esm: true });
  });

  test('load errors: reported by warm() and by each invocation, with Lambda\'s error types', async () => {
    const rt = runtime([
      fn('env', 'env.lambda'),
      fn('load-error', 'load-error.lambda'),
      fn('no-handler', 'no-handler.lambda'),
      fn('missing', 'missing.lambda'),
      fn('malformed', 'layout', { handler: 'nodot' }),
    ]);
    const errors = await rt.warm();
    expect(errors.map((e) => e.name)).toEqual(['load-error', 'no-handler', 'missing', 'malformed']);
    expect(errors[0].error).toMatch(/missing configuration at module load/);
    await expect(rt.invoke('no-handler', {})).rejects.toMatchObject({ errorType: 'Runtime.HandlerNotFound', message: /index\.handler is undefined or not exported/ });
    await expect(rt.invoke('missing', {})).rejects.toMatchObject({ errorType: 'Runtime.ImportModuleError' });
    await expect(rt.invoke('malformed', {})).rejects.toMatchObject({ errorType: 'Runtime.MalformedHandlerName' });
    await expect(rt.invoke('nope', {})).rejects.toMatchObject({ errorType: 'ResourceNotFoundException' });
    // A failed init leaves no environment behind; a good one stays warm.
    expect(rt.stats().byFunction['load-error'].environments).toBe(0);
    expect(rt.stats().byFunction.env.environments).toBe(1);
  });

  test('console output reaches the callback, line by line, with the function name', async () => {
    const lines: Array<[string, string, string]> = [];
    const rt = runtime([fn('counter', 'counter.lambda')], { output: (line, stream, name) => lines.push([line, stream, name]) });
    await rt.invoke('counter', { log: 'hello from the handler' });
    await eventually(async () => lines.some(([line]) => line === 'hello from the handler'), 5000, 'the log line');
    expect(lines).toContainEqual(['hello from the handler', 'stdout', 'counter']);
  });
});

describe('module resolution fallback (resolvePaths)', () => {
  let root: string;
  beforeAll(() => {
    // A handler that requires a package its own directory does not have (as a user's handler requires @aws-sdk/*,
    // which Lambda's runtime provides), and an app whose node_modules has it.
    root = mkdtempSync(path.join(tmpdir(), 'runtime-resolve-'));
    mkdirSync(path.join(root, 'code'));
    writeFileSync(path.join(root, 'code', 'index.js'), "exports.handler = async () => require('only-in-the-app').where;\n");
    writeFileSync(path.join(root, 'code', 'esm.mjs'), "import dep from 'only-in-the-app';\nexport const handler = async () => dep.where + ' (import)';\n");
    const pkg = path.join(root, 'app', 'node_modules', 'only-in-the-app');
    mkdirSync(pkg, { recursive: true });
    writeFileSync(path.join(pkg, 'package.json'), '{"name":"only-in-the-app","main":"index.js"}');
    writeFileSync(path.join(pkg, 'index.js'), "exports.where = 'the app node_modules';\n");
  });
  afterAll(() => rmSync(root, { recursive: true, force: true }));

  test('require and import resolve from the fallback directories (a project root or a node_modules directory)', async () => {
    const code = (name: string, handler: string, resolvePaths?: string[]): RuntimeFunction => ({
      ...fn(name, '.'),
      codeDir: path.join(root, 'code'),
      handler,
      resolvePaths,
    });
    const rt = runtime([
      code('none', 'index.handler'),
      code('root', 'index.handler', [path.join(root, 'nowhere'), path.join(root, 'app')]),
      code('modules', 'index.handler', [path.join(root, 'app', 'node_modules')]),
      code('esm', 'esm.handler', [path.join(root, 'app')]),
    ]);
    await expect(rt.invoke('none', {})).rejects.toMatchObject({ message: /Cannot find module 'only-in-the-app'/ });
    expect(await rt.invoke('root', {})).toBe('the app node_modules');
    expect(await rt.invoke('modules', {})).toBe('the app node_modules');
    expect(await rt.invoke('esm', {})).toBe('the app node_modules (import)');
  });
});

describe('execution environments', () => {
  test('one invocation per environment: concurrent invocations start more, up to the cap per function; the rest queue', async () => {
    const rt = runtime([fn('counter', 'counter.lambda')], { maxEnvironmentsPerFunction: 3 });
    const results = (await Promise.all(Array.from({ length: 9 }, () => rt.invoke('counter', { sleepMs: 150 })))) as Counter[];
    expect(new Set(results.map((r) => r.threadId)).size).toBe(3);
    // Each environment ran three invocations, one after the other: its module scope counted 1, 2, 3.
    const counts = new Map<number, number[]>();
    for (const r of results) counts.set(r.threadId, [...(counts.get(r.threadId) ?? []), r.count]);
    for (const seen of counts.values()) expect(seen.sort()).toEqual([1, 2, 3]);
    const stats = rt.stats().byFunction.counter;
    expect(stats).toMatchObject({ environments: 3, coldStarts: 3, invocations: 9, queuedTotal: 6, maxQueued: 6, busy: 0, queued: 0 });
  });

  test('the queue is first in, first out', async () => {
    const rt = runtime([fn('counter', 'counter.lambda')], { maxEnvironmentsPerFunction: 1 });
    const order: number[] = [];
    await Promise.all(Array.from({ length: 6 }, (_, i) => rt.invoke('counter', { sleepMs: 10 }).then(() => order.push(i))));
    expect(order).toEqual([0, 1, 2, 3, 4, 5]);
  });

  test('the timeout counts from the start of an invocation, not from when it was queued', async () => {
    const rt = runtime([fn('counter', 'counter.lambda', { timeoutMs: 600 })], { maxEnvironmentsPerFunction: 1 });
    // Three invocations of 400 ms on one environment: the last waits 800 ms in the queue, and still has its 600 ms.
    const results = (await Promise.all([0, 1, 2].map(() => rt.invoke('counter', { sleepMs: 400 })))) as Counter[];
    expect(results.map((r) => r.count)).toEqual([1, 2, 3]);
    for (const r of results) expect(r.remainingAtStart).toBeGreaterThan(500);
  });

  test('a timed-out invocation fails, and its environment is replaced: the next invocation is a cold start', async () => {
    const rt = runtime([fn('counter', 'counter.lambda', { timeoutMs: 300 })]);
    const first = (await rt.invoke('counter', {})) as Counter;
    const err = (await rt.invoke('counter', { sleepMs: 2000 }).catch((e: unknown) => e)) as HandlerError;
    expect(err).toMatchObject({ errorType: 'Sandbox.Timedout', message: 'Task timed out after 0.30 seconds' });
    const next = (await rt.invoke('counter', {})) as Counter;
    expect(next.count).toBe(1);
    expect(next.threadId).not.toBe(first.threadId);
    expect(rt.stats().byFunction.counter).toMatchObject({ coldStarts: 2, timeouts: 1, environments: 1 });
  });

  test('a stalled gateway thread does not turn an answer that arrived in time into a timeout', async () => {
    // The deadlines are timers on the gateway's thread; the answers are messages from the environment. When that
    // thread is blocked (a long GC pause, a loaded machine), both are due when it resumes, and Node runs timers
    // before it reads messages: the answer already there must still win.
    const rt = runtime([fn('counter', 'counter.lambda', { timeoutMs: 300 })], { initTimeoutMs: 300 });
    await rt.warm();
    const pending = rt.invoke('counter', {});
    // Blocked for longer than both limits (here in a setImmediate callback; in the gateway, e.g. handling a socket's
    // data) while the environment, on its own thread, answers. The next turn of the event loop runs the due timers
    // before it reads the messages waiting.
    await new Promise<void>((resolve) => setImmediate(() => {
      const until = Date.now() + 1500;
      while (Date.now() < until) { /* the gateway's thread, stalled */ }
      resolve();
    }));
    expect(((await pending) as Counter).count).toBe(1);
    expect(rt.stats().byFunction.counter).toMatchObject({ timeouts: 0, coldStarts: 1 });
  });

  test('an environment that crashes (uncaught exception, process.exit) fails its invocation and is replaced', async () => {
    const rt = runtime([fn('counter', 'counter.lambda')]);
    await expect(rt.invoke('counter', { crash: true, sleepMs: 1000 })).rejects.toMatchObject({ errorType: 'Runtime.ExitError', message: /uncaught in the environment/ });
    await expect(rt.invoke('counter', { exit: true, sleepMs: 1000 })).rejects.toMatchObject({ errorType: 'Runtime.ExitError', message: /exit status 3/ });
    expect(((await rt.invoke('counter', {})) as Counter).count).toBe(1);
  });

  test('the global cap: an idle environment of another function makes room; busy ones are waited for', async () => {
    const rt = runtime([fn('a', 'counter.lambda'), fn('b', 'counter.lambda')], { maxEnvironments: 2, maxEnvironmentsPerFunction: 2 });
    await Promise.all([rt.invoke('a', { sleepMs: 50 }), rt.invoke('a', { sleepMs: 50 })]);
    expect(rt.stats()).toMatchObject({ environments: 2, byFunction: { a: { environments: 2 }, b: { environments: 0 } } });
    // b needs an environment: one of a's idle ones is stopped for it.
    await rt.invoke('b', {});
    expect(rt.stats()).toMatchObject({ environments: 2, byFunction: { a: { environments: 1 }, b: { environments: 1 } } });
    // With every environment busy, b's second invocation waits for one.
    const slowA = rt.invoke('a', { sleepMs: 300 });
    const slowB = rt.invoke('b', { sleepMs: 300 });
    const waiting = rt.invoke('b', {});
    expect(rt.stats().queued).toBe(1);
    await Promise.all([slowA, slowB, waiting]);
    expect(rt.stats().environments).toBeLessThanOrEqual(2);
  });

  test('idle environments are stopped after a while', async () => {
    const rt = runtime([fn('counter', 'counter.lambda')], { idleEnvironmentMs: 200 });
    await rt.invoke('counter', {});
    expect(rt.stats().environments).toBe(1);
    await eventually(async () => rt.stats().environments === 0, 5000, 'the idle environment to be stopped');
    expect(((await rt.invoke('counter', {})) as Counter).count).toBe(1);
  });

  test('after close(), queued and new invocations fail', async () => {
    const rt = runtime([fn('counter', 'counter.lambda')], { maxEnvironmentsPerFunction: 1 });
    const running = rt.invoke('counter', { sleepMs: 1000 }).catch((e: unknown) => e);
    const queued = rt.invoke('counter', {}).catch((e: unknown) => e);
    await rt.close();
    expect(await running).toMatchObject({ errorType: 'Runtime.Closed' });
    expect(await queued).toMatchObject({ errorType: 'Runtime.Closed' });
    await expect(rt.invoke('counter', {})).rejects.toMatchObject({ errorType: 'Runtime.Closed' });
  });
});
