import type { InvocationContext } from './lib/events';
import { runFanoutWorker, type WorkerResult } from './lib/fanout-worker';
import { postingDepsFromEnv, type PostingDeps } from './lib/posting-deps';

let deps: PostingDeps | undefined;

/** The fan-out worker: delivers one shard range of a large room's broadcast (see ./lib/fanout-worker.ts). */
export const handler = async (event: unknown, context?: InvocationContext): Promise<WorkerResult> =>
  runFanoutWorker(event, (deps ??= postingDepsFromEnv()), context);
