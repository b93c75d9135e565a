import { randomUUID } from 'node:crypto';
import { Worker } from 'node:worker_threads';
import { ESM_RESOLVE_HOOK, WORKER_SOURCE } from './lambda-worker';

/**
 * Lambda's execution model on one machine.
 *
 * - Each function runs in **execution environments**: worker threads, each with its own module scope and
 *   `process.env` (the function's environment only), loading that one function's code as Lambda's Node.js runtime
 *   does (`file.export`, `.js` / `.mjs` / `.cjs`).
 * - An environment runs **one invocation at a time**. Under load more environments start (a cold start each), up to
 *   a cap per function and a global cap; beyond them invocations **queue** (FIFO per function; across functions,
 *   the oldest waiting invocation gets the next free slot, taking it from another function's idle environment if
 *   it must). A deployed Lambda would not queue a synchronous invoke: it throttles it (429, and the construct
 *   alarms on `Throttles`).
 * - An invocation's **timeout counts from its start** (when the handler is called: not its time in the queue, not
 *   the init phase, which has Lambda's own 10 s). A timed-out invocation's environment is terminated, as Lambda
 *   does: the next invocation gets a fresh one (a cold start). So is an environment whose code crashed (an uncaught
 *   exception, `process.exit`).
 * - Idle environments are stopped after a while (Lambda reclaims them too).
 */

/** A function, ready to run: everything resolved. */
export interface RuntimeFunction {
  readonly name: string;
  /** Directory of the code (`LAMBDA_TASK_ROOT`). */
  readonly codeDir: string;
  /** Lambda's `Handler`: `file.export`. */
  readonly handler: string;
  /** The complete `process.env` of its environments. */
  readonly env: Readonly<Record<string, string>>;
  readonly timeoutMs: number;
  /** Where bare module names its code cannot resolve are looked up next (e.g. the app's node_modules). */
  readonly resolvePaths?: readonly string[];
  /** `context.invokedFunctionArn`. */
  readonly arn: string;
  /** `context.memoryLimitInMB`. @default 128 */
  readonly memoryMb?: number;
}

export type HandlerOutput = 'inherit' | 'ignore' | ((line: string, stream: 'stdout' | 'stderr', functionName: string) => void);

/** Execution environments of all functions together, by default. */
export const DEFAULT_MAX_ENVIRONMENTS = 32;
/** Execution environments of one function, by default. */
export const DEFAULT_MAX_ENVIRONMENTS_PER_FUNCTION = 8;
/** An environment idle this long is stopped, by default. */
export const DEFAULT_IDLE_ENVIRONMENT_MS = 5 * 60 * 1000;
/** Lambda's limit on the init phase (loading the code). */
export const INIT_TIMEOUT_MS = 10_000;

export interface LambdaRuntimeOptions {
  readonly functions: readonly RuntimeFunction[];
  /** Where the functions' console output goes. @default 'inherit' */
  readonly output?: HandlerOutput;
  /** Environments of all functions together. @default 32 */
  readonly maxEnvironments?: number;
  /** Environments of one function. @default 8 (and at most `maxEnvironments`) */
  readonly maxEnvironmentsPerFunction?: number;
  /** Stop an environment after this long without an invocation. @default 300000 (5 minutes) */
  readonly idleEnvironmentMs?: number;
  /** @default 10000 */
  readonly initTimeoutMs?: number;
}

/** An error a function threw (or returned through its callback), or a runtime failure, as Lambda reports it. */
export class HandlerError extends Error {
  constructor(
    readonly handler: string,
    readonly errorType: string,
    message: string,
    readonly trace: readonly string[] = [],
  ) {
    super(message);
    this.name = 'HandlerError';
  }

  /** Lambda's error payload: `{errorType, errorMessage, trace}`. */
  toPayload(): { errorType: string; errorMessage: string; trace: string[] } {
    return { errorType: this.errorType, errorMessage: this.message, trace: [...this.trace] };
  }
}

export interface FunctionStats {
  environments: number;
  busy: number;
  queued: number;
  invocations: number;
  coldStarts: number;
  /** Invocations that had to wait in the queue (a deployed Lambda would have throttled them). */
  queuedTotal: number;
  /** The longest the queue got. */
  maxQueued: number;
  timeouts: number;
}

export interface RuntimeStats {
  /** The caps. */
  maxEnvironments: number;
  maxEnvironmentsPerFunction: number;
  environments: number;
  busy: number;
  queued: number;
  byFunction: Record<string, FunctionStats>;
}

