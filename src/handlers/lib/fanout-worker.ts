import type { InvocationContext } from './events';
import type { PostingDeps } from './posting-deps';

export interface WorkerResult { readonly delivered: number; readonly gone: number; readonly failed: number }
export async function runFanoutWorker(_event: unknown, _deps: PostingDeps, _context?: InvocationContext): Promise<WorkerResult> {
  throw new Error('fanout-worker: work in progress');
}
