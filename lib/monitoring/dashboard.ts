import { Duration } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as scheduler from 'aws-cdk-lib/aws-scheduler';
import { Construct } from 'constructs';
import { type CatalogMetric, METRICS } from '../../lambdas/shared/metric-catalog';
import type { MonitoredJob } from './alarms';
import { EXPORT_FORMATS } from '../../lambdas/shared/export-logs';
import { exportMetric, failureRate, jobMetric, sumOfVisible, WINDOW_STATISTIC } from './metrics';

export interface DashboardInputs {
  readonly namespace: string;
  readonly dashboardName?: string;
  readonly alarms: cloudwatch.IAlarm[];
  readonly jobs: MonitoredJob[];
  readonly fileJob?: MonitoredJob;
  readonly logJob?: MonitoredJob;
  readonly scheduleGroup?: scheduler.IScheduleGroup;
}

/** The dashboard: alarm states, export metrics, job metrics and the functions' own metrics. Every EMF series comes from the catalog. */
export function createDashboard(scope: Construct, id: string, i: DashboardInputs): cloudwatch.Dashboard {
  const ns = i.namespace;
  const hour = Duration.hours(1);
  const day = { statistic: 'Sum', period: Duration.days(1) };
  // Per-window export metrics: WINDOW_STATISTIC over the hour, so a duplicated window does not move a line.
  const exports = (metrics: CatalogMetric[], statistic: string) => metrics.map((m) => exportMetric(ns, m, { statistic, label: m.name }));
  const byFormat = (m: CatalogMetric, statistic: string) => EXPORT_FORMATS.map((format) => exportMetric(ns, m, { statistic, format, label: format }));
  const perDay = (j: MonitoredJob, metrics: CatalogMetric[]) => metrics.map((m) => jobMetric(ns, j.jobName, m, { ...day, label: m.name }));
  const w = (title: string, left: cloudwatch.IMetric[], right?: cloudwatch.IMetric[]) =>
    new cloudwatch.GraphWidget({ title, left, right, width: 8, height: 6 });

  const dashboard = new cloudwatch.Dashboard(scope, id, { dashboardName: i.dashboardName, defaultInterval: Duration.days(7) });
  dashboard.addWidgets(new cloudwatch.AlarmStatusWidget({ title: 'Alarms', alarms: i.alarms, width: 24, height: 6 }));
  dashboard.addWidgets(
    w('Exports per hour', exports([METRICS.ExportsTotal, METRICS.ExportsSucceeded, METRICS.ExportsFailed], WINDOW_STATISTIC)),
    w('Failure rate (%)', [failureRate(ns), ...EXPORT_FORMATS.map((format) => failureRate(ns, { format }))]),
    w('Exports by format', byFormat(METRICS.ExportsTotal, WINDOW_STATISTIC)),
  );
  dashboard.addWidgets(
    w('Export duration (ms)', exports([METRICS.ExportDurationAvg, METRICS.ExportDurationP95, METRICS.ExportDurationMax], WINDOW_STATISTIC)),
    w('P95 duration by format (ms)', byFormat(METRICS.ExportDurationP95, WINDOW_STATISTIC)),
    w('Export file size (bytes)', exports([METRICS.ExportFileSizeAvg, METRICS.ExportFileSizeMax], WINDOW_STATISTIC)),
  );
  dashboard.addWidgets(
    ...(i.fileJob ? [w('File cleanup (per day)',
      perDay(i.fileJob, [METRICS.FilesDeleted, METRICS.FilesFailed, METRICS.FilesSkipped, METRICS.CleanupFailures]),
      perDay(i.fileJob, [METRICS.BytesReclaimed]))] : []),
    ...(i.logJob ? [w('Log cleanup (per day)',
      perDay(i.logJob, [METRICS.LogsArchived, METRICS.LogsDeleted, METRICS.LogCleanupFailures]),
      perDay(i.logJob, [METRICS.ArchiveBytes]))] : []),
    w('Days since the last completed run', (METRICS.SecondsSinceLastSuccess.subjects).map((job) => new cloudwatch.MathExpression({
      expression: `s_${job.replace('-', '_')} / 86400`,
      usingMetrics: { [`s_${job.replace('-', '_')}`]: jobMetric(ns, job, METRICS.SecondsSinceLastSuccess, { statistic: 'Maximum', period: hour }) },
      period: hour,
      label: job,
    }))),
  );
  dashboard.addWidgets(
    w('Job duration (ms)', i.jobs.map((j) => jobMetric(ns, j.jobName, METRICS.JobDurationMs, { statistic: 'Maximum', period: hour, label: j.jobName }))),
  );
  dashboard.addWidgets(
    w('Function errors and throttles', i.jobs.flatMap((j) => [
      j.function.metricErrors({ statistic: 'Sum', period: hour, label: `${j.jobName} errors` }),
      j.function.metricThrottles({ statistic: 'Sum', period: hour, label: `${j.jobName} throttles` }),
    ])),
    w('Function duration (ms)', i.jobs.map((j) => j.function.metricDuration({ statistic: 'Maximum', period: hour, label: j.jobName }))),
    w('Undelivered invocations', i.jobs.map((j, n) => sumOfVisible(j.deadLetterQueues, { label: j.jobName }, `j${n}q`))),
  );
  if (i.scheduleGroup) {
    const g = i.scheduleGroup;
    dashboard.addWidgets(w('Scheduler (jobs\' schedule group)', [
      g.metricAttempts({ statistic: 'Sum', period: hour, label: 'InvocationAttemptCount' }),
      g.metricTargetErrors({ statistic: 'Sum', period: hour, label: 'TargetErrorCount' }),
      g.metricDropped({ statistic: 'Sum', period: hour, label: 'InvocationDroppedCount' }),
    ]));
  }
  return dashboard;
}
