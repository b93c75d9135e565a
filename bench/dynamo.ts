/**
 * The benchmark's DynamoDB: dynalite in its own process (./dynalite-server.ts), tables created from the spec the
 * construct deploys (`ensureTable`), and seeding over DynamoDB's JSON protocol with the handlers' own item
 * builders (`connectionItem`, `membershipItem`: the v2 items `$connect` and `join` write, as the tests'
 * `seedConnections` does). The raw protocol rather than the SDK client: seeding ~200,000 items is then about four
 * times faster, which keeps the whole benchmark within its time budget.
 *
 * An accounting proxy (`startAccountingProxy`) sits in front of dynalite when a measurement wants DynamoDB's own
 * view: it counts each operation, asks dynalite for the consumed capacity of every request (and strips it from the
 * answer the handler sees), and can throttle writes to one partition of a table like DynamoDB's per-partition
 * ceiling (a token bucket of write units per partition key: `ProvisionedThroughputExceededException` above it).
 */
import { fork } from 'node:child_process';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import * as path from 'node:path';
import { connectionItem, membershipItem } from '../src/handlers/lib/connections-store';
import { dynamoJsonCall, ensureTable, type DynamoCall } from '../src/local/table';
import { DEFAULTS, TABLE } from '../src/shared/contract';
import { CONNECTIONS_TABLE, MESSAGES_TABLE } from '../src/shared/spec';

export interface Dynamo {
  readonly endpoint: string;
  readonly call: DynamoCall;
  readonly pid: number;
  close(): void;
}

