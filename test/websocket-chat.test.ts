import { App, CfnParameter, Duration, RemovalPolicy, Stack } from 'aws-cdk-lib';
import { Annotations, Match, Template } from 'aws-cdk-lib/assertions';
import * as apigw from 'aws-cdk-lib/aws-apigateway';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import { SnsAction } from 'aws-cdk-lib/aws-cloudwatch-actions';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as sns from 'aws-cdk-lib/aws-sns';
import { ChatAuth, WebSocketChat } from '../src';
import { chatStack, grantsOfRole, logicalId } from './support/stack';
import { DEFAULTS, ENV as HANDLER_ENV } from '../src/shared/contract';
import { clientActions, identitySources, routeTable } from '../src/shared/spec';

const inlineFunction = (stack: Stack, id: string) =>
  new lambda.Function(stack, id, { runtime: lambda.Runtime.NODEJS_24_X, handler: 'i.h', code: lambda.Code.fromInline('x') });

/** The environment of the function whose logical id starts with `prefix`. */
const envOf = (template: Template, prefix: string): Record<string, unknown> =>
  template.findResources('AWS::Lambda::Function')[logicalId(template, 'AWS::Lambda::Function', prefix)].Properties.Environment.Variables;

describe('WebSocketChat with defaults', () => {
  const { template, chat, stack } = chatStack();

  test('creates a WebSocket API selecting routes on $request.body.action', () => {
    template.hasResourceProperties('AWS::ApiGatewayV2::Api', {
      ProtocolType: 'WEBSOCKET',
      RouteSelectionExpression: '$request.body.action',
    });
  });

  test('routes the spec\'s route table: $connect, $disconnect, $default and the client actions', () => {
    const keys = Object.values(template.findResources('AWS::ApiGatewayV2::Route')).map((r: any) => r.Properties.RouteKey);
    expect(keys.sort()).toEqual(Object.keys(routeTable(true)).sort());
    expect(keys).toEqual(expect.arrayContaining(['$connect', '$disconnect', '$default', 'sendMessage', 'ping', 'join', 'leave', 'presence', 'history']));
  });

  test('authorizes $connect with a REQUEST Lambda authorizer on the spec\'s identity source', () => {
    template.hasResourceProperties('AWS::ApiGatewayV2::Authorizer', {
      AuthorizerType: 'REQUEST',
      IdentitySource: identitySources('hs256'),
    });
    template.hasResourceProperties('AWS::ApiGatewayV2::Route', { RouteKey: '$connect', AuthorizationType: 'CUSTOM', AuthorizerId: Match.anyValue() });
  });

  test('stage "dev" auto-deploys with throttling 5000/10000 and detailed metrics', () => {
    template.hasResourceProperties('AWS::ApiGatewayV2::Stage', {
      StageName: 'dev',
      AutoDeploy: true,
      DefaultRouteSettings: { ThrottlingBurstLimit: 5000, ThrottlingRateLimit: 10000, DetailedMetricsEnabled: true },
    });
  });

  test('execution logging and data trace are off', () => {
    const stage = Object.values(template.findResources('AWS::ApiGatewayV2::Stage'))[0] as any;
    expect(stage.Properties.DefaultRouteSettings.LoggingLevel).toBeUndefined();
    expect(stage.Properties.DefaultRouteSettings.DataTraceEnabled).toBeUndefined();
  });

  test('writes JSON access logs without the token to a retained log group with a retention', () => {
    const stage = Object.values(template.findResources('AWS::ApiGatewayV2::Stage'))[0] as any;
    const format = JSON.parse(stage.Properties.AccessLogSettings.Format);
    expect(format).toMatchObject({ requestId: '$context.requestId', routeKey: '$context.routeKey', status: '$context.status' });
    expect(stage.Properties.AccessLogSettings.Format).not.toMatch(/token|querystring/i);
    const logGroupId = logicalId(template, 'AWS::Logs::LogGroup', 'ChatAccessLogs');
    expect(stage.Properties.AccessLogSettings.DestinationArn).toEqual({ 'Fn::GetAtt': [logGroupId, 'Arn'] });
    template.hasResource('AWS::Logs::LogGroup', { Properties: { RetentionInDays: 30 }, DeletionPolicy: 'Retain' });
  });

  test('every log group is retained by default, with a one-month retention', () => {
    for (const group of Object.values(template.findResources('AWS::Logs::LogGroup')) as any[]) {
      expect(group).toMatchObject({ DeletionPolicy: 'Retain', UpdateReplacePolicy: 'Retain', Properties: { RetentionInDays: 30 } });
    }
  });

  test('two tables, on demand, PITR, TTL on ttl, destroyed with the stack, AWS owned key', () => {
    const tables = Object.values(template.findResources('AWS::DynamoDB::Table')) as any[];
    expect(tables).toHaveLength(2);
    for (const table of tables) {
      expect(table).toMatchObject({
        DeletionPolicy: 'Delete',
        Properties: {
          BillingMode: 'PAY_PER_REQUEST',
          TimeToLiveSpecification: { AttributeName: 'ttl', Enabled: true },
          PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
        },
      });
      expect(table.Properties.SSESpecification).toBeUndefined();
      expect(table.Properties.DeletionProtectionEnabled).toBeUndefined();
    }
    expect(chat.messagesTable).toBeDefined();
  });

  test('connections table v2: connection_id + sk, room index ranged by shard, user index ranged by sk', () => {
    template.hasResourceProperties('AWS::DynamoDB::Table', {
      KeySchema: [{ AttributeName: 'connection_id', KeyType: 'HASH' }, { AttributeName: 'sk', KeyType: 'RANGE' }],
      GlobalSecondaryIndexes: [
        Match.objectLike({ IndexName: 'room_id-index', KeySchema: [{ AttributeName: 'room_id', KeyType: 'HASH' }, { AttributeName: 'shard', KeyType: 'RANGE' }], Projection: { ProjectionType: 'ALL' } }),
        Match.objectLike({ IndexName: 'user_id-index', KeySchema: [{ AttributeName: 'user_id', KeyType: 'HASH' }, { AttributeName: 'sk', KeyType: 'RANGE' }], Projection: { ProjectionType: 'ALL' } }),
      ],
    });
  });

  test('messages table: room_id + seq (N)', () => {
    template.hasResourceProperties('AWS::DynamoDB::Table', {
      KeySchema: [{ AttributeName: 'room_id', KeyType: 'HASH' }, { AttributeName: 'seq', KeyType: 'RANGE' }],
      AttributeDefinitions: [{ AttributeName: 'room_id', AttributeType: 'S' }, { AttributeName: 'seq', AttributeType: 'N' }],
    });
  });

  test('$default lists the built-in client actions', () => {
    expect(envOf(template, 'ChatDefaultRoute')[HANDLER_ENV.validActions]).toBe(clientActions(true).join(','));
  });

  test('the functions are exposed as lambda.Function', () => {
    for (const fn of [
      chat.authorizerFunction, chat.connectFunction, chat.disconnectFunction, chat.sendMessageFunction, chat.pingFunction,
      chat.defaultFunction, chat.joinFunction, chat.leaveFunction, chat.presenceFunction, chat.historyFunction,
      chat.publishFunction, chat.fanoutWorkerFunction,
    ]) expect(fn).toBeInstanceOf(lambda.Function);
    expect(chat.node.defaultChild).toBeUndefined();
  });

  test('no role uses a managed policy', () => {
    for (const role of Object.values(template.findResources('AWS::IAM::Role')) as any[]) {
      expect(role.Properties.ManagedPolicyArns).toBeUndefined();
    }
  });

  test('the fan-out worker: events at most 60 s old, 2 retries, then its encrypted TLS-only queue', () => {
    const queueId = logicalId(template, 'AWS::SQS::Queue', 'ChatFanoutWorkerDeadLetterQueue');
    template.hasResourceProperties('AWS::Lambda::EventInvokeConfig', {
      FunctionName: { Ref: logicalId(template, 'AWS::Lambda::Function', 'ChatFanoutWorker') },
      MaximumEventAgeInSeconds: 600,
      MaximumRetryAttempts: 2,
      DestinationConfig: { OnFailure: { Destination: { 'Fn::GetAtt': [queueId, 'Arn'] } } },
    });
    expect(stack.resolve(chat.fanoutWorkerDeadLetterQueue.queueArn)).toEqual({ 'Fn::GetAtt': [queueId, 'Arn'] });
  });

  test('publish, invoked asynchronously: 2 retries within the 5-minute idempotency window, then its queue', () => {
    template.hasResourceProperties('AWS::Lambda::EventInvokeConfig', {
      FunctionName: { Ref: logicalId(template, 'AWS::Lambda::Function', 'ChatPublish') },
      MaximumEventAgeInSeconds: 300,
      MaximumRetryAttempts: 2,
      DestinationConfig: { OnFailure: { Destination: { 'Fn::GetAtt': [logicalId(template, 'AWS::SQS::Queue', 'ChatPublishDeadLetterQueue'), 'Arn'] } } },
    });
  });

  test('the on-failure queues are encrypted and refuse requests without TLS', () => {
    const queues = template.findResources('AWS::SQS::Queue');
    expect(Object.keys(queues)).toHaveLength(2);
    for (const [id, queue] of Object.entries(queues) as Array<[string, any]>) {
      expect(queue.Properties).toMatchObject({ SqsManagedSseEnabled: true, MessageRetentionPeriod: 14 * 24 * 3600 });
      template.hasResourceProperties('AWS::SQS::QueuePolicy', {
        Queues: [{ Ref: id }],
        PolicyDocument: { Statement: Match.arrayWith([Match.objectLike({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } })]) },
      });
    }
  });

  test('url and managementEndpoint point at the execute-api stage; apiId and stageName too', () => {
    const apiId = logicalId(template, 'AWS::ApiGatewayV2::Api', 'ChatApi');
    expect(stack.resolve(chat.url)).toEqual({
      'Fn::Join': ['', ['wss://', { Ref: apiId }, '.execute-api.eu-west-1.', { Ref: 'AWS::URLSuffix' }, '/dev']],
    });
    expect(JSON.stringify(stack.resolve(chat.managementEndpoint))).toMatch(/"https:\/\/".*execute-api.*\/dev/);
    expect(stack.resolve(chat.apiId)).toEqual({ Ref: apiId });
    expect(stack.resolve(chat.stageName)).toBe('dev');
  });

  test('no dashboard unless asked', () => {
    template.resourceCountIs('AWS::CloudWatch::Dashboard', 0);
    expect(chat.dashboard).toBeUndefined();
  });

  test('synthesizes no warnings', () => {
    Annotations.fromStack(stack).hasNoWarning('*', Match.anyValue());
  });
});

