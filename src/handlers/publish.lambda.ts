import type { InvocationContext } from './lib/events';
import { publish, publishDepsFromEnv, type PublishDeps, type PublishResult } from './lib/publish';

let deps: PublishDeps | undefined;

/** `publish`: a backend pushes an event to a connection, a user or a room (see ./lib/publish.ts). */
export const handler = async (event: unknown, context?: InvocationContext): Promise<PublishResult> =>
  publish(event, (deps ??= publishDepsFromEnv()), context);
