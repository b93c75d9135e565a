import { setLocalAwsEnv } from './aws-env';
import { ConnectionsServer } from './connections-server';
import { seedConnections, type SeedRow } from './connections-table';
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
  /**
   * Handler dependencies whose clock stands at `nowMs`, with `rows` seeded (a connection's items live an hour past
   * `nowMs` unless the row says otherwise).
   */
  depsAt(nowMs: number, rows?: readonly SeedRow[], env?: Record<string, string>): Promise<FixtureDeps>;
  /** Seeds `rows` into the connections table of `deps`, their items living an hour past `nowMs` unless a row says otherwise. */
  seed(deps: FixtureDeps, rows: readonly SeedRow[], nowMs: number): Promise<void>;
  close(): Promise<void>;
}

export async function startHandlerFixture(): Promise<HandlerFixture> {
  setLocalAwsEnv();
  const [dynamo, server] = await Promise.all([startDynalite(), ConnectionsServer.start('dev')]);
  const management = createManagementClient({ endpoint: server.endpoint, maxSockets: 10, region: 'us-east-1', credentials: async () => LOCAL_CREDENTIALS });
  const fixture: HandlerFixture = {
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
    async depsAt(nowMs, rows = [], env = {}) {
      const deps = await fixture.deps(env, { now: () => nowMs });
      await fixture.seed(deps, rows, nowMs);
      return deps;
    },
    seed(deps, rows, nowMs) {
      return seedConnections(dynamo.client, deps.config.tableName, rows.map((r) => ({ ttl: Math.floor(nowMs / 1000) + 3600, ...r })));
    },
    async close() {
      management.destroy();
      await Promise.all([server.close(), dynamo.close()]);
    },
  };
  return fixture;
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