describe('WebSocketChat with history off', () => {
  const { template, chat } = chatStack({ history: false });

  test('no messages table, no history function or route', () => {
    template.resourceCountIs('AWS::DynamoDB::Table', 1);
    expect(chat.messagesTable).toBeUndefined();
    expect(chat.historyFunction).toBeUndefined();
    const keys = Object.values(template.findResources('AWS::ApiGatewayV2::Route')).map((r: any) => r.Properties.RouteKey);
    expect(keys).not.toContain('history');
    expect(keys.sort()).toEqual(Object.keys(routeTable(false)).sort());
  });

  test('no handler is told of a messages table, and $default does not list history', () => {
    for (const fn of Object.values(template.findResources('AWS::Lambda::Function')) as any[]) {
      expect(fn.Properties.Environment.Variables[HANDLER_ENV.messagesTable]).toBeUndefined();
    }
    expect(envOf(template, 'ChatDefaultRoute')[HANDLER_ENV.validActions]).toBe(clientActions(false).join(','));
  });

  test('no store-failure alarm', () => {
    expect(chat.storeFailuresAlarm).toBeUndefined();
    template.resourcePropertiesCountIs('AWS::CloudWatch::Alarm', { MetricName: 'StoreFailures' }, 0);
  });

  test('grantReadHistory throws', () => {
    const stack = Stack.of(chat);
    expect(() => chat.grantReadHistory(inlineFunction(stack, 'Reader'))).toThrow(/no messages table/);
  });
});

