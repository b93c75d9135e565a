import { Annotations, Duration, Lazy, RemovalPolicy, Stack, Token } from 'aws-cdk-lib';
import * as apigw from 'aws-cdk-lib/aws-apigateway';
import * as apigwv2 from 'aws-cdk-lib/aws-apigatewayv2';
import { WebSocketLambdaAuthorizer } from 'aws-cdk-lib/aws-apigatewayv2-authorizers';
import { WebSocketLambdaIntegration } from 'aws-cdk-lib/aws-apigatewayv2-integrations';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { ChatAlarms } from './alarms';
import type { ChatAuth } from './chat-auth';
import { ChatDomain, type ChatCustomDomainOptions } from './custom-domain';
import { AuthorizerFunction } from './handlers/authorizer-function';
import { ConnectFunction } from './handlers/connect-function';
import { DefaultFunction } from './handlers/default-function';
import { DisconnectFunction } from './handlers/disconnect-function';
import { PingFunction } from './handlers/ping-function';
import { SendMessageFunction } from './handlers/send-message-function';
import { NagAcknowledgements } from './nag';
import { ACTIONS, DEFAULTS, ENV, LIMITS, METRICS, TABLE } from './shared/contract';

/** Execution-log level of the stage. */
export enum ChatExecutionLogLevel {
  /** No execution logs. */
  OFF = 'OFF',
  /** Errors only. */
  ERROR = 'ERROR',
  /** Errors and informational entries. */
  INFO = 'INFO',
}

/** Properties of a `WebSocketChat`. */
export interface WebSocketChatProps {
  /**
   * How `$connect` is authorized. There is no default: choose `ChatAuth.hs256`, `ChatAuth.jwks`, or
   * (for demos only) `ChatAuth.none()`.
   */
  readonly auth: ChatAuth;

  /**
   * Name of the API stage (letters, digits, `_` and `-`).
   *
   * @default 'dev'
   */
  readonly stageName?: string;

  /**
   * Serve the API on a custom domain (REGIONAL endpoint, TLS 1.2).
   *
   * @default - the execute-api domain only
   */
  readonly customDomain?: ChatCustomDomainOptions;

  /**
   * Actions run when any alarm of `alarms` changes to ALARM.
   *
   * @default - the alarms are created without actions
   */
  readonly alarmActions?: cloudwatch.IAlarmAction[];

  /**
   * Stage throttling: burst limit (requests).
   *
   * @default 5000
   */
  readonly throttlingBurstLimit?: number;

  /**
   * Stage throttling: steady-state rate limit (requests per second).
   *
   * @default 10000
   */
  readonly throttlingRateLimit?: number;

  /**
   * Threshold of the connection-count alarm: new connections (`ConnectCount`) in 5 minutes.
   *
   * @default 1000
   */
  readonly connectionCountAlarmThreshold?: number;

  /**
   * Largest chat message accepted by `sendMessage`, in bytes of UTF-8. Larger messages get a
   * `MESSAGE_TOO_LARGE` error frame. The default keeps a client's whole `sendMessage` frame within API Gateway's
   * 32 KB frame limit (browsers send a message as one frame; API Gateway closes a connection that sends a larger
   * frame with 1009). At most 128 KiB (API Gateway's message limit), less the envelope.
   *
   * @default 31744
   */
  readonly maxMessageBytes?: number;

  /**
   * Posts to connections in flight at once during a fan-out (also the HTTP agent's `maxSockets`). At 20 ms per
   * post, 100 in flight is at most 5,000 posts/s from one broadcast: half of API Gateway's account-wide
   * 10,000 requests/s, which `@connections` posts share (see BENCHMARKS.md for the sweep that chose it).
   *
   * @default 100
   */
  readonly fanoutConcurrency?: number;

  /**
   * Memory of the Lambda handlers other than `sendMessage`, in MiB.
   *
   * @default 256
   */
  readonly handlerMemorySize?: number;

