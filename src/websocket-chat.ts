import { Annotations, Duration, Lazy, RemovalPolicy, Token, Tokenization } from 'aws-cdk-lib';
import * as apigw from 'aws-cdk-lib/aws-apigateway';
import * as apigwv2 from 'aws-cdk-lib/aws-apigatewayv2';
import { WebSocketLambdaAuthorizer } from 'aws-cdk-lib/aws-apigatewayv2-authorizers';
import { WebSocketLambdaIntegration } from 'aws-cdk-lib/aws-apigatewayv2-integrations';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as destinations from 'aws-cdk-lib/aws-lambda-destinations';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import type { ChatAuth, ChatAuthBinding } from './chat-auth';
import { ChatAlarms, throttles, type ThrottleSource } from './construct/alarms';
import { dashboardRows } from './construct/dashboard';
import { ChatGrants } from './construct/grants';
import { handlerClass } from './construct/handler-classes';
import { ImportedWebSocketChat, type IWebSocketChat, type WebSocketChatAttributes } from './construct/imported';
import { apiGatewayMetric, handlerMetric } from './construct/metrics';
import { NagAcknowledgements } from './construct/nag';
import type { ChatRouteOptions, WebSocketChatProps } from './construct/props';
import { resolveSettings, type ChatSettings } from './construct/settings';
import { ChatDomain } from './custom-domain';
import { DEFAULTS, ENV, LIMITS, METRICS } from './shared/contract';
import {
  activeHandlers,
  activeTables,
  clientActions,
  handlerSpec,
  HANDLERS,
  ROUTE_SELECTION_EXPRESSION,
  routeTable,
  TIMEOUT_SECONDS,
  type HandlerId,
  type HandlerSpec,
  type KeyAttribute,
  type TableId,
  type TableSpec,
} from './shared/spec';

const ROUTE_KEY_PATTERN = /^[A-Za-z0-9_.:-]{1,128}$/;

/**
 * Asynchronous invocations of the fan-out worker. Lambda retries a failed one after about 1 and then 2 minutes, and the
 * maximum event age counts from the first queueing: with the worker's 2-minute timeout both retries fit in 10 minutes
 * (a shorter age would drop every retry, and with them the progress marks' purpose). Clients replay a late message
 * from history anyway; after 10 minutes the event goes to the on-failure queue.
 */
const FANOUT_WORKER_ASYNC = { maxEventAge: Duration.minutes(10), retryAttempts: 2 };
/**
 * Asynchronous invocations of `publish` (e.g. from EventBridge): Lambda retries after about 1 and 2 minutes, within
 * the 5 minutes that an `idempotency_key` de-duplicates.
 */
const PUBLISH_ASYNC = { maxEventAge: Duration.seconds(LIMITS.idempotencyTtlSeconds), retryAttempts: 2 };
/** What `addRoute` puts in an app handler's environment. */
const APP_ROUTE_ENV = [ENV.managementEndpoint, ENV.connectionsTable];

