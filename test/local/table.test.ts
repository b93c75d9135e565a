import { DescribeTableCommand } from '@aws-sdk/client-dynamodb';
import { TABLE } from '../../src/shared/contract';
import { startDynalite, type LocalDynamo } from '../support/dynalite';

let dynamo: LocalDynamo;
beforeAll(async () => { dynamo = await startDynalite(); });
afterAll(async () => { await dynamo.close(); });

test('creates the connections table with both GSIs', async () => {
  const name = await dynamo.newTable();
  const { Table } = await dynamo.client.send(new DescribeTableCommand({ TableName: name }));
  expect(Table?.KeySchema).toEqual([{ AttributeName: TABLE.partitionKey, KeyType: 'HASH' }]);
  expect(Table?.GlobalSecondaryIndexes?.map((g) => g.IndexName).sort()).toEqual([TABLE.roomIndex, TABLE.userIndex]);
});
