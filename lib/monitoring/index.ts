import { Duration } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import { SnsAction } from 'aws-cdk-lib/aws-cloudwatch-actions';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as scheduler from 'aws-cdk-lib/aws-scheduler';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as subs from 'aws-cdk-lib/aws-sns-subscriptions';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { DIMENSIONS, METRICS } from '../../lambdas/shared/metric-catalog';
import { SETTINGS } from '../../lambdas/shared/settings';
import { sinkQueue } from '../scheduled-job';
import { AlarmTopic } from './alarm-topic';
import { type AlarmSpec, alarmSpecs, type CleanupJob, createAlarms, type MonitoredJob } from './alarms';
import { createDashboard } from './dashboard';

export { AlarmTopic } from './alarm-topic';
export { alarmName, alarmSpecs, heartbeatSpec, runbook, type AlarmSpec, type CleanupJob, type MonitoredJob } from './alarms';
export { catalogMetric, dailySum, exportMetric, failureRate, jobMetric, sumOfVisible, WINDOW_STATISTIC } from './metrics';

/** Defaults of the monitoring settings: the stack settings' (from the settings table), plus two of its own. */
export const MONITORING_DEFAULTS = {
  metricsNamespace: SETTINGS.metricsNamespace.default,
  failureRateThreshold: SETTINGS.failureRateThreshold.default,
  failureRateMinExports: SETTINGS.failureRateMinExports.default,
  avgDurationThresholdMs: SETTINGS.avgDurationThresholdMs.default,
  volumeThreshold: SETTINGS.volumeThreshold.default,
  cleanupFailuresThreshold: SETTINGS.cleanupFailuresThreshold.default,
  heartbeatWindow: Duration.hours(2),
  timeoutAlarmPercent: 80,
} as const;

export interface MonitoringProps {
  /** The job emitting the export metrics (`ExportsTotal`, ...); alarmed when it stops running. */
  readonly exportMetricsJob: MonitoredJob;
  /** Cleanup jobs, alarmed on their failure counts (and, with `runInterval`, when they stop running). */
  readonly cleanupJobs: CleanupJob[];
  /**
   * Namespace of the EMF metrics.
   * @default 'ExportOps'
   */
  readonly metricsNamespace?: string;
  /**
   * Topic alarms notify.
   * @default - a new KMS-encrypted, TLS-only topic CloudWatch alarms of this account may publish to
   */
  readonly topic?: sns.ITopic;
  /**
   * Email subscribed to the topic (confirm the subscription mail after deploy).
   * @default - none
   */
  readonly alarmEmail?: string;
  /**
   * The schedule group holding the jobs' schedules; its Scheduler metrics are alarmed
   * (target errors, dropped invocations).
   * @default - no Scheduler alarms (the default group's metrics would mix in every schedule of the account)
   */
  readonly scheduleGroup?: scheduler.IScheduleGroup;
  /**
   * Hourly export failure rate (percent) above which to alarm.
   * @default 10
   */
  readonly failureRateThreshold?: number;
  /**
   * Exports an hour must have for its failure rate to count; quieter hours count as 0 %.
   * @default 10
   */
  readonly failureRateMinExports?: number;
  /**
   * Hourly average export duration (ms) above which to alarm.
   * @default 5000
   */
  readonly avgDurationThresholdMs?: number;
  /**
   * Exports per hour above which to alarm.
   * @default 1000
   */
  readonly volumeThreshold?: number;
  /**
   * Daily failures of a cleanup job above which to alarm (a `CleanupJob` may set its own).
   * @default 5
   */
  readonly cleanupFailuresThreshold?: number;
  /**
   * How long the metrics job may go without a completed run.
   * @default Duration.hours(2)
   */
  readonly heartbeatWindow?: Duration;
  /**
   * Alarm when an invocation runs longer than this percentage of its function's timeout
   * (jobs that give their `timeout`).
   * @default 80
   */
  readonly timeoutAlarmPercent?: number;
  /**
   * Name of the dashboard.
   * @default - generated
   */
  readonly dashboardName?: string;
}

/**
 * Alarm topic, alarms, dashboard and Logs Insights saved queries of the export jobs. The alarms
 * come from one table (`specs`, see ./alarms.ts), built from the metric catalog.
 */
export class Monitoring extends Construct {
  public readonly topic: sns.ITopic;
  /** The alarm table this construct deployed, in order. */
  public readonly specs: AlarmSpec[];
  /** The alarms by spec id (e.g. `FileCleanupErrors`); each is named `<stack name>-<id>`. */
  public readonly alarmsById: Record<string, cloudwatch.Alarm>;
  public readonly alarms: cloudwatch.Alarm[];
  public readonly dashboard: cloudwatch.Dashboard;