  /**
   * Memory of the `sendMessage` handler, in MiB. A fan-out is CPU-bound (signing and sending one HTTP request per
   * connection), and Lambda gives CPU in proportion to memory (one vCPU at 1,769 MiB): at 1024 MiB a broadcast
   * reaches about 2,000 posts/s, at 256 MiB about 500 — too slow for rooms of more than ~15,000 connections to
   * finish within API Gateway's 29-second integration timeout. For large rooms the cost per broadcast is about
   * the same at any size (shorter runs at more memory).
   *
   * @default 1024
   */
  readonly fanoutMemorySize?: number;

  /**
   * Retention of the access logs and of the handlers' log groups.
   *
   * @default logs.RetentionDays.ONE_MONTH
   */
  readonly logRetention?: logs.RetentionDays;

  /**
   * Removal policy of the connections table and of the log groups. The table holds only live
   * connections, which expire within hours.
   *
   * @default RemovalPolicy.DESTROY
   */
  readonly removalPolicy?: RemovalPolicy;

  /**
   * Create API Gateway's account-level CloudWatch Logs role (`AWS::ApiGateway::Account`). API Gateway writes a
   * stage's access logs only once the account and region have that role: a first deploy in a fresh account
   * fails with "CloudWatch Logs role ARN must be set in account settings" without it. It is one setting per
   * account and region, shared by every API there, so set this in one stack only (or set the role yourself). The
   * role and the setting are retained when the stack is deleted, so other APIs keep logging.
   *
   * @default false - the account already has the role
   */
  readonly cloudWatchRole?: boolean;

  /**
   * Stage execution logging. Needs an account-level CloudWatch Logs role for API Gateway.
   *
   * @default ChatExecutionLogLevel.OFF
   */
  readonly executionLogLevel?: ChatExecutionLogLevel;

  /**
   * Log full request and response data in the execution logs. This logs tokens and messages: keep it
   * off outside debugging. Requires `executionLogLevel` other than OFF.
   *
   * @default false
   */
  readonly dataTraceEnabled?: boolean;
}

const STAGE_NAME_PATTERN = /^[A-Za-z0-9_-]{1,128}$/;
const ROUTE_KEY_PATTERN = /^[A-Za-z0-9_.:-]{1,128}$/;
const FUNCTION_TIMEOUT = Duration.seconds(10);
/** sendMessage may run for as long as API Gateway waits on an integration. */
const FANOUT_TIMEOUT = Duration.seconds(LIMITS.integrationTimeoutSeconds);

/**
 * A serverless real-time chat / push backend: an API Gateway WebSocket API and stage, a DynamoDB
 * connections table (TTL, room and user indexes), JWT-authorized Lambda handlers for `$connect`,
 * `$disconnect`, `sendMessage`, `ping` and `$default`, CloudWatch alarms and least-privilege IAM.
 *
 * Clients connect to `url` with `?room_id=ROOM&token=JWT`, send
 * `{"action":"sendMessage","message":"hi"}`, and every live connection of the room receives it.
 *
 * @example
 * declare const secret: secretsmanager.ISecret;
 * declare const topic: sns.ITopic;
 * const chat = new WebSocketChat(this, 'Chat', {
 *   auth: ChatAuth.hs256({ secret }),
 *   alarmActions: [new cloudwatch_actions.SnsAction(topic)],
 * });
 * new CfnOutput(this, 'ChatUrl', { value: chat.url });
 */
export class WebSocketChat extends Construct {
  /** The WebSocket API. */
  public readonly webSocketApi: apigwv2.WebSocketApi;
  /** The API stage. */
  public readonly stage: apigwv2.WebSocketStage;
  /** The connections table: one row per live connection. */
  public readonly connectionsTable: dynamodb.Table;
  /** `wss://` URL clients connect to (the custom domain when configured). */
  public readonly url: string;
  /** `https://{apiId}.execute-api.{region}.{urlSuffix}/{stage}`: where posts to connections go. */
  public readonly managementEndpoint: string;
  /** The CloudWatch alarms. */
  public readonly alarms: cloudwatch.IAlarm[];
  /** The `$connect` REQUEST authorizer function. */
  public readonly authorizerFunction: lambda.IFunction;
  /** The `$connect` handler. */
  public readonly connectFunction: lambda.IFunction;
  /** The `$disconnect` handler. */
  public readonly disconnectFunction: lambda.IFunction;
  /** The `sendMessage` handler (room fan-out). */
  public readonly sendMessageFunction: lambda.IFunction;
  /** The `ping` handler. */
  public readonly pingFunction: lambda.IFunction;
  /** The `$default` handler. */
  public readonly defaultFunction: lambda.IFunction;
  /** The access-log group of the stage. */
  public readonly accessLogGroup: logs.ILogGroup;
  /** The custom domain, when configured. */
  public readonly domainName?: apigwv2.IDomainName;

