import * as path from 'path';
import { CfnOutput, Duration, SecretValue, Stack, StackProps, TimeZone, Validations } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as scheduler from 'aws-cdk-lib/aws-scheduler';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { Construct } from 'constructs';
import { ArchiveBucket, ArchiveEncryption } from './archive-bucket';
import { ArchiveTable } from './archive-table';
import { ExportOpsConfig, ExportOpsSettings, resolveConfig } from './config';
import { METRICS } from '../lambdas/shared/metric-catalog';
import { Monitoring } from './monitoring';
import { logicalIdOf } from './logical-id';
import { type DrainOptions, pascal, ScheduledJob } from './scheduled-job';

export interface ExportOpsStackProps extends StackProps, ExportOpsSettings {
  /**
   * Folder holding `<job>/handler.ts` for each job.
   * @default - the repository's `lambdas/` folder
   */
  readonly handlersDir?: string;
}

/**
 * The export operations stack: three scheduled jobs against one Supabase project, the log
 * archive, and monitoring. Settings come from props or context (see `ExportOpsSettings`).
 */
export class ExportOpsStack extends Stack {
  public readonly config: ExportOpsConfig;
  public readonly fileCleanup: ScheduledJob;
  public readonly logCleanup: ScheduledJob;
  public readonly metricsAggregate: ScheduledJob;
  public readonly archive: ArchiveBucket;
  public readonly monitoring: Monitoring;
  public readonly scheduleGroup: scheduler.ScheduleGroup;

  constructor(scope: Construct, id: string, props: ExportOpsStackProps = {}) {
    super(scope, id, props);
    const config = (this.config = resolveConfig(this, props));
    const handlersDir = props.handlersDir ?? path.join(__dirname, '..', 'lambdas');
    const timeZone = TimeZone.of(config.scheduleTimeZone);
    const { secret, secretId } = this.serviceRoleKey(config.serviceRoleKeySecret);
    // The jobs' own schedule group: Scheduler's metrics are per group, so the alarms on them
    // see these three schedules only.
    this.scheduleGroup = new scheduler.ScheduleGroup(this, 'ScheduleGroup');

    this.archive = new ArchiveBucket(this, 'Archive', {
      encryption: config.archiveEncryption === 's3' ? ArchiveEncryption.S3_MANAGED : ArchiveEncryption.KMS,
      transitionAfter: Duration.days(config.archiveTransitionDays),
      expireAfter: config.archiveExpirationDays > 0 ? Duration.days(config.archiveExpirationDays) : undefined,
      objectLockRetention: config.archiveObjectLockDays > 0 ? Duration.days(config.archiveObjectLockDays) : undefined,
    });

    // Each function's environment is derived from the settings table: the settings its job uses.
    const settings = { ...config, serviceRoleKeySecretId: secretId, archiveBucket: this.archive.bucket.bucketName };
    const job = (name: string, cron: string, sizing: { memorySize: number; timeout: Duration }, description: string, drain?: DrainOptions) =>
      new ScheduledJob(this, pascal(name), {
        drain,
        jobName: name,
        entry: path.join(handlersDir, name, 'handler.ts'),
        schedule: scheduler.ScheduleExpression.expression(`cron(${cron})`, timeZone),
        scheduleGroup: this.scheduleGroup,
        description,
        ...sizing,
        metricsNamespace: config.metricsNamespace,
        logRetention: config.functionLogRetentionDays as logs.RetentionDays,
        settings,
      });

    // Sizing. Every function needs little memory; memory is bought for CPU where CPU is the limit.
    // file-cleanup: I/O bound (Storage API deletes in 1000-name batches, ~0.3-0.5 s each);
    //   512 MB is ample, 15 min lets a large backlog drain in one run (claims let it resume).
    // The cleanups drain their backlog in one tick (lib/drain.ts): the schedule starts a state
    // machine that invokes the job again while it answers `more: true`, within the caps.
    const caps = { maxIterations: config.drainMaxIterations, maxDuration: Duration.minutes(Math.round(config.drainMaxHours * 60)) };
    this.fileCleanup = job('file-cleanup', config.fileCleanupCron, { memorySize: 512, timeout: Duration.minutes(15) },
      'Deletes expired export files from Supabase Storage',
      // Side by side: the claims (SKIP LOCKED, leased) hand each worker its own rows, and the job
      // is latency bound (a 1000-name remove() takes 1.2-4.5 s).
      { ...caps, workers: config.fileCleanupWorkers });
    // log-cleanup: streams up to ~1M rows through JSON + gzip (single-threaded CPU) into a
    //   multipart upload; 1769 MB is one full vCPU, more would not help. Monthly, so cents.
    this.logCleanup = job('log-cleanup', config.logCleanupCron, { memorySize: 1769, timeout: Duration.minutes(15) },
      'Archives old export_logs rows to S3 and deletes them',
      // One worker: it is CPU bound (gzip), and its parts are taken in key order.
      { ...caps, workers: 1 });
    // metrics-aggregate: one SQL round trip per hourly window; a 14-day backfill is 336 trips,
    //   a few minutes. 10 min stays well inside the hourly interval.
    //   Invoked directly, not drained: its work is bounded (at most 14 days of hourly windows:
    //   CloudWatch drops older EMF), one run does it, and a window a run leaves (`more: true`)
    //   is still pending for the next hourly run; a drain would add a state machine execution
    //   every hour for nothing.
    this.metricsAggregate = job('metrics-aggregate', config.metricsCron, { memorySize: 256, timeout: Duration.minutes(10) },
      'Aggregates export_logs into hourly CloudWatch metrics');

    for (const j of [this.fileCleanup, this.logCleanup, this.metricsAggregate]) {
      // GetSecretValue on this one secret only (no DescribeSecret, no other secrets).
      j.role.addToPrincipalPolicy(new iam.PolicyStatement({
        actions: ['secretsmanager:GetSecretValue'],
        resources: [secret.secretFullArn ?? `${secret.secretArn}-??????`],
      }));
    }
    this.archive.grantReadWritePrefix(this.logCleanup.role, config.archivePrefix);
    Validations.of(this.logCleanup.role).acknowledge({
      id: `AwsSolutions-IAM5[Resource::<${logicalIdOf(this.archive.bucket)}.Arn>/${config.archivePrefix}/*]`,
      reason: 'The log job writes one object per month and partition under its prefix; the wildcard is the prefix scope itself.',
    });

    if (config.archiveTable) {
      new ArchiveTable(this, 'ArchiveTable', {
        bucket: this.archive.bucket,
        prefix: config.archivePrefix,
        databaseName: config.glueDatabaseName,
      });
    }

    this.monitoring = new Monitoring(this, 'Monitoring', {
      exportMetricsJob: this.metricsAggregate,
      cleanupJobs: [
        // CleanupFailures counts the files a run could not delete plus 1 for a run that threw.
        // The file cleanup is daily: it is also alarmed when it has not completed a run.
        { job: this.fileCleanup, failureMetrics: [METRICS.CleanupFailures], runInterval: Duration.days(1) },
        // LogCleanupFailures is 1 per failed run, and the job runs monthly: any failure alarms.
        // Its "did not run" alarm reads the age the hourly metrics job reports (a monthly job
        // cannot be watched by its own metric: see heartbeatSpec in lib/monitoring/alarms.ts).
        { job: this.logCleanup, failureMetrics: [METRICS.LogCleanupFailures], failureThreshold: 0, runInterval: Duration.days(31) },
      ],
      metricsNamespace: config.metricsNamespace,
      alarmEmail: config.alarmEmail,
      scheduleGroup: this.scheduleGroup,
      failureRateThreshold: config.failureRateThreshold,
      failureRateMinExports: config.failureRateMinExports,
      avgDurationThresholdMs: config.avgDurationThresholdMs,
      volumeThreshold: config.volumeThreshold,
      cleanupFailuresThreshold: config.cleanupFailuresThreshold,
    });

    new CfnOutput(this, 'ServiceRoleKeySecretId', { value: secretId, description: 'Put the Supabase service role key here' });
    new CfnOutput(this, 'ArchiveBucketName', { value: this.archive.bucket.bucketName });
    new CfnOutput(this, 'AlarmTopicArn', { value: this.monitoring.topic.topicArn });
    new CfnOutput(this, 'DashboardName', { value: this.monitoring.dashboard.dashboardName });
  }

