import { Duration, RemovalPolicy, Stack, Validations } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { SqsDestination } from 'aws-cdk-lib/aws-lambda-destinations';
import { NodejsFunction } from 'aws-cdk-lib/aws-lambda-nodejs';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as scheduler from 'aws-cdk-lib/aws-scheduler';
import { LambdaInvoke, StepFunctionsStartExecution } from 'aws-cdk-lib/aws-scheduler-targets';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import type { CatalogMetric } from '../lambdas/shared/metric-catalog';
import type { SettingsTable } from '../lambdas/shared/setting-kinds';
import { SETTINGS } from '../lambdas/shared/settings';
import { DrainStateMachine, type DrainStateMachineProps } from './drain';
import { jobEnvironment } from './job-environment';
import { logicalIdOf } from './logical-id';
import { jobMetric } from './monitoring/metrics';

/**
 * Context key: when `true`, each function's asset also holds esbuild's metafile (`index.meta.json`).
 * Set by test/lib/bundles.ts; never set for a deployment.
 */
export const BUNDLE_METAFILE_CONTEXT = 'export-ops:bundleMetafile';

/**
 * How a job's Node process runs: set in each function's environment, and used by the benches
 * that run the bundles, so they measure the process Lambda starts.
 * - `--enable-source-maps`: the bundle's source map alone does not make Node use it for stack traces.
 * - `--max-semi-space-size=2` (MB) and `MALLOC_ARENA_MAX=2`: a job's live memory is small (the
 *   log cleanup's V8 heap holds ~20 MB and its buffers 5-40 MB), but without them its resident
 *   memory grew with the run's length, to 200 MB over 1M rows: V8's young generation grew to
 *   ~150 MB committed, and glibc gave each thread that compresses (zlib runs on libuv's pool) a
 *   malloc arena of its own. With both, one 1M-row run of the bundle peaked at 159 MB instead of
 *   198 MB, no slower. In `npm run bench -- log-cleanup` (which also loads the source map, +12 MB)
 *   the peak is 176-186 MB at 1M rows: it still varies with the GC's timing.
 */
export const JOB_PROCESS_ENV = {
  NODE_OPTIONS: '--enable-source-maps --max-semi-space-size=2',
  MALLOC_ARENA_MAX: '2',
} as const;

export interface ScheduledJobProps {
  /** Job name: the `Job` metric dimension and the Powertools service name, e.g. `file-cleanup`. */
  readonly jobName: string;
  /** Path of the TypeScript handler file (it exports `handler`). */
  readonly entry: string;
  /** When the job runs. */
  readonly schedule: scheduler.ScheduleExpression;
  /**
   * Description of the function and the schedule.
   * @default - the job name
   */
  readonly description?: string;
  /**
   * Function memory in MB; CPU grows with it (one full vCPU at 1769 MB).
   * @default 256
   */
  readonly memorySize?: number;
  /**
   * Function timeout.
   * @default Duration.minutes(5)
   */
  readonly timeout?: Duration;
  /**
   * Setting values by setting name (e.g. the stack's resolved config). Each setting of the
   * settings table that this job uses and that has a value becomes an environment variable.
   * The service name (the job name) and the metrics namespace are filled in here.
   * @default - none
   */
  readonly settings?: Readonly<Record<string, unknown>>;
  /**
   * The settings table the environment is derived from; tests add a setting to it.
   * @default SETTINGS (lambdas/shared/settings.ts)
   */
  readonly settingsTable?: SettingsTable;
  /**
   * Environment variables besides the settings' and the source map one this construct sets.
   * @default - none
   */
  readonly environment?: Record<string, string>;
  /**
   * CloudWatch namespace of the job's EMF metrics.
   * @default 'ExportOps'
   */
  readonly metricsNamespace?: string;
  /**
   * Retention of the function's log group.
   * @default logs.RetentionDays.ONE_MONTH
   */
  readonly logRetention?: logs.RetentionDays;
  /**
   * How often Scheduler retries delivering an invocation Lambda refused (throttling, service errors).
   * @default 3
   */
  readonly scheduleRetryAttempts?: number;
  /**
   * How long Scheduler keeps trying to deliver one invocation.
   * @default Duration.hours(1)
   */
  readonly scheduleMaxEventAge?: Duration;
  /**
   * How often Lambda retries an invocation whose handler threw (0-2).
   * Safe because every job claims its work in the database and is idempotent.
   * @default 2
   */
  readonly asyncRetryAttempts?: number;
  /**
   * How long Lambda keeps an accepted invocation queued before dropping it to the failure destination.
   * @default Duration.hours(1)
   */
  readonly asyncMaxEventAge?: Duration;
  /**
   * Reserved concurrency. Only a cost cap: new accounts cannot reserve any, and the
   * handlers' database claims are what prevents two runs from doing the same work.
   * @default - unreserved
   */
  readonly reservedConcurrentExecutions?: number;
  /**
   * Schedule group of the schedule (its Scheduler metrics are per group).
   * @default - the account's default group
   */
  readonly scheduleGroup?: scheduler.IScheduleGroup;
  /**
   * Whether the schedule is enabled.
   * @default true
   */
  readonly enabled?: boolean;
  /**
   * Drain each tick's backlog: the schedule starts a tick state machine that starts one drain
   * execution per scheduled time, which invokes the function until it answers `more: false`
   * (see `DrainStateMachine`). Without it the schedule invokes the function once, asynchronously.
   * @default - no drain: one direct invocation per tick
   */
  readonly drain?: DrainOptions;
}