  private readonly actions: string[] = [ACTIONS.sendMessage, ACTIONS.ping];
  private readonly removalPolicy: RemovalPolicy;
  private readonly logRetention: logs.RetentionDays;

  constructor(scope: Construct, id: string, props: WebSocketChatProps) {
    super(scope, id);
    validateProps(props);
    const stageName = props.stageName ?? DEFAULTS.stageName;
    this.removalPolicy = props.removalPolicy ?? RemovalPolicy.DESTROY;
    this.logRetention = props.logRetention ?? logs.RetentionDays.ONE_MONTH;
    const memorySize = props.handlerMemorySize ?? DEFAULTS.handlerMemorySize;

    this.connectionsTable = new dynamodb.Table(this, 'ConnectionsTable', {
      partitionKey: { name: TABLE.partitionKey, type: dynamodb.AttributeType.STRING },
      billingMode: dynamodb.BillingMode.PAY_PER_REQUEST,
      timeToLiveAttribute: TABLE.ttl,
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      removalPolicy: this.removalPolicy,
    });
    for (const [indexName, attribute] of [[TABLE.roomIndex, TABLE.roomId], [TABLE.userIndex, TABLE.userId]]) {
      this.connectionsTable.addGlobalSecondaryIndex({
        indexName,
        partitionKey: { name: attribute, type: dynamodb.AttributeType.STRING },
        projectionType: dynamodb.ProjectionType.ALL,
      });
    }

    // The authorizer needs neither the table nor the API.
    const authorizerRole = this.newRole('Authorizer');
    const auth = props.auth._bind(authorizerRole);
    if (auth.demoMode) {
      Annotations.of(this).addWarningV2(
        'cdk-websocket-chat:auth-none',
        'ChatAuth.none(): anyone can connect to this WebSocket API without a token. Use it for demos only.',
      );
    }
    this.authorizerFunction = new AuthorizerFunction(this, 'Authorizer', {
      ...this.functionOptions('Authorizer', authorizerRole, memorySize),
      description: 'WebSocketChat $connect JWT authorizer',
      environment: auth.environment,
    });

    const connect = new ConnectFunction(this, 'Connect', {
      ...this.functionOptions('Connect', this.newRole('Connect'), memorySize),
      description: 'WebSocketChat $connect: stores the connection',
    });
    const disconnect = new DisconnectFunction(this, 'Disconnect', {
      ...this.functionOptions('Disconnect', this.newRole('Disconnect'), memorySize),
      description: 'WebSocketChat $disconnect: removes the connection',
    });
    const sendMessage = new SendMessageFunction(this, 'SendMessage', {
      ...this.functionOptions('SendMessage', this.newRole('SendMessage'), props.fanoutMemorySize ?? DEFAULTS.fanoutMemorySize),
      description: 'WebSocketChat sendMessage: validates and fans a message out to its room',
      timeout: FANOUT_TIMEOUT,
    });
    const ping = new PingFunction(this, 'Ping', {
      ...this.functionOptions('Ping', this.newRole('Ping'), memorySize),
      description: 'WebSocketChat ping: answers pong',
    });
    // ('Default' is the id constructs reserve for a construct's default child.)
    const fallback = new DefaultFunction(this, 'DefaultRoute', {
      ...this.functionOptions('Default', this.newRole('Default'), memorySize),
      description: 'WebSocketChat $default: answers unknown actions and malformed frames',
    });
    this.connectFunction = connect;
    this.disconnectFunction = disconnect;
    this.sendMessageFunction = sendMessage;
    this.pingFunction = ping;
    this.defaultFunction = fallback;

    this.webSocketApi = new apigwv2.WebSocketApi(this, 'Api', {
      description: 'WebSocketChat real-time API',
      routeSelectionExpression: DEFAULTS.routeSelectionExpression,
      connectRouteOptions: {
        integration: new WebSocketLambdaIntegration('ConnectIntegration', connect),
        authorizer: new WebSocketLambdaAuthorizer('Authorizer', this.authorizerFunction, {
          // API Gateway requires every identity source to be present; browsers cannot set headers, so the
          // token travels in the query string. A missing token is rejected with 401 before any Lambda runs.
          identitySource: auth.identitySource,
        }),
      },
      disconnectRouteOptions: { integration: new WebSocketLambdaIntegration('DisconnectIntegration', disconnect) },
      defaultRouteOptions: { integration: new WebSocketLambdaIntegration('DefaultIntegration', fallback) },
    });
    this.webSocketApi.addRoute(ACTIONS.sendMessage, {
      integration: new WebSocketLambdaIntegration('SendMessageIntegration', sendMessage),
    });
    this.webSocketApi.addRoute(ACTIONS.ping, { integration: new WebSocketLambdaIntegration('PingIntegration', ping) });

    const accessLogGroup = new logs.LogGroup(this, 'AccessLogs', {
      retention: this.logRetention,
      removalPolicy: this.removalPolicy,
    });
    this.accessLogGroup = accessLogGroup;
    this.stage = new apigwv2.WebSocketStage(this, 'Stage', {
      webSocketApi: this.webSocketApi,
      stageName,
      autoDeploy: true,
      throttle: {
        burstLimit: props.throttlingBurstLimit ?? DEFAULTS.throttlingBurstLimit,
        rateLimit: props.throttlingRateLimit ?? DEFAULTS.throttlingRateLimit,
      },
      detailedMetricsEnabled: true,
      accessLogSettings: {
        destination: new apigwv2.LogGroupLogDestination(accessLogGroup),
        format: accessLogFormat(),
      },
    });
    if (props.cloudWatchRole) {
      this.stage.node.addDependency(this.newApiGatewayAccount());
    }
    const logLevel = props.executionLogLevel ?? ChatExecutionLogLevel.OFF;
    if (logLevel !== ChatExecutionLogLevel.OFF) {
      const cfnStage = this.stage.node.defaultChild as apigwv2.CfnStage;
      cfnStage.addPropertyOverride('DefaultRouteSettings.LoggingLevel', logLevel);
      cfnStage.addPropertyOverride('DefaultRouteSettings.DataTraceEnabled', props.dataTraceEnabled ?? false);
      if (props.dataTraceEnabled) {
        Annotations.of(this).addWarningV2(
          'cdk-websocket-chat:data-trace',
          'dataTraceEnabled: the execution logs will contain full requests, including tokens and messages.',
        );
      }
    }

    this.managementEndpoint = this.stage.callbackUrl;
    if (props.customDomain) {
      const domain = new ChatDomain(this, 'CustomDomain', {
        ...props.customDomain,
        api: this.webSocketApi,
        stage: this.stage,
      });
      this.domainName = domain.domainName;
      this.url = `wss://${props.customDomain.domainName}`;
    } else {
      this.url = this.stage.url;
    }

    // Least privilege, per handler: only the table actions and the indexes each one uses. No Scan anywhere.
    const tableEnv = { [ENV.connectionsTable]: this.connectionsTable.tableName };
    const routeEnv = {
      ...tableEnv,
      [ENV.managementEndpoint]: this.managementEndpoint,
      [ENV.metricsNamespace]: DEFAULTS.metricsNamespace,
    };
    this.grantTable(connect, ['dynamodb:PutItem']);
    addEnvironment(connect, { ...tableEnv, [ENV.connectionTtlSeconds]: String(DEFAULTS.connectionTtlSeconds) });
    this.grantTable(disconnect, ['dynamodb:DeleteItem']);
    addEnvironment(disconnect, tableEnv);
    // sendMessage: Query the room index, delete rows that answered 410 Gone, post to connections.
    this.grantTable(sendMessage, ['dynamodb:DeleteItem']);
    this.grantTable(sendMessage, ['dynamodb:Query'], [TABLE.roomIndex], false);
    this.grantPostToConnections(sendMessage);
    addEnvironment(sendMessage, {
      ...routeEnv,
      [ENV.maxMessageBytes]: String(props.maxMessageBytes ?? DEFAULTS.maxMessageBytes),
      [ENV.fanoutConcurrency]: String(props.fanoutConcurrency ?? DEFAULTS.fanoutConcurrency),
      [ENV.postMaxAttempts]: String(DEFAULTS.postMaxAttempts),
      [ENV.postTimeoutMs]: String(DEFAULTS.postTimeoutMs),
    });
    // ping and $default answer the sender only (and drop its row if it is already gone).
    for (const fn of [ping, fallback]) {
      this.grantTable(fn, ['dynamodb:DeleteItem']);
      this.grantPostToConnections(fn);
      addEnvironment(fn, routeEnv);
    }
    fallback.addEnvironment(ENV.validActions, Lazy.string({ produce: () => this.actions.join(',') }));

    this.alarms = new ChatAlarms(this, 'Alarms', {
      table: this.connectionsTable,
      indexNames: [TABLE.roomIndex, TABLE.userIndex],
      connectCount: this.metricConnectCount(),
      integrationErrors: this.metricApi('IntegrationError'),
      executionErrors: this.metricApi('ExecutionError'),
      fanoutFailures: this.metricFanoutFailures(),
      connectionCountThreshold: props.connectionCountAlarmThreshold ?? DEFAULTS.connectionCountAlarmThreshold,
      // Not the authorizer: it answers every bad token by throwing `Unauthorized` (API Gateway's way to a 401),
      // which Lambda counts as an error, so its Errors alarm would fire on every expired token.
      functions: {
        Connect: connect,
        Disconnect: disconnect,
        SendMessage: sendMessage,
        Ping: ping,
        Default: fallback,
      },
      actions: props.alarmActions ?? [],
    }).alarms;

    NagAcknowledgements.nonConnectRoutes(this.webSocketApi);
  }

