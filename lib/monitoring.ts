import { Duration } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import { SnsAction } from 'aws-cdk-lib/aws-cloudwatch-actions';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as subs from 'aws-cdk-lib/aws-sns-subscriptions';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { pascal, sinkQueue, sumOfVisible } from './scheduled-job';

/** What monitoring needs to know about a job; `ScheduledJob` satisfies it. */
export interface MonitoredJob {
  /** Value of the `Job` metric dimension. */
  readonly jobName: string;
  readonly function: lambda.IFunction;
  readonly logGroup: logs.ILogGroupRef;
  /** Queues that hold invocations which did not complete (delivery DLQ, failure destination). */
  readonly deadLetterQueues: sqs.IQueue[];
}

/** A cleanup job and the EMF metrics that count its failures (summed per day). */
export interface CleanupJob {
  readonly job: MonitoredJob;
  /** e.g. `['CleanupFailures']` (files not deleted plus failed runs). */
  readonly failureMetrics: string[];
}

export const EXPORT_FORMATS = ['json', 'jsonl', 'csv', 'markdown'] as const;

export interface MonitoringProps {
  /** The job emitting the export metrics (`ExportsTotal`, ...); alarmed when it stops running. */
  readonly exportMetricsJob: MonitoredJob;
  /** Cleanup jobs, alarmed on their failure counts. */
  readonly cleanupJobs: CleanupJob[];
  /**
   * Namespace of the EMF metrics.
   * @default 'ExportOps'
   */
  readonly metricsNamespace?: string;
  /**
   * Topic alarms notify.
   * @default - a new KMS-encrypted, TLS-only topic
   */
  readonly topic?: sns.ITopic;
  /**
   * Email subscribed to the topic (confirm the subscription mail after deploy).
   * @default - none
   */
  readonly alarmEmail?: string;
  /**
   * Hourly export failure rate (percent) above which to alarm.
   * @default 10
   */
  readonly failureRateThreshold?: number;
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
   * Failures of one cleanup run above which to alarm.
   * @default 5
   */
  readonly cleanupFailuresThreshold?: number;
  /**
   * How long the metrics job may go without a completed run.
   * @default Duration.hours(2)
   */
  readonly heartbeatWindow?: Duration;
  /**
   * Name of the dashboard.
   * @default - generated
   */
  readonly dashboardName?: string;
}

/** Alarm topic, alarms, dashboard and Logs Insights saved queries of the export jobs. */
export class Monitoring extends Construct {
  public readonly topic: sns.ITopic;
  public readonly alarms: cloudwatch.Alarm[] = [];
  public readonly dashboard: cloudwatch.Dashboard;
  private readonly namespace: string;
  private readonly action: SnsAction;

  constructor(scope: Construct, id: string, props: MonitoringProps) {
    super(scope, id);
    this.namespace = props.metricsNamespace ?? 'ExportOps';
    this.topic = props.topic ?? this.createTopic();
    this.action = new SnsAction(this.topic);
    const metricsJob = props.exportMetricsJob;
    const allJobs = [metricsJob, ...props.cleanupJobs.map((c) => c.job)];
    const hour = Duration.hours(1);

    let subscriptionDlq: sqs.IQueue | undefined;
    if (props.alarmEmail) {
      subscriptionDlq = sinkQueue(this, 'SubscriptionDeadLetterQueue', 'Alarm email subscription DLQ');
      this.topic.addSubscription(new subs.EmailSubscription(props.alarmEmail, { deadLetterQueue: subscriptionDlq }));
    }

    // Export alarms. The metrics job writes one datapoint per hour, so a missing point means
    // "no exports" (or a job problem, which the heartbeat alarm reports), never a breach.
    // It aggregates an hour only after that hour closed (plus a lag), so its datapoints arrive
    // late: looking at the last 3 hours, 1 breaching, still catches them.
    const late = { evaluationPeriods: 3, datapointsToAlarm: 1 };
    const failureRate = this.failureRate();
    this.alarm('FailureRate', failureRate, props.failureRateThreshold ?? 10, 'Export failure rate (%) in an hour', late);
    this.alarm('AverageDuration', this.metricExport('ExportDurationAvg', { statistic: 'Average', period: hour }),
      props.avgDurationThresholdMs ?? 5000, 'Average export duration (ms) in an hour', late);
    this.alarm('Volume', this.metricExport('ExportsTotal', { statistic: 'Sum', period: hour }),
      props.volumeThreshold ?? 1000, 'Exports in an hour', late);

    for (const { job, failureMetrics } of props.cleanupJobs) {
      this.alarm(`${pascal(job.jobName)}Failures`, this.dailyFailures(job.jobName, failureMetrics),
        props.cleanupFailuresThreshold ?? 5, `${failureMetrics.join(' + ')} of ${job.jobName} in a day`);
    }

    for (const job of allJobs) {
      this.alarm(`${pascal(job.jobName)}Errors`, job.function.metricErrors({ statistic: 'Sum', period: Duration.minutes(5) }),
        0, `${job.jobName} function errors`);
      this.alarm(`${pascal(job.jobName)}Undelivered`, sumOfVisible(job.deadLetterQueues),
        0, `${job.jobName} invocations in the DLQ or failure destination`);
    }
    if (subscriptionDlq) {
      this.alarm('SubscriptionUndelivered', sumOfVisible([subscriptionDlq]), 0, 'Alarm notifications SNS could not deliver');
    }

    // Heartbeat: JobDurationMs is written once per completed run; no datapoint means no run.
    const window = props.heartbeatWindow ?? Duration.hours(2);
    const periods = Math.max(1, Math.round(window.toHours()));
    this.alarm('MetricsJobNotRunning', this.metricJob(metricsJob.jobName, 'JobDurationMs', { statistic: 'SampleCount', period: hour }), 1,
      `${metricsJob.jobName} has not completed a run in ${periods} h`, {
        comparisonOperator: cloudwatch.ComparisonOperator.LESS_THAN_THRESHOLD,
        treatMissingData: cloudwatch.TreatMissingData.BREACHING,
        evaluationPeriods: periods,
      });

    this.dashboard = this.createDashboard(props, failureRate, allJobs);
    this.createQueries(metricsJob, props.cleanupJobs.map((c) => c.job), allJobs);
  }

