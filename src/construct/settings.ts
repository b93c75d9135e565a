import { Duration, RemovalPolicy, Token } from 'aws-cdk-lib';
import * as apigw from 'aws-cdk-lib/aws-apigateway';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import type { ChatHandlerOptions, WebSocketChatProps } from './props';
import { DEFAULTS, LIMITS, SHARDS } from '../shared/contract';

/**
 * Every prop of a `WebSocketChat` resolved to its value: the defaults live here, once, each equal to its
 * documented `@default`.
 *
 * @internal
 */
export interface ChatSettings {
  readonly stageName: string;
  readonly history: boolean;
  readonly historyRetentionSeconds: number;
  readonly throttle: { readonly burstLimit: number; readonly rateLimit: number };
  readonly maxMessageBytes: number;
  readonly maxRoomsPerConnection: number;
  readonly presenceEventsMaxConnections: number;
  readonly fanoutConcurrency: number;
  readonly shardThreshold: number;
  readonly maxFanoutWorkers: number;
  readonly fanoutRateBudget: number;
  readonly handlerMemorySize: number;
  readonly fanoutMemorySize: number;
  readonly handlerOptions: ChatHandlerOptions;
  readonly fanoutHandlerOptions: ChatHandlerOptions;
  readonly logRetention: logs.RetentionDays;
  readonly logRemovalPolicy: RemovalPolicy;
  readonly removalPolicy: RemovalPolicy;
  readonly executionLogLevel: apigw.MethodLoggingLevel;
  readonly dataTraceEnabled: boolean;
}

const STAGE_NAME_PATTERN = /^[A-Za-z0-9_-]{1,128}$/;

/** The handlers' settings when none are given. */
const HANDLER_DEFAULTS: ChatHandlerOptions = { architecture: lambda.Architecture.ARM_64 };

/**
 * Validates `props` (only resolved values: a token passes) and resolves every default. Conflicting props throw.
 *
 * @internal
 */
export function resolveSettings(props: WebSocketChatProps): ChatSettings {
  if (!props.auth) {
    throw new Error('WebSocketChat: auth is required (ChatAuth.hs256, ChatAuth.jwks, or ChatAuth.none() for demos)');
  }
  const history = props.history ?? true;
  if (!history && props.historyRetention !== undefined) {
    throw new Error('WebSocketChat: historyRetention needs history (it is false)');
  }
  const executionLogLevel = props.executionLogLevel ?? apigw.MethodLoggingLevel.OFF;
  if (props.dataTraceEnabled && executionLogLevel === apigw.MethodLoggingLevel.OFF) {
    throw new Error('WebSocketChat: dataTraceEnabled needs executionLogLevel ERROR or INFO');
  }
  const handlerOptions = merge(HANDLER_DEFAULTS, props.handlerOptions);
  const settings: ChatSettings = {
    stageName: props.stageName ?? DEFAULTS.stageName,
    history,
    historyRetentionSeconds: (props.historyRetention ?? Duration.seconds(DEFAULTS.historyRetentionSeconds)).toSeconds(),
    throttle: {
      burstLimit: props.throttle?.burstLimit ?? DEFAULTS.throttlingBurstLimit,
      rateLimit: props.throttle?.rateLimit ?? DEFAULTS.throttlingRateLimit,
    },
    maxMessageBytes: props.maxMessageBytes ?? DEFAULTS.maxMessageBytes,
    maxRoomsPerConnection: props.maxRoomsPerConnection ?? DEFAULTS.maxRoomsPerConnection,
    presenceEventsMaxConnections: props.presenceEventsMaxConnections ?? DEFAULTS.presenceEventsMaxConnections,
    fanoutConcurrency: props.fanoutConcurrency ?? DEFAULTS.fanoutConcurrency,
    shardThreshold: props.shardThreshold ?? DEFAULTS.shardThreshold,
    maxFanoutWorkers: props.maxFanoutWorkers ?? DEFAULTS.maxFanoutWorkers,
    fanoutRateBudget: props.fanoutRateBudget ?? DEFAULTS.fanoutRateBudget,
    handlerMemorySize: props.handlerMemorySize ?? DEFAULTS.handlerMemorySize,
    fanoutMemorySize: props.fanoutMemorySize ?? DEFAULTS.fanoutMemorySize,
    handlerOptions,
    fanoutHandlerOptions: merge(handlerOptions, props.fanoutHandlerOptions),
    logRetention: props.logRetention ?? logs.RetentionDays.ONE_MONTH,
    logRemovalPolicy: props.logRemovalPolicy ?? RemovalPolicy.RETAIN,
    removalPolicy: props.removalPolicy ?? RemovalPolicy.DESTROY,
    executionLogLevel,
    dataTraceEnabled: props.dataTraceEnabled ?? false,
  };
  validate(settings);
  return settings;
}