  /**
   * Permits `grantee` to POST to, GET and DELETE connections of this API's stage
   * (`execute-api:ManageConnections` on `{api}/{stage}/{POST|GET|DELETE}/@connections/*`).
   */
  public grantManageConnections(grantee: iam.IGrantable): iam.Grant {
    return this.grantConnections(grantee, ['POST', 'GET', 'DELETE']);
  }

  /**
   * Permits `grantee` to read the connections table: `GetItem`, `BatchGetItem`, `DescribeTable`, and `Query` on
   * the table and on the room and user indexes (never `Scan`).
   */
  public grantReadConnections(grantee: iam.IGrantable): iam.Grant {
    return this.grantTable(grantee, ['dynamodb:GetItem', 'dynamodb:BatchGetItem', 'dynamodb:Query', 'dynamodb:DescribeTable'], [
      TABLE.roomIndex,
      TABLE.userIndex,
    ]);
  }

  /**
   * Routes the client action `action` (a frame `{"action": "<action>", …}`) to `handler`: the app's own
   * route. The handler sees the authorizer context (`requestContext.authorizer.userId` / `roomId`), gets
   * `MANAGEMENT_ENDPOINT` and `CONNECTIONS_TABLE` in its environment (when it is a `lambda.Function`),
   * and is granted posting to connections and reading the table.
   *
   * @param action the route key, e.g. `query`
   * @param handler the function that handles it
   */
  public addRoute(action: string, handler: lambda.IFunction): apigwv2.WebSocketRoute {
    if (!ROUTE_KEY_PATTERN.test(action) || action.startsWith('$')) {
      throw new Error(`addRoute: action must be 1-128 chars of [A-Za-z0-9_.:-] and not start with "$", got "${action}"`);
    }
    if (this.actions.includes(action)) {
      throw new Error(`addRoute: the action "${action}" is already routed`);
    }
    this.actions.push(action);
    const route = this.webSocketApi.addRoute(action, {
      integration: new WebSocketLambdaIntegration(`${sanitizeId(action)}Integration`, handler),
    });
    NagAcknowledgements.nonConnectRoutes(route);
    if (handler instanceof lambda.Function) {
      addEnvironment(handler, {
        [ENV.managementEndpoint]: this.managementEndpoint,
        [ENV.connectionsTable]: this.connectionsTable.tableName,
      });
    }
    this.grantPostToConnections(handler);
    this.grantConnections(handler, ['GET']);
    this.grantReadConnections(handler);
    return route;
  }

