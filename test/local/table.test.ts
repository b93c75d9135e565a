import { DescribeTableCommand } from '@aws-sdk/client-dynamodb';
import { dynamoJsonCall, ensureTable } from '../../src/local/table';
import { TABLES } from '../../src/shared/spec';
import { startDynalite, type LocalDynamo } from '../support/dynalite';

/** Tables created from the shared spec's TableSpec: what the construct deploys, in the embedded DynamoDB. */

let dynamo: LocalDynamo;
beforeAll(async () => { dynamo = await startDynalite(); });
afterAll(async () => { await dynamo.close(); });

test.each(TABLES.map((spec) => [spec.id, spec] as const))('the %s table: key schema, attribute types and indexes of its spec', async (_id, spec) => {
  const name = `${spec.id}-${process.pid}`;
  await ensureTable(dynamoJsonCall(dynamo.endpoint), name, spec);
  // Idempotent: a second call (a --persist directory that has it) leaves it as it is.
  await ensureTable(dynamoJsonCall(dynamo.endpoint), name, spec);
  const { Table } = await dynamo.client.send(new DescribeTableCommand({ TableName: name }));
  expect(Table?.TableStatus).toBe('ACTIVE');
  expect(Table?.KeySchema).toEqual([
    { AttributeName: spec.partitionKey.name, KeyType: 'HASH' },
    { AttributeName: spec.sortKey.name, KeyType: 'RANGE' },
  ]);
  const types = Object.fromEntries((Table?.AttributeDefinitions ?? []).map((a) => [a.AttributeName, a.AttributeType]));
  for (const key of [spec.partitionKey, spec.sortKey, ...spec.indexes.flatMap((i) => [i.partitionKey, i.sortKey])]) {
    expect(types[key.name]).toBe(key.type);
  }
  const indexes = (Table?.GlobalSecondaryIndexes ?? []).map((g) => ({
    name: g.IndexName,
    keys: g.KeySchema,
    projection: g.Projection?.ProjectionType,
  }));
  expect(indexes).toEqual(
    spec.indexes.map((i) => ({
      name: i.name,
      keys: [{ AttributeName: i.partitionKey.name, KeyType: 'HASH' }, { AttributeName: i.sortKey.name, KeyType: 'RANGE' }],
      projection: 'ALL',
    })),
  );
});

test('errors of the local DynamoDB keep their exception name', async () => {
  await expect(dynamoJsonCall(dynamo.endpoint)('DescribeTable', { TableName: 'no-such-table' })).rejects.toMatchObject({ name: 'ResourceNotFoundException' });
});
