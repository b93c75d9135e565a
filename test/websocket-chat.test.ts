import { App, RemovalPolicy, Stack } from 'aws-cdk-lib';
import { Annotations, Match, Template } from 'aws-cdk-lib/assertions';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import { SnsAction } from 'aws-cdk-lib/aws-cloudwatch-actions';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as sns from 'aws-cdk-lib/aws-sns';
import { ChatAuth, ChatExecutionLogLevel, WebSocketChat } from '../src';
import { chatStack, logicalId, statementsOfRole } from './support/stack';
import { DEFAULTS, ENV as HANDLER_ENV, TABLE } from '../src/shared/contract';

describe('WebSocketChat with defaults', () => {
  const { template, chat, stack } = chatStack();

  test('creates a WebSocket API selecting routes on $request.body.action', () => {
    template.hasResourceProperties('AWS::ApiGatewayV2::Api', {
      ProtocolType: 'WEBSOCKET',
      RouteSelectionExpression: '$request.body.action',
    });
  });

  test('routes $connect, $disconnect, $default, sendMessage and ping', () => {
    const keys = Object.values(template.findResources('AWS::ApiGatewayV2::Route')).map((r: any) => r.Properties.RouteKey);
    expect(keys.sort()).toEqual(['$connect', '$default', '$disconnect', 'ping', 'sendMessage']);
  });

  test('authorizes $connect with a REQUEST Lambda authorizer on the query-string token', () => {
    template.hasResourceProperties('AWS::ApiGatewayV2::Authorizer', {
      AuthorizerType: 'REQUEST',
      IdentitySource: ['route.request.querystring.token'],
    });
    template.hasResourceProperties('AWS::ApiGatewayV2::Route', {
      RouteKey: '$connect',
      AuthorizationType: 'CUSTOM',
      AuthorizerId: Match.anyValue(),
    });
  });

  test('stage "dev" auto-deploys with throttling 5000/10000 and detailed metrics', () => {
    template.hasResourceProperties('AWS::ApiGatewayV2::Stage', {
      StageName: 'dev',
      AutoDeploy: true,
      DefaultRouteSettings: {
        ThrottlingBurstLimit: 5000,
        ThrottlingRateLimit: 10000,
        DetailedMetricsEnabled: true,
      },
    });
  });

  test('execution logging and data trace are off', () => {
    const stage = Object.values(template.findResources('AWS::ApiGatewayV2::Stage'))[0] as any;
    expect(stage.Properties.DefaultRouteSettings.LoggingLevel).toBeUndefined();
    expect(stage.Properties.DefaultRouteSettings.DataTraceEnabled).toBeUndefined();
  });

  test('writes JSON access logs without the token to a log group with a retention', () => {
    const stage = Object.values(template.findResources('AWS::ApiGatewayV2::Stage'))[0] as any;
    const format = JSON.parse(stage.Properties.AccessLogSettings.Format);
    expect(format).toMatchObject({ requestId: '$context.requestId', routeKey: '$context.routeKey', status: '$context.status' });
    expect(stage.Properties.AccessLogSettings.Format).not.toMatch(/token|querystring/i);
    const logGroupId = logicalId(template, 'AWS::Logs::LogGroup', 'ChatAccessLogs');
    expect(stage.Properties.AccessLogSettings.DestinationArn).toEqual({ 'Fn::GetAtt': [logGroupId, 'Arn'] });
    template.hasResource('AWS::Logs::LogGroup', { Properties: { RetentionInDays: 30 }, DeletionPolicy: 'Delete' });
  });

  test('connections table: connection_id key, room and user GSIs, TTL, on-demand, PITR', () => {
    template.hasResourceProperties('AWS::DynamoDB::Table', {
      KeySchema: [{ AttributeName: TABLE.partitionKey, KeyType: 'HASH' }],
      BillingMode: 'PAY_PER_REQUEST',
      TimeToLiveSpecification: { AttributeName: 'ttl', Enabled: true },
      PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
      GlobalSecondaryIndexes: [
        Match.objectLike({ IndexName: 'room_id-index', KeySchema: [{ AttributeName: 'room_id', KeyType: 'HASH' }] }),
        Match.objectLike({ IndexName: 'user_id-index', KeySchema: [{ AttributeName: 'user_id', KeyType: 'HASH' }] }),
      ],
    });
  });

  test('the table is destroyed with the stack by default', () => {
    template.hasResource('AWS::DynamoDB::Table', { DeletionPolicy: 'Delete', UpdateReplacePolicy: 'Delete' });
  });

  test('six handlers on the current Node.js runtime, arm64, each with its own log group', () => {
    const functions = template.findResources('AWS::Lambda::Function');
    expect(Object.keys(functions)).toHaveLength(6);
    for (const fn of Object.values(functions) as any[]) {
      expect(fn.Properties.Runtime).toBe('nodejs24.x');
      expect(fn.Properties.Architectures).toEqual(['arm64']);
      expect(fn.Properties.LoggingConfig.LogGroup).toBeDefined();
    }
  });

  test('route handlers know the table and the management endpoint', () => {
    const fnId = logicalId(template, 'AWS::Lambda::Function', 'ChatSendMessage');
    template.hasResourceProperties('AWS::Lambda::Function', {
      Environment: {
        Variables: Match.objectLike({
          [HANDLER_ENV.connectionsTable]: { Ref: Match.stringLikeRegexp('ChatConnectionsTable') },
          [HANDLER_ENV.managementEndpoint]: Match.objectLike({ 'Fn::Join': Match.anyValue() }),
          [HANDLER_ENV.fanoutConcurrency]: String(DEFAULTS.fanoutConcurrency),
          [HANDLER_ENV.maxMessageBytes]: String(DEFAULTS.maxMessageBytes),
        }),
      },
    });
    expect(fnId).toBeDefined();
  });

  test('sendMessage gets 1024 MiB (a fan-out is CPU-bound), the other handlers 256 MiB', () => {
    const functions = Object.values(template.findResources('AWS::Lambda::Function')) as any[];
    const memory = (description: RegExp) => functions.find((f) => description.test(f.Properties.Description)).Properties.MemorySize;
    expect(memory(/sendMessage/)).toBe(1024);
    for (const other of [/authorizer/, /\$connect:/, /\$disconnect/, /ping/, /\$default/]) expect(memory(other)).toBe(256);
  });

  test('$default lists the valid actions', () => {
    template.hasResourceProperties('AWS::Lambda::Function', {
      Environment: { Variables: Match.objectLike({ [HANDLER_ENV.validActions]: 'sendMessage,ping' }) },
    });
  });

  test('the authorizer reads only its secret and has no table access', () => {
    const statements = statementsOfRole(template, 'ChatAuthorizerRole');
    const actions = statements.flatMap((s) => [].concat(s.Action));
    expect(actions).toEqual(expect.arrayContaining(['secretsmanager:GetSecretValue']));
    expect(actions.some((a: string) => a.startsWith('dynamodb:'))).toBe(false);
    expect(actions.some((a: string) => a.startsWith('execute-api:'))).toBe(false);
  });

  test('connect may only PutItem, disconnect may only DeleteItem', () => {
    const connect = statementsOfRole(template, 'ChatConnectRole').filter((s) => [].concat(s.Action).some((a: string) => a.startsWith('dynamodb:')));
    expect(connect).toEqual([expect.objectContaining({ Action: 'dynamodb:PutItem' })]);
    const disconnect = statementsOfRole(template, 'ChatDisconnectRole').filter((s) => [].concat(s.Action).some((a: string) => a.startsWith('dynamodb:')));
    expect(disconnect).toEqual([expect.objectContaining({ Action: 'dynamodb:DeleteItem' })]);
  });

  test('sendMessage queries only the room index, deletes rows, posts to this stage only', () => {
    const statements = statementsOfRole(template, 'ChatSendMessageRole');
    const query = statements.find((s) => s.Action === 'dynamodb:Query')!;
    expect(JSON.stringify(query.Resource)).toContain('/index/room_id-index');
    expect(JSON.stringify(query.Resource)).not.toContain('user_id-index');
    expect(statements.find((s) => s.Action === 'dynamodb:DeleteItem')).toBeDefined();
    const manage = statements.find((s) => s.Action === 'execute-api:ManageConnections')!;
    expect(JSON.stringify(manage.Resource)).toMatch(/\/dev\/POST\/@connections\/\*/);
  });

  test('no role anywhere may Scan, or use a wildcard action', () => {
    const actions = Object.values(template.findResources('AWS::IAM::Policy')).flatMap((p: any) =>
      p.Properties.PolicyDocument.Statement.flatMap((s: any) => [].concat(s.Action)),
    );
    expect(actions).not.toContain('dynamodb:Scan');
    expect(actions.filter((a: string) => a.includes('*'))).toEqual([]);
  });

  test('no handler role uses a managed policy', () => {
    for (const role of Object.values(template.findResources('AWS::IAM::Role')) as any[]) {
      expect(role.Properties.ManagedPolicyArns).toBeUndefined();
    }
  });

  test('alarms: throttles, connections, handler errors, API errors and fan-out failures', () => {
    expect(chat.alarms).toHaveLength(6 + 5);
    template.resourceCountIs('AWS::CloudWatch::Alarm', 11);
    template.hasResourceProperties('AWS::CloudWatch::Alarm', { MetricName: 'ConnectCount', Threshold: 1000 });
    template.hasResourceProperties('AWS::CloudWatch::Alarm', { MetricName: 'IntegrationError', Namespace: 'AWS/ApiGateway' });
    template.hasResourceProperties('AWS::CloudWatch::Alarm', { MetricName: 'ExecutionError', Namespace: 'AWS/ApiGateway' });
    template.hasResourceProperties('AWS::CloudWatch::Alarm', { MetricName: 'PostsFailed', Namespace: 'WebSocketChat' });
  });

  test('throttle alarms sum the table and both indexes, over two 5-minute periods', () => {
    for (const metricName of ['ReadThrottleEvents', 'WriteThrottleEvents']) {
      const stat = Match.objectLike({ MetricStat: Match.objectLike({ Metric: Match.objectLike({ MetricName: metricName }) }) });
      const [alarm] = Object.values(template.findResources('AWS::CloudWatch::Alarm', {
        Properties: { Metrics: Match.arrayWith([stat]) },
      })) as any[];
      expect(alarm.Properties).toMatchObject({ Threshold: 0, EvaluationPeriods: 2, ComparisonOperator: 'GreaterThanThreshold' });
      const metrics = alarm.Properties.Metrics as any[];
      expect(metrics.find((m) => m.Expression).Expression).toBe('SUM([table, index0, index1])');
      const indexes = metrics.filter((m) => m.MetricStat).map((m) =>
        (m.MetricStat.Metric.Dimensions as any[]).find((d) => d.Name === 'GlobalSecondaryIndexName')?.Value ?? 'table');
      expect(indexes.sort()).toEqual(['room_id-index', 'table', 'user_id-index']);
      for (const m of metrics.filter((x) => x.MetricStat)) expect(m.MetricStat).toMatchObject({ Period: 300, Stat: 'Sum' });
    }
  });

  test('every handler but the authorizer has an Errors alarm (a 401 is a thrown error)', () => {
    const alarms = Object.values(template.findResources('AWS::CloudWatch::Alarm', { Properties: { MetricName: 'Errors' } })) as any[];
    const functionIds = alarms.map((a) => a.Properties.Dimensions[0].Value.Ref as string);
    expect(functionIds).toHaveLength(5);
    expect(functionIds.some((id) => id.startsWith('ChatAuthorizer'))).toBe(false);
  });

  test('url and managementEndpoint point at the execute-api stage', () => {
    expect(stack.resolve(chat.url)).toEqual({
      'Fn::Join': ['', ['wss://', { Ref: logicalId(template, 'AWS::ApiGatewayV2::Api', 'ChatApi') }, '.execute-api.eu-west-1.', { Ref: 'AWS::URLSuffix' }, '/dev']],
    });
    expect(JSON.stringify(stack.resolve(chat.managementEndpoint))).toMatch(/"https:\/\/".*execute-api.*\/dev/);
  });

  test('synthesizes no warnings', () => {
    Annotations.fromStack(stack).hasNoWarning('*', Match.anyValue());
  });
});