describe('WebSocketChat options', () => {
  test('stage name and throttling (aws-cdk-lib ThrottleSettings; a field left out keeps its default)', () => {
    const { template } = chatStack({ stageName: 'prod', throttle: { rateLimit: 50 } });
    template.hasResourceProperties('AWS::ApiGatewayV2::Stage', {
      StageName: 'prod',
      DefaultRouteSettings: Match.objectLike({ ThrottlingBurstLimit: 5000, ThrottlingRateLimit: 50 }),
    });
  });

  test('a stage name given as a token passes synth', () => {
    const app = new App();
    const stack = new Stack(app, 'S');
    const stageName = new CfnParameter(stack, 'StageName').valueAsString;
    new WebSocketChat(stack, 'Chat', { auth: ChatAuth.none(), stageName });
    Template.fromStack(stack).hasResourceProperties('AWS::ApiGatewayV2::Stage', { StageName: { Ref: 'StageName' } });
  });

  test('alarm actions are wired to every alarm', () => {
    const app = new App();
    const stack = new Stack(app, 'S');
    const topic = new sns.Topic(stack, 'Topic');
    const topicId = stack.getLogicalId(topic.node.defaultChild as sns.CfnTopic);
    const chat = new WebSocketChat(stack, 'Chat', { auth: ChatAuth.none(), alarmActions: [new SnsAction(topic)] });
    const alarms = Object.values(Template.fromStack(stack).findResources('AWS::CloudWatch::Alarm')) as any[];
    expect(alarms).toHaveLength(chat.alarms.length);
    for (const alarm of alarms) expect(alarm.Properties.AlarmActions).toEqual([{ Ref: topicId }]);
  });

  test('tables: removal policy, deletion protection, and a customer managed key', () => {
    const app = new App();
    const s = new Stack(app, 'S');
    const key = new kms.Key(s, 'Key');
    const chat = new WebSocketChat(s, 'Chat', { auth: ChatAuth.none(), removalPolicy: RemovalPolicy.RETAIN, deletionProtection: true, encryptionKey: key });
    chat.grantReadConnections(inlineFunction(s, 'Reader'));
    const t = Template.fromStack(s);
    const keyId = s.getLogicalId(key.node.defaultChild as kms.CfnKey);
    for (const table of Object.values(t.findResources('AWS::DynamoDB::Table')) as any[]) {
      expect(table).toMatchObject({
        DeletionPolicy: 'Retain',
        Properties: {
          DeletionProtectionEnabled: true,
          SSESpecification: { SSEEnabled: true, SSEType: 'KMS', KMSMasterKeyId: { 'Fn::GetAtt': [keyId, 'Arn'] } },
        },
      });
    }
    // Writers may encrypt with the key, readers only decrypt.
    expect(grantsOfRole(t, 'ChatSendMessageRole')).toEqual(expect.arrayContaining([
      `kms:Decrypt on ${keyId}`, `kms:DescribeKey on ${keyId}`, `kms:Encrypt on ${keyId}`, `kms:GenerateDataKey on ${keyId}`,
    ]));
    const readerGrants = grantsOfRole(t, 'ReaderServiceRole').filter((g) => g.startsWith('kms:'));
    expect(readerGrants).toEqual([`kms:Decrypt on ${keyId}`, `kms:DescribeKey on ${keyId}`]);
  });

  test('logs: removal policy, retention, and an access-log group of your own', () => {
    const app = new App();
    const s = new Stack(app, 'S');
    const own = new logs.LogGroup(s, 'MyAccessLogs');
    const c = new WebSocketChat(s, 'Chat', {
      auth: ChatAuth.none(),
      accessLogGroup: own,
      logRemovalPolicy: RemovalPolicy.DESTROY,
      logRetention: logs.RetentionDays.ONE_WEEK,
    });
    const t = Template.fromStack(s);
    expect(c.accessLogGroup).toBe(own);
    expect(Object.keys(t.findResources('AWS::Logs::LogGroup')).some((id) => id.startsWith('ChatAccessLogs'))).toBe(false);
    t.hasResourceProperties('AWS::ApiGatewayV2::Stage', {
      AccessLogSettings: Match.objectLike({ DestinationArn: { 'Fn::GetAtt': [s.getLogicalId(own.node.defaultChild as logs.CfnLogGroup), 'Arn'] } }),
    });
    t.hasResource('AWS::Logs::LogGroup', { Properties: { RetentionInDays: 7 }, DeletionPolicy: 'Delete' });
  });

  test('cloudWatchRole sets API Gateway\'s account-level logging role before the stage, and retains it', () => {
    const { template } = chatStack({ cloudWatchRole: true });
    const accountId = logicalId(template, 'AWS::ApiGateway::Account', 'ChatApiGatewayAccount');
    template.hasResource('AWS::ApiGateway::Account', {
      Properties: { CloudWatchRoleArn: { 'Fn::GetAtt': [Match.stringLikeRegexp('ChatApiGatewayCloudWatchRole'), 'Arn'] } },
      DeletionPolicy: 'Retain',
    });
    template.hasResource('AWS::ApiGatewayV2::Stage', { DependsOn: Match.arrayWith([accountId]) });
  });

  test('execution logging reuses aws-cdk-lib\'s MethodLoggingLevel; data trace warns', () => {
    const { template, stack } = chatStack({ executionLogLevel: apigw.MethodLoggingLevel.ERROR, dataTraceEnabled: true });
    template.hasResourceProperties('AWS::ApiGatewayV2::Stage', {
      DefaultRouteSettings: Match.objectLike({ LoggingLevel: 'ERROR', DataTraceEnabled: true }),
    });
    Annotations.fromStack(stack).hasWarning('/TestStack/Chat', Match.stringLikeRegexp('tokens'));
  });

  test('the limits reach the handlers that read them', () => {
    const { template } = chatStack({
      fanoutConcurrency: 8,
      maxMessageBytes: 1000,
      maxRoomsPerConnection: 5,
      presenceEventsMaxConnections: 0,
      shardThreshold: 500,
      maxFanoutWorkers: 4,
      fanoutRateBudget: 2000,
      historyRetention: Duration.hours(6),
    });
    expect(envOf(template, 'ChatSendMessage')).toMatchObject({
      [HANDLER_ENV.fanoutConcurrency]: '8',
      [HANDLER_ENV.maxMessageBytes]: '1000',
      [HANDLER_ENV.shardThreshold]: '500',
      [HANDLER_ENV.maxFanoutWorkers]: '4',
      [HANDLER_ENV.fanoutRateBudget]: '2000',
      [HANDLER_ENV.historyRetentionSeconds]: String(6 * 3600),
    });
    expect(envOf(template, 'ChatJoin')).toMatchObject({
      [HANDLER_ENV.maxRoomsPerConnection]: '5',
      [HANDLER_ENV.presenceEventsMaxConnections]: '0',
    });
  });

  test('handlerOptions apply to every handler; fanoutHandlerOptions override them on the fan-out handlers', () => {
    const { template, stack } = chatStack({
      handlerOptions: {
        tracing: lambda.Tracing.ACTIVE,
        architecture: lambda.Architecture.X86_64,
        loggingFormat: lambda.LoggingFormat.JSON,
        applicationLogLevelV2: lambda.ApplicationLogLevel.WARN,
        systemLogLevelV2: lambda.SystemLogLevel.WARN,
        reservedConcurrentExecutions: 50,
      },
      fanoutHandlerOptions: { reservedConcurrentExecutions: 200, tracing: lambda.Tracing.DISABLED },
    });
    for (const [prefix, fanout] of [['ChatConnect', false], ['ChatJoin', false], ['ChatSendMessage', true], ['ChatPublish', true], ['ChatFanoutWorker', true]] as const) {
      const fn = template.findResources('AWS::Lambda::Function')[logicalId(template, 'AWS::Lambda::Function', prefix)].Properties;
      expect(fn).toMatchObject({
        Architectures: ['x86_64'],
        LoggingConfig: { LogFormat: 'JSON', ApplicationLogLevel: 'WARN', SystemLogLevel: 'WARN' },
        ReservedConcurrentExecutions: fanout ? 200 : 50,
      });
      expect(fn.TracingConfig).toEqual(fanout ? undefined : { Mode: 'Active' });
    }
    Annotations.fromStack(stack).hasNoWarning('*', Match.anyValue());
  });

  test('handlers in a VPC: subnets, security groups, and the network-interface policy', () => {
    const app = new App();
    const stack = new Stack(app, 'S', { env: { account: '123456789012', region: 'eu-west-1' } });
    const vpc = new ec2.Vpc(stack, 'Vpc', { maxAzs: 2 });
    const securityGroup = new ec2.SecurityGroup(stack, 'Sg', { vpc });
    new WebSocketChat(stack, 'Chat', { auth: ChatAuth.none(), handlerOptions: { vpc, securityGroups: [securityGroup] } });
    const template = Template.fromStack(stack);
    const sgId = stack.getLogicalId(securityGroup.node.defaultChild as ec2.CfnSecurityGroup);
    template.allResourcesProperties('AWS::Lambda::Function', {
      VpcConfig: { SecurityGroupIds: [{ 'Fn::GetAtt': [sgId, 'GroupId'] }], SubnetIds: Match.anyValue() },
    });
    template.hasResourceProperties('AWS::IAM::Role', {
      Description: 'WebSocketChat SendMessage handler',
      ManagedPolicyArns: [Match.objectLike({ 'Fn::Join': ['', Match.arrayWith([':iam::aws:policy/service-role/AWSLambdaVPCAccessExecutionRole'])] })],
    });
  });

  test('environment encryption with your key: each role may decrypt with it', () => {
    const app = new App();
    const stack = new Stack(app, 'S');
    const key = new kms.Key(stack, 'EnvKey');
    new WebSocketChat(stack, 'Chat', { auth: ChatAuth.none(), handlerOptions: { environmentEncryption: key } });
    const template = Template.fromStack(stack);
    const keyId = stack.getLogicalId(key.node.defaultChild as kms.CfnKey);
    template.allResourcesProperties('AWS::Lambda::Function', { KmsKeyArn: { 'Fn::GetAtt': [keyId, 'Arn'] } });
    expect(grantsOfRole(template, 'ChatPingRole')).toContain(`kms:Decrypt on ${keyId}`);
  });

  test('a dashboard on request', () => {
    const { template, chat } = chatStack({ dashboard: true });
    template.resourceCountIs('AWS::CloudWatch::Dashboard', 1);
    expect(chat.dashboard).toBeDefined();
  });

  test('ChatAuth.none() warns at synth, and requires no token of API Gateway', () => {
    const app = new App();
    const stack = new Stack(app, 'S');
    new WebSocketChat(stack, 'Chat', { auth: ChatAuth.none() });
    Annotations.fromStack(stack).hasWarning('/S/Chat', Match.stringLikeRegexp('without a token'));
    Template.fromStack(stack).hasResourceProperties('AWS::ApiGatewayV2::Authorizer', { IdentitySource: identitySources('none') });
  });

  test('a rate budget above the default account quota warns', () => {
    const { stack } = chatStack({ fanoutRateBudget: 20_000 });
    Annotations.fromStack(stack).hasWarning('/TestStack/Chat', Match.stringLikeRegexp('10,000 requests/s'));
  });

  test('a worker reserved concurrency below maxFanoutWorkers warns', () => {
    const { stack } = chatStack({ fanoutHandlerOptions: { reservedConcurrentExecutions: 4 } });
    Annotations.fromStack(stack).hasWarning('/TestStack/Chat', Match.stringLikeRegexp('below maxFanoutWorkers'));
  });
});

