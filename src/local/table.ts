import { request } from 'node:http';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { CONNECTIONS_TABLE, type TableSpec } from '../shared/spec';

/**
 * Creates the app's tables in the embedded DynamoDB from their `TableSpec` (the same spec the construct builds its
 * tables from): key schema, every global secondary index (projection ALL), PAY_PER_REQUEST. TTL is not enabled:
 * dynalite has no TTL API (`UpdateTimeToLive`), and every read filters `ttl > now` anyway. Idempotent: an existing
 * table (e.g. in a `--persist` directory) is left as it is.
 *
 * It speaks DynamoDB's JSON protocol directly (two operations, to a local server that checks no signatures) rather
 * than through the AWS SDK, which would be most of the CLI bundle's weight.
 */

/** One DynamoDB API call: the operation (`CreateTable`) and its JSON input; resolves with the JSON output. */
export type DynamoCall = (operation: string, input: Record<string, unknown>) => Promise<Record<string, unknown>>;

/** An error answer of DynamoDB: `name` is the exception (`ResourceNotFoundException`, …). */
export class DynamoError extends Error {
  constructor(name: string, message: string) {
    super(message);
    this.name = name;
  }
}

export async function ensureTable(call: DynamoCall, tableName: string, spec: TableSpec): Promise<void> {
  try {
    await call('DescribeTable', { TableName: tableName });
    return;
  } catch (err) {
    if ((err as Error).name !== 'ResourceNotFoundException') throw err;
  }
  try {
    await call('CreateTable', createTableInput(tableName, spec));
  } catch (err) {
    if ((err as Error).name !== 'ResourceInUseException') throw err;
  }
  const deadline = Date.now() + 30_000;
  for (;;) {
    const { Table } = (await call('DescribeTable', { TableName: tableName })) as { Table?: { TableStatus?: string } };
    if (Table?.TableStatus === 'ACTIVE') return;
    if (Date.now() > deadline) throw new Error(`table ${tableName} is not ACTIVE after 30 s`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** The connections table (ARCHITECTURE.md, "Data model") under `tableName`, created through a (local) SDK client's endpoint. */
export async function ensureConnectionsTable(client: DynamoDBClient, tableName: string): Promise<void> {
  const endpoint = await client.config.endpoint?.();
  if (!endpoint) throw new Error('ensureConnectionsTable needs a client with an endpoint (a local DynamoDB)');
  const base = `${endpoint.protocol}//${endpoint.hostname}${endpoint.port ? `:${endpoint.port}` : ''}${endpoint.path ?? ''}`;
  await ensureTable(dynamoJsonCall(base), tableName, CONNECTIONS_TABLE);
}

/** A `DynamoCall` to a local DynamoDB endpoint (`http://host:port`). */
export function dynamoJsonCall(endpoint: string): DynamoCall {
  return (operation, input) =>
    new Promise((resolve, reject) => {
      const body = JSON.stringify(input);
      const amzDate = new Date().toISOString().replace(/[-:]|\.\d{3}/g, '');
      const req = request(
        endpoint,
        {
          method: 'POST',
          headers: {
            'content-type': 'application/x-amz-json-1.0',
            'content-length': Buffer.byteLength(body),
            'x-amz-target': `DynamoDB_20120810.${operation}`,
            'x-amz-date': amzDate,
            // The local server wants one; it checks no signature.
            'authorization': `AWS4-HMAC-SHA256 Credential=local/${amzDate.slice(0, 8)}/local/dynamodb/aws4_request, SignedHeaders=host, Signature=local`,
          },
        },
        (res) => {
          let text = '';
          res.setEncoding('utf8');
          res.on('data', (chunk: string) => (text += chunk));
          res.on('end', () => {
            let parsed: Record<string, unknown> = {};
            try {
              parsed = text ? (JSON.parse(text) as Record<string, unknown>) : {};
            } catch {
              return reject(new Error(`DynamoDB ${operation} answered ${res.statusCode} with a body that is not JSON`));
            }
            if (res.statusCode === 200) return resolve(parsed);
            const type = String(parsed.__type ?? `HTTP${res.statusCode}`).split('#').pop()!;
            reject(new DynamoError(type, String(parsed.message ?? parsed.Message ?? `DynamoDB ${operation} failed (${res.statusCode})`)));
          });
          res.on('error', reject);
        },
      );
      req.on('error', reject);
      req.end(body);
    });
}

/** The `CreateTable` request of a spec. */
export function createTableInput(tableName: string, spec: TableSpec): Record<string, unknown> {
  const attributes = new Map<string, { AttributeName: string; AttributeType: 'S' | 'N' }>();
  const define = (key: { name: string; type: 'S' | 'N' }) => {
    const known = attributes.get(key.name);
    if (known && known.AttributeType !== key.type) {
      throw new Error(`table ${spec.id}: attribute ${key.name} is declared both ${known.AttributeType} and ${key.type}`);
    }
    attributes.set(key.name, { AttributeName: key.name, AttributeType: key.type });
  };
  define(spec.partitionKey);
  define(spec.sortKey);
  for (const index of spec.indexes) {
    define(index.partitionKey);
    define(index.sortKey);
  }
  const input: Record<string, unknown> = {
    TableName: tableName,
    BillingMode: 'PAY_PER_REQUEST',
    AttributeDefinitions: [...attributes.values()],
    KeySchema: [
      { AttributeName: spec.partitionKey.name, KeyType: 'HASH' },
      { AttributeName: spec.sortKey.name, KeyType: 'RANGE' },
    ],
  };
  if (spec.indexes.length > 0) {
    input.GlobalSecondaryIndexes = spec.indexes.map((index) => ({
      IndexName: index.name,
      KeySchema: [
        { AttributeName: index.partitionKey.name, KeyType: 'HASH' },
        { AttributeName: index.sortKey.name, KeyType: 'RANGE' },
      ],
      Projection: { ProjectionType: 'ALL' },
    }));
  }
  return input;
}