/**
 * A serverless real-time chat / push backend: an API Gateway WebSocket API and stage, a DynamoDB connections table
 * (TTL, room and user indexes) and a messages table (room history), JWT-authorized Lambda handlers for `$connect`,
 * `$disconnect`, `sendMessage`, `join`, `leave`, `presence`, `history`, `ping` and `$default`, a `publishFunction`
 * that backends invoke to push events to a connection, a user or a room, CloudWatch alarms and least-privilege IAM.
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
export class WebSocketChat extends Construct implements IWebSocketChat {
  /**
   * A chat deployed elsewhere (e.g. by another stack), for its grants, `url` and `managementEndpoint`.
   *
   * @param scope the scope of the imported chat
   * @param id its construct id
   * @param attrs what is known of the chat
   */
  public static fromAttributes(scope: Construct, id: string, attrs: WebSocketChatAttributes): IWebSocketChat {
    return new ImportedWebSocketChat(scope, id, attrs);
  }

  /** The WebSocket API. */
  public readonly webSocketApi: apigwv2.WebSocketApi;
  /** The API stage. */
  public readonly stage: apigwv2.WebSocketStage;
  /** The WebSocket API's id. */
  public readonly apiId: string;
  /** The stage's name. */
  public readonly stageName: string;
  /** The connections table: an item per live connection and one per room it is in. */
  public readonly connectionsTable: dynamodb.Table;
  /** The messages table: each room's history (history on). */
  public readonly messagesTable?: dynamodb.Table;
  /** `wss://` URL clients connect to (the custom domain when configured). */
  public readonly url: string;
  /** `https://{apiId}.execute-api.{region}.{urlSuffix}/{stage}`: where posts to connections go. */
  public readonly managementEndpoint: string;
  /** The access-log group of the stage. */
  public readonly accessLogGroup: logs.ILogGroup;
  /** The custom domain, when configured. */
  public readonly domainName?: apigwv2.IDomainName;

  /** The `$connect` REQUEST authorizer function. */
  public readonly authorizerFunction: lambda.Function;
  /** The `$connect` handler. */
  public readonly connectFunction: lambda.Function;
  /** The `$disconnect` handler. */
  public readonly disconnectFunction: lambda.Function;
  /** The `sendMessage` handler (stores a message and fans it out to its room). */
  public readonly sendMessageFunction: lambda.Function;
  /** The `ping` handler. */
  public readonly pingFunction: lambda.Function;
  /** The `$default` handler. */
  public readonly defaultFunction: lambda.Function;
  /** The `join` handler. */
  public readonly joinFunction: lambda.Function;
  /** The `leave` handler. */
  public readonly leaveFunction: lambda.Function;
  /** The `presence` handler. */
  public readonly presenceFunction: lambda.Function;
  /** The `history` handler (history on). */
  public readonly historyFunction?: lambda.Function;
  /**
   * The function backends invoke to push an event to a connection, a user or a room:
   * `{"room_id" | "user_id" | "connection_id": "…", "type": "…", "data": …, "idempotency_key"?: "…"}` answers
   * `{"delivered": N, "gone": N, "failed": N, "seq"?: N}`. Grant with `grantPublish`.
   */
  public readonly publishFunction: lambda.Function;
  /** The fan-out worker: delivers one shard range of a large room's broadcast (invoked asynchronously). */
  public readonly fanoutWorkerFunction: lambda.Function;
  /** Where fan-out worker invocations that failed after 2 retries, or were older than 10 minutes, end up. */
  public readonly fanoutWorkerDeadLetterQueue: sqs.Queue;
  /** Where asynchronous `publish` invocations (e.g. from EventBridge) that failed after 2 retries end up. */
  public readonly publishDeadLetterQueue: sqs.Queue;

  /** Every CloudWatch alarm of the chat. */
  public readonly alarms: cloudwatch.IAlarm[];
  /** DynamoDB read throttles of the tables and indexes (unless switched off). */
  public readonly readThrottlesAlarm?: cloudwatch.Alarm;
  /** DynamoDB write throttles of the tables and indexes (unless switched off). */
  public readonly writeThrottlesAlarm?: cloudwatch.Alarm;
  /** New connections above the threshold (unless switched off). */
  public readonly connectCountAlarm?: cloudwatch.Alarm;
  /** API Gateway integration errors (unless switched off). */
  public readonly integrationErrorsAlarm?: cloudwatch.Alarm;
  /** API Gateway execution errors (unless switched off). */
  public readonly executionErrorsAlarm?: cloudwatch.Alarm;
  /** Posts that failed after their retries (unless switched off). */
  public readonly fanoutFailuresAlarm?: cloudwatch.Alarm;
  /** Messages that could not be stored in history (history on, unless switched off). */
  public readonly storeFailuresAlarm?: cloudwatch.Alarm;
  /** `Errors` alarms of the handlers, by handler (`Connect`, `SendMessage`, …; not the authorizer). */
  public readonly handlerErrorsAlarms: { [handler: string]: cloudwatch.Alarm };
  /** Depth alarms of the on-failure queues, by function (`FanoutWorker`, `Publish`). */
  public readonly deadLettersAlarms: { [handler: string]: cloudwatch.Alarm };
  /** The CloudWatch dashboard (`dashboard: true`). */
  public readonly dashboard?: cloudwatch.Dashboard;

  private readonly settings: ChatSettings;
  private readonly grants: ChatGrants;
  private readonly tables: Partial<Record<TableId, dynamodb.Table>> = {};
  private readonly roles: Partial<Record<HandlerId, iam.Role>> = {};
  private readonly functions: Partial<Record<HandlerId, lambda.Function>> = {};
  /** Environment values of the handlers, by variable name (a handler gets those its spec lists). */
  private readonly environmentValues: Readonly<Record<string, () => string | undefined>>;
  private readonly auth: ChatAuthBinding;
  /** Client actions the app added with `addRoute`. */
  private readonly appActions: string[] = [];

  /**
   * @param scope the scope of the chat (a Stack or a construct within one)
   * @param id its construct id: part of every logical ID of the chat, so keep it once deployed
   * @param props how the chat authorizes, and every option
   */
  constructor(scope: Construct, id: string, props: WebSocketChatProps) {
    super(scope, id);
    this.settings = resolveSettings(props);
    const history = this.settings.history;

    // Tables, from the spec.
    for (const spec of activeTables(history)) this.tables[spec.id] = this.addTable(spec, props);
    this.connectionsTable = this.tables.connections!;
    this.messagesTable = this.tables.messages;

    // Auth: the authorizer's role reads what its mode needs (the secret); the environment says how to verify.
    this.auth = this.bindAuth(props.auth);

    // API and stage.
    this.webSocketApi = new apigwv2.WebSocketApi(this, 'Api', {
      description: 'WebSocketChat real-time API',
      routeSelectionExpression: ROUTE_SELECTION_EXPRESSION,
    });
    this.accessLogGroup = props.accessLogGroup ?? new logs.LogGroup(this, 'AccessLogs', {
      retention: this.settings.logRetention,
      removalPolicy: this.settings.logRemovalPolicy,
    });
    this.stage = this.addStage(props.cloudWatchRole ?? false);
    this.apiId = this.webSocketApi.apiId;
    this.stageName = this.stage.stageName;
    this.managementEndpoint = this.stage.callbackUrl;
    this.grants = new ChatGrants({
      scope: this,
      apiId: this.apiId,
      stageName: this.stageName,
      connectionsTableArn: this.connectionsTable.tableArn,
      messagesTableArn: this.messagesTable?.tableArn,
      publishFunctionArn: Lazy.string({ produce: () => this.publishFunction.functionArn }),
      encryptionKey: props.encryptionKey,
    });

    // Handlers, each built from its spec entry (a function it invokes first), then the routes to them.
    this.environmentValues = this.handlerEnvironmentValues();
    for (const spec of invokedFirst(activeHandlers(history))) this.functions[spec.id] = this.addHandler(spec);
    const fn = (handler: HandlerId) => this.functions[handler]!;
    this.authorizerFunction = fn('authorizer');
    this.connectFunction = fn('connect');
    this.disconnectFunction = fn('disconnect');
    this.sendMessageFunction = fn('sendMessage');
    this.pingFunction = fn('ping');
    this.defaultFunction = fn('default');
    this.joinFunction = fn('join');
    this.leaveFunction = fn('leave');
    this.presenceFunction = fn('presence');
    this.historyFunction = this.functions.history;
    this.publishFunction = fn('publish');
    this.fanoutWorkerFunction = fn('fanoutWorker');
    this.fanoutWorkerDeadLetterQueue = this.addAsyncInvokeConfig(this.fanoutWorkerFunction, handlerSpec('fanoutWorker'), FANOUT_WORKER_ASYNC);
    this.publishDeadLetterQueue = this.addAsyncInvokeConfig(this.publishFunction, handlerSpec('publish'), PUBLISH_ASYNC);
    this.addBuiltInRoutes();
    NagAcknowledgements.nonConnectRoutes(this);
    this.warnAboutLimits();

    // Domain.
    if (props.customDomain) {
      this.domainName = new ChatDomain(this, 'CustomDomain', {
        ...props.customDomain,
        api: this.webSocketApi,
        stage: this.stage,
      }).domainName;
      this.url = `wss://${props.customDomain.domainName}`;
    } else {
      this.url = this.stage.url;
    }

    // Alarms and dashboard.
    const alarms = new ChatAlarms(this, 'Alarms', {
      throttleSources: this.throttleSources(),
      connectCount: this.metricConnectCount(),
      integrationErrors: this.metricIntegrationError(),
      executionErrors: this.metricExecutionError(),
      fanoutFailures: this.metricFanoutFailed(),
      storeFailures: history ? this.metricStoreFailures() : undefined,
      functions: this.alarmedFunctions(),
      deadLetterQueues: this.deadLetterQueues(),
      options: props.alarmOptions ?? {},
      actions: props.alarmActions ?? [],
    });
    this.alarms = alarms.alarms;
    this.readThrottlesAlarm = alarms.readThrottles;
    this.writeThrottlesAlarm = alarms.writeThrottles;
    this.connectCountAlarm = alarms.connectCount;
    this.integrationErrorsAlarm = alarms.integrationErrors;
    this.executionErrorsAlarm = alarms.executionErrors;
    this.fanoutFailuresAlarm = alarms.fanoutFailures;
    this.storeFailuresAlarm = alarms.storeFailures;
    this.handlerErrorsAlarms = alarms.handlerErrors;
    this.deadLettersAlarms = alarms.deadLetters;
    if (props.dashboard) {
      this.dashboard = new cloudwatch.Dashboard(this, 'Dashboard');
      this.addToDashboard(this.dashboard);
    }
  }

  // --- Grants ----------------------------------------------------------------------------------------------------

  /**
   * Permits `grantee` to POST to, GET and DELETE connections of this API's stage
   * (`execute-api:ManageConnections` on `{api}/{stage}/{POST|GET|DELETE}/@connections/*`).
   */
  public grantManageConnections(grantee: iam.IGrantable): iam.Grant {
    return this.grants.connections(grantee, ['POST', 'GET', 'DELETE']);
  }

  /** Permits `grantee` to POST to connections of this stage (`execute-api:ManageConnections` on `POST` only). */
  public grantPostToConnections(grantee: iam.IGrantable): iam.Grant {
    return this.grants.connections(grantee, ['POST']);
  }

  /**
   * Permits `grantee` to read the connections table: `GetItem`, `BatchGetItem`, `DescribeTable` and `Query` on the
   * table, `Query` on its room and user indexes (never `Scan`; with `encryptionKey`, `kms:Decrypt` too).
   */
  public grantReadConnections(grantee: iam.IGrantable): iam.Grant {
    return this.grants.readConnections(grantee);
  }

  /**
   * Permits `grantee` to read the rooms' history: `GetItem` and `Query` on the messages table. Throws when history
   * is off.
   */
  public grantReadHistory(grantee: iam.IGrantable): iam.Grant {
    return this.grants.readHistory(grantee);
  }

  /**
   * Permits `grantee` to push events through `publishFunction`: `lambda:InvokeFunction` on that function only.
   */
  public grantPublish(grantee: iam.IGrantable): iam.Grant {
    return this.grants.publish(grantee);
  }

  // --- The app's own routes --------------------------------------------------------------------------------------

  /**
   * Routes the client action `action` (a frame `{"action": "<action>", …}`) to `handler`: the app's own route. The
   * handler sees the authorizer context (`requestContext.authorizer.userId`, `roomId`, `rooms`), may post to this
   * stage's connections (`grantPost`, default true) and read the connections table (`grantRead`, default false), and
   * gets `MANAGEMENT_ENDPOINT` and `CONNECTIONS_TABLE` in its environment: set on the function itself, or on the
   * function behind a `lambda.Alias` or `lambda.Version`. For a function that is not a `lambda.Function` of this app
   * (an imported one), a synth warning names the variables to set yourself. `$default` lists the action among the
   * valid ones.
   *
   * @param action the route key, e.g. `query` (1-128 characters of `[A-Za-z0-9_.:-]`)
   * @param handler the function that handles it
   * @param options grants of the handler
   */
  public addRoute(action: string, handler: lambda.IFunction, options: ChatRouteOptions = {}): apigwv2.WebSocketRoute {
    if (!ROUTE_KEY_PATTERN.test(action) || action.startsWith('$')) {
      throw new Error(`addRoute: action must be 1-128 chars of [A-Za-z0-9_.:-] and not start with "$", got "${action}"`);
    }
    if (this.validActions().includes(action)) {
      throw new Error(`addRoute: the action "${action}" is already routed`);
    }
    this.appActions.push(action);
    const route = this.webSocketApi.addRoute(action, {
      integration: new WebSocketLambdaIntegration(`${action.replace(/[^A-Za-z0-9]/g, '_')}Integration`, handler),
    });
    const fn = underlyingFunction(handler);
    if (fn) {
      for (const name of APP_ROUTE_ENV) fn.addEnvironment(name, this.environmentValues[name]()!);
    } else {
      Annotations.of(this).addWarningV2(
        'cdk-websocket-chat:route-environment',
        `addRoute('${action}'): ${handler.node.path} is not a lambda.Function of this app, so its environment cannot be set: set ${APP_ROUTE_ENV.join(' and ')} on it yourself (managementEndpoint and connectionsTable.tableName).`,
      );
    }
    if (options.grantPost ?? true) this.grantPostToConnections(handler);
    if (options.grantRead ?? false) this.grantReadConnections(handler);
    return route;
  }

  // --- Metrics ---------------------------------------------------------------------------------------------------

  /**
   * An API Gateway metric of this stage (`AWS/ApiGateway`, dimensions `ApiId` and `Stage`).
   *
   * @param metricName e.g. `ConnectCount`, `MessageCount`, `IntegrationError`, `ClientError`, `IntegrationLatency`
   * @default - summed over 5 minutes
   */
  public metric(metricName: string, props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return apiGatewayMetric(this.webSocketApi.apiId, this.stage.stageName, metricName, props);
  }

  /**
   * New connections (`ConnectCount`).
   *
   * @default - summed over 5 minutes
   */
  public metricConnectCount(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.metric('ConnectCount', props);
  }

  /**
   * Messages sent to and from clients (`MessageCount`).
   *
   * @default - summed over 5 minutes
   */
  public metricMessageCount(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.metric('MessageCount', props);
  }

  /**
   * Integration errors (`IntegrationError`: a Lambda integration answered 4xx/5xx).
   *
   * @default - summed over 5 minutes
   */
  public metricIntegrationError(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.metric('IntegrationError', props);
  }

  /**
   * Execution errors (`ExecutionError`).
   *
   * @default - summed over 5 minutes
   */
  public metricExecutionError(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.metric('ExecutionError', props);
  }

  /**
   * Client errors (`ClientError`: 4xx answers, throttled frames and refused handshakes included).
   *
   * @default - summed over 5 minutes
   */
  public metricClientError(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.metric('ClientError', props);
  }

  /**
   * Time between API Gateway relaying a request to the integration and receiving its answer (`IntegrationLatency`,
   * milliseconds).
   *
   * @default - the 99th percentile over 5 minutes
   */
  public metricIntegrationLatency(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.metric('IntegrationLatency', { statistic: cloudwatch.Stats.p(99), ...props });
  }

  /**
   * Posts delivered by fan-outs, publishes and workers (`PostsDelivered`, from the handlers' embedded metrics).
   *
   * @default - summed over 5 minutes
   */
  public metricFanoutDelivered(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return handlerMetric(this.webSocketApi.apiId, METRICS.delivered, undefined, props);
  }

  /**
   * Posts answered 410 Gone: connections that had left, whose items were then removed (`ConnectionsGone`).
   *
   * @default - summed over 5 minutes
   */
  public metricFanoutGone(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return handlerMetric(this.webSocketApi.apiId, METRICS.gone, undefined, props);
  }

  /**
   * Posts that failed after their retries (`PostsFailed`; 410 Gone is not a failure).
   *
   * @default - summed over 5 minutes
   */
  public metricFanoutFailed(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return handlerMetric(this.webSocketApi.apiId, METRICS.failed, undefined, props);
  }

  /**
   * Recipients of fan-outs (`Recipients`).
   *
   * @default - summed over 5 minutes
   */
  public metricFanoutRecipients(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return handlerMetric(this.webSocketApi.apiId, METRICS.recipients, undefined, props);
  }

  /**
   * Fan-out workers dispatched by broadcasts to large rooms (`FanoutWorkers`).
   *
   * @default - summed over 5 minutes
   */
  public metricFanoutWorkers(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return handlerMetric(this.webSocketApi.apiId, METRICS.workers, undefined, props);
  }

  /**
   * Milliseconds from the start of a broadcast (or worker) to its last post (`TimeToLastPostMs`).
   *
   * @default - the 99th percentile over 5 minutes
   */
  public metricFanoutTimeToLastPost(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return handlerMetric(this.webSocketApi.apiId, METRICS.timeToLastPost, cloudwatch.Stats.p(99), props);
  }

  /**
   * Messages and room events stored in history (`MessagesStored`).
   *
   * @default - summed over 5 minutes
   */
  public metricMessagesStored(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return handlerMetric(this.webSocketApi.apiId, METRICS.stored, undefined, props);
  }

  /**
   * Messages refused with `UNAVAILABLE` because they could not be stored (`StoreFailures`).
   *
   * @default - summed over 5 minutes
   */
  public metricStoreFailures(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return handlerMetric(this.webSocketApi.apiId, METRICS.storeFailed, undefined, props);
  }

  /**
   * Adds the chat's widgets to `dashboard`: connections, client frames, history, fan-out outcomes, large rooms,
   * latency, API Gateway and handler errors, DynamoDB and Lambda throttles.
   *
   * @param dashboard a dashboard of yours (or the one `dashboard: true` creates)
   */
  public addToDashboard(dashboard: cloudwatch.Dashboard): void {
    const rows = dashboardRows({
      title: `WebSocketChat ${this.node.path}`,
      connectCount: this.metricConnectCount(),
      messageCount: this.metricMessageCount(),
      clientErrors: this.metricClientError(),
      integrationErrors: this.metricIntegrationError(),
      executionErrors: this.metricExecutionError(),
      integrationLatency: [
        this.metricIntegrationLatency({ statistic: cloudwatch.Stats.p(50), label: 'Integration latency p50' }),
        this.metricIntegrationLatency({ label: 'Integration latency p99' }),
      ],
      delivered: this.metricFanoutDelivered(),
      gone: this.metricFanoutGone(),
      failed: this.metricFanoutFailed(),
      recipients: this.metricFanoutRecipients(),
      workers: this.metricFanoutWorkers(),
      timeToLastPost: this.metricFanoutTimeToLastPost(),
      stored: this.settings.history ? this.metricMessagesStored() : undefined,
      storeFailures: this.settings.history ? this.metricStoreFailures() : undefined,
      readThrottles: throttles(this.throttleSources(), 'ReadThrottleEvents', 'read'),
      writeThrottles: throttles(this.throttleSources(), 'WriteThrottleEvents', 'write'),
      functions: this.functionsByResourceId(),
      deadLetterQueues: this.deadLetterQueues(),
    });
    for (const row of rows) dashboard.addWidgets(...row);
  }

  // --- Building blocks -------------------------------------------------------------------------------------------

  /** A table of the spec: on-demand, point-in-time recovery, TTL, its indexes projecting ALL. */
  private addTable(spec: TableSpec, props: WebSocketChatProps): dynamodb.Table {
    const table = new dynamodb.Table(this, spec.constructId, {
      partitionKey: keyAttribute(spec.partitionKey),
      sortKey: keyAttribute(spec.sortKey),
      billingMode: dynamodb.BillingMode.PAY_PER_REQUEST,
      timeToLiveAttribute: spec.ttlAttribute,
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      removalPolicy: this.settings.removalPolicy,
      deletionProtection: props.deletionProtection,
      ...(props.encryptionKey
        ? { encryption: dynamodb.TableEncryption.CUSTOMER_MANAGED, encryptionKey: props.encryptionKey }
        : {}),
    });
    for (const index of spec.indexes) {
      table.addGlobalSecondaryIndex({
        indexName: index.name,
        partitionKey: keyAttribute(index.partitionKey),
        sortKey: keyAttribute(index.sortKey),
        projectionType: dynamodb.ProjectionType.ALL,
      });
    }
    return table;
  }

  /** Binds the auth mode to the authorizer's role, and warns about demo mode. */
  private bindAuth(auth: ChatAuth): ChatAuthBinding {
    const spec = handlerSpec('authorizer');
    const binding = auth._bind(this.roleOf(spec));
    const unexpected = Object.keys(binding.environment).filter((name) => !spec.env.includes(name));
    if (unexpected.length > 0) throw new Error(`ChatAuth sets variables the authorizer does not read: ${unexpected.join(', ')}`);
    if (binding.demoMode) {
      Annotations.of(this).addWarningV2(
        'cdk-websocket-chat:auth-none',
        'ChatAuth.none(): anyone can connect to this WebSocket API without a token. Use it for demos only.',
      );
    }
    return binding;
  }

  /** The stage: throttling, detailed metrics, JSON access logs, optional execution logging. */
  private addStage(cloudWatchRole: boolean): apigwv2.WebSocketStage {
    const s = this.settings;
    const stage = new apigwv2.WebSocketStage(this, 'Stage', {
      webSocketApi: this.webSocketApi,
      stageName: s.stageName,
      autoDeploy: true,
      throttle: s.throttle,
      detailedMetricsEnabled: true,
      accessLogSettings: {
        destination: new apigwv2.LogGroupLogDestination(this.accessLogGroup),
        format: accessLogFormat(),
      },
    });
    if (cloudWatchRole) stage.node.addDependency(this.addApiGatewayAccount());
    if (s.executionLogLevel !== apigw.MethodLoggingLevel.OFF) {
      const cfnStage = stage.node.defaultChild as apigwv2.CfnStage;
      cfnStage.addPropertyOverride('DefaultRouteSettings.LoggingLevel', s.executionLogLevel);
      cfnStage.addPropertyOverride('DefaultRouteSettings.DataTraceEnabled', s.dataTraceEnabled);
      if (s.dataTraceEnabled) {
        Annotations.of(this).addWarningV2(
          'cdk-websocket-chat:data-trace',
          'dataTraceEnabled: the execution logs will contain full requests, including tokens and messages.',
        );
      }
    }
    return stage;
  }

  /** The account-level role API Gateway logs with; retained, as other APIs of the account rely on it. */
  private addApiGatewayAccount(): apigw.CfnAccount {
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

  /** The role of a handler (`{resourceId}Role`), created on first use. */
  private roleOf(spec: HandlerSpec): iam.Role {
    return this.roles[spec.id] ??= new iam.Role(this, `${spec.resourceId}Role`, {
      assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
      description: `WebSocketChat ${spec.resourceId} handler`,
    });
  }

  /**
   * A handler from its spec entry: the generated function class of its bundle, its own role and log group
   * (`{resourceId}Role`, `{resourceId}Logs`), exactly the environment variables its spec lists, its timeout and
   * memory by size class, and its grants — table actions, `Query` on the indexes it reads, `POST` to connections,
   * `lambda:InvokeFunction` on the handlers it invokes. Nothing else.
   */
  private addHandler(spec: HandlerSpec): lambda.Function {
    const s = this.settings;
    const options = spec.size === 'standard' ? s.handlerOptions : s.fanoutHandlerOptions;
    const role = this.roleOf(spec);
    const logGroup = new logs.LogGroup(this, `${spec.resourceId}Logs`, {
      retention: s.logRetention,
      removalPolicy: s.logRemovalPolicy,
    });
    role.addToPrincipalPolicy(new iam.PolicyStatement({
      actions: ['logs:CreateLogStream', 'logs:PutLogEvents'],
      resources: [logGroup.logGroupArn],
    }));

    const environment: Record<string, string> = {};
    for (const name of spec.env) {
      const value = spec.id === 'authorizer' ? this.auth.environment[name] : this.environmentValues[name]?.();
      if (value !== undefined) {environment[name] = value;} else if (spec.id !== 'authorizer' && !(name === ENV.messagesTable && !s.history)) {
        throw new Error(`WebSocketChat: no value for ${name}, which the ${spec.id} handler reads`);
      }
    }

    const HandlerClass = handlerClass(spec.bundle);
    const fn = new HandlerClass(this, spec.constructId, {
      description: spec.description,
      role,
      logGroup,
      environment,
      timeout: Duration.seconds(TIMEOUT_SECONDS[spec.size]),
      memorySize: spec.size === 'standard' ? s.handlerMemorySize : s.fanoutMemorySize,
      architecture: options.architecture,
      tracing: options.tracing,
      reservedConcurrentExecutions: options.reservedConcurrentExecutions,
      vpc: options.vpc,
      vpcSubnets: options.vpcSubnets,
      securityGroups: options.securityGroups,
      environmentEncryption: options.environmentEncryption,
      loggingFormat: options.loggingFormat,
      applicationLogLevelV2: options.applicationLogLevelV2,
      systemLogLevelV2: options.systemLogLevelV2,
    });
    if (options.tracing !== undefined && options.tracing !== lambda.Tracing.DISABLED) NagAcknowledgements.xrayTracing(role);
    if (options.vpc) {
      role.addManagedPolicy(iam.ManagedPolicy.fromAwsManagedPolicyName('service-role/AWSLambdaVPCAccessExecutionRole'));
      NagAcknowledgements.vpcAccess(role);
    }
    if (options.environmentEncryption) {
      iam.Grant.addToPrincipal({ grantee: role, actions: ['kms:Decrypt'], resourceArns: [options.environmentEncryption.keyArn] });
    }

    for (const grant of spec.tables) {
      const table = this.tables[grant.table];
      if (table) this.grants.table(role, table.tableArn, grant.actions, grant.queryIndexes);
    }
    if (spec.postsToConnections) this.grantPostToConnections(role);
    for (const target of spec.invokes) this.grants.invoke(role, this.functions[target]!.functionArn);
    return fn;
  }

  /**
   * The value of each environment variable a built-in handler may read (the authorizer's come from `ChatAuth`).
   * Each is produced on demand, for the handlers whose spec lists it.
   */
  private handlerEnvironmentValues(): Record<string, () => string | undefined> {
    const s = this.settings;
    const number = (value: number) => () => Tokenization.stringifyNumber(value);
    return {
      [ENV.connectionsTable]: () => this.connectionsTable.tableName,
      [ENV.messagesTable]: () => this.messagesTable?.tableName,
      [ENV.historyRetentionSeconds]: number(s.historyRetentionSeconds),
      [ENV.managementEndpoint]: () => this.managementEndpoint,
      [ENV.metricsNamespace]: () => DEFAULTS.metricsNamespace,
      [ENV.fanoutConcurrency]: number(s.fanoutConcurrency),
      [ENV.postMaxAttempts]: number(DEFAULTS.postMaxAttempts),
      [ENV.postTimeoutMs]: number(DEFAULTS.postTimeoutMs),
      [ENV.postBackoffBaseMs]: number(DEFAULTS.postBackoffBaseMs),
      [ENV.connectionTtlSeconds]: number(DEFAULTS.connectionTtlSeconds),
      [ENV.maxMessageBytes]: number(s.maxMessageBytes),
      // Lazy: routes added with addRoute after construction are valid actions too.
      [ENV.validActions]: () => Lazy.string({ produce: () => this.validActions().join(',') }),
      [ENV.maxRoomsPerConnection]: number(s.maxRoomsPerConnection),
      [ENV.presenceEventsMaxConnections]: number(s.presenceEventsMaxConnections),
      [ENV.fanoutWorkerFunction]: () => this.functions.fanoutWorker!.functionName,
      [ENV.shardThreshold]: number(s.shardThreshold),
      [ENV.maxFanoutWorkers]: number(s.maxFanoutWorkers),
      [ENV.fanoutRateBudget]: number(s.fanoutRateBudget),
    };
  }

  /** Every route of the spec's route table, to its handler; `$connect` behind the authorizer. */
  private addBuiltInRoutes(): void {
    for (const [routeKey, bundle] of Object.entries(routeTable(this.settings.history))) {
      const spec = HANDLERS.find((h) => h.bundle === bundle)!;
      this.webSocketApi.addRoute(routeKey, {
        // (Pinned ids: `ConnectIntegration`, `DefaultIntegration`, `SendMessageIntegration`, …)
        integration: new WebSocketLambdaIntegration(`${spec.constructId.replace(/Route$/, '')}Integration`, this.functions[spec.id]!),
        ...(routeKey === '$connect'
          ? {
            authorizer: new WebSocketLambdaAuthorizer('Authorizer', this.authorizerFunction, {
              // API Gateway requires every identity source to be present: a missing token is a 401 before any Lambda.
              identitySource: this.auth.identitySource,
            }),
          }
          : {}),
      });
    }
  }

  /**
   * Asynchronous invocations of `fn`: a short maximum age, two retries, and an on-failure destination — an encrypted
   * queue that accepts TLS only — so that no failed event vanishes.
   */
  private addAsyncInvokeConfig(fn: lambda.Function, spec: HandlerSpec, config: { maxEventAge: Duration; retryAttempts: number }): sqs.Queue {
    const queue = new sqs.Queue(this, `${spec.resourceId}DeadLetterQueue`, {
      encryption: sqs.QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      retentionPeriod: Duration.days(14),
    });
    NagAcknowledgements.deadLetterQueue(queue, spec.resourceId);
    fn.configureAsyncInvoke({ ...config, onFailure: new destinations.SqsDestination(queue) });
    return queue;
  }

  /** Settings that work but are likely mistakes. */
  private warnAboutLimits(): void {
    const s = this.settings;
    if (!Token.isUnresolved(s.fanoutRateBudget) && s.fanoutRateBudget > 10_000) {
      Annotations.of(this).addWarningV2(
        'cdk-websocket-chat:rate-budget',
        `fanoutRateBudget ${s.fanoutRateBudget} posts/s is above API Gateway's default account quota of 10,000 requests/s (shared with clients' frames): keep it below your account's quota.`,
      );
    }
    const reserved = s.fanoutHandlerOptions.reservedConcurrentExecutions;
    if (reserved !== undefined && !Token.isUnresolved(reserved) && !Token.isUnresolved(s.maxFanoutWorkers) && reserved < s.maxFanoutWorkers) {
      Annotations.of(this).addWarningV2(
        'cdk-websocket-chat:worker-concurrency',
        `fanoutHandlerOptions.reservedConcurrentExecutions (${reserved}) is below maxFanoutWorkers (${s.maxFanoutWorkers}): a broadcast to a large room will be throttled and retried.`,
      );
    }
  }

  /** Every valid client action: the built-in ones, then the app's. */
  private validActions(): string[] {
    return [...clientActions(this.settings.history), ...this.appActions];
  }

  private throttleSources(): ThrottleSource[] {
    return activeTables(this.settings.history).map((spec) => ({
      table: this.tables[spec.id]!,
      key: spec.id === 'connections' ? 'table' : spec.id,
      indexNames: spec.indexes.map((index) => index.name),
    }));
  }

  /** The handlers, by resource id. */
  private functionsByResourceId(include: (spec: HandlerSpec) => boolean = () => true): Record<string, lambda.IFunction> {
    const byId: Record<string, lambda.IFunction> = {};
    for (const spec of activeHandlers(this.settings.history).filter(include)) byId[spec.resourceId] = this.functions[spec.id]!;
    return byId;
  }

  /** The handlers with an `Errors` alarm: all but the authorizer, whose every 401 is a thrown error. */
  private alarmedFunctions(): Record<string, lambda.IFunction> {
    return this.functionsByResourceId((spec) => spec.id !== 'authorizer');
  }

  private deadLetterQueues(): Record<string, sqs.IQueue> {
    return { FanoutWorker: this.fanoutWorkerDeadLetterQueue, Publish: this.publishDeadLetterQueue };
  }
}