  /** An export metric of the metrics job; without `format` the all-formats series. */
  public metricExport(metricName: string, options: cloudwatch.MetricOptions & { format?: string } = {}): cloudwatch.Metric {
    const { format, ...rest } = options;
    return new cloudwatch.Metric({
      namespace: this.namespace,
      metricName,
      dimensionsMap: format ? { Format: format } : undefined,
      period: Duration.hours(1),
      ...rest,
    });
  }

  /** A job metric (`Job` dimension). */
  public metricJob(jobName: string, metricName: string, options: cloudwatch.MetricOptions = {}): cloudwatch.Metric {
    return new cloudwatch.Metric({ namespace: this.namespace, metricName, dimensionsMap: { Job: jobName }, ...options });
  }

  /** Failure rate in percent per hour. The period must be explicit: MathExpression defaults to 5 minutes. */
  public failureRate(format?: string): cloudwatch.MathExpression {
    // Ids must be unique within one graph, which shows several formats.
    const [failed, total] = format ? [`failed_${format}`, `total_${format}`] : ['failed', 'total'];
    return new cloudwatch.MathExpression({
      expression: `IF(${total} > 0, 100 * ${failed} / ${total}, 0)`,
      usingMetrics: {
        [failed]: this.metricExport('ExportsFailed', { statistic: 'Sum', format }),
        [total]: this.metricExport('ExportsTotal', { statistic: 'Sum', format }),
      },
      period: Duration.hours(1),
      label: format ? `Failure rate ${format} (%)` : 'Failure rate (%)',
    });
  }

  private dailyFailures(jobName: string, metricNames: string[]): cloudwatch.IMetric {
    const day = { statistic: 'Sum', period: Duration.days(1) };
    if (metricNames.length === 1) return this.metricJob(jobName, metricNames[0], day);
    const usingMetrics = Object.fromEntries(metricNames.map((n, i) => [`f${i}`, this.metricJob(jobName, n, day)]));
    return new cloudwatch.MathExpression({
      expression: Object.keys(usingMetrics).map((id) => `FILL(${id}, 0)`).join(' + '),
      usingMetrics,
      period: Duration.days(1),
      label: metricNames.join(' + '),
    });
  }

  private alarm(id: string, metric: cloudwatch.IMetric, threshold: number, description: string,
    extra: Partial<cloudwatch.CreateAlarmOptions> = {}): cloudwatch.Alarm {
    const alarm = new cloudwatch.Alarm(this, `${id}Alarm`, {
      metric,
      threshold,
      evaluationPeriods: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      alarmDescription: `export-ops: ${description}`,
      ...extra,
    });
    alarm.addAlarmAction(this.action);
    alarm.addOkAction(this.action);
    this.alarms.push(alarm);
    return alarm;
  }

  private createTopic(): sns.Topic {
    // CloudWatch can only publish to an encrypted topic whose key lets it use the key;
    // the AWS managed alias/aws/sns key cannot be shared that way.
    const key = new kms.Key(this, 'TopicKey', { description: 'export-ops alarm topic', enableKeyRotation: true });
    key.addToResourcePolicy(new iam.PolicyStatement({
      principals: [new iam.ServicePrincipal('cloudwatch.amazonaws.com')],
      actions: ['kms:Decrypt', 'kms:GenerateDataKey*'],
      resources: ['*'],
    }));
    return new sns.Topic(this, 'Topic', { displayName: 'export-ops alarms', masterKey: key, enforceSSL: true });
  }

