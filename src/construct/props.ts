import type { Duration, RemovalPolicy } from 'aws-cdk-lib';
import type * as apigw from 'aws-cdk-lib/aws-apigateway';
import type * as apigwv2 from 'aws-cdk-lib/aws-apigatewayv2';
import type * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import type * as ec2 from 'aws-cdk-lib/aws-ec2';
import type * as kms from 'aws-cdk-lib/aws-kms';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import type * as logs from 'aws-cdk-lib/aws-logs';
import type { ChatAuth } from '../chat-auth';
import type { ChatCustomDomainOptions } from '../custom-domain';

/**
 * Lambda settings applied to the chat's handlers (`handlerOptions`: every handler; `fanoutHandlerOptions`: the
 * handlers that fan out — `sendMessage`, `publish` and the fan-out worker — over `handlerOptions`).
 */
export interface ChatHandlerOptions {
  /**
   * AWS X-Ray tracing. `lambda.Tracing.ACTIVE` traces every invocation (the role then may write trace segments,
   * an action with no resource-level permissions).
   *
   * @default lambda.Tracing.DISABLED
   */
  readonly tracing?: lambda.Tracing;

  /**
   * Concurrency reserved for each handler (it also caps it). With `fanoutHandlerOptions`, keep the fan-out
   * worker's at least `maxFanoutWorkers` times the broadcasts you expect at once, or workers are throttled and
   * retried (late, never lost: their on-failure queue catches what expires).
   *
   * @default - no reserved concurrency: the account's unreserved pool
   */
  readonly reservedConcurrentExecutions?: number;

  /**
   * Run the handlers in this VPC. They must reach DynamoDB, API Gateway's `execute-api` endpoint, Lambda (the
   * fan-out worker), Secrets Manager (`ChatAuth.hs256`) or your JWKS URL (`ChatAuth.jwks`): give the subnets a
   * NAT gateway or the matching VPC endpoints. The roles then get the AWS managed policy
   * `AWSLambdaVPCAccessExecutionRole` (network interfaces).
   *
   * @default - not in a VPC
   */
  readonly vpc?: ec2.IVpc;

  /**
   * Where in `vpc` the handlers run. Requires `vpc`.
   *
   * @default - the VPC's private subnets
   */
  readonly vpcSubnets?: ec2.SubnetSelection;

  /**
   * Security groups of the handlers' network interfaces. Requires `vpc`.
   *
   * @default - one new security group per handler, all outbound traffic allowed
   */
  readonly securityGroups?: ec2.ISecurityGroup[];

  /**
   * A customer managed KMS key that encrypts the handlers' environment variables (each role may decrypt with it).
   *
   * @default - an AWS managed key
   */
  readonly environmentEncryption?: kms.IKey;

  /**
   * Format of the handlers' own log lines in CloudWatch Logs. The handlers write one JSON object per line either
   * way; `lambda.LoggingFormat.JSON` also makes Lambda's platform lines JSON and enables the log levels below.
   *
   * @default - Lambda's default (text)
   */
  readonly loggingFormat?: lambda.LoggingFormat;

  /**
   * Lowest application log level Lambda keeps. Requires `loggingFormat: lambda.LoggingFormat.JSON`.
   *
   * @default - Lambda's default (INFO, with the JSON format)
   */
  readonly applicationLogLevelV2?: lambda.ApplicationLogLevel;

  /**
   * Lowest system (platform) log level Lambda keeps. Requires `loggingFormat: lambda.LoggingFormat.JSON`.
   *
   * @default - Lambda's default (INFO, with the JSON format)
   */
  readonly systemLogLevelV2?: lambda.SystemLogLevel;

  /**
   * Instruction set of the handlers (the bundles are plain JavaScript and run on either).
   *
   * @default lambda.Architecture.ARM_64
   */
  readonly architecture?: lambda.Architecture;
}

/** Settings of one alarm of a `WebSocketChat`. */
export interface ChatAlarmOptions {
  /**
   * Create this alarm.
   *
   * @default true
   */
  readonly enabled?: boolean;

  /**
   * The alarm fires when the metric is greater than this.
   *
   * @default - the alarm's own default (see `ChatAlarmsOptions`)
   */
  readonly threshold?: number;

  /**
   * Consecutive 5-minute periods above the threshold before the alarm fires.
   *
   * @default - the alarm's own default (see `ChatAlarmsOptions`)
   */
  readonly evaluationPeriods?: number;
}