describe('WebSocketChat grants', () => {
  const { template } = chatStack({}, (s, c) => {
    c.grantManageConnections(inlineFunction(s, 'Manager'));
    c.grantPostToConnections(inlineFunction(s, 'Poster'));
    c.grantReadConnections(inlineFunction(s, 'Reader'));
    c.grantReadHistory(inlineFunction(s, 'HistoryReader'));
    c.grantPublish(inlineFunction(s, 'Backend'));
  });
  const own = (prefix: string) => grantsOfRole(template, prefix).filter((g) => !g.startsWith('logs:'));

  test('grantManageConnections: POST, GET and DELETE on this stage only', () => {
    expect(own('ManagerServiceRole')).toEqual([
      'execute-api:ManageConnections on DELETE @connections',
      'execute-api:ManageConnections on GET @connections',
      'execute-api:ManageConnections on POST @connections',
    ]);
    const statement = JSON.stringify(Object.values(template.findResources('AWS::IAM::Policy')).map((p: any) => p.Properties));
    expect(statement).toContain('/dev/POST/@connections/*');
  });

  test('grantPostToConnections: POST only', () => {
    expect(own('PosterServiceRole')).toEqual(['execute-api:ManageConnections on POST @connections']);
  });

  test('grantReadConnections: reads on the table, Query on both indexes, never Scan', () => {
    expect(own('ReaderServiceRole')).toEqual([
      'dynamodb:BatchGetItem on connections',
      'dynamodb:DescribeTable on connections',
      'dynamodb:GetItem on connections',
      'dynamodb:Query on connections',
      'dynamodb:Query on connections/index/room_id-index',
      'dynamodb:Query on connections/index/user_id-index',
    ]);
  });

  test('grantReadHistory: GetItem and Query on the messages table', () => {
    expect(own('HistoryReaderServiceRole')).toEqual(['dynamodb:GetItem on messages', 'dynamodb:Query on messages']);
  });

  test('grantPublish: exactly lambda:InvokeFunction on the publish function', () => {
    expect(own('BackendServiceRole')).toEqual([`lambda:InvokeFunction on ${logicalId(template, 'AWS::Lambda::Function', 'ChatPublish')}`]);
  });
});