describe('WebSocketChat options', () => {
  test('stage name and throttling are configurable', () => {
    const { template } = chatStack({ stageName: 'prod', throttlingBurstLimit: 100, throttlingRateLimit: 50 });
    template.hasResourceProperties('AWS::ApiGatewayV2::Stage', {
      StageName: 'prod',
      DefaultRouteSettings: Match.objectLike({ ThrottlingBurstLimit: 100, ThrottlingRateLimit: 50 }),
    });
  });

  test('alarm actions are wired to every alarm', () => {
    const app = new App();
    const stack = new Stack(app, 'S');
    const topic = new sns.Topic(stack, 'Topic');
    const topicId = stack.getLogicalId(topic.node.defaultChild as sns.CfnTopic);
    new WebSocketChat(stack, 'Chat', { auth: ChatAuth.none(), alarmActions: [new SnsAction(topic)] });
    const alarms = Object.values(Template.fromStack(stack).findResources('AWS::CloudWatch::Alarm')) as any[];
    expect(alarms).toHaveLength(11);
    for (const alarm of alarms) expect(alarm.Properties.AlarmActions).toEqual([{ Ref: topicId }]);
  });

  test('connection-count threshold is configurable', () => {
    const { template } = chatStack({ connectionCountAlarmThreshold: 25 });
    template.hasResourceProperties('AWS::CloudWatch::Alarm', { MetricName: 'ConnectCount', Threshold: 25 });
  });

  test('removal policy RETAIN keeps the table', () => {
    const { template } = chatStack({ removalPolicy: RemovalPolicy.RETAIN });
    template.hasResource('AWS::DynamoDB::Table', { DeletionPolicy: 'Retain' });
  });

  test('cloudWatchRole sets API Gateway\'s account-level logging role before the stage, and retains it', () => {
    const { template } = chatStack({ cloudWatchRole: true });
    const accountId = logicalId(template, 'AWS::ApiGateway::Account', 'ChatApiGatewayAccount');
    template.hasResource('AWS::ApiGateway::Account', {
      Properties: { CloudWatchRoleArn: { 'Fn::GetAtt': [Match.stringLikeRegexp('ChatApiGatewayCloudWatchRole'), 'Arn'] } },
      DeletionPolicy: 'Retain',
    });
    template.hasResource('AWS::ApiGatewayV2::Stage', { DependsOn: Match.arrayWith([accountId]) });
    template.hasResourceProperties('AWS::IAM::Role', {
      AssumeRolePolicyDocument: Match.objectLike({ Statement: [Match.objectLike({ Principal: { Service: 'apigateway.amazonaws.com' } })] }),
    });
  });

  test('no account-level role by default', () => {
    chatStack().template.resourceCountIs('AWS::ApiGateway::Account', 0);
  });

  test('execution logging can be turned on, data trace warns', () => {
    const { template, stack } = chatStack({ executionLogLevel: ChatExecutionLogLevel.ERROR, dataTraceEnabled: true });
    template.hasResourceProperties('AWS::ApiGatewayV2::Stage', {
      DefaultRouteSettings: Match.objectLike({ LoggingLevel: 'ERROR', DataTraceEnabled: true }),
    });
    Annotations.fromStack(stack).hasWarning('/TestStack/Chat', Match.stringLikeRegexp('tokens'));
  });

  test('fan-out concurrency and message cap reach sendMessage', () => {
    const { template } = chatStack({ fanoutConcurrency: 8, maxMessageBytes: 1000 });
    template.hasResourceProperties('AWS::Lambda::Function', {
      Environment: { Variables: Match.objectLike({ [HANDLER_ENV.fanoutConcurrency]: '8', [HANDLER_ENV.maxMessageBytes]: '1000' }) },
    });
  });

  test('ChatAuth.none() warns at synth, and requires no token of API Gateway', () => {
    const app = new App();
    const stack = new Stack(app, 'S');
    new WebSocketChat(stack, 'Chat', { auth: ChatAuth.none() });
    Annotations.fromStack(stack).hasWarning('/S/Chat', Match.stringLikeRegexp('without a token'));
    Template.fromStack(stack).hasResourceProperties('AWS::ApiGatewayV2::Authorizer', { IdentitySource: [] });
  });
});