/**
 * The alarms of a `WebSocketChat`, each tunable or switched off. Every alarm evaluates 5-minute periods and treats
 * missing data as not breaching.
 */
export interface ChatAlarmsOptions {
  /**
   * New connections (`ConnectCount`): a surge, or a reconnect storm (API Gateway admits 500 new connections per
   * second per account).
   *
   * @default - threshold 1000 in 5 minutes, one period
   */
  readonly connectCount?: ChatAlarmOptions;

  /**
   * DynamoDB read throttles of the chat's tables and indexes, summed.
   *
   * @default - threshold 0, two periods
   */
  readonly readThrottles?: ChatAlarmOptions;

  /**
   * DynamoDB write throttles of the chat's tables and indexes, summed.
   *
   * @default - threshold 0, two periods
   */
  readonly writeThrottles?: ChatAlarmOptions;

  /**
   * API Gateway integration errors (the Lambda integrations answered 4xx/5xx).
   *
   * @default - threshold 0, one period
   */
  readonly integrationErrors?: ChatAlarmOptions;

  /**
   * API Gateway execution errors.
   *
   * @default - threshold 0, one period
   */
  readonly executionErrors?: ChatAlarmOptions;

  /**
   * Posts to live connections that failed after their retries (`PostsFailed`; 410 Gone is not a failure).
   *
   * @default - threshold 0, one period
   */
  readonly fanoutFailures?: ChatAlarmOptions;

  /**
   * Messages refused with `UNAVAILABLE` because they could not be stored in history (`StoreFailures`). Only with
   * history on.
   *
   * @default - threshold 0, one period
   */
  readonly storeFailures?: ChatAlarmOptions;

  /**
   * `Errors` of each handler but the authorizer (the authorizer answers every bad token by throwing, which Lambda
   * counts as an error). One alarm per handler.
   *
   * @default - threshold 0, one period
   */
  readonly handlerErrors?: ChatAlarmOptions;

  /**
   * Events in the on-failure queues of the asynchronously invoked functions (the fan-out worker and `publish`):
   * a broadcast or a push that was not delivered. One alarm per queue.
   *
   * @default - threshold 0, one period
   */
  readonly deadLetters?: ChatAlarmOptions;
}

/** Options of `WebSocketChat.addRoute`. */
export interface ChatRouteOptions {
  /**
   * Permit the handler to post to this stage's connections (`execute-api:ManageConnections` on `POST`).
   *
   * @default true
   */
  readonly grantPost?: boolean;

  /**
   * Permit the handler to read the connections table (`GetItem`, `BatchGetItem`, `DescribeTable`, and `Query` on
   * the table and its indexes; never `Scan`).
   *
   * @default false
   */
  readonly grantRead?: boolean;
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
   * Tune or switch off individual alarms.
   *
   * @default - every alarm, with the defaults of `ChatAlarmsOptions`
   */
  readonly alarmOptions?: ChatAlarmsOptions;

  /**
   * Create a CloudWatch dashboard of connections, messages, fan-out outcomes, latency, errors and throttles (also
   * available on a dashboard of your own with `addToDashboard`).
   *
   * @default false
   */
  readonly dashboard?: boolean;

  /**
   * Keep each room's messages (and events pushed to rooms) in a messages table, with a per-room sequence number:
   * clients page through them with `history`, and fill gaps after a reconnect. Off: no messages table, no
   * `history` route, and frames carry no `seq`.
   *
   * @default true
   */
  readonly history?: boolean;

  /**
   * How long a stored message is kept (DynamoDB deletes it after that, lazily), at least 1 minute. Only with history on.
   *
   * @default Duration.days(1)
   */
  readonly historyRetention?: Duration;

  /**
   * Stage throttling of client frames (API Gateway's account-wide quota is 10,000 requests per second, which the
   * `@connections` posts of fan-outs share).
   *
   * @default - burst 5000, rate 10000 requests per second
   */
  readonly throttle?: apigwv2.ThrottleSettings;

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
   * Most rooms one connection may be in at once (a `join` beyond it gets `TOO_MANY_ROOMS`).
   *
   * @default 20
   */
  readonly maxRoomsPerConnection?: number;

