import { Duration } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import type { ChatAlarmOptions, ChatAlarmsOptions } from './props';
import { DEFAULTS } from '../shared/contract';

/** A table and the indexes whose throttles are reported under their own dimension. */
export interface ThrottleSource {
  readonly table: dynamodb.ITable;
  /** Key of the table's metric in the sum expression (`table` for the connections table). */
  readonly key: string;
  readonly indexNames: readonly string[];
}

/** What the alarms watch. @internal */
export interface ChatAlarmsProps {
  readonly throttleSources: readonly ThrottleSource[];
  readonly connectCount: cloudwatch.IMetric;
  readonly integrationErrors: cloudwatch.IMetric;
  readonly executionErrors: cloudwatch.IMetric;
  readonly fanoutFailures: cloudwatch.IMetric;
  /** Only with history on. */
  readonly storeFailures?: cloudwatch.IMetric;
  /** Handlers with an `Errors` alarm, by the id of their resources (`{id}Errors`). */
  readonly functions: Readonly<Record<string, lambda.IFunction>>;
  /** On-failure queues, by the id of the function they serve (`{id}DeadLetters`). */
  readonly deadLetterQueues: Readonly<Record<string, sqs.IQueue>>;
  readonly options: ChatAlarmsOptions;
  readonly actions: readonly cloudwatch.IAlarmAction[];
}

type AlarmName = keyof ChatAlarmsOptions;

/** Each alarm's threshold and periods when the props do not say (the `@default`s of `ChatAlarmsOptions`). */
const ALARM_DEFAULTS: Readonly<Record<AlarmName, { threshold: number; evaluationPeriods: number }>> = {
  connectCount: { threshold: DEFAULTS.connectionCountAlarmThreshold, evaluationPeriods: 1 },
  readThrottles: { threshold: 0, evaluationPeriods: 2 },
  writeThrottles: { threshold: 0, evaluationPeriods: 2 },
  integrationErrors: { threshold: 0, evaluationPeriods: 1 },
  executionErrors: { threshold: 0, evaluationPeriods: 1 },
  fanoutFailures: { threshold: 0, evaluationPeriods: 1 },
  storeFailures: { threshold: 0, evaluationPeriods: 1 },
  handlerErrors: { threshold: 0, evaluationPeriods: 1 },
  deadLetters: { threshold: 0, evaluationPeriods: 1 },
};

/** Every alarm evaluates 5-minute periods. */
export const ALARM_PERIOD = Duration.minutes(5);

/**
 * The CloudWatch alarms of a `WebSocketChat`: DynamoDB throttling, connection surges, handler errors,
 * API Gateway integration / execution errors, fan-out failures, history store failures and undelivered
 * asynchronous events. Missing data never alarms. Construct ids are pinned (they are the alarms' logical IDs).
 *
 * @internal
 */
export class ChatAlarms extends Construct {
  /** Every alarm created. */
  public readonly alarms: cloudwatch.Alarm[] = [];
  public readonly readThrottles?: cloudwatch.Alarm;
  public readonly writeThrottles?: cloudwatch.Alarm;
  public readonly connectCount?: cloudwatch.Alarm;
  public readonly integrationErrors?: cloudwatch.Alarm;
  public readonly executionErrors?: cloudwatch.Alarm;
  public readonly fanoutFailures?: cloudwatch.Alarm;
  public readonly storeFailures?: cloudwatch.Alarm;
  public readonly handlerErrors: Record<string, cloudwatch.Alarm> = {};
  public readonly deadLetters: Record<string, cloudwatch.Alarm> = {};

