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
  return { config, dynamo: new DynamoDBClient({}), log };
}