  /**
   * Rooms of at most this many connections get `member_joined` / `member_left` events; `0` turns them off. A
   * presence event goes to every other member, so a room of N connections that all (re)connect at once costs
   * about N² posts: above the cap, clients ask `presence` instead.
   *
   * @default 100
   */
  readonly presenceEventsMaxConnections?: number;

  /**
   * Posts to connections in flight at once in one invocation (also the HTTP agent's `maxSockets`). At 20 ms per
   * post, 200 in flight allow up to 10,000 posts/s from one invocation; `fanoutRateBudget` keeps a broadcast below
   * API Gateway's account-wide 10,000 requests/s, which `@connections` posts share.
   *
   * @default 200
   */
  readonly fanoutConcurrency?: number;

  /**
   * Room items a broadcast reads and posts to itself before it hands the rest of the room (by shard) to fan-out
   * workers that run in parallel.
   *
   * @default 2000
   */
  readonly shardThreshold?: number;

  /**
   * Most fan-out workers one broadcast starts (at most 64, the number of shards of a room). The broadcast and its
   * workers share `fanoutRateBudget` in proportion to their parts of the room, so a few workers already keep the whole
   * budget in use; more cost more invocations and concurrent executions.
   *
   * @default 8
   */
  readonly maxFanoutWorkers?: number;

  /**
   * Posts per second that all workers of one broadcast share. The default stays below API Gateway's account-wide
   * 10,000 requests per second, which clients' own frames share; raise it only with a raised account quota.
   *
   * @default 8000
   */
  readonly fanoutRateBudget?: number;

  /**
   * Memory of the handlers that do not fan out, in MiB.
   *
   * @default 256
   */
  readonly handlerMemorySize?: number;

  /**
   * Memory of the handlers that fan out (`sendMessage`, `publish`, the fan-out worker), in MiB. A fan-out is
   * CPU-bound (signing and sending one HTTP request per connection), and Lambda gives CPU in proportion to memory
   * (one vCPU at 1,769 MiB): at 1024 MiB one invocation reaches about 2,000 posts/s, at 256 MiB about 500.
   *
   * @default 1024
   */
  readonly fanoutMemorySize?: number;

  /**
   * Lambda settings of every handler.
   *
   * @default - arm64, no tracing, no VPC, no reserved concurrency
   */
  readonly handlerOptions?: ChatHandlerOptions;

  /**
   * Lambda settings of the handlers that fan out (`sendMessage`, `publish`, the fan-out worker), over
   * `handlerOptions`: e.g. reserved concurrency for the worker.
   *
   * @default - `handlerOptions`
   */
  readonly fanoutHandlerOptions?: ChatHandlerOptions;

  /**
   * Retention of the access logs and of the handlers' log groups.
   *
   * @default logs.RetentionDays.ONE_MONTH
   */
  readonly logRetention?: logs.RetentionDays;

  /**
   * Removal policy of the log groups the construct creates (access logs, handler logs).
   *
   * @default RemovalPolicy.RETAIN
   */
  readonly logRemovalPolicy?: RemovalPolicy;

  /**
   * The stage's access-log group (JSON lines, never a token).
   *
   * @default - a new log group with `logRetention` and `logRemovalPolicy`
   */
  readonly accessLogGroup?: logs.ILogGroup;

  /**
   * Removal policy of the tables. The connections table holds only live connections, which expire within hours;
   * the messages table holds `historyRetention` of history.
   *
   * @default RemovalPolicy.DESTROY
   */
  readonly removalPolicy?: RemovalPolicy;

  /**
   * DynamoDB deletion protection of the tables.
   *
   * @default false
   */
  readonly deletionProtection?: boolean;

  /**
   * A customer managed KMS key that encrypts the tables. The handlers and the `grant*` methods then also grant
   * the KMS actions DynamoDB needs (`kms:Decrypt`, `kms:DescribeKey`, and `kms:Encrypt` / `kms:GenerateDataKey`
   * to writers).
   *
   * @default - DynamoDB's AWS owned key
   */
  readonly encryptionKey?: kms.IKey;

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
   * @default apigateway.MethodLoggingLevel.OFF
   */
  readonly executionLogLevel?: apigw.MethodLoggingLevel;

  /**
   * Log full request and response data in the execution logs. This logs tokens and messages: keep it
   * off outside debugging. Requires `executionLogLevel` other than OFF.
   *
   * @default false
   */
  readonly dataTraceEnabled?: boolean;
}
