import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { readRouteConfig, requireSetting, type Env, type RouteConfig } from './config';
import { createLogger, type Logger } from './log';
import { ENV } from '../../shared/contract';

/** What every route handler needs. */
export interface RouteDeps {
  readonly config: RouteConfig;
  readonly dynamo: DynamoDBClient;
  readonly log: Logger;
  /** @default Date.now */
  readonly now?: () => number;
}

/**
 * Route dependencies from the environment, built once per cold start. The DynamoDB client takes its endpoint
 * from the SDK's own resolution (`AWS_ENDPOINT_URL_DYNAMODB` locally).
 */
export function routeDepsFromEnv(env: Env = process.env, log: Logger = createLogger()): RouteDeps {
  const config = readRouteConfig(env);
  requireSetting(config.tableName, ENV.connectionsTable);
  const dynamo = new DynamoDBClient({
    // A socket silently dropped while the Lambda was frozen must fail fast (and be retried by the SDK), not hang
    // the Query or a 410 delete until the function times out; one socket per fan-out worker.
    requestHandler: {
      connectionTimeout: 1000,
      requestTimeout: 3000,
      throwOnRequestTimeout: true,
      httpAgent: { keepAlive: true, maxSockets: config.fanoutConcurrency },
      httpsAgent: { keepAlive: true, maxSockets: config.fanoutConcurrency },
    },
  });
  return { config, dynamo, log };
}