describe('WebSocketChat.addRoute', () => {
  test('routes the action, sets the environment, grants POST only by default, and $default lists it', () => {
    const { template } = chatStack({}, (stack, chat) => chat.addRoute('query', inlineFunction(stack, 'Query')));
    template.hasResourceProperties('AWS::ApiGatewayV2::Route', { RouteKey: 'query' });
    template.hasResourceProperties('AWS::Lambda::Function', {
      Handler: 'i.h',
      Environment: { Variables: { [HANDLER_ENV.managementEndpoint]: Match.anyValue(), [HANDLER_ENV.connectionsTable]: Match.anyValue() } },
    });
    expect(grantsOfRole(template, 'QueryServiceRole')).toEqual(['execute-api:ManageConnections on POST @connections']);
    expect(envOf(template, 'ChatDefaultRoute')[HANDLER_ENV.validActions]).toBe([...clientActions(true), 'query'].join(','));
  });

  test('grantRead adds reading the connections table; grantPost: false leaves out posting', () => {
    const { template } = chatStack({}, (stack, chat) => chat.addRoute('report', inlineFunction(stack, 'Report'), { grantPost: false, grantRead: true }));
    const grants = grantsOfRole(template, 'ReportServiceRole');
    expect(grants).toContain('dynamodb:Query on connections/index/room_id-index');
    expect(grants.some((g) => g.startsWith('execute-api:'))).toBe(false);
  });

  test('an Alias: the environment is set on the function behind it', () => {
    const { template, stack } = chatStack({}, (s, chat) => {
      const fn = inlineFunction(s, 'Aliased');
      chat.addRoute('aliased', new lambda.Alias(s, 'Live', { aliasName: 'live', version: fn.currentVersion }));
    });
    expect(envOf(template, 'Aliased')).toMatchObject({
      [HANDLER_ENV.managementEndpoint]: expect.anything(),
      [HANDLER_ENV.connectionsTable]: { Ref: logicalId(template, 'AWS::DynamoDB::Table', 'ChatConnectionsTable') },
    });
    Annotations.fromStack(stack).hasNoWarning('*', Match.anyValue());
  });

  test('an imported function: a synth warning names the variables to set', () => {
    const { stack } = chatStack({}, (s, chat) => {
      chat.addRoute('external', lambda.Function.fromFunctionArn(s, 'External', 'arn:aws:lambda:eu-west-1:123456789012:function:external'));
    });
    Annotations.fromStack(stack).hasWarning('/TestStack/Chat', Match.stringLikeRegexp('MANAGEMENT_ENDPOINT and CONNECTIONS_TABLE'));
  });

  test('rejects reserved, duplicate and malformed actions', () => {
    chatStack({}, (stack, chat) => {
      const fn = inlineFunction(stack, 'Fn');
      expect(() => chat.addRoute('$connect', fn)).toThrow(/not start with/);
      expect(() => chat.addRoute('sendMessage', fn)).toThrow(/already routed/);
      expect(() => chat.addRoute('join', fn)).toThrow(/already routed/);
      expect(() => chat.addRoute('bad action', fn)).toThrow(/A-Za-z0-9/);
      chat.addRoute('mine', fn);
      expect(() => chat.addRoute('mine', fn)).toThrow(/already routed/);
    });
  });

  test('with history off, an app may route its own `history` action', () => {
    chatStack({ history: false }, (stack, chat) => {
      expect(() => chat.addRoute('history', inlineFunction(stack, 'MyHistory'))).not.toThrow();
    });
  });
});