  /** New connections (`ConnectCount`), summed over 5 minutes by default. */
  public metricConnectCount(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.metricApi('ConnectCount', props);
  }

  /** Messages received by the API (`MessageCount`), summed over 5 minutes by default. */
  public metricMessageCount(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.metricApi('MessageCount', props);
  }

  /** Posts that failed after their retries during fan-outs (410 Gone excluded). */
  public metricFanoutFailures(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.metricFanout(METRICS.failed, props);
  }

  /** Posts delivered by fan-outs. */
  public metricFanoutDelivered(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.metricFanout(METRICS.delivered, props);
  }

  private metricApi(metricName: string, props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return new cloudwatch.Metric({
      namespace: 'AWS/ApiGateway',
      metricName,
      dimensionsMap: { ApiId: this.webSocketApi.apiId, Stage: this.stage.stageName },
      statistic: cloudwatch.Stats.SUM,
      period: Duration.minutes(5),
      ...props,
    });
  }

  private metricFanout(metricName: string, props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return new cloudwatch.Metric({
      namespace: DEFAULTS.metricsNamespace,
      metricName,
      dimensionsMap: { [METRICS.dimension]: this.webSocketApi.apiId },
      statistic: cloudwatch.Stats.SUM,
      period: Duration.minutes(5),
      ...props,
    });
  }