  private createDashboard(props: MonitoringProps, failureRate: cloudwatch.IMetric, jobs: MonitoredJob[]): cloudwatch.Dashboard {
    const sum = { statistic: 'Sum' };
    const byFormat = (name: string, statistic: string) =>
      EXPORT_FORMATS.map((format) => this.metricExport(name, { statistic, format, label: format }));
    const day = { statistic: 'Sum', period: Duration.days(1) };
    const job = (j: MonitoredJob, names: string[], opts = day) => names.map((n) => this.metricJob(j.jobName, n, { ...opts, label: n }));
    const [fileJob, logJob] = props.cleanupJobs.map((c) => c.job);
    const w = (title: string, left: cloudwatch.IMetric[], right?: cloudwatch.IMetric[]) =>
      new cloudwatch.GraphWidget({ title, left, right, width: 8, height: 6 });

    const dashboard = new cloudwatch.Dashboard(this, 'Dashboard', { dashboardName: props.dashboardName, defaultInterval: Duration.days(7) });
    dashboard.addWidgets(new cloudwatch.AlarmStatusWidget({ title: 'Alarms', alarms: this.alarms, width: 24, height: 4 }));
    dashboard.addWidgets(
      w('Exports per hour', ['ExportsTotal', 'ExportsSucceeded', 'ExportsFailed'].map((n) => this.metricExport(n, { ...sum, label: n }))),
      w('Failure rate (%)', [failureRate, ...EXPORT_FORMATS.map((f) => this.failureRate(f))]),
      w('Exports by format', byFormat('ExportsTotal', 'Sum')),
    );
    dashboard.addWidgets(
      w('Export duration (ms)', ['ExportDurationAvg', 'ExportDurationP95', 'ExportDurationMax'].map((n) =>
        this.metricExport(n, { statistic: 'Maximum', label: n }))),
      w('P95 duration by format (ms)', byFormat('ExportDurationP95', 'Maximum')),
      w('Export file size (bytes)', ['ExportFileSizeAvg', 'ExportFileSizeMax'].map((n) =>
        this.metricExport(n, { statistic: 'Maximum', label: n }))),
    );
    dashboard.addWidgets(
      ...(fileJob ? [w('File cleanup (per day)', job(fileJob, ['FilesDeleted', 'FilesFailed', 'FilesSkipped', 'CleanupFailures']), job(fileJob, ['BytesReclaimed']))] : []),
      ...(logJob ? [w('Log cleanup (per day)', job(logJob, ['LogsArchived', 'LogsDeleted', 'LogCleanupFailures']), job(logJob, ['ArchiveBytes']))] : []),
      w('Job duration (ms)', jobs.map((j) => this.metricJob(j.jobName, 'JobDurationMs', { statistic: 'Maximum', period: Duration.hours(1), label: j.jobName }))),
    );
    dashboard.addWidgets(
      w('Function errors', jobs.map((j) => j.function.metricErrors({ statistic: 'Sum', period: Duration.hours(1), label: j.jobName }))),
      w('Function duration (ms)', jobs.map((j) => j.function.metricDuration({ statistic: 'Maximum', period: Duration.hours(1), label: j.jobName }))),
      w('Undelivered invocations', jobs.map((j, i) => sumOfVisible(j.deadLetterQueues, { label: j.jobName }, `j${i}q`))),
    );
    return dashboard;
  }

  /** Saved Logs Insights queries for the questions asked most often. */
  private createQueries(metricsJob: MonitoredJob, cleanupJobs: MonitoredJob[], allJobs: MonitoredJob[]) {
    // EMF lines are JSON, so Logs Insights discovers the metric and dimension fields by name.
    new logs.QueryDefinition(this, 'FailuresByFormatQuery', {
      queryDefinitionName: 'export-ops/failures-by-format',
      logGroups: [metricsJob.logGroup],
      queryString: new logs.QueryString({
        filterStatements: ['ispresent(ExportsFailed)', 'ispresent(Format)'],
        statsStatements: ['sum(ExportsFailed) as failed, sum(ExportsTotal) as total, 100 * sum(ExportsFailed) / sum(ExportsTotal) as failurePct by Format'],
        sort: 'failed desc',
      }),
    });
    new logs.QueryDefinition(this, 'SlowExportsQuery', {
      queryDefinitionName: 'export-ops/slow-exports',
      logGroups: [metricsJob.logGroup],
      queryString: new logs.QueryString({
        fields: ['@timestamp', 'Format', 'ExportsTotal', 'ExportDurationAvg', 'ExportDurationP95', 'ExportDurationMax'],
        filterStatements: ['ispresent(ExportDurationMax)'],
        sort: 'ExportDurationMax desc',
        limit: 50,
      }),
    });
    new logs.QueryDefinition(this, 'CleanupResultsQuery', {
      queryDefinitionName: 'export-ops/cleanup-results',
      logGroups: cleanupJobs.map((j) => j.logGroup),
      queryString: new logs.QueryString({
        fields: ['@timestamp', 'Job', 'FilesDeleted', 'FilesFailed', 'FilesSkipped', 'BytesReclaimed', 'LogsArchived', 'LogsDeleted', 'ArchiveBytes', 'JobDurationMs'],
        filterStatements: ['ispresent(JobDurationMs)'],
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