describe('WebSocketChat metrics', () => {
  const { chat, stack } = chatStack();
  const apiRef = () => stack.resolve(chat.apiId);

  test.each([
    ['metricConnectCount', 'ConnectCount', 'Sum'],
    ['metricMessageCount', 'MessageCount', 'Sum'],
    ['metricIntegrationError', 'IntegrationError', 'Sum'],
    ['metricExecutionError', 'ExecutionError', 'Sum'],
    ['metricClientError', 'ClientError', 'Sum'],
    ['metricIntegrationLatency', 'IntegrationLatency', 'p99'],
  ] as const)('%s: AWS/ApiGateway %s of this stage (%s over 5 minutes)', (method, metricName, statistic) => {
    const metric = chat[method]();
    expect(metric).toMatchObject({ namespace: 'AWS/ApiGateway', metricName, statistic });
    expect(metric.period.toMinutes()).toBe(5);
    expect(stack.resolve(metric.dimensions)).toEqual({ ApiId: apiRef(), Stage: 'dev' });
  });

  test.each([
    ['metricFanoutDelivered', 'PostsDelivered', 'Sum'],
    ['metricFanoutGone', 'ConnectionsGone', 'Sum'],
    ['metricFanoutFailed', 'PostsFailed', 'Sum'],
    ['metricFanoutRecipients', 'Recipients', 'Sum'],
    ['metricFanoutWorkers', 'FanoutWorkers', 'Sum'],
    ['metricFanoutTimeToLastPost', 'TimeToLastPostMs', 'p99'],
    ['metricMessagesStored', 'MessagesStored', 'Sum'],
    ['metricStoreFailures', 'StoreFailures', 'Sum'],
  ] as const)('%s: the handlers\' embedded metric %s (%s)', (method, metricName, statistic) => {
    const metric = chat[method]();
    expect(metric).toMatchObject({ namespace: DEFAULTS.metricsNamespace, metricName, statistic });
    expect(stack.resolve(metric.dimensions)).toEqual({ ApiId: apiRef() });
  });

  test('metric() takes any API Gateway metric, and props override the defaults', () => {
    const metric = chat.metric('IntegrationLatency', { statistic: cloudwatch.Stats.AVERAGE, period: Duration.minutes(1) });
    expect(metric).toMatchObject({ metricName: 'IntegrationLatency', statistic: 'Average' });
    expect(metric.period.toMinutes()).toBe(1);
  });
});

