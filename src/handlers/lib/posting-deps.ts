import { requireSetting, type Env } from './config';
import type { PostPolicy, PostTarget, StatusPoster } from './delivery';
import { createLambdaInvoker, type AsyncInvoker } from './lambda-invoke';
import type { Logger } from './log';
import { createManagementClient } from './management';
import { routeDepsFromEnv, type RouteDeps } from './route-deps';
import { ENV } from '../../shared/contract';

/** What the routes that post to connections need. */
export interface PostingDeps extends RouteDeps {
  /** Posts to connections (`SignedConnectionsApi` by default). */
  readonly management: StatusPoster;
  /** Uniform random numbers for the backoff jitter. @default Math.random */
  readonly random?: () => number;
  /** @default a timer */
  readonly sleep?: (ms: number) => Promise<void>;
  /** Starts fan-out workers (asynchronous Lambda invokes); undefined = no sharding. */
  readonly invoker?: AsyncInvoker;
}

/** Route dependencies plus an `@connections` client for `MANAGEMENT_ENDPOINT`, built once per cold start. */
export function postingDepsFromEnv(env: Env = process.env, log?: Logger): PostingDeps {
  const deps = routeDepsFromEnv(env, log);
  const { config } = deps;
  const management = createManagementClient({
    endpoint: requireSetting(config.managementEndpoint, ENV.managementEndpoint),
    maxSockets: config.fanoutConcurrency,
    // The DynamoDB client's provider chain: the same credentials, resolved and refreshed once.
    credentials: () => deps.dynamo.config.credentials(),
  });
  const region = process.env.AWS_REGION;
  const invoker = config.fanoutWorkerFunction && region
    ? createLambdaInvoker({ region, credentials: () => deps.dynamo.config.credentials() })
    : undefined;
  return { ...deps, management, invoker };
}

/** Milliseconds kept in reserve before the Lambda's own timeout: no retry starts inside it. */
export const DEADLINE_RESERVE_MS = 1000;

/** The post policy of the configuration, bounded by the invocation's remaining time when known. */
export function postPolicyOf(deps: PostingDeps, remainingTimeMs?: number): PostPolicy {
  const now = deps.now ?? Date.now;
  return {
    maxAttempts: deps.config.postMaxAttempts,
    timeoutMs: deps.config.postTimeoutMs,
    backoffBaseMs: deps.config.postBackoffBaseMs,
    random: deps.random,
    sleep: deps.sleep,
    now,
    deadlineMs: remainingTimeMs === undefined ? undefined : now() + remainingTimeMs - DEADLINE_RESERVE_MS,
  };
}

/** The post target of the configuration. */
export function postTargetOf(deps: PostingDeps): PostTarget {
  return { management: deps.management, dynamo: deps.dynamo, tableName: deps.config.tableName };
}