export interface LambdaRuntime {
  readonly maxEnvironments: number;
  readonly maxEnvironmentsPerFunction: number;
  /** Whether a function of this name exists. */
  has(name: string): boolean;
  /** Runs one invocation; rejects with a {@link HandlerError}. */
  invoke(name: string, event: unknown, options?: { readonly requestId?: string }): Promise<unknown>;
  /** Starts one environment per function (up to the global cap) and loads its code; returns the load errors. */
  warm(names?: readonly string[]): Promise<Array<{ name: string; error: string }>>;
  stats(): RuntimeStats;
  /** Stops every environment; queued and running invocations fail. */
  close(): Promise<void>;
}

interface Pending {
  readonly id: number;
  readonly seq: number;
  readonly fn: FunctionState;
  readonly event: unknown;
  readonly requestId: string;
  readonly resolve: (value: unknown) => void;
  readonly reject: (err: Error) => void;
  timer?: NodeJS.Timeout;
}

interface Environment {
  readonly id: number;
  readonly fn: FunctionState;
  readonly worker: Worker;
  current?: Pending;
  lastUsed: number;
  dead: boolean;
  /** A warm-up waiting for the code to load. */
  warming?: { resolve: (error?: string) => void; timer: NodeJS.Timeout };
}

interface FunctionState {
  readonly def: RuntimeFunction;
  readonly envs: Set<Environment>;
  /** Idle environments; the most recently used last (reused first, so the others can be reaped). */
  readonly idle: Environment[];
  readonly queue: Pending[];
  readonly stats: FunctionStats;
}

let logStreamCounter = 0;