describe('WebSocketChat grants and routes', () => {
  test('grantManageConnections: POST, GET and DELETE on this stage only', () => {
    const { template } = chatStack({}, (stack, chat) => {
      const fn = new lambda.Function(stack, 'Other', { runtime: lambda.Runtime.NODEJS_24_X, handler: 'i.h', code: lambda.Code.fromInline('x') });
      chat.grantManageConnections(fn);
    });
    const statements = statementsOfRole(template, 'OtherServiceRole');
    const manage = statements.find((s) => s.Action === 'execute-api:ManageConnections')!;
    const arns = JSON.stringify(manage.Resource);
    for (const method of ['POST', 'GET', 'DELETE']) expect(arns).toContain(`/dev/${method}/@connections/*`);
  });

  test('grantReadConnections: GetItem/Query on table and indexes, never Scan', () => {
    const { template } = chatStack({}, (stack, chat) => {
      const fn = new lambda.Function(stack, 'Reader', { runtime: lambda.Runtime.NODEJS_24_X, handler: 'i.h', code: lambda.Code.fromInline('x') });
      chat.grantReadConnections(fn);
    });
    const statement = statementsOfRole(template, 'ReaderServiceRole').find((s) => [].concat(s.Action).includes('dynamodb:Query' as never))!;
    expect(statement.Action).toEqual(expect.arrayContaining(['dynamodb:GetItem', 'dynamodb:Query']));
    expect(statement.Action).not.toContain('dynamodb:Scan');
    expect(JSON.stringify(statement.Resource)).toContain('/index/user_id-index');
  });

  test('addRoute adds the route, environment and grants', () => {
    const { template } = chatStack({}, (stack, chat) => {
      const fn = new lambda.Function(stack, 'Query', { runtime: lambda.Runtime.NODEJS_24_X, handler: 'i.h', code: lambda.Code.fromInline('x') });
      chat.addRoute('query', fn);
    });
    template.hasResourceProperties('AWS::ApiGatewayV2::Route', { RouteKey: 'query' });
    template.hasResourceProperties('AWS::Lambda::Function', {
      Handler: 'i.h',
      Environment: { Variables: { [HANDLER_ENV.managementEndpoint]: Match.anyValue(), [HANDLER_ENV.connectionsTable]: Match.anyValue() } },
    });
    const actions = statementsOfRole(template, 'QueryServiceRole').flatMap((s) => [].concat(s.Action));
    expect(actions).toEqual(expect.arrayContaining(['execute-api:ManageConnections', 'dynamodb:Query']));
    template.hasResourceProperties('AWS::Lambda::Function', {
      Environment: { Variables: Match.objectLike({ [HANDLER_ENV.validActions]: 'sendMessage,ping,query' }) },
    });
  });

  test('the $default function is not the construct\'s default child', () => {
    const { chat } = chatStack();
    expect(chat.node.defaultChild).toBeUndefined();
  });

  test('addRoute rejects reserved and duplicate actions', () => {
    chatStack({}, (stack, chat) => {
      const fn = new lambda.Function(stack, 'Fn', { runtime: lambda.Runtime.NODEJS_24_X, handler: 'i.h', code: lambda.Code.fromInline('x') });
      expect(() => chat.addRoute('$connect', fn)).toThrow(/must not start|not start with/);
      expect(() => chat.addRoute('sendMessage', fn)).toThrow(/already routed/);
      expect(() => chat.addRoute('bad action', fn)).toThrow(/A-Za-z0-9/);
    });
  });

  test('metrics are exposed for dashboards', () => {
    const { chat } = chatStack();
    expect(chat.metricFanoutDelivered()).toBeInstanceOf(cloudwatch.Metric);
    expect(chat.metricMessageCount().metricName).toBe('MessageCount');
  });
});