function validate(s: ChatSettings): void {
  if (!Token.isUnresolved(s.stageName) && !STAGE_NAME_PATTERN.test(s.stageName)) {
    throw new Error(`WebSocketChat: stageName must be 1-128 chars of [A-Za-z0-9_-], got "${s.stageName}"`);
  }
  integerIn('throttle.burstLimit', s.throttle.burstLimit, 1);
  numberIn('throttle.rateLimit', s.throttle.rateLimit, Number.MIN_VALUE);
  // The handlers' minimum: DynamoDB's TTL is not that precise anyway.
  integerIn('historyRetention', s.historyRetentionSeconds, 60, undefined, 'a whole number of seconds, at least 1 minute');
  // A frame's envelope (action, room id, request id) must fit next to the message in API Gateway's 128 KiB limit.
  integerIn('maxMessageBytes', s.maxMessageBytes, 1, LIMITS.maxMessageBytes - 1024);
  integerIn('maxRoomsPerConnection', s.maxRoomsPerConnection, 1);
  integerIn('presenceEventsMaxConnections', s.presenceEventsMaxConnections, 0);
  integerIn('fanoutConcurrency', s.fanoutConcurrency, 1, 1000);
  integerIn('shardThreshold', s.shardThreshold, 1);
  integerIn('maxFanoutWorkers', s.maxFanoutWorkers, 1, SHARDS);
  integerIn('fanoutRateBudget', s.fanoutRateBudget, 1);
  integerIn('handlerMemorySize', s.handlerMemorySize, 128, 10240);
  integerIn('fanoutMemorySize', s.fanoutMemorySize, 128, 10240);
  validateHandlerOptions('handlerOptions', s.handlerOptions);
  validateHandlerOptions('fanoutHandlerOptions', s.fanoutHandlerOptions);
}

function validateHandlerOptions(name: string, options: ChatHandlerOptions): void {
  if (!options.vpc && (options.vpcSubnets || options.securityGroups)) {
    throw new Error(`WebSocketChat: ${name}.vpcSubnets and ${name}.securityGroups need ${name}.vpc`);
  }
  if ((options.applicationLogLevelV2 || options.systemLogLevelV2) && options.loggingFormat !== lambda.LoggingFormat.JSON) {
    throw new Error(`WebSocketChat: ${name}.applicationLogLevelV2 and systemLogLevelV2 need loggingFormat: lambda.LoggingFormat.JSON`);
  }
  integerIn(`${name}.reservedConcurrentExecutions`, options.reservedConcurrentExecutions, 0);
}

/** `base` with the fields `override` sets (an `undefined` field keeps the base's). */
function merge(base: ChatHandlerOptions, override: ChatHandlerOptions | undefined): ChatHandlerOptions {
  const merged: Record<string, unknown> = { ...base };
  for (const [key, value] of Object.entries(override ?? {})) if (value !== undefined) merged[key] = value;
  return merged as ChatHandlerOptions;
}

function numberIn(name: string, value: number | undefined, min: number, max?: number): void {
  if (value === undefined || Token.isUnresolved(value)) return;
  if (!Number.isFinite(value) || value < min || (max !== undefined && value > max)) {
    const range = max === undefined ? (min === Number.MIN_VALUE ? 'a positive number' : `at least ${min}`) : `from ${min} to ${max}`;
    throw new Error(`WebSocketChat: ${name} must be ${range}, got ${value}`);
  }
}

function integerIn(name: string, value: number | undefined, min: number, max?: number, what?: string): void {
  if (value === undefined || Token.isUnresolved(value)) return;
  if (!Number.isInteger(value) || value < min || (max !== undefined && value > max)) {
    const range = what ?? (max === undefined ? `an integer of at least ${min}` : `an integer from ${min} to ${max}`);
    throw new Error(`WebSocketChat: ${name} must be ${range}, got ${value}`);
  }
}
