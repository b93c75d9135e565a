import type { InvocationContext } from './events';
import { postingDepsFromEnv, type PostingDeps } from './posting-deps';

export type PublishDeps = PostingDeps;
export interface PublishResult { readonly delivered: number; readonly gone: number; readonly failed: number; readonly seq?: number }
export function publishDepsFromEnv(): PublishDeps {
  return postingDepsFromEnv();
}
export async function publish(_event: unknown, _deps: PublishDeps, _context?: InvocationContext): Promise<PublishResult> {
  throw new Error('publish: work in progress');
}