  constructor(scope: Construct, id: string, props: MonitoringProps) {
    super(scope, id);
    const d = MONITORING_DEFAULTS;
    const namespace = props.metricsNamespace ?? d.metricsNamespace;
    this.topic = props.topic ?? new AlarmTopic(this, 'Topic').topic;
    const metricsJob = props.exportMetricsJob;
    const cleanupJobs = props.cleanupJobs;
    const allJobs = [metricsJob, ...cleanupJobs.map((c) => c.job)];

    let subscriptionDlq: sqs.IQueue | undefined;
    if (props.alarmEmail) {
      subscriptionDlq = sinkQueue(this, 'SubscriptionDeadLetterQueue', 'Alarm email subscription DLQ');
      this.topic.addSubscription(new subs.EmailSubscription(props.alarmEmail, { deadLetterQueue: subscriptionDlq }));
    }

    this.specs = alarmSpecs({
      namespace,
      exportMetricsJob: metricsJob,
      cleanupJobs,
      topic: this.topic,
      scheduleGroup: props.scheduleGroup,
      subscriptionDlq,
      failureRateThreshold: props.failureRateThreshold ?? d.failureRateThreshold,
      failureRateMinExports: props.failureRateMinExports ?? d.failureRateMinExports,
      avgDurationThresholdMs: props.avgDurationThresholdMs ?? d.avgDurationThresholdMs,
      volumeThreshold: props.volumeThreshold ?? d.volumeThreshold,
      cleanupFailuresThreshold: props.cleanupFailuresThreshold ?? d.cleanupFailuresThreshold,
      heartbeatWindow: props.heartbeatWindow ?? d.heartbeatWindow,
      timeoutAlarmPercent: props.timeoutAlarmPercent ?? d.timeoutAlarmPercent,
    });
    this.alarmsById = createAlarms(this, this.specs, new SnsAction(this.topic));
    this.alarms = Object.values(this.alarmsById);

    const jobNamed = (name: string) => cleanupJobs.map((c) => c.job).find((j) => j.jobName === name);
    this.dashboard = createDashboard(this, 'Dashboard', {
      namespace,
      dashboardName: props.dashboardName,
      alarms: this.alarms,
      jobs: allJobs,
      fileJob: jobNamed('file-cleanup'),
      logJob: jobNamed('log-cleanup'),
      scheduleGroup: props.scheduleGroup,
    });
    this.createQueries(metricsJob, cleanupJobs.map((c) => c.job), allJobs);
  }

  /** Saved Logs Insights queries for the questions asked most often. */
  private createQueries(metricsJob: MonitoredJob, cleanupJobs: MonitoredJob[], allJobs: MonitoredJob[]) {
    const M = METRICS;
    // EMF lines are JSON, so Logs Insights discovers the metric and dimension fields by name.
    new logs.QueryDefinition(this, 'FailuresByFormatQuery', {
      queryDefinitionName: 'export-ops/failures-by-format',
      logGroups: [metricsJob.logGroup],
      queryString: new logs.QueryString({
        filterStatements: [`ispresent(${M.ExportsFailed.name})`, `ispresent(${DIMENSIONS.format})`],
        statsStatements: [`sum(${M.ExportsFailed.name}) as failed, sum(${M.ExportsTotal.name}) as total, 100 * sum(${M.ExportsFailed.name}) / sum(${M.ExportsTotal.name}) as failurePct by ${DIMENSIONS.format}`],
        sort: 'failed desc',
      }),
    });
    new logs.QueryDefinition(this, 'SlowExportsQuery', {
      queryDefinitionName: 'export-ops/slow-exports',
      logGroups: [metricsJob.logGroup],
      queryString: new logs.QueryString({
        fields: ['@timestamp', DIMENSIONS.format, M.ExportsTotal.name, M.ExportDurationAvg.name, M.ExportDurationP95.name, M.ExportDurationMax.name],
        filterStatements: [`ispresent(${M.ExportDurationMax.name})`],
        sort: `${M.ExportDurationMax.name} desc`,
        limit: 50,
      }),
    });
    new logs.QueryDefinition(this, 'CleanupResultsQuery', {
      queryDefinitionName: 'export-ops/cleanup-results',
      logGroups: cleanupJobs.map((j) => j.logGroup),
      queryString: new logs.QueryString({
        fields: ['@timestamp', DIMENSIONS.job, M.FilesDeleted.name, M.FilesFailed.name, M.FilesSkipped.name, M.BytesReclaimed.name, M.LogsArchived.name, M.LogsDeleted.name, M.ArchiveBytes.name, M.JobDurationMs.name],
        filterStatements: [`ispresent(${M.JobDurationMs.name})`],
        sort: '@timestamp desc',
        limit: 100,
      }),
    });
    new logs.QueryDefinition(this, 'JobErrorsQuery', {
      queryDefinitionName: 'export-ops/job-errors',
      logGroups: allJobs.map((j) => j.logGroup),
      queryString: new logs.QueryString({
        fields: ['@timestamp', 'job', 'run_id', 'level', 'message', 'error'],
        filterStatements: ["level = 'ERROR' or @message like /Task timed out/"],
        sort: '@timestamp desc',
        limit: 100,
      }),
    });
  }
}