describe('WebSocketChat validation', () => {
  const cases: Array<[string, Record<string, unknown>, RegExp]> = [
    ['a bad stage name', { stageName: 'has space' }, /stageName/],
    ['a non-positive burst limit', { throttle: { burstLimit: 0 } }, /throttle.burstLimit/],
    ['a negative rate limit', { throttle: { rateLimit: -1 } }, /throttle.rateLimit/],
    ['a fractional burst limit', { throttle: { burstLimit: 1.5 } }, /integer/],
    ['a message cap above 128 KiB', { maxMessageBytes: 128 * 1024 }, /maxMessageBytes/],
    ['a zero fan-out concurrency', { fanoutConcurrency: 0 }, /fanoutConcurrency/],
    ['a fan-out concurrency above 1000', { fanoutConcurrency: 5000 }, /from 1 to 1000/],
    ['data trace without execution logs', { dataTraceEnabled: true }, /executionLogLevel/],
    ['too little memory', { handlerMemorySize: 64 }, /handlerMemorySize/],
    ['too much fan-out memory', { fanoutMemorySize: 20000 }, /fanoutMemorySize/],
    ['zero rooms per connection', { maxRoomsPerConnection: 0 }, /maxRoomsPerConnection/],
    ['a negative presence cap', { presenceEventsMaxConnections: -1 }, /presenceEventsMaxConnections/],
    ['a zero shard threshold', { shardThreshold: 0 }, /shardThreshold/],
    ['more workers than shards', { maxFanoutWorkers: 65 }, /maxFanoutWorkers must be an integer from 1 to 64/],
    ['a zero rate budget', { fanoutRateBudget: 0 }, /fanoutRateBudget/],
    ['a history retention without history', { history: false, historyRetention: Duration.days(2) }, /historyRetention needs history/],
    ['a history retention under a second', { historyRetention: Duration.seconds(0) }, /historyRetention/],
    ['a history retention under a minute (the handlers refuse it)', { historyRetention: Duration.seconds(59) }, /historyRetention.*at least 1 minute/],
    ['subnets without a VPC', { handlerOptions: { vpcSubnets: { subnetType: ec2.SubnetType.PRIVATE_WITH_EGRESS } } }, /handlerOptions.vpcSubnets .* need handlerOptions.vpc/],
    ['log levels without the JSON format', { fanoutHandlerOptions: { applicationLogLevelV2: lambda.ApplicationLogLevel.DEBUG } }, /fanoutHandlerOptions.*loggingFormat/],
    ['a negative reserved concurrency', { handlerOptions: { reservedConcurrentExecutions: -1 } }, /reservedConcurrentExecutions/],
  ];
  test.each(cases)('rejects %s', (_name, props, message) => {
    expect(() => chatStack(props as any)).toThrow(message);
  });

  test('a token passes: only resolved values are checked', () => {
    const app = new App();
    const stack = new Stack(app, 'S');
    const burst = new CfnParameter(stack, 'Burst', { type: 'Number' }).valueAsNumber;
    expect(() => new WebSocketChat(stack, 'Chat', { auth: ChatAuth.none(), throttle: { burstLimit: burst }, maxFanoutWorkers: burst })).not.toThrow();
  });

  test('rejects a missing auth', () => {
    const stack = new Stack(new App(), 'S');
    expect(() => new WebSocketChat(stack, 'Chat', {} as any)).toThrow(/auth is required/);
  });
});
