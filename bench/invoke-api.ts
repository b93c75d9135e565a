/**
 * A small stand-in for Lambda: named functions (a bundle and its environment), each run in execution environments
 * that are processes (./lambda-host.ts), one invocation per process at a time, as Lambda runs them. An invocation
 * takes an idle environment of its function or starts a new one (a cold start: process start and the bundle's
 * INIT), up to the function's concurrency. Environments are kept between invocations, as Lambda keeps them warm.
 *
 * It serves Lambda's Invoke API on loopback (`POST /2015-03-31/functions/{name}/invocations`): `Event` invocations
 * are answered 202 at once and run in the background (the fan-out workers a broadcast starts through
 * `AWS_ENDPOINT_URL_LAMBDA`); `RequestResponse` ones answer the result, or `X-Amz-Function-Error: Unhandled` with
 * `{errorType, errorMessage}`. Signatures are not checked. A failed asynchronous invocation is retried twice, as Lambda
 * retries one (after `asyncRetryDelayMs`: a second here, about a minute in Lambda); every attempt is recorded.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { performance } from 'node:perf_hooks';
import type { HostDone, HostInvoke, HostReady } from './lambda-host';

export interface FunctionDef {
  readonly name: string;
  readonly bundle: string;
  readonly env: Record<string, string>;
  /** Lambda's timeout, in milliseconds. */
  readonly timeoutMs: number;
  /** Most environments at once. @default 64 */
  readonly maxConcurrency?: number;
  /** Node flags of its environments (e.g. `--cpu-prof`). */
  readonly execArgv?: readonly string[];
}

export interface InvocationRecord {
  readonly functionName: string;
  readonly requestId: string;
  readonly async: boolean;
  /** The environment was started for this invocation. */
  readonly cold: boolean;
  /** Epoch ms the invocation was asked for, it started running and it ended. */
  readonly requestedAt: number;
  readonly startedAt: number;
  readonly endedAt: number;
  /** INIT of a cold environment (loading the bundle), ms. */
  readonly initMs: number;
  readonly cpuMs: number;
  readonly ok: boolean;
  readonly result?: unknown;
  readonly error?: { readonly errorType: string; readonly errorMessage: string };
  readonly logs: string[];
  readonly pid: number;
}

interface Host {
  readonly child: ChildProcess;
  readonly ready: Promise<number>;
  readonly pending: Map<number, (done: HostDone) => void>;
}

interface FunctionState {
  readonly def: FunctionDef;
  readonly idle: Host[];
  readonly all: Host[];
  readonly waiting: Array<(host: Host) => void>;
}

const epochMs = (): number => performance.timeOrigin + performance.now();
const HOST = __filename.replace(/[^/\\]+$/, 'lambda-host.js');

export class LambdaPool {
  private readonly functions = new Map<string, FunctionState>();
  private readonly inFlight = new Set<Promise<unknown>>();
  private server?: http.Server;
  private nextId = 1;
  /** Delay before Lambda's retries of a failed asynchronous invocation (two of them). */
  public asyncRetryDelayMs = 1000;
  /** Every invocation since the last {@link takeRecords}. */
  private records: InvocationRecord[] = [];
  public url = '';

  /** Defines (or redefines) a function; its warm environments are kept when nothing changed. */
  define(def: FunctionDef): void {
    const old = this.functions.get(def.name);
    if (old && JSON.stringify(old.def) === JSON.stringify(def)) return;
    if (old) for (const host of old.all) host.child.kill();
    this.functions.set(def.name, { def, idle: [], all: [], waiting: [] });
  }

  /** Starts `count` environments of a function ahead of its invocations (they are then warm). */
  async prewarm(name: string, count: number): Promise<void> {
    const fn = this.fn(name);
    const started: Host[] = [];
    while (fn.all.length < count) started.push(this.spawn(fn));
    await Promise.all(started.map((h) => h.ready));
    fn.idle.push(...started);
  }

  /** Stops every environment of a function (the next invocation is cold). */
  async stop(name: string): Promise<void> {
    const fn = this.fn(name);
    await Promise.all(fn.all.map((host) => new Promise<void>((resolve) => {
      if (host.child.exitCode !== null) return resolve();
      host.child.once('exit', () => resolve());
      host.child.send({ exit: true });
    })));
    fn.all.length = 0;
    fn.idle.length = 0;
  }

  /** The pids of a function's environments. */
  pids(name: string): number[] {
    return this.fn(name).all.map((h) => h.child.pid!);
  }

  environments(name: string): number {
    return this.fn(name).all.length;
  }