  /** The existing secret (name or ARN) or a new one with a placeholder the user replaces. */
  private serviceRoleKey(ref: string | undefined): { secret: secretsmanager.ISecret; secretId: string } {
    if (ref === undefined) {
      const secret = new secretsmanager.Secret(this, 'ServiceRoleKey', {
        description: 'Supabase service role key for export-ops: put the key in as plain text',
        // Blank, not a secret: without a value CloudFormation would generate a random string.
        // The jobs treat a blank secret as empty and fail saying to put the key in.
        secretStringValue: SecretValue.unsafePlainText(' '),
      });
      Validations.of(secret).acknowledge({
        id: 'AwsSolutions-SMG4',
        reason: 'The service role key is issued by Supabase; Secrets Manager cannot rotate it. Rotate it in Supabase and update the secret.',
      });
      return { secret, secretId: secret.secretArn };
    }
    if (ref.startsWith('arn:')) {
      // A complete ARN ends in the 6-character suffix Secrets Manager adds to the name.
      const complete = /-[A-Za-z0-9]{6}$/.test(ref);
      const secret = secretsmanager.Secret.fromSecretAttributes(this, 'ServiceRoleKey',
        complete ? { secretCompleteArn: ref } : { secretPartialArn: ref });
      return { secret, secretId: ref };
    }
    // By name, GetSecretValue takes the name itself; a partial ARN would be ambiguous.
    return { secret: secretsmanager.Secret.fromSecretNameV2(this, 'ServiceRoleKey', ref), secretId: ref };
  }
}