export function startLambdaRuntime(options: LambdaRuntimeOptions): LambdaRuntime {
  const output = options.output ?? 'inherit';
  const maxEnvironments = Math.max(1, Math.floor(options.maxEnvironments ?? DEFAULT_MAX_ENVIRONMENTS));
  const maxPerFunction = Math.min(
    maxEnvironments,
    Math.max(1, Math.floor(options.maxEnvironmentsPerFunction ?? DEFAULT_MAX_ENVIRONMENTS_PER_FUNCTION)),
  );
  const idleMs = options.idleEnvironmentMs ?? DEFAULT_IDLE_ENVIRONMENT_MS;
  const initTimeoutMs = options.initTimeoutMs ?? INIT_TIMEOUT_MS;
  const functions = new Map<string, FunctionState>();
  for (const def of options.functions) {
    if (functions.has(def.name)) throw new Error(`two functions are named ${def.name}`);
    functions.set(def.name, {
      def,
      envs: new Set(),
      idle: [],
      queue: [],
      stats: { environments: 0, busy: 0, queued: 0, invocations: 0, coldStarts: 0, queuedTotal: 0, maxQueued: 0, timeouts: 0 },
    });
  }
  let totalEnvs = 0;
  let nextId = 0;
  let nextEnvId = 0;
  let closed = false;

  const reaper = setInterval(() => {
    const now = Date.now();
    for (const fn of functions.values()) {
      for (const env of [...fn.idle]) if (now - env.lastUsed >= idleMs) stop(env);
    }
  }, Math.max(10, Math.min(idleMs / 2, 30_000)));
  reaper.unref();

  function spawn(fn: FunctionState): Environment {
    const def = fn.def;
    const worker = new Worker(WORKER_SOURCE, {
      eval: true,
      env: { ...def.env },
      workerData: {
        codeDir: def.codeDir,
        handler: def.handler,
        functionName: def.name,
        functionArn: def.arn,
        memoryMb: def.memoryMb ?? 128,
        logStreamName: `local/[$LATEST]${(++logStreamCounter).toString(16).padStart(8, '0')}`,
        resolvePaths: def.resolvePaths ?? [],
        esmHook: ESM_RESOLVE_HOOK,
      },
      stdout: output !== 'inherit',
      stderr: output !== 'inherit',
    });
    if (output === 'ignore') {
      worker.stdout.resume();
      worker.stderr.resume();
    } else if (typeof output === 'function') {
      forwardLines(worker.stdout, (line) => output(line, 'stdout', def.name));
      forwardLines(worker.stderr, (line) => output(line, 'stderr', def.name));
    }
    const env: Environment = { id: ++nextEnvId, fn, worker, lastUsed: Date.now(), dead: false };
    fn.envs.add(env);
    totalEnvs++;
    fn.stats.environments = fn.envs.size;
    fn.stats.coldStarts++;
    worker.on('message', (msg: WorkerMessage) => onMessage(env, msg));
    worker.on('error', (err) => die(env, `Runtime exited with error: ${err.message}`));
    worker.on('exit', (code) => die(env, `Runtime exited with error: exit status ${code}`));
    return env;
  }

  function onMessage(env: Environment, msg: WorkerMessage): void {
    if (env.dead) return;
    switch (msg.type) {
      case 'ready':
      case 'initError': {
        const warming = env.warming;
        env.warming = undefined;
        if (warming) {
          clearTimeout(warming.timer);
          warming.resolve(msg.type === 'initError' ? `${msg.error.errorType}: ${msg.error.errorMessage}` : undefined);
        }
        if (msg.type === 'initError') stop(env);
        else release(env);
        return;
      }
      case 'start': {
        const p = env.current;
        if (!p || p.id !== msg.id) return;
        clearTimeout(p.timer);
        const timeoutMs = p.fn.def.timeoutMs;
        const timer: NodeJS.Timeout = deadline(timeoutMs, () => env.current === p && p.timer === timer, () => {
          p.fn.stats.timeouts++;
          finish(env, p);
          p.reject(new HandlerError(p.fn.def.name, 'Sandbox.Timedout', `Task timed out after ${(timeoutMs / 1000).toFixed(2)} seconds`));
          // Lambda stops the environment of a timed-out invocation: the next one starts fresh.
          stop(env);
        });
        p.timer = timer;
        return;
      }
      case 'result': {
        const p = env.current;
        if (!p || p.id !== msg.id) return;
        finish(env, p);
        if (msg.ok) {
          p.resolve(msg.result);
          release(env);
        } else {
          p.reject(new HandlerError(p.fn.def.name, msg.error.errorType, msg.error.errorMessage, msg.error.trace));
          // A failed init leaves no usable environment (Lambda runs init again next time).
          if (msg.phase === 'init') stop(env);
          else release(env);
        }
        return;
      }
    }
  }

  function finish(env: Environment, p: Pending): void {
    clearTimeout(p.timer);
    env.current = undefined;
    env.lastUsed = Date.now();
    env.fn.stats.busy--;
  }

  /** An environment is free again: it takes its function's next invocation, or waits idle. */
  function release(env: Environment): void {
    if (env.dead) return;
    if (closed) return stop(env);
    env.fn.idle.push(env);
    pump();
  }

  function die(env: Environment, message: string): void {
    if (env.dead) return;
    remove(env);
    const p = env.current;
    if (p) {
      finish(env, p);
      p.reject(new HandlerError(p.fn.def.name, 'Runtime.ExitError', message));
    }
    if (env.warming) {
      clearTimeout(env.warming.timer);
      env.warming.resolve(message);
      env.warming = undefined;
    }
    pump();
  }

  function remove(env: Environment): void {
    env.dead = true;
    const fn = env.fn;
    fn.envs.delete(env);
    const index = fn.idle.indexOf(env);
    if (index >= 0) fn.idle.splice(index, 1);
    totalEnvs--;
    fn.stats.environments = fn.envs.size;
  }

  /** Terminates an environment (timed out, failed init, idle, evicted, or the runtime closing). */
  function stop(env: Environment): void {
    if (env.dead) return;
    remove(env);
    if (env.warming) {
      clearTimeout(env.warming.timer);
      env.warming.resolve('stopped');
      env.warming = undefined;
    }
    void env.worker.terminate().catch(() => undefined);
    if (!closed) pump();
  }

  function dispatch(env: Environment, p: Pending): void {
    env.current = p;
    env.lastUsed = Date.now();
    p.fn.stats.busy++;
    p.fn.stats.invocations++;
    // Until the handler starts, the init phase runs (a cold start): Lambda's 10 s limit.
    const timer: NodeJS.Timeout = deadline(initTimeoutMs, () => env.current === p && p.timer === timer, () => {
      finish(env, p);
      p.reject(new HandlerError(p.fn.def.name, 'Runtime.InitTimeout', `INIT phase exceeded ${(initTimeoutMs / 1000).toFixed(0)} seconds`));
      stop(env);
    });
    p.timer = timer;
    env.worker.postMessage({ type: 'invoke', id: p.id, event: p.event, requestId: p.requestId, timeoutMs: p.fn.def.timeoutMs });
  }

  /** The oldest idle environment of any function but `except`, stopped to make room. */
  function evictIdle(except: FunctionState): boolean {
    let oldest: Environment | undefined;
    for (const fn of functions.values()) {
      if (fn === except) continue;
      for (const env of fn.idle) if (!oldest || env.lastUsed < oldest.lastUsed) oldest = env;
    }
    if (!oldest) return false;
    remove(oldest);
    void oldest.worker.terminate().catch(() => undefined);
    return true;
  }

  let pumping = false;
  /** Starts what can start: queued invocations on idle environments, or on new ones within the caps. */
  function pump(): void {
    if (pumping || closed) return;
    pumping = true;
    try {
      const waiting = [...functions.values()].filter((fn) => fn.queue.length > 0).sort((a, b) => a.queue[0].seq - b.queue[0].seq);
      for (const fn of waiting) {
        while (fn.queue.length > 0) {
          let env = fn.idle.pop();
          if (!env) {
            if (fn.envs.size >= maxPerFunction) break;
            if (totalEnvs >= maxEnvironments && !evictIdle(fn)) break;
            env = spawn(fn);
          }
          dispatch(env, fn.queue.shift()!);
        }
        fn.stats.queued = fn.queue.length;
      }
    } finally {
      pumping = false;
    }
  }

  function warmOne(fn: FunctionState): Promise<string | undefined> {
    if (fn.envs.size > 0 || totalEnvs >= maxEnvironments) return Promise.resolve(undefined);
    const env = spawn(fn);
    return new Promise((resolve) => {
      const warming: NonNullable<Environment['warming']> = {
        resolve,
        timer: deadline(initTimeoutMs, () => env.warming === warming, () => {
          env.warming = undefined;
          resolve(`INIT phase exceeded ${(initTimeoutMs / 1000).toFixed(0)} seconds`);
          stop(env);
        }),
      };
      env.warming = warming;
      env.worker.postMessage({ type: 'init' });
    });
  }

  return {
    maxEnvironments,
    maxEnvironmentsPerFunction: maxPerFunction,
    has: (name) => functions.has(name),
    invoke(name, event, invokeOptions) {
      const fn = functions.get(name);
      if (!fn) return Promise.reject(new HandlerError(name, 'ResourceNotFoundException', `Function not found: ${name}`));
      if (closed) return Promise.reject(new HandlerError(name, 'Runtime.Closed', 'the gateway is shutting down'));
      return new Promise((resolve, reject) => {
        const id = ++nextId;
        const p: Pending = { id, seq: id, fn, event, requestId: invokeOptions?.requestId ?? randomUUID(), resolve, reject };
        fn.queue.push(p);
        pump();
        // Still queued (pump takes from the front; p was pushed last).
        if (fn.queue[fn.queue.length - 1] === p) {
          fn.stats.queuedTotal++;
          fn.stats.queued = fn.queue.length;
          fn.stats.maxQueued = Math.max(fn.stats.maxQueued, fn.queue.length);
        }
      });
    },
    async warm(names) {
      const selected = (names ?? [...functions.keys()]).map((name) => functions.get(name)).filter((fn): fn is FunctionState => !!fn);
      const errors = await Promise.all(selected.map(async (fn) => ({ name: fn.def.name, error: await warmOne(fn) })));
      return errors.filter((e): e is { name: string; error: string } => e.error !== undefined);
    },
    stats() {
      const byFunction: Record<string, FunctionStats> = {};
      let busy = 0;
      let queued = 0;
      for (const [name, fn] of functions) {
        byFunction[name] = { ...fn.stats };
        busy += fn.stats.busy;
        queued += fn.queue.length;
      }
      return { maxEnvironments, maxEnvironmentsPerFunction: maxPerFunction, environments: totalEnvs, busy, queued, byFunction };
    },
    async close() {
      if (closed) return;
      closed = true;
      clearInterval(reaper);
      const stopping: Array<Promise<unknown>> = [];
      for (const fn of functions.values()) {
        for (const p of fn.queue.splice(0)) p.reject(new HandlerError(fn.def.name, 'Runtime.Closed', 'the gateway is shutting down'));
        for (const env of [...fn.envs]) {
          const p = env.current;
          remove(env);
          if (p) {
            finish(env, p);
            p.reject(new HandlerError(fn.def.name, 'Runtime.Closed', 'the gateway is shutting down'));
          }
          if (env.warming) {
            clearTimeout(env.warming.timer);
            env.warming.resolve('the gateway is shutting down');
          }
          stopping.push(env.worker.terminate().catch(() => undefined));
        }
      }
      await Promise.all(stopping);
    },
  };
}

/**
 * A deadline: `expire` runs `ms` from now unless `pending()` is false by then. The verdict waits for one more turn
 * of the event loop after the timer fires. The deadlines are timers on the gateway's thread and the answers are
 * messages from the environments' threads; when the gateway's thread was stalled (a long GC pause, a loaded
 * machine), Node runs the timers that fell due before it reads the messages that arrived meanwhile. An answer that
 * came in time must still win, as it would in Lambda.
 */
function deadline(ms: number, pending: () => boolean, expire: () => void): NodeJS.Timeout {
  return setTimeout(() => {
    if (!pending()) return;
    // After the poll phase, which delivers the messages already waiting.
    setImmediate(() => {
      if (pending()) expire();
    });
  }, ms);
}

type WorkerError = { errorType: string; errorMessage: string; trace?: string[] };
type WorkerMessage =
  | { type: 'ready' }
  | { type: 'initError'; error: WorkerError }
  | { type: 'start'; id: number }
  | { type: 'result'; id: number; ok: true; result: unknown }
  | { type: 'result'; id: number; ok: false; phase: 'init' | 'invoke'; error: WorkerError };

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
