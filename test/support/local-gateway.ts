import * as path from 'node:path';
import { DynamoDBClient, ScanCommand, type AttributeValue } from '@aws-sdk/client-dynamodb';
import { startLocalGateway, type LocalGateway, type LocalGatewayOptions } from '../../src/local/gateway';
import { TABLE } from '../../src/shared/contract';

/** The fake handler bundles of the gateway's own tests. */
export const FIXTURE_HANDLERS = path.join(__dirname, '..', 'local', 'fixtures', 'handlers');

/** The real bundles (`npx projen bundle`). */
export const REAL_HANDLERS = path.join(__dirname, '..', '..', 'assets', 'handlers');

/** A gateway started for a test: port 0, quiet unless `LOCAL_GATEWAY_DEBUG` is set, plus table helpers. */
export interface TestGateway extends LocalGateway {
  /** The HS256 key (`''` when the gateway's auth mode is not hs256). */
  readonly secret: string;
  /** Gateway log lines so far. */
  readonly logs: string[];
  /** The functions' last 1,000 output lines (warnings and errors only), as `function: line`. */
  readonly handlerLogs: string[];
  readonly dynamo: DynamoDBClient;
  /** Every item of the connections table. */
  rows(): Promise<Array<Record<string, AttributeValue>>>;
  /** The connection item (`sk = "connection"`) of one connection, if any. */
  row(connectionId: string): Promise<Record<string, AttributeValue> | undefined>;
  /** Every item of one connection (its connection item and its room memberships). */
  items(connectionId: string): Promise<Array<Record<string, AttributeValue>>>;
}

export async function startTestGateway(options: LocalGatewayOptions = {}): Promise<TestGateway> {
  const debug = !!process.env.LOCAL_GATEWAY_DEBUG;
  const logs: string[] = [];
  const handlerLogs: string[] = [];
  const gateway = await startLocalGateway({
    port: 0,
    handlerOutput: debug
      ? 'inherit'
      : (line, _stream, functionName) => {
        // Kept for a failing test's message: what a function logged above info.
        if (!/"level":"(warn|error)"|Error/.test(line)) return;
        handlerLogs.push(`${functionName}: ${line}`);
        if (handlerLogs.length > 1000) handlerLogs.shift();
      },
    log: (line) => {
      logs.push(line);
      if (debug) process.stderr.write(`[gateway] ${line}\n`);
    },
    ...options,
  });
  const dynamo = new DynamoDBClient({
    endpoint: gateway.dynamoEndpoint,
    region: 'us-east-1',
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
  });
  const rows = async () => {
    const items: Array<Record<string, AttributeValue>> = [];
    let start: Record<string, AttributeValue> | undefined;
    do {
      const page = await dynamo.send(new ScanCommand({ TableName: gateway.tableName, ExclusiveStartKey: start }));
      items.push(...(page.Items ?? []));
      start = page.LastEvaluatedKey;
    } while (start);
    return items;
  };
  const items = async (connectionId: string) => (await rows()).filter((item) => item[TABLE.partitionKey]?.S === connectionId);
  return Object.assign(Object.create(null) as object, gateway, {
    secret: gateway.secret ?? '',
    logs,
    handlerLogs,
    dynamo,
    rows,
    items,
    async row(connectionId: string) {
      return (await items(connectionId)).find((item) => item[TABLE.sortKey]?.S === TABLE.connectionSk || item[TABLE.sortKey] === undefined);
    },
    async close() {
      dynamo.destroy();
      await gateway.close();
    },
  }) as TestGateway;
}
