import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import type * as sqs from 'aws-cdk-lib/aws-sqs';

/** The metrics a chat's dashboard shows. @internal */
export interface DashboardSources {
  readonly title: string;
  readonly connectCount: cloudwatch.IMetric;
  readonly messageCount: cloudwatch.IMetric;
  readonly clientErrors: cloudwatch.IMetric;
  readonly integrationErrors: cloudwatch.IMetric;
  readonly executionErrors: cloudwatch.IMetric;
  readonly integrationLatency: cloudwatch.IMetric[];
  readonly delivered: cloudwatch.IMetric;
  readonly gone: cloudwatch.IMetric;
  readonly failed: cloudwatch.IMetric;
  readonly recipients: cloudwatch.IMetric;
  readonly workers: cloudwatch.IMetric;
  readonly timeToLastPost: cloudwatch.IMetric;
  /** History on only. */
  readonly stored?: cloudwatch.IMetric;
  readonly storeFailures?: cloudwatch.IMetric;
  readonly readThrottles: cloudwatch.IMetric;
  readonly writeThrottles: cloudwatch.IMetric;
  readonly functions: Readonly<Record<string, lambda.IFunction>>;
  readonly deadLetterQueues: Readonly<Record<string, sqs.IQueue>>;
}

const WIDTH = 8;
const HEIGHT = 6;

/**
 * The rows of a chat's dashboard: traffic, fan-out outcomes, latency, errors, throttles.
 *
 * @internal
 */
export function dashboardRows(s: DashboardSources): cloudwatch.IWidget[][] {
  const graph = (title: string, left: cloudwatch.IMetric[], right: cloudwatch.IMetric[] = [], width = WIDTH) =>
    new cloudwatch.GraphWidget({ title, left, right, width, height: HEIGHT });
  const perFunction = (metric: (fn: lambda.IFunction) => cloudwatch.IMetric) =>
    Object.entries(s.functions).map(([name, fn]) => withLabel(metric(fn), name));

  return [
    [new cloudwatch.TextWidget({ markdown: `# ${s.title}`, width: 24, height: 1 })],
    [
      graph('Connections', [withLabel(s.connectCount, 'New connections')]),
      graph('Client frames', [withLabel(s.messageCount, 'Messages (frames in and out)')]),
      graph('History', [
        ...(s.stored ? [withLabel(s.stored, 'Stored')] : []),
        ...(s.storeFailures ? [withLabel(s.storeFailures, 'Store failures (UNAVAILABLE)')] : []),
      ]),
    ],
    [
      graph('Fan-out outcomes', [
        withLabel(s.delivered, 'Delivered'),
        withLabel(s.gone, 'Gone (410)'),
        withLabel(s.failed, 'Failed after retries'),
      ], [withLabel(s.recipients, 'Recipients')]),
      graph('Large rooms', [withLabel(s.workers, 'Fan-out workers dispatched')], Object.entries(s.deadLetterQueues).map(([name, queue]) =>
        withLabel(queue.metricApproximateNumberOfMessagesVisible({ statistic: cloudwatch.Stats.MAXIMUM }), `${name} on-failure queue`))),
      graph('Latency (ms)', [...s.integrationLatency, withLabel(s.timeToLastPost, 'Time to last post p99')]),
    ],
    [
      graph('API Gateway errors', [
        withLabel(s.clientErrors, 'Client errors (4xx, throttled frames included)'),
        withLabel(s.integrationErrors, 'Integration errors'),
        withLabel(s.executionErrors, 'Execution errors'),
      ]),
      graph('Handler errors', perFunction((fn) => fn.metricErrors({ statistic: cloudwatch.Stats.SUM }))),
      graph('Throttles', [
        withLabel(s.readThrottles, 'DynamoDB read throttles'),
        withLabel(s.writeThrottles, 'DynamoDB write throttles'),
      ], perFunction((fn) => fn.metricThrottles({ statistic: cloudwatch.Stats.SUM }))),
    ],
  ];
}

function withLabel(metric: cloudwatch.IMetric, label: string): cloudwatch.IMetric {
  return metric instanceof cloudwatch.Metric || metric instanceof cloudwatch.MathExpression ? metric.with({ label }) : metric;
}
