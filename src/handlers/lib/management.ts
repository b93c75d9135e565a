import { Agent as HttpAgent } from 'node:http';
import { Agent as HttpsAgent } from 'node:https';
import { ApiGatewayManagementApiClient } from '@aws-sdk/client-apigatewaymanagementapi';
import { NodeHttpHandler } from '@smithy/node-http-handler';

export interface ManagementClientOptions {
  /** `https://{apiId}.execute-api.{region}.{urlSuffix}/{stage}` (the stage path included). */
  readonly endpoint: string;
  /** Sockets per origin: match the fan-out concurrency. */
  readonly maxSockets: number;
  /** Deadline of one request attempt, in milliseconds. */
  readonly timeoutMs: number;
  /** @default - the SDK's region resolution (`AWS_REGION`) */
  readonly region?: string;
}

/**
 * An `@connections` client for posting to connections: keep-alive agents whose `maxSockets` matches the fan-out
 * concurrency, a per-request timeout, and no SDK retries (the caller retries with its own policy, so a post is
 * never retried twice over).
 */
export function createManagementClient(options: ManagementClientOptions): ApiGatewayManagementApiClient {
  const agentOptions = { keepAlive: true, maxSockets: options.maxSockets };
  return new ApiGatewayManagementApiClient({
    endpoint: options.endpoint,
    ...(options.region ? { region: options.region } : {}),
    maxAttempts: 1,
    requestHandler: new NodeHttpHandler({
      httpAgent: new HttpAgent(agentOptions),
      httpsAgent: new HttpsAgent(agentOptions),
      connectionTimeout: options.timeoutMs,
      requestTimeout: options.timeoutMs,
      throwOnRequestTimeout: true,
    }),
  });
}
