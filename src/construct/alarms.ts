import { Duration } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import { Construct } from 'constructs';

/** What the alarms watch. @internal */
export interface ChatAlarmsProps {
  readonly table: dynamodb.ITable;
  /** The table's global secondary indexes: their throttles are reported under their own dimension. */
  readonly indexNames: string[];
  readonly connectCount: cloudwatch.IMetric;
  readonly integrationErrors: cloudwatch.IMetric;
  readonly executionErrors: cloudwatch.IMetric;
  readonly fanoutFailures: cloudwatch.IMetric;
  readonly connectionCountThreshold: number;
  readonly functions: Record<string, lambda.IFunction>;
  readonly actions: cloudwatch.IAlarmAction[];
}

const FIVE_MINUTES = Duration.minutes(5);

/**
 * The CloudWatch alarms of a `WebSocketChat`: DynamoDB throttling, connection surges, handler errors,
 * API Gateway integration / execution errors and fan-out failures. Missing data never alarms.
 *
 * @internal
 */
export class ChatAlarms extends Construct {
  public readonly alarms: cloudwatch.Alarm[] = [];

  constructor(scope: Construct, id: string, props: ChatAlarmsProps) {
    super(scope, id);

    for (const [name, metricName] of [['ReadThrottles', 'ReadThrottleEvents'], ['WriteThrottles', 'WriteThrottleEvents']]) {
      // The table's own throttles and each index's (the fan-out's Query runs on room_id-index, reported under
      // GlobalSecondaryIndexName), summed.
      const metric = (indexName?: string) => props.table.metric(metricName, {
        statistic: cloudwatch.Stats.SUM,
        period: FIVE_MINUTES,
        dimensionsMap: { TableName: props.table.tableName, ...(indexName ? { GlobalSecondaryIndexName: indexName } : {}) },
      });
      const usingMetrics: Record<string, cloudwatch.IMetric> = { table: metric() };
      props.indexNames.forEach((indexName, i) => (usingMetrics[`index${i}`] = metric(indexName)));
      this.add(name, {
        metric: new cloudwatch.MathExpression({
          expression: `SUM([${Object.keys(usingMetrics).join(', ')}])`,
          usingMetrics,
          period: FIVE_MINUTES,
          label: `${metricName} (table and indexes)`,
        }),
        threshold: 0,
        evaluationPeriods: 2,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
        alarmDescription: `DynamoDB ${metricName} on the connections table and its indexes, over two 5-minute periods.`,
      });
    }

    this.add('ConnectCount', {
      metric: props.connectCount,
      threshold: props.connectionCountThreshold,
      evaluationPeriods: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
      alarmDescription: `More than ${props.connectionCountThreshold} new WebSocket connections in 5 minutes.`,
    });

    this.add('IntegrationErrors', {
      metric: props.integrationErrors,
      threshold: 0,
      evaluationPeriods: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
      alarmDescription: 'API Gateway integration errors (4xx/5xx from the Lambda integrations) in 5 minutes.',
    });

    this.add('ExecutionErrors', {
      metric: props.executionErrors,
      threshold: 0,
      evaluationPeriods: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
      alarmDescription: 'API Gateway execution errors in 5 minutes.',
    });

    this.add('FanoutFailures', {
      metric: props.fanoutFailures,
      threshold: 0,
      evaluationPeriods: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
      alarmDescription: 'Posts to live connections that failed after retries (not 410 Gone) in 5 minutes.',
    });

    for (const [name, fn] of Object.entries(props.functions)) {
      this.add(`${name}Errors`, {
        metric: fn.metricErrors({ statistic: cloudwatch.Stats.SUM, period: FIVE_MINUTES }),
        threshold: 0,
        evaluationPeriods: 1,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
        alarmDescription: `Errors of the ${name} handler in 5 minutes.`,
      });
    }

    for (const alarm of this.alarms) {
      alarm.addAlarmAction(...props.actions);
    }
  }

  private add(id: string, props: Omit<cloudwatch.AlarmProps, 'treatMissingData'>): void {
    this.alarms.push(new cloudwatch.Alarm(this, id, { ...props, treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING }));
  }
}