/** The handlers in an order where every handler comes after those it invokes. */
function invokedFirst(specs: HandlerSpec[]): HandlerSpec[] {
  const ordered: HandlerSpec[] = [];
  const visit = (spec: HandlerSpec, path: HandlerId[]) => {
    if (ordered.includes(spec)) return;
    if (path.includes(spec.id)) throw new Error(`handler spec: invocation cycle ${[...path, spec.id].join(' -> ')}`);
    for (const target of spec.invokes) {
      const invoked = specs.find((s) => s.id === target);
      if (!invoked) throw new Error(`handler spec: ${spec.id} invokes ${target}, which is not deployed`);
      visit(invoked, [...path, spec.id]);
    }
    ordered.push(spec);
  };
  for (const spec of specs) visit(spec, []);
  return ordered;
}

function keyAttribute(key: KeyAttribute): dynamodb.Attribute {
  return { name: key.name, type: key.type === 'S' ? dynamodb.AttributeType.STRING : dynamodb.AttributeType.NUMBER };
}

/** The `lambda.Function` behind `handler` (itself, or the function of an Alias's or a Version's), if this app has it. */
function underlyingFunction(handler: lambda.IFunction): lambda.Function | undefined {
  if (handler instanceof lambda.Function) return handler;
  if (handler instanceof lambda.Alias) return underlyingFunction(handler.version);
  if (handler instanceof lambda.Version) return underlyingFunction(handler.lambda);
  return undefined;
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
