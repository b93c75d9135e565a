import { chatTables, schemaDifferences } from '../../../src/local/app/tables';
import type { CfnResource } from '../../../src/local/app/template';
import { CONNECTIONS_TABLE, MESSAGES_TABLE } from '../../../src/shared/spec';

/** The chat's tables are created with the spec's schemas; a template that differs is reported. */

/** A table resource as CloudFormation has it. */
function table(keys: Array<[string, 'S' | 'N', 'HASH' | 'RANGE']>, indexes: Array<{ name: string; keys: Array<[string, 'S' | 'N', 'HASH' | 'RANGE']>; projection?: string }> = []): CfnResource {
  const definitions = new Map<string, string>();
  for (const [name, type] of [...keys, ...indexes.flatMap((i) => i.keys)]) definitions.set(name, type);
  return {
    Type: 'AWS::DynamoDB::Table',
    Properties: {
      AttributeDefinitions: [...definitions].map(([AttributeName, AttributeType]) => ({ AttributeName, AttributeType })),
      KeySchema: keys.map(([AttributeName, , KeyType]) => ({ AttributeName, KeyType })),
      ...(indexes.length > 0
        ? {
          GlobalSecondaryIndexes: indexes.map((i) => ({
            IndexName: i.name,
            KeySchema: i.keys.map(([AttributeName, , KeyType]) => ({ AttributeName, KeyType })),
            Projection: { ProjectionType: i.projection ?? 'ALL' },
          })),
        }
        : {}),
    },
  };
}

const v2Connections = table([['connection_id', 'S', 'HASH'], ['sk', 'S', 'RANGE']], [
  { name: 'room_id-index', keys: [['room_id', 'S', 'HASH'], ['shard', 'N', 'RANGE']] },
  { name: 'user_id-index', keys: [['user_id', 'S', 'HASH'], ['sk', 'S', 'RANGE']] },
]);

test('a template table equal to the spec: no differences', () => {
  expect(schemaDifferences(v2Connections, CONNECTIONS_TABLE)).toEqual([]);
  expect(schemaDifferences(table([['room_id', 'S', 'HASH'], ['seq', 'N', 'RANGE']]), MESSAGES_TABLE)).toEqual([]);
});

test('a v1 table (no sort keys) differs in its key and both indexes', () => {
  const v1 = table([['connection_id', 'S', 'HASH']], [
    { name: 'room_id-index', keys: [['room_id', 'S', 'HASH']] },
    { name: 'user_id-index', keys: [['user_id', 'S', 'HASH']], projection: 'KEYS_ONLY' },
    { name: 'extra-index', keys: [['x', 'S', 'HASH']] },
  ]);
  expect(schemaDifferences(v1, CONNECTIONS_TABLE)).toEqual([
    "key is connection_id (S), the spec's is connection_id (S) + sk (S)",
    "index room_id-index is room_id (S), the spec's is room_id (S) + shard (N)",
    "index user_id-index is user_id (S) projecting KEYS_ONLY, the spec's is user_id (S) + sk (S)",
    'index extra-index is not in the spec',
  ]);
});

test('chatTables names tables after TableName or the logical ID and warns on a difference', () => {
  const named: CfnResource = { ...v2Connections, Properties: { ...v2Connections.Properties, TableName: 'my-connections' } };
  const result = chatTables({ Resources: { Conn: named, Msgs: table([['room_id', 'S', 'HASH']]) } }, 'Conn', 'Msgs');
  expect(result.tables.map((t) => [t.spec.id, t.name])).toEqual([['connections', 'my-connections'], ['messages', 'Msgs']]);
  expect(result.names.get('Msgs')).toBe('Msgs');
  expect(result.warnings).toEqual([
    "table Msgs (messages): the template's key is room_id (S), the spec's is room_id (S) + seq (N) — the app was synthesized with another version of cdk-websocket-chat; the gateway creates the table as this version's handlers expect it",
  ]);
});