  constructor(scope: Construct, id: string, private readonly props: ChatAlarmsProps) {
    super(scope, id);

    this.readThrottles = this.add('readThrottles', 'ReadThrottles', throttles(props.throttleSources, 'ReadThrottleEvents'),
      'DynamoDB read throttle events on the chat\'s tables and indexes.');
    this.writeThrottles = this.add('writeThrottles', 'WriteThrottles', throttles(props.throttleSources, 'WriteThrottleEvents'),
      'DynamoDB write throttle events on the chat\'s tables and indexes.');
    this.connectCount = this.add('connectCount', 'ConnectCount', props.connectCount, 'New WebSocket connections.');
    this.integrationErrors = this.add('integrationErrors', 'IntegrationErrors', props.integrationErrors,
      'API Gateway integration errors (4xx/5xx from the Lambda integrations).');
    this.executionErrors = this.add('executionErrors', 'ExecutionErrors', props.executionErrors, 'API Gateway execution errors.');
    this.fanoutFailures = this.add('fanoutFailures', 'FanoutFailures', props.fanoutFailures,
      'Posts to live connections that failed after retries (not 410 Gone).');
    if (props.storeFailures) {
      this.storeFailures = this.add('storeFailures', 'StoreFailures', props.storeFailures,
        'Messages refused with UNAVAILABLE because they could not be stored in history.');
    }
    for (const [name, fn] of Object.entries(props.functions)) {
      const alarm = this.add('handlerErrors', `${name}Errors`, fn.metricErrors({ statistic: cloudwatch.Stats.SUM, period: ALARM_PERIOD }),
        `Errors of the ${name} handler.`);
      if (alarm) this.handlerErrors[name] = alarm;
    }
    for (const [name, queue] of Object.entries(props.deadLetterQueues)) {
      const metric = queue.metricApproximateNumberOfMessagesVisible({ statistic: cloudwatch.Stats.MAXIMUM, period: ALARM_PERIOD });
      const alarm = this.add('deadLetters', `${name}DeadLetters`, metric,
        `Events of the ${name} function that failed after their retries or expired (its on-failure queue).`);
      if (alarm) this.deadLetters[name] = alarm;
    }
  }

  private add(name: AlarmName, id: string, metric: cloudwatch.IMetric, what: string): cloudwatch.Alarm | undefined {
    const options: ChatAlarmOptions = this.props.options[name] ?? {};
    if (options.enabled === false) return undefined;
    const threshold = options.threshold ?? ALARM_DEFAULTS[name].threshold;
    const evaluationPeriods = options.evaluationPeriods ?? ALARM_DEFAULTS[name].evaluationPeriods;
    const periods = evaluationPeriods === 1 ? 'one 5-minute period' : `${evaluationPeriods} consecutive 5-minute periods`;
    const alarm = new cloudwatch.Alarm(this, id, {
      metric,
      threshold,
      evaluationPeriods,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      alarmDescription: `${what} More than ${threshold} in ${periods}.`,
    });
    alarm.addAlarmAction(...this.props.actions);
    this.alarms.push(alarm);
    return alarm;
  }
}

/**
 * Throttle events of every table and index, summed (a Query on an index is throttled under the index's name).
 * `idPrefix` keeps the ids of two such sums apart in one graph.
 */
export function throttles(sources: readonly ThrottleSource[], metricName: string, idPrefix = ''): cloudwatch.IMetric {
  const usingMetrics: Record<string, cloudwatch.IMetric> = {};
  const id = (key: string) => (idPrefix ? `${idPrefix}_${key}` : key);
  for (const source of sources) {
    const metric = (indexName?: string) => source.table.metric(metricName, {
      statistic: cloudwatch.Stats.SUM,
      period: ALARM_PERIOD,
      dimensionsMap: { TableName: source.table.tableName, ...(indexName ? { GlobalSecondaryIndexName: indexName } : {}) },
    });
    usingMetrics[id(source.key)] = metric();
    source.indexNames.forEach((indexName, i) => {
      usingMetrics[id(source.key === 'table' ? `index${i}` : `${source.key}Index${i}`)] = metric(indexName);
    });
  }
  return new cloudwatch.MathExpression({
    expression: `SUM([${Object.keys(usingMetrics).join(', ')}])`,
    usingMetrics,
    period: ALARM_PERIOD,
    label: `${metricName} (tables and indexes)`,
  });
}
