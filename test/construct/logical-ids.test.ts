import { chatStack } from '../support/stack';

/**
 * Pins what is deployed: every logical ID of the default stack, and the properties whose change makes
 * CloudFormation replace a resource. A renamed construct id is a replaced resource (a new API means a new URL;
 * a new table means its data is gone), so a refactor must keep every id below. New resources may be added; an
 * id may leave this list only in a change that says, in the README's upgrade notes, what its replacement costs.
 */
const V1_LOGICAL_IDS = [
  'ChatConnectionsTableED0692FF',
  'ChatAuthorizerRole72808049',
  'ChatAuthorizerRoleDefaultPolicy3CA5FBF2',
  'ChatAuthorizerLogs1B541DDA',
  'ChatAuthorizerAECA150B',
  'ChatConnectRole1B2A49FE',
  'ChatConnectRoleDefaultPolicy7298C415',
  'ChatConnectLogs995B9B7F',
  'ChatConnectB28A5494',
  'ChatDisconnectRoleD9C451F7',
  'ChatDisconnectRoleDefaultPolicy76953C5C',
  'ChatDisconnectLogs4F7B5F99',
  'ChatDisconnect8E4C098C',
  'ChatSendMessageRole04CF2F49',
  'ChatSendMessageRoleDefaultPolicyD4D9B406',
  'ChatSendMessageLogs426D6037',
  'ChatSendMessage172F345F',
  'ChatPingRole2B0B4001',
  'ChatPingRoleDefaultPolicy0E490708',
  'ChatPingLogs162751BE',
  'ChatPing9CB2072E',
  'ChatDefaultRole0041618A',
  'ChatDefaultRoleDefaultPolicy7A2A46B9',
  'ChatDefaultLogs502E6393',
  'ChatDefaultRoute7D0E78CA',
  'ChatApi86739009',
  'ChatApiconnectRouteConnectIntegrationPermissionC44A96E3',
  'ChatApiconnectRouteConnectIntegration1A7E70C7',
  'ChatApiconnectRoute335A81E8',
  'ChatApiAuthorizer99FAB2A6',
  'ChatApiTestStackChatApiAuthorizer4EBC6549Permission8FAA42CA',
  'ChatApidisconnectRouteDisconnectIntegrationPermission64535879',
  'ChatApidisconnectRouteDisconnectIntegrationD7B0C480',
  'ChatApidisconnectRoute03FB0F8E',
  'ChatApidefaultRouteDefaultIntegrationPermissionE1526148',
  'ChatApidefaultRouteDefaultIntegration4C8287BE',
  'ChatApidefaultRouteB73CE127',
  'ChatApisendMessageRouteSendMessageIntegrationPermission336D915A',
  'ChatApisendMessageRouteSendMessageIntegrationFCED913A',
  'ChatApisendMessageRoute4A5E9CA4',
  'ChatApipingRoutePingIntegrationPermission35CA44DB',
  'ChatApipingRoutePingIntegration96BB1C93',
  'ChatApipingRoute06251DE4',
  'ChatAccessLogsF96C40C0',
  'ChatStage8BF11434',
  'ChatAlarmsReadThrottlesB68E3CE8',
  'ChatAlarmsWriteThrottlesAE8A9E6D',
  'ChatAlarmsConnectCount5DD534A5',
  'ChatAlarmsIntegrationErrorsB0E779B5',
  'ChatAlarmsExecutionErrors93A96BC8',
  'ChatAlarmsFanoutFailures10E1A373',
  'ChatAlarmsConnectErrorsDEFD0884',
  'ChatAlarmsDisconnectErrors6BFF2A46',
  'ChatAlarmsSendMessageErrorsB5BA61A1',
  'ChatAlarmsPingErrors36875B57',
  'ChatAlarmsDefaultErrorsD07A5193',
];

/** v2: the messages table (history, on by default). */
const MESSAGES_TABLE_ID = 'ChatMessagesTableA10C0181';

describe('logical IDs and replacement properties of the default stack', () => {
  const { template } = chatStack();
  const resources = template.toJSON().Resources as Record<string, { Type: string; Properties: Record<string, any> }>;

  test.each(V1_LOGICAL_IDS)('%s is still there', (id) => {
    expect(Object.keys(resources)).toContain(id);
  });

  test('the API keeps its protocol and route selection (a change would replace it: a new URL)', () => {
    expect(resources.ChatApi86739009.Type).toBe('AWS::ApiGatewayV2::Api');
    expect(resources.ChatApi86739009.Properties).toMatchObject({ ProtocolType: 'WEBSOCKET', RouteSelectionExpression: '$request.body.action' });
  });

  test('the stage keeps its name (a change would replace it: a new URL)', () => {
    expect(resources.ChatStage8BF11434.Properties.StageName).toBe('dev');
  });

  // v2: the connections table's key schema changed on purpose (sort key `sk`; indexes ranged by `shard` and `sk`).
  // CloudFormation replaces the table on upgrade: it holds only live connections, which lose their items and
  // reconnect (README, "Upgrading to v2"). From here on this schema is pinned like the rest.
  test('the connections table keeps its (v2) key schema and indexes', () => {
    const table = resources.ChatConnectionsTableED0692FF.Properties;
    expect(table.KeySchema).toEqual([
      { AttributeName: 'connection_id', KeyType: 'HASH' },
      { AttributeName: 'sk', KeyType: 'RANGE' },
    ]);
    expect(table.GlobalSecondaryIndexes.map((i: any) => [i.IndexName, i.KeySchema, i.Projection])).toEqual([
      ['room_id-index', [{ AttributeName: 'room_id', KeyType: 'HASH' }, { AttributeName: 'shard', KeyType: 'RANGE' }], { ProjectionType: 'ALL' }],
      ['user_id-index', [{ AttributeName: 'user_id', KeyType: 'HASH' }, { AttributeName: 'sk', KeyType: 'RANGE' }], { ProjectionType: 'ALL' }],
    ]);
    expect(table.AttributeDefinitions).toEqual(expect.arrayContaining([
      { AttributeName: 'connection_id', AttributeType: 'S' },
      { AttributeName: 'sk', AttributeType: 'S' },
      { AttributeName: 'room_id', AttributeType: 'S' },
      { AttributeName: 'shard', AttributeType: 'N' },
      { AttributeName: 'user_id', AttributeType: 'S' },
    ]));
  });

  test('the messages table keeps its logical ID and key schema (v2)', () => {
    const table = resources[MESSAGES_TABLE_ID];
    expect(table.Type).toBe('AWS::DynamoDB::Table');
    expect(table.Properties.KeySchema).toEqual([
      { AttributeName: 'room_id', KeyType: 'HASH' },
      { AttributeName: 'seq', KeyType: 'RANGE' },
    ]);
    expect(table.Properties.AttributeDefinitions).toEqual([
      { AttributeName: 'room_id', AttributeType: 'S' },
      { AttributeName: 'seq', AttributeType: 'N' },
    ]);
    expect(table.Properties.GlobalSecondaryIndexes).toBeUndefined();
  });
});
