/**
 * One Lambda execution environment, as a process: it loads a handler bundle at start (Lambda's INIT) and runs the
 * invocations its parent sends over IPC one at a time, as Lambda does. Each answer carries the result (or the
 * error, as Lambda reports an unhandled one), the handler's log lines, the invocation's wall and CPU time, and its
 * start and end (epoch ms, comparable across processes).
 *
 * The parent (./invoke-api.ts) sets the function's environment; `BENCH_BUNDLE` is the bundle to load.
 */
import { performance } from 'node:perf_hooks';

type Handler = (event: unknown, context: unknown) => Promise<unknown>;

export interface HostInvoke {
  readonly id: number;
  readonly requestId: string;
  readonly event: unknown;
  /** The function's timeout: `getRemainingTimeInMillis` counts down from it. */
  readonly timeoutMs: number;
}

export interface HostDone {
  readonly id: number;
  readonly ok: boolean;
  readonly result?: unknown;
  readonly error?: { readonly errorType: string; readonly errorMessage: string };
  readonly startedAt: number;
  readonly endedAt: number;
  readonly cpuMs: number;
  readonly logs: string[];
}

export interface HostReady {
  readonly ready: true;
  readonly initMs: number;
}

const epochMs = (): number => performance.timeOrigin + performance.now();

function main(): void {
  const t0 = performance.now();
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { handler } = require(process.env.BENCH_BUNDLE!) as { handler: Handler };
  process.send!({ ready: true, initMs: performance.now() - t0 } satisfies HostReady);

  let logs: string[] = [];
  // The handler's log lines (one JSON line per invocation) come back with its answer.
  (process.stdout as { write: unknown }).write = (chunk: string | Uint8Array): boolean => {
    logs.push(String(chunk));
    return true;
  };

  process.on('message', (m: HostInvoke | { exit: true }) => {
    if ('exit' in m) {
      // A normal exit: --cpu-prof writes its profile now.
      process.exit(0);
    }
    void run(m);
  });

  async function run(m: HostInvoke): Promise<void> {
    logs = [];
    const startedAt = epochMs();
    const deadline = startedAt + m.timeoutMs;
    const cpu0 = process.cpuUsage();
    const context = {
      awsRequestId: m.requestId,
      functionName: process.env.AWS_LAMBDA_FUNCTION_NAME ?? 'bench',
      getRemainingTimeInMillis: () => Math.max(0, Math.round(deadline - epochMs())),
      callbackWaitsForEmptyEventLoop: true,
    };
    let done: Omit<HostDone, 'startedAt' | 'endedAt' | 'cpuMs' | 'logs'>;
    try {
      done = { id: m.id, ok: true, result: await handler(m.event, context) };
    } catch (err) {
      const e = err as Error;
      done = { id: m.id, ok: false, error: { errorType: e?.name ?? 'Error', errorMessage: e?.message ?? String(err) } };
    }
    const cpu = process.cpuUsage(cpu0);
    const lines = logs.join('').split('\n').filter(Boolean);
    process.send!({ ...done, startedAt, endedAt: epochMs(), cpuMs: (cpu.user + cpu.system) / 1000, logs: lines } satisfies HostDone);
  }
}

process.on('disconnect', () => process.exit(0));
main();