/** How a `ScheduledJob` drains (the rest of `DrainStateMachineProps` comes from the job). */
export type DrainOptions = Pick<DrainStateMachineProps, 'workers' | 'maxIterations' | 'maxDuration'>;

/**
 * One scheduled job: a Node.js 24 ARM64 function with its own log group, an EventBridge
 * Scheduler schedule passing `{"scheduledTime": ...}`, a DLQ for undeliverable invocations
 * and a failure destination for invocations whose handler failed.
 */
export class ScheduledJob extends Construct {
  public readonly jobName: string;
  public readonly function: lambda.IFunction;
  public readonly role: iam.IRole;
  public readonly logGroup: logs.ILogGroup;
  public readonly schedule: scheduler.ISchedule;
  /** The function's timeout. */
  public readonly timeout: Duration;
  /** Invocations Scheduler could not deliver. */
  public readonly deadLetterQueue: sqs.IQueue;
  /** Invocations the function failed after Lambda's own retries (with the error). */
  public readonly failureQueue: sqs.IQueue;
  /** The drain and tick state machines, when the job drains (`drain` prop). */
  public readonly drain?: DrainStateMachine;
  private readonly metricsNamespace: string;

  constructor(scope: Construct, id: string, props: ScheduledJobProps) {
    super(scope, id);
    this.jobName = props.jobName;
    this.metricsNamespace = props.metricsNamespace ?? SETTINGS.metricsNamespace.default;

    // Standard class: EMF metrics are not extracted from Infrequent Access log groups.
    this.logGroup = new logs.LogGroup(this, 'LogGroup', {
      retention: props.logRetention ?? logs.RetentionDays.ONE_MONTH,
      logGroupClass: logs.LogGroupClass.STANDARD,
      removalPolicy: RemovalPolicy.DESTROY,
    });

    this.deadLetterQueue = sinkQueue(this, 'DeadLetterQueue', 'Scheduler delivery DLQ');
    this.failureQueue = sinkQueue(this, 'FailureQueue', 'Lambda on-failure destination');

    // Own role: log writing scoped to this log group instead of AWSLambdaBasicExecutionRole.
    const role = new iam.Role(this, 'Role', {
      assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
      description: `export-ops ${props.jobName} function`,
    });
    this.logGroup.grantWrite(role);
    this.role = role;

    const fn = new NodejsFunction(this, 'Function', {
      entry: props.entry,
      handler: 'handler',
      description: props.description ?? props.jobName,
      runtime: lambda.Runtime.NODEJS_24_X,
      architecture: lambda.Architecture.ARM_64,
      memorySize: props.memorySize ?? 256,
      timeout: (this.timeout = props.timeout ?? Duration.minutes(5)),
      role,
      logGroup: this.logGroup,
      reservedConcurrentExecutions: props.reservedConcurrentExecutions,
      onFailure: new SqsDestination(this.failureQueue),
      retryAttempts: props.asyncRetryAttempts ?? 2,
      maxEventAge: props.asyncMaxEventAge ?? Duration.hours(1),
      environment: {
        ...props.environment,
        // The namespace is the one metric() uses, so the alarms watch what the function emits.
        ...jobEnvironment(props.jobName, { ...props.settings, serviceName: props.jobName, metricsNamespace: this.metricsNamespace },
          props.settingsTable),
        ...JOB_PROCESS_ENV,
      },
      bundling: {
        minify: true,
        sourceMap: true,
        sourcesContent: false,
        // Bundle the AWS SDK too, although nodejs24.x ships SDK v3: lib-storage is not
        // guaranteed in the runtime, the versions we test are the versions we ship (the runtime's
        // SDK changes under a deployed function), and a minified bundle loads faster than the
        // runtime's unbundled node_modules. Sizes stay within the aim (<= 1 MB a bundle) without
        // it: only log-cleanup's bundle carries client-s3, and `npm run bench -- bundles` prints
        // what each bundle holds per package.
        externalModules: [],
        // Prefer the packages' ES module builds (the default for platform node is main first):
        // esbuild tree-shakes those, and they drop the CJS-only helpers (tslib for supabase-js)
        // and browser-only code (bowser, via @aws-sdk/core) that CJS builds drag in.
        mainFields: ['module', 'main'],
        // esbuild's account of what went into the bundle (index.meta.json beside index.js), for
        // the bundle tests and `npm run bench -- bundles` only: a deployed asset does not carry it.
        metafile: this.node.tryGetContext(BUNDLE_METAFILE_CONTEXT) === true,
      },
    });
    this.function = fn;

    // Own target role, so it lives (and is acknowledged) inside this construct and only
    // this account's Scheduler can assume it.
    const scheduleRole = new iam.Role(this, 'ScheduleRole', {
      assumedBy: new iam.ServicePrincipal('scheduler.amazonaws.com', {
        conditions: { StringEquals: { 'aws:SourceAccount': Stack.of(this).account } },
      }),
      description: `export-ops ${props.jobName} schedule target`,
    });

    const targetProps = {
      role: scheduleRole,
      input: scheduler.ScheduleTargetInput.fromObject({ scheduledTime: scheduler.ContextAttribute.scheduledTime }),
      retryAttempts: props.scheduleRetryAttempts ?? 3,
      maxEventAge: props.scheduleMaxEventAge ?? Duration.hours(1),
      deadLetterQueue: this.deadLetterQueue,
    };
    if (props.drain) {
      this.drain = new DrainStateMachine(this, 'Drain', {
        ...props.drain,
        jobName: props.jobName,
        function: fn,
        functionTimeout: this.timeout,
        metricsNamespace: this.metricsNamespace,
        logRetention: props.logRetention,
      });
    }
    this.schedule = new scheduler.Schedule(this, 'Schedule', {
      schedule: props.schedule,
      scheduleGroup: props.scheduleGroup,
      description: props.description ?? props.jobName,
      enabled: props.enabled ?? true,
      // The schedule role may start the tick machine only (StepFunctionsStartExecution grants
      // states:StartExecution on it), or invoke the function only.
      target: this.drain ? new StepFunctionsStartExecution(this.drain.tick, targetProps) : new LambdaInvoke(fn, targetProps),
    });

    // The failure destination supersedes the legacy DLQ; configuring both would duplicate messages.
    Validations.of(fn).acknowledge({
      id: 'Serverless-LambdaDLQ',
      reason: 'Failed async invocations go to the SQS on-failure destination, which also records the error; a second, legacy DLQ would duplicate every message.',
    });
    Validations.of(fn).acknowledge({
      id: 'Serverless-LambdaTracing',
      reason: 'The jobs are not instrumented with a tracer; an active trace would only repeat the Duration and Errors metrics, and would need xray:PutTraceSegments on Resource::*.',
    });
    // Lambda's grantInvoke covers the function and its versions (`<arn>:*`).
    if (!this.drain) Validations.of(scheduleRole).acknowledge({
      id: `AwsSolutions-IAM5[Resource::<${logicalIdOf(fn)}.Arn>:*]`,
      reason: 'Scheduler target role: lambda:InvokeFunction on this one function and its versions/aliases (grantInvoke adds `<arn>:*`), nothing else.',
    });
  }

