import { Duration } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { type CatalogMetric, DIMENSIONS, METRICS } from '../../lambdas/shared/metric-catalog';


/**
 * CloudWatch metrics built from the metric catalog (lambdas/shared/metric-catalog.ts): the
 * name comes from the catalog entry, and the dimensions asked for must be one of the entry's
 * dimension sets, so a metric the jobs do not emit cannot be built (synth fails instead).
 */
export function catalogMetric(namespace: string, metric: CatalogMetric, dimensions: Record<string, string>,
  options: cloudwatch.MetricOptions = {}): cloudwatch.Metric {
  const keys = Object.keys(dimensions).sort().join(',');
  if (!metric.dimensionSets.some((set) => [...set].sort().join(',') === keys)) {
    throw new Error(`${metric.name} is not emitted with dimensions [${keys}] (catalog: ${JSON.stringify(metric.dimensionSets)})`);
  }
  return new cloudwatch.Metric({
    namespace,
    metricName: metric.name,
    dimensionsMap: keys ? dimensions : undefined,
    ...options,
  });
}

/** A job metric (`Job=<jobName>`); the job must be one the catalog gives it (its emitters, or its subjects). */
export function jobMetric(namespace: string, jobName: string, metric: CatalogMetric, options: cloudwatch.MetricOptions = {}): cloudwatch.Metric {
  if (!((metric.subjects ?? metric.emittedBy) as readonly string[]).includes(jobName)) throw new Error(`${metric.name} is not emitted by ${jobName}`);
  return catalogMetric(namespace, metric, { [DIMENSIONS.job]: jobName }, options);
}

/**
 * The statistic every reader of the per-window export metrics uses (ExportsTotal, ExportsFailed,
 * ...: one datapoint per metric, window and dimension set, stamped at the window start; see
 * lambdas/metrics-aggregate/emf.ts). A crashed metrics run can write a window twice and
 * CloudWatch keeps both copies: a Sum over the hour would double, the Maximum of two equal
 * values does not move. At-least-once emission + this idempotent read = effectively once.
 * The period must stay the window's (one hour), so each period holds one window.
 */
export const WINDOW_STATISTIC = 'Maximum';

/** An export metric, hourly; without `format` the all-formats series. */
export function exportMetric(namespace: string, metric: CatalogMetric, options: cloudwatch.MetricOptions & { format?: string } = {}): cloudwatch.Metric {
  const { format, ...rest } = options;
  return catalogMetric(namespace, metric, format ? { [DIMENSIONS.format]: format } : {}, { period: Duration.hours(1), ...rest });
}

/**
 * Export failure rate in percent per hour, 0 for an hour with fewer than `minExports` finished
 * exports (1 failure out of 1 in a quiet hour is not an incident). Only IF and arithmetic, so
 * an alarm evaluator can compute it. The period must be explicit: MathExpression defaults to 5 minutes.
 */
export function failureRate(namespace: string, options: { minExports?: number; format?: string } = {}): cloudwatch.MathExpression {
  const { format, minExports = 1 } = options;
  // Ids must be unique within one graph, which shows several formats.
  const [failed, total] = format ? [`failed_${format}`, `total_${format}`] : ['failed', 'total'];
  return new cloudwatch.MathExpression({
    expression: `IF(${total} >= ${minExports}, 100 * ${failed} / ${total}, 0)`,
    usingMetrics: {
      [failed]: exportMetric(namespace, METRICS.ExportsFailed, { statistic: WINDOW_STATISTIC, format }),
      [total]: exportMetric(namespace, METRICS.ExportsTotal, { statistic: WINDOW_STATISTIC, format }),
    },
    period: Duration.hours(1),
    label: format ? `Failure rate ${format} (%)` : 'Failure rate (%)',
  });
}

/** Sum over a day of several job metrics, missing points as 0 (`FILL(f0, 0) + ...`). */
export function dailySum(namespace: string, jobName: string, metrics: CatalogMetric[]): cloudwatch.IMetric {
  const day = { statistic: 'Sum', period: Duration.days(1) };
  if (metrics.length === 1) return jobMetric(namespace, jobName, metrics[0], day);
  const usingMetrics = Object.fromEntries(metrics.map((m, i) => [`f${i}`, jobMetric(namespace, jobName, m, day)]));
  return new cloudwatch.MathExpression({
    expression: Object.keys(usingMetrics).map((id) => `FILL(${id}, 0)`).join(' + '),
    usingMetrics,
    period: Duration.days(1),
    label: metrics.map((m) => m.name).join(' + '),
  });
}

/** Sum of the visible messages of several queues, as one metric (ids `<idPrefix><n>` must be unique per graph). */
export function sumOfVisible(queues: sqs.IQueue[], props?: cloudwatch.MetricOptions, idPrefix = 'q'): cloudwatch.IMetric {
  const usingMetrics: Record<string, cloudwatch.IMetric> = {};
  queues.forEach((q, i) => {
    usingMetrics[`${idPrefix}${i}`] = q.metricApproximateNumberOfMessagesVisible({ statistic: 'Maximum', ...props });
  });
  return new cloudwatch.MathExpression({
    expression: Object.keys(usingMetrics).map((k) => `FILL(${k}, 0)`).join(' + '),
    usingMetrics,
    period: props?.period ?? Duration.minutes(5),
    label: props?.label ?? 'Messages waiting',
  });
}
