import { METRICS } from '../../shared/contract';

/** Counts published per invocation (any of them may be left out: it is then not emitted). */
export interface MetricCounts {
  readonly delivered?: number;
  readonly gone?: number;
  readonly failed?: number;
  readonly recipients?: number;
  readonly workers?: number;
  readonly timeToLastPostMs?: number;
  readonly stored?: number;
  readonly storeFailed?: number;
}

const NAMES: ReadonlyArray<[keyof MetricCounts, string, 'Count' | 'Milliseconds']> = [
  ['delivered', METRICS.delivered, 'Count'],
  ['gone', METRICS.gone, 'Count'],
  ['failed', METRICS.failed, 'Count'],
  ['recipients', METRICS.recipients, 'Count'],
  ['workers', METRICS.workers, 'Count'],
  ['timeToLastPostMs', METRICS.timeToLastPost, 'Milliseconds'],
  ['stored', METRICS.stored, 'Count'],
  ['storeFailed', METRICS.storeFailed, 'Count'],
];

/**
 * CloudWatch embedded metric format (EMF) fields for one invocation: merge them into a JSON log line and
 * CloudWatch extracts the metrics given (`PostsDelivered`, `ConnectionsGone`, `PostsFailed`, `Recipients`,
 * `FanoutWorkers`, `TimeToLastPostMs`, `MessagesStored`, `StoreFailures`) in `namespace`, with the dimension `ApiId`.
 */
export function emfFields(namespace: string, apiId: string, counts: MetricCounts, timestampMs: number): Record<string, unknown> {
  const present = NAMES.filter(([key]) => counts[key] !== undefined);
  const fields: Record<string, unknown> = {
    _aws: {
      Timestamp: timestampMs,
      CloudWatchMetrics: [
        {
          Namespace: namespace,
          Dimensions: [[METRICS.dimension]],
          Metrics: present.map(([, Name, Unit]) => ({ Name, Unit })),
        },
      ],
    },
    [METRICS.dimension]: apiId,
  };
  for (const [key, name] of present) fields[name] = counts[key];
  return fields;
}
