/**
 * The approaches users copy today, written as they are published, on data model v2 and the same SDK clients:
 * - `sequential`: Query the room, one awaited post after another (the loop of the most copied handler);
 * - `scanUnbounded`: Scan the whole table and `Promise.all` every post at once (AWS's sample chat app);
 * - `handWrittenPush`: what a backend would write by hand to push to a user or a room without `publish` — a Query of
 *   the user's (or room's) index and an `ApiGatewayManagementApiClient` post to each connection, all at once.
 * All delete the connection's items on 410 like ours, so the work per connection is the same.
 */
import { ApiGatewayManagementApiClient, GoneException, PostToConnectionCommand } from '@aws-sdk/client-apigatewaymanagementapi';
import { BatchWriteItemCommand, DynamoDBClient, QueryCommand, ScanCommand, type AttributeValue } from '@aws-sdk/client-dynamodb';
import { TABLE } from '../src/shared/contract';

export interface BaselineStats {
  readonly recipients: number;
  readonly delivered: number;
  readonly itemsRead: number;
}

async function post(
  management: ApiGatewayManagementApiClient, dynamo: DynamoDBClient, tableName: string, id: string, data: string, roomId?: string,
): Promise<boolean> {
  try {
    await management.send(new PostToConnectionCommand({ ConnectionId: id, Data: data }));
    return true;
  } catch (err) {
    if (err instanceof GoneException) {
      const keys = [TABLE.connectionSk, ...(roomId ? [`${TABLE.roomSkPrefix}${roomId}`] : [])];
      await dynamo.send(new BatchWriteItemCommand({
        RequestItems: {
          [tableName]: keys.map((sk) => ({ DeleteRequest: { Key: { [TABLE.partitionKey]: { S: id }, [TABLE.sortKey]: { S: sk } } } })),
        },
      }));
    }
    return false;
  }
}

/** Every page of a Query (an index, one key value), as published handlers write it. */
async function queryAll(
  dynamo: DynamoDBClient, tableName: string, indexName: string, key: string, value: string, extra?: { sk: string },
): Promise<{ items: Array<Record<string, AttributeValue>>; scanned: number }> {
  const items: Array<Record<string, AttributeValue>> = [];
  let scanned = 0;
  let startKey: Record<string, AttributeValue> | undefined;
  do {
    const page = await dynamo.send(new QueryCommand({
      TableName: tableName,
      IndexName: indexName,
      KeyConditionExpression: extra ? '#k = :k AND #s = :s' : '#k = :k',
      ExpressionAttributeNames: { '#k': key, ...(extra ? { '#s': TABLE.sortKey } : {}) },
      ExpressionAttributeValues: { ':k': { S: value }, ...(extra ? { ':s': { S: extra.sk } } : {}) },
      ExclusiveStartKey: startKey,
    }));
    scanned += page.ScannedCount ?? 0;
    items.push(...(page.Items ?? []));
    startKey = page.LastEvaluatedKey;
  } while (startKey);
  return { items, scanned };
}

export async function sequential(
  dynamo: DynamoDBClient, management: ApiGatewayManagementApiClient, tableName: string, roomId: string, data: string,
): Promise<BaselineStats> {
  let delivered = 0;
  const { items, scanned } = await queryAll(dynamo, tableName, TABLE.roomIndex, TABLE.roomId, roomId);
  for (const item of items) {
    if (await post(management, dynamo, tableName, item[TABLE.partitionKey].S!, data, roomId)) delivered++;
  }
  return { recipients: items.length, delivered, itemsRead: scanned };
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
  const results = await Promise.all(ids.map((id) => post(management, dynamo, tableName, id, data, roomId)));
  return { recipients: ids.length, delivered: results.filter(Boolean).length, itemsRead };
}

/** A backend's own push: Query the user's connections (`user_id-index`) or the room's, post to each at once. */
export async function handWrittenPush(
  dynamo: DynamoDBClient, management: ApiGatewayManagementApiClient, tableName: string, target: { user?: string; room?: string }, data: string,
): Promise<BaselineStats> {
  const { items, scanned } = target.user !== undefined
    ? await queryAll(dynamo, tableName, TABLE.userIndex, TABLE.userId, target.user, { sk: TABLE.connectionSk })
    : await queryAll(dynamo, tableName, TABLE.roomIndex, TABLE.roomId, target.room!);
  const results = await Promise.all(items.map((item) => post(management, dynamo, tableName, item[TABLE.partitionKey].S!, data, target.room)));
  return { recipients: items.length, delivered: results.filter(Boolean).length, itemsRead: scanned };
}
