import { setLocalAwsEnv } from './aws-env';
import { ConnectionsServer } from './connections-server';
import { LOCAL_CREDENTIALS, startDynalite, type LocalDynamo } from './dynalite';
import { captureLog } from './log-capture';
import { readRouteConfig } from '../../src/handlers/lib/config';
import type { WebSocketRouteEvent } from '../../src/handlers/lib/events';
import { createManagementClient, type SignedConnectionsApi } from '../../src/handlers/lib/management';
import type { SendMessageDeps } from '../../src/handlers/lib/send-message';
import { MESSAGES_TABLE } from '../../src/shared/spec';

/** Handler dependencies plus the captured log. */
export type FixtureDeps = SendMessageDeps & { readonly logs: ReturnType<typeof captureLog> };

/** dynalite + a fake `@connections` endpoint + a management client pointed at it. */
export interface HandlerFixture {
  readonly dynamo: LocalDynamo;
  readonly server: ConnectionsServer;
  readonly management: SignedConnectionsApi;
  /**
   * Handler dependencies on fresh tables (connections, and messages unless `MESSAGES_TABLE` is given as '' : history
   * off), with an in-memory log.
   */
  deps(env?: Record<string, string>, overrides?: Partial<SendMessageDeps>): Promise<FixtureDeps>;
  close(): Promise<void>;
}

export async function startHandlerFixture(): Promise<HandlerFixture> {
  setLocalAwsEnv();
  const [dynamo, server] = await Promise.all([startDynalite(), ConnectionsServer.start('dev')]);
  const management = createManagementClient({ endpoint: server.endpoint, maxSockets: 10, region: 'us-east-1', credentials: async () => LOCAL_CREDENTIALS });
  return {
    dynamo,
    server,
    management,
    async deps(env = {}, overrides = {}) {
      const tableName = await dynamo.newTable();
      const messagesTable = env.MESSAGES_TABLE === '' ? '' : await dynamo.newTable('messages', MESSAGES_TABLE);
      const logs = captureLog();
      const config = readRouteConfig({
        CONNECTIONS_TABLE: tableName,
        MESSAGES_TABLE: messagesTable,
        MANAGEMENT_ENDPOINT: server.endpoint,
        POST_BACKOFF_BASE_MS: '1',
        ...env,
        ...(env.MESSAGES_TABLE === '' ? { MESSAGES_TABLE: '' } : {}),
      });
      return { config, dynamo: dynamo.client, management, log: logs.log, logs, ...overrides };
    },
    async close() {
      management.destroy();
      await Promise.all([server.close(), dynamo.close()]);
    },
  };
}

/** A route event as API Gateway sends it, with the authorizer context of `userId` / `roomId`. */
export function routeEvent(options: {
  readonly connectionId: string;
  readonly body?: string | null;
  readonly userId?: string;
  readonly roomId?: string;
  readonly routeKey?: string;
  readonly authorizer?: Record<string, unknown> | null;
  /** The rooms claim (JSON-encoded into the context as the authorizer does). */
  readonly rooms?: '*' | string[];
  readonly connectedAt?: number;
  readonly isBase64Encoded?: boolean;
}): WebSocketRouteEvent {
  return {
    body: options.body,
    isBase64Encoded: options.isBase64Encoded ?? false,
    requestContext: {
      connectionId: options.connectionId,
      ...(options.connectedAt !== undefined ? { connectedAt: options.connectedAt } : {}),
      routeKey: options.routeKey ?? 'sendMessage',
      apiId: 'api123',
      stage: 'dev',
      requestId: 'req-1',
      authorizer:
        options.authorizer !== undefined
          ? options.authorizer
          : {
            principalId: options.userId ?? 'alice',
            userId: options.userId ?? 'alice',
            ...(options.roomId !== undefined ? { roomId: options.roomId } : {}),
            ...(options.rooms !== undefined ? { rooms: JSON.stringify(options.rooms) } : {}),
            integrationLatency: 3,
          },
    },
  };
}
