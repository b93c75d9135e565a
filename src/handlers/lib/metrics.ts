import { METRICS } from '../../shared/contract';

/** Counts published per invocation. */
export interface MetricCounts {
  readonly delivered: number;
  readonly gone: number;
  readonly failed: number;
  readonly recipients: number;
}

/**
 * CloudWatch embedded metric format (EMF) fields for one invocation: merge them into a JSON log line and
 * CloudWatch extracts `PostsDelivered`, `ConnectionsGone`, `PostsFailed` and `Recipients` (Unit Count) in
 * `namespace`, with the dimension `ApiId`.
 */
export function emfFields(namespace: string, apiId: string, counts: MetricCounts, timestampMs: number): Record<string, unknown> {
  return {
    _aws: {
      Timestamp: timestampMs,
      CloudWatchMetrics: [
        {
          Namespace: namespace,
          Dimensions: [[METRICS.dimension]],
          Metrics: [METRICS.delivered, METRICS.gone, METRICS.failed, METRICS.recipients].map((Name) => ({ Name, Unit: 'Count' })),
        },
      ],
    },
    [METRICS.dimension]: apiId,
    [METRICS.delivered]: counts.delivered,
    [METRICS.gone]: counts.gone,
    [METRICS.failed]: counts.failed,
    [METRICS.recipients]: counts.recipients,
  };
}