describe('WebSocketChat validation', () => {
  const cases: Array<[string, Record<string, unknown>, RegExp]> = [
    ['a bad stage name', { stageName: 'has space' }, /stageName/],
    ['a non-positive burst limit', { throttlingBurstLimit: 0 }, /throttlingBurstLimit/],
    ['a negative rate limit', { throttlingRateLimit: -1 }, /throttlingRateLimit/],
    ['a fractional burst limit', { throttlingBurstLimit: 1.5 }, /integer/],
    ['a message cap above 128 KiB', { maxMessageBytes: 128 * 1024 }, /128 KiB/],
    ['a zero fan-out concurrency', { fanoutConcurrency: 0 }, /fanoutConcurrency/],
    ['a fan-out concurrency above 1000', { fanoutConcurrency: 5000 }, /at most 1000/],
    ['data trace without execution logs', { dataTraceEnabled: true }, /executionLogLevel/],
    ['too little memory', { handlerMemorySize: 64 }, /handlerMemorySize/],
    ['too much fan-out memory', { fanoutMemorySize: 20000 }, /fanoutMemorySize/],
  ];
  test.each(cases)('rejects %s', (_name, props, message) => {
    expect(() => chatStack(props as any)).toThrow(message);
  });

  test('rejects a missing auth', () => {
    const stack = new Stack(new App(), 'S');
    expect(() => new WebSocketChat(stack, 'Chat', {} as any)).toThrow(/auth is required/);
  });
});
