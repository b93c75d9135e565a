/**
 * One cold start in a fresh process: load a handler bundle and handle one event. Prints
 * `{ loadMs, firstEventMs, coldInitMs }` (from the start of `require` to the handler's answer) as JSON.
 * The parent passes the bundle path, the event (JSON) and the handler's environment.
 */
import { performance } from 'node:perf_hooks';

type Handler = (event: unknown, context: unknown) => Promise<unknown>;

async function main(): Promise<void> {
  const event = JSON.parse(process.env.PROBE_EVENT!) as unknown;
  const context = { awsRequestId: 'probe', functionName: 'probe', getRemainingTimeInMillis: () => 10_000, callbackWaitsForEmptyEventLoop: true };
  const write = process.stdout.write.bind(process.stdout);
  (process.stdout as { write: unknown }).write = () => true; // the handler's own log lines
  const t0 = performance.now();
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { handler } = require(process.env.PROBE_BUNDLE!) as { handler: Handler };
  const t1 = performance.now();
  const result = await handler(event, context);
  const t2 = performance.now();
  (process.stdout as { write: unknown }).write = write;
  write(`${JSON.stringify({ loadMs: t1 - t0, firstEventMs: t2 - t1, coldInitMs: t2 - t0, result })}\n`);
}

main().then(
  () => process.exit(0),
  (err) => {
    process.stderr.write(`${(err as Error).stack}\n`);
    process.exit(1);
  },
);