export async function startDynamo(dir: string): Promise<Dynamo> {
  const child = fork(path.join(dir, 'dynalite-server.js'), [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const port = await new Promise<number>((resolve, reject) => {
    child.once('message', (m: { port: number }) => resolve(m.port));
    child.once('exit', (code) => reject(new Error(`dynalite exited ${code}`)));
  });
  const endpoint = `http://127.0.0.1:${port}`;
  return { endpoint, call: dynamoJsonCall(endpoint), pid: child.pid!, close: () => child.kill() };
}

export async function createTables(call: DynamoCall, connectionsTable: string, messagesTable: string): Promise<void> {
  await ensureTable(call, connectionsTable, CONNECTIONS_TABLE);
  await ensureTable(call, messagesTable, MESSAGES_TABLE);
}

type Item = Record<string, unknown>;

/** A connection to seed: its connection item (unless `membershipOnly`) and a membership item per room. */
export interface Seed {
  readonly id: string;
  readonly rooms: readonly string[];
  readonly user?: string;
  readonly membershipOnly?: boolean;
}

export function seedItems(seeds: Iterable<Seed>): Item[] {
  const ttl = Math.floor(Date.now() / 1000) + DEFAULTS.connectionTtlSeconds;
  const createdAt = new Date().toISOString();
  const items: Item[] = [];
  for (const seed of seeds) {
    const user = seed.user ?? `user-${seed.id}`;
    if (!seed.membershipOnly) items.push(connectionItem({ connectionId: seed.id, userId: user, ttl, createdAt }));
    for (const room of seed.rooms) items.push(membershipItem(seed.id, room, user, ttl));
  }
  return items;
}

/** BatchWriteItem, 25 items a request, `parallel` requests at once; unprocessed items are sent again. */
export async function putItems(call: DynamoCall, tableName: string, items: readonly Item[], parallel = 16): Promise<void> {
  let next = 0;
  await Promise.all(Array.from({ length: parallel }, async () => {
    while (next < items.length) {
      let batch: unknown[] | undefined = items.slice(next, next + 25).map((Item) => ({ PutRequest: { Item } }));
      next += 25;
      while (batch && batch.length > 0) {
        const out = (await call('BatchWriteItem', { RequestItems: { [tableName]: batch } })) as { UnprocessedItems?: Record<string, unknown[]> };
        batch = out.UnprocessedItems?.[tableName];
      }
    }
  }));
}

/** Members of a room as `room_id-index` lists them (a Query of the index, COUNT). */
export async function indexedMembers(call: DynamoCall, tableName: string, roomId: string): Promise<number> {
  let count = 0;
  let start: unknown;
  do {
    const out = (await call('Query', {
      TableName: tableName,
      IndexName: TABLE.roomIndex,
      KeyConditionExpression: '#r = :r',
      ExpressionAttributeNames: { '#r': TABLE.roomId },
      ExpressionAttributeValues: { ':r': { S: roomId } },
      Select: 'COUNT',
      ...(start ? { ExclusiveStartKey: start } : {}),
    })) as { Count: number; LastEvaluatedKey?: unknown };
    count += out.Count;
    start = out.LastEvaluatedKey;
  } while (start);
  return count;
}

/**
 * Tops a room up until its index lists `size` members. dynalite keys a global index entry by the index's keys plus
 * only 24 bits of an MD5 of the item's key, so two members of a room in the same shard can share an entry, and one of
 * them is missing from the index (a room of 100,000 loses about 5). DynamoDB has no such limit; the benchmark wants
 * rooms of the stated size, so it adds members under new ids until the index has them all.
 */
export async function completeRoom(call: DynamoCall, tableName: string, roomId: string, size: number, idPrefix: string): Promise<number> {
  let added = 0;
  for (let indexed = await indexedMembers(call, tableName, roomId); indexed < size; indexed = await indexedMembers(call, tableName, roomId)) {
    const extra = ids(`${idPrefix}-extra${added}`, size - indexed);
    added += extra.length;
    await putItems(call, tableName, seedItems(extra.map((id) => ({ id, rooms: [roomId], membershipOnly: true }))));
  }
  return added;
}

/** `prefix-0`, `prefix-1`, … */
export function ids(prefix: string, count: number): string[] {
  return Array.from({ length: count }, (_, i) => `${prefix}-${i}`);
}

/** What the accounting proxy saw since its last reset. */
export interface Accounting {
  /** Requests by operation (`PutItem`, `Query`…). */
  readonly requests: Record<string, number>;
  /** Capacity units by operation, as dynalite computes them (1 KB per write unit, 4 KB per read unit). */
  readonly units: Record<string, number>;
  /** Writes refused by the partition ceiling. */
  readonly throttled: number;
}

export interface AccountingProxy {
  readonly endpoint: string;
  reset(): void;
  read(): Accounting;
  /** Throttle writes per partition key of `tableName` above `unitsPerSecond` (0: no ceiling). */
  setPartitionCeiling(tableName: string, partitionKey: string, unitsPerSecond: number): void;
  close(): Promise<void>;
}

const WRITES = new Set(['PutItem', 'UpdateItem', 'DeleteItem']);

export async function startAccountingProxy(target: string): Promise<AccountingProxy> {
  const upstream = new URL(target);
  const agent = new http.Agent({ keepAlive: true, maxSockets: 256 });
  let requests: Record<string, number> = {};
  let units: Record<string, number> = {};
  let throttled = 0;
  let ceiling: { table: string; key: string; rate: number } | undefined;
  const buckets = new Map<string, { tokens: number; at: number }>();

  /** A write to a throttled partition: one write unit per KB is charged when it is accepted (an estimate before). */
  const admit = (op: string, input: Record<string, unknown>): boolean => {
    if (!ceiling || !WRITES.has(op) || input.TableName !== ceiling.table) return true;
    const key = (input.Key ?? input.Item) as Record<string, { S?: string }> | undefined;
    const partition = key?.[ceiling.key]?.S;
    if (partition === undefined) return true;
    const now = performance.now();
    const burst = Math.max(1, ceiling.rate / 10);
    const bucket = buckets.get(partition) ?? { tokens: burst, at: now };
    bucket.tokens = Math.min(burst, bucket.tokens + ((now - bucket.at) / 1000) * ceiling.rate);
    bucket.at = now;
    buckets.set(partition, bucket);
    const cost = Math.max(1, Math.ceil(JSON.stringify(input.Item ?? {}).length / 1024));
    if (bucket.tokens < cost) return false;
    bucket.tokens -= cost;
    return true;
  };

  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const op = String(req.headers['x-amz-target'] ?? '').split('.').pop() ?? '?';
      const input = JSON.parse(Buffer.concat(chunks).toString('utf8') || '{}') as Record<string, unknown>;
      requests[op] = (requests[op] ?? 0) + 1;
      if (!admit(op, input)) {
        throttled++;
        const body = JSON.stringify({
          __type: 'com.amazonaws.dynamodb.v20120810#ProvisionedThroughputExceededException',
          message: 'The level of configured provisioned throughput for the table was exceeded.',
        });
        res.writeHead(400, { 'content-type': 'application/x-amz-json-1.0', 'content-length': Buffer.byteLength(body) }).end(body);
        return;
      }
      const asked = input.ReturnConsumedCapacity;
      const body = JSON.stringify({ ...input, ReturnConsumedCapacity: 'TOTAL' });
      const headers = { ...req.headers, 'content-length': String(Buffer.byteLength(body)), 'host': upstream.host };
      const up = http.request({ hostname: upstream.hostname, port: upstream.port, method: 'POST', path: req.url, headers, agent }, (answer) => {
        const parts: Buffer[] = [];
        answer.on('data', (c: Buffer) => parts.push(c));
        answer.on('end', () => {
          let text = Buffer.concat(parts).toString('utf8');
          if (answer.statusCode === 200 && text) {
            const out = JSON.parse(text) as { ConsumedCapacity?: { CapacityUnits?: number } | Array<{ CapacityUnits?: number }> };
            const consumed = Array.isArray(out.ConsumedCapacity) ? out.ConsumedCapacity : out.ConsumedCapacity ? [out.ConsumedCapacity] : [];
            units[op] = (units[op] ?? 0) + consumed.reduce((sum, c) => sum + (c.CapacityUnits ?? 0), 0);
            if (asked === undefined || asked === 'NONE') delete out.ConsumedCapacity;
            text = JSON.stringify(out);
          }
          const { 'content-length': _length, ...rest } = answer.headers;
          res.writeHead(answer.statusCode ?? 500, { ...rest, 'content-length': String(Buffer.byteLength(text)) }).end(text);
        });
      });
      up.on('error', (err) => res.destroy(err));
      up.end(body);
    });
  });
  server.keepAliveTimeout = 60_000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    endpoint: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    reset: () => {
      requests = {};
      units = {};
      throttled = 0;
      buckets.clear();
    },
    read: () => ({ requests: { ...requests }, units: { ...units }, throttled }),
    setPartitionCeiling: (table, key, rate) => {
      ceiling = rate > 0 ? { table, key, rate } : undefined;
      buckets.clear();
    },
    close: () => new Promise((resolve) => {
      agent.destroy();
      server.close(() => resolve());
    }),
  };
}
