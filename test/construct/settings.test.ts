import * as fs from 'node:fs';
import * as path from 'node:path';
import { RemovalPolicy } from 'aws-cdk-lib';
import * as apigw from 'aws-cdk-lib/aws-apigateway';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as ts from 'typescript';
import { ChatAuth } from '../../src';
import { resolveSettings } from '../../src/construct/settings';
import { DEFAULTS } from '../../src/shared/contract';

/** The `@default` tag of each property of `WebSocketChatProps`, as written in its TSDoc. */
function documentedDefaults(): Record<string, string> {
  const file = path.join(__dirname, '../../src/construct/props.ts');
  const source = ts.createSourceFile(file, fs.readFileSync(file, 'utf-8'), ts.ScriptTarget.ES2022, true);
  const defaults: Record<string, string> = {};
  source.forEachChild((node) => {
    if (!ts.isInterfaceDeclaration(node) || node.name.text !== 'WebSocketChatProps') return;
    for (const member of node.members) {
      const name = (member.name as ts.Identifier).text;
      const tag = ts.getJSDocTags(member).find((t) => t.tagName.text === 'default');
      if (tag) defaults[name] = ts.getTextOfJSDocComment(tag.comment) ?? '';
    }
  });
  return defaults;
}

describe('defaults: one place, each equal to its @default', () => {
  const documented = documentedDefaults();
  const resolved = resolveSettings({ auth: ChatAuth.none() });

  test('every optional prop has a @default, and `auth` (required) none', () => {
    expect(documented.auth).toBeUndefined();
    expect(Object.keys(documented).sort()).toEqual([
      'accessLogGroup', 'alarmActions', 'alarmOptions', 'cloudWatchRole', 'customDomain', 'dashboard', 'dataTraceEnabled',
      'deletionProtection', 'encryptionKey', 'executionLogLevel', 'fanoutConcurrency', 'fanoutHandlerOptions',
      'fanoutMemorySize', 'fanoutRateBudget', 'handlerMemorySize', 'handlerOptions', 'history', 'historyRetention',
      'logRemovalPolicy', 'logRetention', 'maxFanoutWorkers', 'maxMessageBytes', 'maxRoomsPerConnection',
      'presenceEventsMaxConnections', 'removalPolicy', 'shardThreshold', 'stageName', 'throttle',
    ]);
  });

  test.each([
    ['stageName', `'${DEFAULTS.stageName}'`, resolved.stageName, DEFAULTS.stageName],
    ['maxMessageBytes', String(DEFAULTS.maxMessageBytes), resolved.maxMessageBytes, DEFAULTS.maxMessageBytes],
    ['maxRoomsPerConnection', String(DEFAULTS.maxRoomsPerConnection), resolved.maxRoomsPerConnection, DEFAULTS.maxRoomsPerConnection],
    ['presenceEventsMaxConnections', String(DEFAULTS.presenceEventsMaxConnections), resolved.presenceEventsMaxConnections, DEFAULTS.presenceEventsMaxConnections],
    ['fanoutConcurrency', String(DEFAULTS.fanoutConcurrency), resolved.fanoutConcurrency, DEFAULTS.fanoutConcurrency],
    ['shardThreshold', String(DEFAULTS.shardThreshold), resolved.shardThreshold, DEFAULTS.shardThreshold],
    ['maxFanoutWorkers', String(DEFAULTS.maxFanoutWorkers), resolved.maxFanoutWorkers, DEFAULTS.maxFanoutWorkers],
    ['fanoutRateBudget', String(DEFAULTS.fanoutRateBudget), resolved.fanoutRateBudget, DEFAULTS.fanoutRateBudget],
    ['handlerMemorySize', String(DEFAULTS.handlerMemorySize), resolved.handlerMemorySize, DEFAULTS.handlerMemorySize],
    ['fanoutMemorySize', String(DEFAULTS.fanoutMemorySize), resolved.fanoutMemorySize, DEFAULTS.fanoutMemorySize],
    ['history', 'true', resolved.history, true],
    ['historyRetention', `Duration.days(${DEFAULTS.historyRetentionSeconds / 86400})`, resolved.historyRetentionSeconds, DEFAULTS.historyRetentionSeconds],
    ['logRetention', 'logs.RetentionDays.ONE_MONTH', resolved.logRetention, logs.RetentionDays.ONE_MONTH],
    ['logRemovalPolicy', 'RemovalPolicy.RETAIN', resolved.logRemovalPolicy, RemovalPolicy.RETAIN],
    ['removalPolicy', 'RemovalPolicy.DESTROY', resolved.removalPolicy, RemovalPolicy.DESTROY],
    ['executionLogLevel', 'apigateway.MethodLoggingLevel.OFF', resolved.executionLogLevel, apigw.MethodLoggingLevel.OFF],
    ['dataTraceEnabled', 'false', resolved.dataTraceEnabled, false],
  ] as const)('%s: documented %s, resolved to it', (name, doc, value, expected) => {
    expect(documented[name]).toBe(doc);
    expect(value).toEqual(expected);
  });

  test('throttle: documented and resolved to the contract\'s burst and rate', () => {
    expect(documented.throttle).toContain(`burst ${DEFAULTS.throttlingBurstLimit}, rate ${DEFAULTS.throttlingRateLimit}`);
    expect(resolved.throttle).toEqual({ burstLimit: DEFAULTS.throttlingBurstLimit, rateLimit: DEFAULTS.throttlingRateLimit });
  });

  test('handler options: arm64, nothing else; the fan-out handlers inherit them', () => {
    expect(documented.handlerOptions).toContain('arm64');
    expect(resolved.handlerOptions).toEqual({ architecture: lambda.Architecture.ARM_64 });
    expect(resolved.fanoutHandlerOptions).toEqual(resolved.handlerOptions);
  });

  test('fanoutHandlerOptions override handlerOptions field by field; an undefined field keeps the base', () => {
    const s = resolveSettings({
      auth: ChatAuth.none(),
      handlerOptions: { tracing: lambda.Tracing.ACTIVE, reservedConcurrentExecutions: 5 },
      fanoutHandlerOptions: { reservedConcurrentExecutions: 50, tracing: undefined },
    });
    expect(s.fanoutHandlerOptions).toEqual({
      architecture: lambda.Architecture.ARM_64,
      tracing: lambda.Tracing.ACTIVE,
      reservedConcurrentExecutions: 50,
    });
    expect(s.handlerOptions.reservedConcurrentExecutions).toBe(5);
  });
});
