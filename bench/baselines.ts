/**
 * The approaches users copy today, written as they are published, on the same SDK clients as ours:
 * - `sequential`: one awaited post after another over the room (the loop of the most copied handler);
 * - `scanUnbounded`: Scan the whole table and `Promise.all` every post at once (AWS's sample chat app).
 * Both delete on 410 like ours, so the work per connection is the same.
 */
import { ApiGatewayManagementApiClient, GoneException, PostToConnectionCommand } from '@aws-sdk/client-apigatewaymanagementapi';
import { DeleteItemCommand, DynamoDBClient, QueryCommand, ScanCommand, type AttributeValue } from '@aws-sdk/client-dynamodb';
import { TABLE } from '../src/shared/contract';

export interface BaselineStats {
  readonly recipients: number;
  readonly delivered: number;
  readonly itemsRead: number;
}

async function post(
  management: ApiGatewayManagementApiClient, dynamo: DynamoDBClient, tableName: string, id: string, data: string,
): Promise<boolean> {
  try {
    await management.send(new PostToConnectionCommand({ ConnectionId: id, Data: data }));
    return true;
  } catch (err) {
    if (err instanceof GoneException) {
      await dynamo.send(new DeleteItemCommand({ TableName: tableName, Key: { [TABLE.partitionKey]: { S: id } } }));
    }
    return false;
  }
}

export async function sequential(
  dynamo: DynamoDBClient, management: ApiGatewayManagementApiClient, tableName: string, roomId: string, data: string,
): Promise<BaselineStats> {
  let recipients = 0;
  let delivered = 0;
  let itemsRead = 0;
  let startKey: Record<string, AttributeValue> | undefined;
  do {
    const page = await dynamo.send(new QueryCommand({
      TableName: tableName,
      IndexName: TABLE.roomIndex,
      KeyConditionExpression: '#r = :r',
      ExpressionAttributeNames: { '#r': TABLE.roomId },
      ExpressionAttributeValues: { ':r': { S: roomId } },
      ExclusiveStartKey: startKey,
    }));
    itemsRead += page.ScannedCount ?? 0;
    for (const item of page.Items ?? []) {
      recipients++;
      if (await post(management, dynamo, tableName, item[TABLE.partitionKey].S!, data)) delivered++;
    }
    startKey = page.LastEvaluatedKey;
  } while (startKey);
  return { recipients, delivered, itemsRead };
}

export async function scanUnbounded(
  dynamo: DynamoDBClient, management: ApiGatewayManagementApiClient, tableName: string, roomId: string, data: string,
): Promise<BaselineStats> {
  const ids: string[] = [];
  let itemsRead = 0;
  let startKey: Record<string, AttributeValue> | undefined;
  do {
    const page = await dynamo.send(new ScanCommand({ TableName: tableName, ExclusiveStartKey: startKey }));
    itemsRead += page.ScannedCount ?? 0;
    for (const item of page.Items ?? []) {
      if (item[TABLE.roomId]?.S === roomId) ids.push(item[TABLE.partitionKey].S!);
    }
    startKey = page.LastEvaluatedKey;
  } while (startKey);
  const results = await Promise.all(ids.map((id) => post(management, dynamo, tableName, id, data)));
  return { recipients: ids.length, delivered: results.filter(Boolean).length, itemsRead };
}