  /** The account-level role API Gateway logs with; retained, as other APIs of the account rely on it. */
  private newApiGatewayAccount(): apigw.CfnAccount {
    const role = new iam.Role(this, 'ApiGatewayCloudWatchRole', {
      assumedBy: new iam.ServicePrincipal('apigateway.amazonaws.com'),
      description: 'API Gateway account-level role for CloudWatch Logs (access and execution logs)',
      managedPolicies: [iam.ManagedPolicy.fromAwsManagedPolicyName('service-role/AmazonAPIGatewayPushToCloudWatchLogs')],
    });
    role.applyRemovalPolicy(RemovalPolicy.RETAIN);
    NagAcknowledgements.apiGatewayLoggingRole(role);
    const account = new apigw.CfnAccount(this, 'ApiGatewayAccount', { cloudWatchRoleArn: role.roleArn });
    account.applyRemovalPolicy(RemovalPolicy.RETAIN);
    return account;
  }

  private newRole(id: string): iam.Role {
    return new iam.Role(this, `${id}Role`, {
      assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
      description: `WebSocketChat ${id} handler`,
    });
  }

  /** Common function options: its own log group with a retention, and a role that may write only there. */
  private functionOptions(id: string, role: iam.Role, memorySize: number): lambda.FunctionOptions {
    const logGroup = new logs.LogGroup(this, `${id}Logs`, {
      retention: this.logRetention,
      removalPolicy: this.removalPolicy,
    });
    role.addToPrincipalPolicy(new iam.PolicyStatement({
      actions: ['logs:CreateLogStream', 'logs:PutLogEvents'],
      resources: [logGroup.logGroupArn],
    }));
    return {
      role,
      logGroup,
      memorySize,
      timeout: FUNCTION_TIMEOUT,
      architecture: lambda.Architecture.ARM_64,
    };
  }

  /** Grants `actions` on the table (unless `tableToo` is false) and on the named indexes. */
  private grantTable(grantee: iam.IGrantable, actions: string[], indexes: string[] = [], tableToo = true): iam.Grant {
    const tableArn = this.connectionsTable.tableArn;
    const resourceArns = [...(tableToo ? [tableArn] : []), ...indexes.map((index) => `${tableArn}/index/${index}`)];
    return iam.Grant.addToPrincipal({ grantee, actions, resourceArns });
  }

  private grantPostToConnections(grantee: iam.IGrantable): iam.Grant {
    return this.grantConnections(grantee, ['POST']);
  }

  private grantConnections(grantee: iam.IGrantable, methods: string[]): iam.Grant {
    const stack = Stack.of(this);
    const resourceArns = methods.map((method) => stack.formatArn({
      service: 'execute-api',
      resource: this.webSocketApi.apiId,
      resourceName: `${this.stage.stageName}/${method}/@connections/*`,
    }));
    NagAcknowledgements.connectionsWildcard(grantee, resourceArns);
    return iam.Grant.addToPrincipal({ grantee, actions: ['execute-api:ManageConnections'], resourceArns });
  }
}