  async invoke(name: string, event: unknown, async = false): Promise<InvocationRecord> {
    const fn = this.fn(name);
    const requestedAt = epochMs();
    let cold = false;
    let host = fn.idle.pop();
    if (!host) {
      if (fn.all.length < (fn.def.maxConcurrency ?? 64)) {
        host = this.spawn(fn);
        cold = true;
      } else {
        host = await new Promise<Host>((resolve) => fn.waiting.push(resolve));
      }
    }
    const initMs = cold ? await host.ready : 0;
    const id = this.nextId++;
    const requestId = randomUUID();
    const done = await new Promise<HostDone>((resolve) => {
      host.pending.set(id, resolve);
      host.child.send({ id, requestId, event, timeoutMs: fn.def.timeoutMs } satisfies HostInvoke);
    });
    const waiter = fn.waiting.shift();
    if (waiter) waiter(host);
    else fn.idle.push(host);
    const record: InvocationRecord = {
      functionName: name,
      requestId,
      async,
      cold,
      requestedAt,
      startedAt: done.startedAt,
      endedAt: done.endedAt,
      initMs,
      cpuMs: done.cpuMs,
      ok: done.ok,
      result: done.result,
      error: done.error,
      logs: done.logs,
      pid: host.child.pid!,
    };
    this.records.push(record);
    return record;
  }

  /** Resolves once every background (`Event`) invocation has ended, those they started included. */
  async settled(): Promise<void> {
    while (this.inFlight.size > 0) await Promise.all([...this.inFlight]);
  }

  takeRecords(): InvocationRecord[] {
    const records = this.records;
    this.records = [];
    return records;
  }

  async listen(): Promise<string> {
    this.server = http.createServer((req, res) => this.serve(req, res));
    this.server.keepAliveTimeout = 60_000;
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
    return this.url;
  }

  async close(): Promise<void> {
    await Promise.all([...this.functions.keys()].map((name) => this.stop(name)));
    if (this.server) await new Promise<void>((resolve) => this.server!.close(() => resolve()));
  }

  private fn(name: string): FunctionState {
    const fn = this.functions.get(name);
    if (!fn) throw new Error(`no function ${name}`);
    return fn;
  }

  private spawn(fn: FunctionState): Host {
    const child = fork(HOST, [], {
      env: { ...process.env, ...fn.def.env, BENCH_BUNDLE: fn.def.bundle, AWS_LAMBDA_FUNCTION_NAME: fn.def.name },
      execArgv: [...(fn.def.execArgv ?? [])],
      stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
    });
    const pending = new Map<number, (done: HostDone) => void>();
    const ready = new Promise<number>((resolve, reject) => {
      child.once('message', (m: HostReady) => resolve(m.initMs));
      child.once('exit', (code) => reject(new Error(`environment of ${fn.def.name} exited ${code} before it was ready`)));
    });
    child.on('message', (m: HostDone | HostReady) => {
      if ('id' in m) {
        const resolve = pending.get(m.id);
        pending.delete(m.id);
        resolve?.(m);
      }
    });
    child.on('exit', (code) => {
      for (const [id, resolve] of pending) {
        resolve({ id, ok: false, error: { errorType: 'Runtime.ExitError', errorMessage: `exited ${code}` }, startedAt: 0, endedAt: epochMs(), cpuMs: 0, logs: [] });
      }
      pending.clear();
    });
    const host: Host = { child, ready, pending };
    fn.all.push(host);
    return host;
  }

  private serve(req: http.IncomingMessage, res: http.ServerResponse): void {
    const match = /^\/2015-03-31\/functions\/([^/]+)\/invocations$/.exec(new URL(req.url ?? '/', 'http://x').pathname);
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const name = match ? decodeURIComponent(match[1]).replace(/^arn:.*:function:([^:]+).*$/, '$1') : undefined;
      if (req.method !== 'POST' || !name || !this.functions.has(name)) {
        res.writeHead(404, { 'content-type': 'application/json', 'x-amzn-errortype': 'ResourceNotFoundException' })
          .end(JSON.stringify({ Type: 'User', message: `Function not found: ${name ?? req.url}` }));
        return;
      }
      const event = JSON.parse(Buffer.concat(chunks).toString('utf8') || 'null') as unknown;
      if (req.headers['x-amz-invocation-type'] === 'Event') {
        res.writeHead(202, { 'x-amzn-requestid': randomUUID() }).end();
        const running = (async () => {
          for (let attempt = 1; ; attempt++) {
            const record = await this.invoke(name, event, true);
            if (record.ok || attempt >= 3) return record;
            await new Promise((resolve) => setTimeout(resolve, this.asyncRetryDelayMs));
          }
        })();
        this.inFlight.add(running);
        void running.finally(() => this.inFlight.delete(running));
        return;
      }
      void this.invoke(name, event).then((record) => {
        const headers: Record<string, string> = { 'content-type': 'application/json', 'x-amzn-requestid': record.requestId };
        if (!record.ok) headers['x-amz-function-error'] = 'Unhandled';
        res.writeHead(200, headers).end(JSON.stringify(record.ok ? record.result ?? null : record.error));
      });
    });
  }
}
