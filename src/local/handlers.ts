import { existsSync } from 'node:fs';
import * as path from 'node:path';
import { Worker } from 'node:worker_threads';

/**
 * Runs the shipped handler bundles (`{handlersDir}/{name}.lambda/index.js`, `exports.handler`) the way
 * Lambda would: configured only through environment variables, called as `handler(event, context)`,
 * results and errors passed through JSON.
 *
 * The bundles run in worker threads with their own `process.env` and module cache, so several gateways
 * (e.g. parallel tests) can live in one process, each with its own table and endpoints, and the handlers'
 * CPU work runs beside the gateway's. If the worker dies (an uncaught exception in a handler, as a Lambda
 * runtime would), pending invocations fail and the next one starts a fresh worker — a cold start.
 */

/** The handler bundles the gateway invokes (names of `src/handlers/*.lambda.ts`). */
export const HANDLER_NAMES = ['authorizer', 'connect', 'disconnect', 'send-message', 'default', 'ping'] as const;
export type HandlerName = (typeof HANDLER_NAMES)[number] | (string & {});

export function handlerFile(handlersDir: string, name: string): string {
  return path.join(handlersDir, `${name}.lambda`, 'index.js');
}

/**
 * The directory of the handler bundles: `assets/handlers`, found from this file's location — from the
 * CLI bundle (`assets/local/cli/index.js`) it is `../../handlers`; from the TypeScript sources
 * (`src/local/`) it is `../../assets/handlers`.
 */
export function defaultHandlersDir(): string {
  const candidates = [path.resolve(__dirname, '../../handlers'), path.resolve(__dirname, '../../assets/handlers')];
  return candidates.find((dir) => existsSync(handlerFile(dir, 'authorizer'))) ?? candidates[0];
}

/** An error a handler threw (or returned through its callback), as Lambda reports it. */
export class HandlerError extends Error {
  constructor(
    readonly handler: string,
    readonly errorType: string,
    message: string,
    readonly errorStack?: string,
  ) {
    super(message);
    this.name = 'HandlerError';
  }
}

export type HandlerOutput = 'inherit' | 'ignore' | ((line: string, stream: 'stdout' | 'stderr') => void);

export interface HandlerRuntimeOptions {
  readonly handlersDir: string;
  /** The complete `process.env` of the handlers. */
  readonly env: Record<string, string>;
  /** Lambda function timeout per invocation. */
  readonly timeoutMs: number;
  /** Where the handlers' console output goes. @default 'inherit' */
  readonly output?: HandlerOutput;
  /**
   * Worker threads running the bundles, each with its own module scope (like concurrent Lambda instances);
   * an invocation goes to the least busy one. @default 1
   */
  readonly workers?: number;
}

export interface HandlerRuntime {
  invoke(name: string, event: unknown): Promise<unknown>;
  /** Loads every named bundle now; returns the load errors (a missing file, an error at module load). */
  warm(names: readonly string[]): Promise<Array<{ name: string; error: string }>>;
  close(): Promise<void>;
}

// The worker's source: plain CommonJS, so it runs from the esbuild bundle and from ts-jest alike.
const WORKER_SOURCE = String.raw`
const { parentPort, workerData } = require('node:worker_threads');
const path = require('node:path');
const { randomUUID } = require('node:crypto');
const modules = new Map();
function load(name) {
  let mod = modules.get(name);
  if (!mod) {
    mod = require(path.join(workerData.handlersDir, name + '.lambda', 'index.js'));
    modules.set(name, mod);
  }
  if (typeof mod.handler !== 'function') throw new Error('Runtime.HandlerNotFound: ' + name + '.lambda/index.js exports no handler');
  return mod.handler;
}
function contextFor(name, timeoutMs) {
  const deadline = Date.now() + timeoutMs;
  const functionName = 'local-' + name;
  return {
    awsRequestId: randomUUID(),
    functionName,
    functionVersion: '$LATEST',
    invokedFunctionArn: 'arn:aws:lambda:' + (process.env.AWS_REGION || 'us-east-1') + ':000000000000:function:' + functionName,
    memoryLimitInMB: '128',
    logGroupName: '/aws/lambda/' + functionName,
    logStreamName: 'local',
    callbackWaitsForEmptyEventLoop: true,
    getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
    done() {}, fail() {}, succeed() {},
  };
}
function errorOf(err) {
  if (err instanceof Error) return { errorType: err.name || 'Error', errorMessage: err.message, stack: err.stack };
  return { errorType: 'Error', errorMessage: typeof err === 'string' ? err : JSON.stringify(err) };
}
async function invoke(name, event, timeoutMs) {
  const handler = load(name);
  const context = contextFor(name, timeoutMs);
  if (handler.length >= 3) {
    return await new Promise((resolve, reject) => {
      const maybe = handler(event, context, (err, value) => (err ? reject(err) : resolve(value)));
      if (maybe && typeof maybe.then === 'function') maybe.then(resolve, reject);
    });
  }
  return await handler(event, context);
}
parentPort.on('message', async (msg) => {
  if (msg.type === 'warm') {
    const errors = [];
    for (const name of msg.names) {
      try { load(name); } catch (err) { errors.push({ name, error: String(err && err.message || err) }); }
    }
    parentPort.postMessage({ id: msg.id, ok: true, result: errors });
    return;
  }
  try {
    const result = await invoke(msg.name, msg.event, msg.timeoutMs);
    parentPort.postMessage({ id: msg.id, ok: true, result: result === undefined ? undefined : JSON.parse(JSON.stringify(result)) });
  } catch (err) {
    parentPort.postMessage({ id: msg.id, ok: false, error: errorOf(err) });
  }
});
`;