function validateProps(props: WebSocketChatProps): void {
  if (!props.auth) {
    throw new Error('WebSocketChat: auth is required (ChatAuth.hs256, ChatAuth.jwks, or ChatAuth.none() for demos)');
  }
  const stageName = props.stageName ?? DEFAULTS.stageName;
  if (!Token.isUnresolved(stageName) && !STAGE_NAME_PATTERN.test(stageName)) {
    throw new Error(`WebSocketChat: stageName must be 1-128 chars of [A-Za-z0-9_-], got "${stageName}"`);
  }
  positiveInteger('throttlingBurstLimit', props.throttlingBurstLimit);
  positiveNumber('throttlingRateLimit', props.throttlingRateLimit);
  positiveInteger('connectionCountAlarmThreshold', props.connectionCountAlarmThreshold);
  positiveInteger('maxMessageBytes', props.maxMessageBytes);
  positiveInteger('fanoutConcurrency', props.fanoutConcurrency);
  for (const name of ['handlerMemorySize', 'fanoutMemorySize'] as const) {
    const value = props[name];
    positiveInteger(name, value);
    if (value !== undefined && !Token.isUnresolved(value) && (value < 128 || value > 10240)) {
      throw new Error(`WebSocketChat: ${name} must be from 128 to 10240 MiB, got ${value}`);
    }
  }
  if (props.maxMessageBytes !== undefined && props.maxMessageBytes > LIMITS.maxMessageBytes - 1024) {
    throw new Error(
      `WebSocketChat: maxMessageBytes must leave room for the envelope inside API Gateway's 128 KiB message limit (at most ${LIMITS.maxMessageBytes - 1024}), got ${props.maxMessageBytes}`,
    );
  }
  if (props.fanoutConcurrency !== undefined && props.fanoutConcurrency > 1000) {
    throw new Error(`WebSocketChat: fanoutConcurrency must be at most 1000, got ${props.fanoutConcurrency}`);
  }
  if (props.dataTraceEnabled && (props.executionLogLevel ?? ChatExecutionLogLevel.OFF) === ChatExecutionLogLevel.OFF) {
    throw new Error('WebSocketChat: dataTraceEnabled needs executionLogLevel ERROR or INFO');
  }
}

function positiveNumber(name: string, value: number | undefined): void {
  if (value !== undefined && !Token.isUnresolved(value) && !(Number.isFinite(value) && value > 0)) {
    throw new Error(`WebSocketChat: ${name} must be a positive number, got ${value}`);
  }
}

function positiveInteger(name: string, value: number | undefined): void {
  positiveNumber(name, value);
  if (value !== undefined && !Token.isUnresolved(value) && !Number.isInteger(value)) {
    throw new Error(`WebSocketChat: ${name} must be an integer, got ${value}`);
  }
}

function addEnvironment(fn: lambda.Function, env: Record<string, string>): void {
  for (const [key, value] of Object.entries(env)) fn.addEnvironment(key, value);
}

function sanitizeId(action: string): string {
  return action.replace(/[^A-Za-z0-9]/g, '_');
}

/** JSON access logs. Never the token: only ids, route, status, latency and errors. */
function accessLogFormat(): apigw.AccessLogFormat {
  return apigw.AccessLogFormat.custom(JSON.stringify({
    requestId: '$context.requestId',
    extendedRequestId: '$context.extendedRequestId',
    requestTime: '$context.requestTimeEpoch',
    ip: '$context.identity.sourceIp',
    eventType: '$context.eventType',
    routeKey: '$context.routeKey',
    connectionId: '$context.connectionId',
    status: '$context.status',
    userId: '$context.authorizer.userId',
    roomId: '$context.authorizer.roomId',
    error: '$context.error.message',
    authorizerError: '$context.authorizer.error',
    integrationError: '$context.integration.error',
    integrationStatus: '$context.integration.status',
    integrationLatency: '$context.integration.latency',
  }));
}
