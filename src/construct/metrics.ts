import { Duration } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import { DEFAULTS, METRICS } from '../shared/contract';

/** The period of every metric unless the caller says otherwise. */
const PERIOD = Duration.minutes(5);

/**
 * An API Gateway metric of one stage (`AWS/ApiGateway`, dimensions `ApiId` and `Stage`), summed over 5 minutes
 * unless `props` says otherwise.
 *
 * @internal
 */
export function apiGatewayMetric(apiId: string, stageName: string, metricName: string, props?: cloudwatch.MetricOptions): cloudwatch.Metric {
  return new cloudwatch.Metric({
    namespace: 'AWS/ApiGateway',
    metricName,
    dimensionsMap: { ApiId: apiId, Stage: stageName },
    statistic: cloudwatch.Stats.SUM,
    period: PERIOD,
    ...props,
  });
}

/**
 * A metric the handlers emit in CloudWatch embedded metric format (namespace `METRICS_NAMESPACE`, dimension
 * `ApiId`), summed over 5 minutes unless `statistic` or `props` say otherwise.
 *
 * @internal
 */
export function handlerMetric(
  apiId: string,
  metricName: string,
  statistic: string = cloudwatch.Stats.SUM,
  props?: cloudwatch.MetricOptions,
): cloudwatch.Metric {
  return new cloudwatch.Metric({
    namespace: DEFAULTS.metricsNamespace,
    metricName,
    dimensionsMap: { [METRICS.dimension]: apiId },
    statistic,
    period: PERIOD,
    ...props,
  });
}