interface Reply {
  id: number;
  ok: boolean;
  result?: unknown;
  error?: { errorType: string; errorMessage: string; stack?: string };
}

interface Pending {
  name: string;
  slot: Slot;
  timer?: NodeJS.Timeout;
  resolve(value: unknown): void;
  reject(err: Error): void;
}

/** One worker thread (like one warm Lambda instance), replaced on its next use after it died. */
interface Slot {
  worker?: Worker;
  inflight: number;
}

export function startHandlerRuntime(options: HandlerRuntimeOptions): HandlerRuntime {
  const output = options.output ?? 'inherit';
  const pending = new Map<number, Pending>();
  const slots: Slot[] = Array.from({ length: Math.max(1, Math.floor(options.workers ?? 1)) }, () => ({ inflight: 0 }));
  let nextId = 0;
  let closed = false;

  function settle(id: number): Pending | undefined {
    const p = pending.get(id);
    if (!p) return undefined;
    pending.delete(id);
    clearTimeout(p.timer);
    p.slot.inflight--;
    return p;
  }

  function failSlot(slot: Slot, err: Error): void {
    for (const [id, p] of pending) {
      if (p.slot !== slot) continue;
      settle(id);
      p.reject(new HandlerError(p.name, 'Runtime.ExitError', err.message));
    }
  }

  function spawn(slot: Slot): Worker {
    const w = new Worker(WORKER_SOURCE, {
      eval: true,
      env: options.env,
      workerData: { handlersDir: options.handlersDir },
      stdout: output !== 'inherit',
      stderr: output !== 'inherit',
    });
    if (output === 'ignore') {
      w.stdout.resume();
      w.stderr.resume();
    } else if (typeof output === 'function') {
      forwardLines(w.stdout, (line) => output(line, 'stdout'));
      forwardLines(w.stderr, (line) => output(line, 'stderr'));
    }
    w.on('message', (reply: Reply) => {
      const p = settle(reply.id);
      if (!p) return;
      if (reply.ok) p.resolve(reply.result);
      else p.reject(new HandlerError(p.name, reply.error!.errorType, reply.error!.errorMessage, reply.error!.stack));
    });
    const dead = (err: Error) => {
      if (slot.worker === w) slot.worker = undefined;
      failSlot(slot, err);
    };
    w.on('error', dead);
    w.on('exit', (code) => dead(new Error(`handler runtime exited with code ${code}`)));
    return w;
  }

  function send(name: string, message: Record<string, unknown>, slot: Slot, timeoutMs?: number): Promise<unknown> {
    if (closed) return Promise.reject(new HandlerError(name, 'Runtime.Closed', 'the gateway is shutting down'));
    slot.worker ??= spawn(slot);
    const worker = slot.worker;
    const id = ++nextId;
    return new Promise((resolve, reject) => {
      const entry: Pending = { name, slot, resolve, reject };
      if (timeoutMs !== undefined) {
        entry.timer = setTimeout(() => {
          if (settle(id)) reject(new HandlerError(name, 'Runtime.Timeout', `Task timed out after ${(timeoutMs / 1000).toFixed(2)} seconds`));
        }, timeoutMs);
      }
      pending.set(id, entry);
      slot.inflight++;
      worker.postMessage({ ...message, id });
    });
  }

  /** The least busy worker. */
  function pick(): Slot {
    return slots.reduce((best, slot) => (slot.inflight < best.inflight ? slot : best));
  }

  return {
    invoke(name, event) {
      return send(name, { type: 'invoke', name, event, timeoutMs: options.timeoutMs }, pick(), options.timeoutMs);
    },
    async warm(names) {
      const results = await Promise.all(slots.map((slot) => send('warm', { type: 'warm', names }, slot)));
      return (results[0] ?? []) as Array<{ name: string; error: string }>;
    },
    async close() {
      closed = true;
      await Promise.all(
        slots.map(async (slot) => {
          const w = slot.worker;
          slot.worker = undefined;
          if (w) await w.terminate();
          failSlot(slot, new Error('handler runtime closed'));
        }),
      );
    },
  };
}

function forwardLines(stream: NodeJS.ReadableStream, onLine: (line: string) => void): void {
  let buffered = '';
  stream.setEncoding('utf8');
  stream.on('data', (chunk: string) => {
    buffered += chunk;
    let index: number;
    while ((index = buffered.indexOf('\n')) >= 0) {
      onLine(buffered.slice(0, index));
      buffered = buffered.slice(index + 1);
    }
  });
  stream.on('end', () => {
    if (buffered) onLine(buffered);
  });
}