  /** The delivery DLQ and the failure destination. */
  public get deadLetterQueues(): sqs.IQueue[] {
    return [this.deadLetterQueue, this.failureQueue];
  }

  /** A job metric from the metric catalog: namespace plus `Job=<jobName>` (fails for a metric this job does not emit). */
  public metric(metric: CatalogMetric, props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return jobMetric(this.metricsNamespace, this.jobName, metric, props);
  }
}

/** A terminal queue: nothing consumes it, an alarm fires when it holds anything. */
export function sinkQueue(scope: Construct, id: string, purpose: string): sqs.Queue {
  const queue = new sqs.Queue(scope, id, {
    encryption: sqs.QueueEncryption.SQS_MANAGED,
    enforceSSL: true,
    retentionPeriod: Duration.days(14),
  });
  Validations.of(queue).acknowledge({
    id: 'AwsSolutions-SQS3',
    reason: `${purpose}: this queue is itself the dead-letter sink; it has no consumer to fail, and an alarm watches its depth.`,
  });
  Validations.of(queue).acknowledge({
    id: 'Serverless-SQSRedrivePolicy',
    reason: `${purpose}: a redrive policy on a dead-letter sink would only move messages to another unconsumed queue.`,
  });
  return queue;
}

/** `file-cleanup` -> `FileCleanup`, for construct ids. */
export function pascal(name: string): string {
  return name.replace(/(^|-)([a-z])/g, (_, __, c: string) => c.toUpperCase());
}
