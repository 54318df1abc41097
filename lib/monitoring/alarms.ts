import { Duration, Stack } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as scheduler from 'aws-cdk-lib/aws-scheduler';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { type CatalogMetric, METRICS } from '../../lambdas/shared/metric-catalog';
import { dailySum, exportMetric, failureRate, jobMetric, sumOfVisible, WINDOW_STATISTIC } from './metrics';

/** What monitoring needs to know about a job; `ScheduledJob` satisfies it. */
export interface MonitoredJob {
  /** Value of the `Job` metric dimension. */
  readonly jobName: string;
  readonly function: lambda.IFunction;
  readonly logGroup: logs.ILogGroupRef;
  /** Queues that hold invocations which did not complete (delivery DLQ, failure destination). */
  readonly deadLetterQueues: sqs.IQueue[];
  /**
   * The function's timeout, for the "close to the timeout" alarm.
   * @default - no such alarm
   */
  readonly timeout?: Duration;
  /**
   * The state machines that drain the job's backlog (`DrainStateMachine` satisfies it).
   * @default - not drained: no drain alarms
   */
  readonly drain?: MonitoredDrain;
}

/** What monitoring reads of a drain (lib/drain.ts). */
export interface MonitoredDrain {
  metricFailed(props?: cloudwatch.MetricOptions): cloudwatch.IMetric;
  metricTimedOut(props?: cloudwatch.MetricOptions): cloudwatch.IMetric;
  metricTickFailed(props?: cloudwatch.MetricOptions): cloudwatch.IMetric;
  metricCapReached(props?: cloudwatch.MetricOptions): cloudwatch.IMetric;
}

/** A cleanup job and the catalog metrics that count its failures (summed per day). */
export interface CleanupJob {
  readonly job: MonitoredJob;
  /** e.g. `[METRICS.CleanupFailures]` (files not deleted plus failed runs). */
  readonly failureMetrics: CatalogMetric[];
  /**
   * Daily failures above which to alarm.
   * @default - MonitoringProps.cleanupFailuresThreshold
   */
  readonly failureThreshold?: number;
  /**
   * The longest gap between its scheduled runs, for its "did not run" alarm (see `heartbeatSpec`):
   * `Duration.days(1)` alarms after two day periods without a completed run; more than 3 days
   * (e.g. `Duration.days(31)`) alarms on SecondsSinceLastSuccess > interval + 2 days, which
   * the metrics job reports for the catalog's watched jobs.
   * @default - no "did not run" alarm
   */
  readonly runInterval?: Duration;
}

/** The thresholds and inputs of the alarm table (all defaults filled in by `Monitoring`). */
export interface AlarmInputs {
  readonly namespace: string;
  readonly exportMetricsJob: MonitoredJob;
  readonly cleanupJobs: CleanupJob[];
  readonly topic: sns.ITopic;
  readonly scheduleGroup?: scheduler.IScheduleGroup;
  readonly subscriptionDlq?: sqs.IQueue;
  readonly failureRateThreshold: number;
  readonly failureRateMinExports: number;
  readonly avgDurationThresholdMs: number;
  readonly volumeThreshold: number;
  readonly cleanupFailuresThreshold: number;
  readonly heartbeatWindow: Duration;
  readonly timeoutAlarmPercent: number;
}

/**
 * One alarm, as plain data: an evaluator test can read the table, and each row becomes one
 * `AWS::CloudWatch::Alarm` named `<stack name>-<id>` with construct id `<id>Alarm`.
 */
export interface AlarmSpec {
  /** Stable id, e.g. `FileCleanupErrors`. */
  readonly id: string;
  readonly metric: cloudwatch.IMetric;
  readonly threshold: number;
  /** @default GREATER_THAN_THRESHOLD */
  readonly comparison?: cloudwatch.ComparisonOperator;
  /** @default 1 */
  readonly evaluationPeriods?: number;
  /** @default evaluationPeriods */
  readonly datapointsToAlarm?: number;
  /** @default NOT_BREACHING */
  readonly treatMissingData?: cloudwatch.TreatMissingData;
  /** What it means. */
  readonly meaning: string;
  /** Where to look. */
  readonly look: string;
  /** What to run. */
  readonly run: string;
}

const MINUTES_5 = Duration.minutes(5);
const HOUR = Duration.hours(1);

/** The alarm description: the runbook line. */
export function runbook(spec: Pick<AlarmSpec, 'meaning' | 'look' | 'run'>): string {
  return `export-ops: ${spec.meaning}. Look at: ${spec.look}. Run: ${spec.run}`;
}

/** `file-cleanup` -> `FileCleanup`. */
const pascal = (name: string) => name.replace(/(^|-)([a-z])/g, (_, __, c: string) => c.toUpperCase());
const logsOf = (jobName: string) => `the ${jobName} log group (saved query export-ops/job-errors)`;

/** Slack a job whose interval is longer than CloudWatch's evaluation range gets on top of it. */
export const LONG_INTERVAL_SLACK = Duration.days(2);

/**
 * "Did not complete a run in time".
 *
 * Up to 3 days between runs: JobDurationMs is written once per completed run, so its
 * SampleCount per period is the number of runs, and no datapoint means no run (missing =
 * breaching). Hourly jobs use 1-hour periods; daily ones 1-day periods, two of them: it alarms
 * once a whole day bucket and the next pass without a run, i.e. 24-48 h late.
 *
 * Longer intervals (the monthly log cleanup): CloudWatch evaluates an alarm over at most 7 days
 * (Period x EvaluationPeriods <= 604,800 s), so a job's own metric cannot show a month without
 * a run; a 7-day window would be in alarm three weeks of every month. Instead the hourly metrics
 * job reports each watched job's age, SecondsSinceLastSuccess (from export_ops.runs), and this
 * alarms when it exceeds the interval plus LONG_INTERVAL_SLACK. Missing data is not breaching
 * there: the metrics job's own heartbeat alarms when it stops writing.
 */
export function heartbeatSpec(namespace: string, job: MonitoredJob, interval: Duration, id: string): AlarmSpec {
  const hours = interval.toHours();
  const common = {
    id,
    look: `the ${job.jobName} schedule state, ${logsOf(job.jobName)}, the Scheduler and Errors alarms`,
    run: `npx export-ops run ${job.jobName} --dry-run`,
  };
  if (hours > 72) {
    const limit = interval.plus(LONG_INTERVAL_SLACK);
    return {
      ...common,
      metric: jobMetric(namespace, job.jobName, METRICS.SecondsSinceLastSuccess, { statistic: 'Maximum', period: HOUR }),
      threshold: limit.toSeconds(),
      meaning: `${job.jobName} has not completed a run in ${limit.toDays()} days (schedule disabled, every run failing, or the function not invoked)`,
    };
  }
  const period = hours >= 24 ? Duration.days(1) : HOUR;
  const periods = hours >= 24 ? Math.ceil(hours / 24) + 1 : Math.max(1, Math.round(hours));
  return {
    ...common,
    metric: jobMetric(namespace, job.jobName, METRICS.JobDurationMs, { statistic: 'SampleCount', period }),
    threshold: 1,
    comparison: cloudwatch.ComparisonOperator.LESS_THAN_THRESHOLD,
    evaluationPeriods: periods,
    treatMissingData: cloudwatch.TreatMissingData.BREACHING,
    meaning: `${job.jobName} has not completed a run in ${periods} ${period.toHours() === 1 ? 'h' : 'days'} (schedule disabled, every run failing, or the function not invoked)`,
  };
}

/** The alarm table. Pure: builds metrics, creates no construct. */
export function alarmSpecs(i: AlarmInputs): AlarmSpec[] {
  const ns = i.namespace;
  const metricsJob = i.exportMetricsJob;
  const allJobs = [metricsJob, ...i.cleanupJobs.map((c) => c.job)];
  // The metrics job writes one datapoint per closed hour, late (after the hour plus a lag):
  // looking at the last 3 hours, 1 breaching, still catches it. A missing point means no
  // exports (or a stopped job, which MetricsJobNotRunning reports), never a breach.
  const late = { evaluationPeriods: 3, datapointsToAlarm: 1 };
  // Export metrics are read with WINDOW_STATISTIC (Maximum over the window's hour): a window
  // emitted twice by a crashed run does not move them.
  const exportsLook = 'the dashboard (Exports, Failure rate) and the saved query export-ops/failures-by-format';
  const specs: AlarmSpec[] = [
    {
      id: 'FailureRate', ...late,
      metric: failureRate(ns, { minExports: i.failureRateMinExports }),
      threshold: i.failureRateThreshold,
      meaning: `more than ${i.failureRateThreshold} % of the exports finished in an hour failed (hours with fewer than ${i.failureRateMinExports} exports count as 0 %)`,
      look: `${exportsLook}; error_kinds in the metrics job's log lines`,
      run: 'npx export-ops report failure-rate',
    },
    {
      id: 'AverageDuration', ...late,
      metric: exportMetric(ns, METRICS.ExportDurationAvg, { statistic: WINDOW_STATISTIC, period: HOUR }),
      threshold: i.avgDurationThresholdMs,
      meaning: `exports took more than ${i.avgDurationThresholdMs} ms on average in an hour`,
      look: 'the dashboard (Export duration, P95 by format) and the saved query export-ops/slow-exports',
      run: 'npx export-ops report aggregate --from <hour start> --to <hour end> (avg_duration_by_format)',
    },
    {
      id: 'Volume', ...late,
      metric: exportMetric(ns, METRICS.ExportsTotal, { statistic: WINDOW_STATISTIC, period: HOUR }),
      threshold: i.volumeThreshold,
      meaning: `more than ${i.volumeThreshold} exports finished in an hour`,
      look: `${exportsLook}; top_users in the metrics job's log lines`,
      run: 'npx export-ops report volume --period hourly',
    },
  ];

  for (const c of i.cleanupJobs) {
    const name = c.job.jobName;
    const threshold = c.failureThreshold ?? i.cleanupFailuresThreshold;
    specs.push({
      id: `${pascal(name)}Failures`,
      metric: dailySum(ns, name, c.failureMetrics),
      threshold,
      meaning: `${c.failureMetrics.map((m) => m.name).join(' + ')} of ${name} above ${threshold} in a day`,
      look: `the saved query export-ops/cleanup-results, ${logsOf(name)}`,
      run: `npx export-ops run ${name} --dry-run`,
    });
  }

  for (const job of allJobs) {
    const name = job.jobName;
    const id = pascal(name);
    specs.push({
      id: `${id}Errors`,
      metric: job.function.metricErrors({ statistic: 'Sum', period: MINUTES_5 }),
      threshold: 0,
      meaning: `a ${name} invocation threw (Lambda retries it twice, then it goes to the failure queue)`,
      look: logsOf(name),
      run: `npx export-ops run ${name} --dry-run`,
    });
    specs.push({
      id: `${id}Undelivered`,
      metric: sumOfVisible(job.deadLetterQueues),
      threshold: 0,
      meaning: `${name} invocations are waiting in the Scheduler DLQ or the Lambda failure destination: a run was lost`,
      look: `the messages in the ${name} DeadLetterQueue / FailureQueue (they carry the error), ${logsOf(name)}`,
      run: `npx export-ops run ${name} --dry-run, then purge the queue once handled`,
    });
    specs.push({
      id: `${id}Throttles`,
      metric: job.function.metricThrottles({ statistic: 'Sum', period: MINUTES_5 }),
      threshold: 0,
      meaning: `${name} invocations were throttled (account concurrency exhausted, or reserved concurrency too low)`,
      look: 'Lambda ConcurrentExecutions of the account and the function\'s reserved concurrency',
      run: `aws lambda get-function-concurrency --function-name <${name} function>`,
    });
    if (job.timeout) {
      const limitMs = Math.floor(job.timeout.toMilliseconds() * i.timeoutAlarmPercent / 100);
      specs.push({
        id: `${id}NearTimeout`,
        metric: job.function.metricDuration({ statistic: 'Maximum', period: MINUTES_5 }),
        threshold: limitMs,
        meaning: `a ${name} invocation ran longer than ${i.timeoutAlarmPercent} % of its ${job.timeout.toMinutes()} min timeout`,
        look: `JobDurationMs on the dashboard, runs with more=true in ${logsOf(name)}`,
        run: `npx export-ops run ${name} --dry-run (a backlog drains over several runs; raise the timeout or the memory if every run is long)`,
      });
    }
  }

  for (const job of allJobs) {
    if (job.drain) specs.push(...drainSpecs(job.jobName, job.drain));
  }

  specs.push(heartbeatSpec(ns, metricsJob, i.heartbeatWindow, 'MetricsJobNotRunning'));
  for (const c of i.cleanupJobs) {
    if (c.runInterval) specs.push(heartbeatSpec(ns, c.job, c.runInterval, `${pascal(c.job.jobName)}NotRunning`));
  }

  if (i.scheduleGroup) {
    // AWS/Scheduler metrics have one dimension, ScheduleGroup: the jobs' own group, so other
    // schedules of the account do not count.
    const group = i.scheduleGroup;
    specs.push({
      id: 'SchedulerTargetErrors',
      metric: group.metricTargetErrors({ statistic: 'Sum', period: HOUR }),
      threshold: 0,
      meaning: 'EventBridge Scheduler could not invoke a job function (permission, throttling, function missing); it retries, then drops',
      look: `the schedules of group ${group.scheduleGroupName}, their target role, the DLQ messages`,
      run: 'aws scheduler get-schedule --group-name <group> --name <schedule>',
    });
    specs.push({
      id: 'SchedulerDropped',
      metric: group.metricDropped({ statistic: 'Sum', period: HOUR }),
      threshold: 0,
      meaning: 'EventBridge Scheduler gave up on a job invocation after its retries: a scheduled run did not happen',
      look: 'the Undelivered alarms and the DeadLetterQueue messages',
      run: 'npx export-ops run <job> --dry-run, then the real run',
    });
  }

  specs.push({
    id: 'NotificationsFailed',
    metric: i.topic.metricNumberOfNotificationsFailed({ statistic: 'Sum', period: MINUTES_5 }),
    threshold: 0,
    meaning: 'SNS could not deliver alarm notifications to a subscriber (this alarm may not reach you either: check the console)',
    look: 'the topic\'s subscriptions (confirmed?), the subscription DLQ, the topic key policy',
    run: 'aws sns list-subscriptions-by-topic --topic-arn <AlarmTopicArn>',
  });
  if (i.subscriptionDlq) {
    specs.push({
      id: 'SubscriptionUndelivered',
      metric: sumOfVisible([i.subscriptionDlq]),
      threshold: 0,
      meaning: 'alarm notifications SNS could not deliver to the email subscription',
      look: 'the messages in the SubscriptionDeadLetterQueue, the subscription status',
      run: 'aws sns list-subscriptions-by-topic --topic-arn <AlarmTopicArn>',
    });
  }
  return specs;
}

/** The alarm's name: `<stack name>-<spec id>`. */
export const alarmName = (scope: Construct, id: string) => `${Stack.of(scope).stackName}-${id}`;

/** One alarm per spec, notifying `action` on ALARM and OK. */
export function createAlarms(scope: Construct, specs: AlarmSpec[], action: cloudwatch.IAlarmAction): Record<string, cloudwatch.Alarm> {
  const alarms: Record<string, cloudwatch.Alarm> = {};
  for (const spec of specs) {
    const evaluationPeriods = spec.evaluationPeriods ?? 1;
    const alarm = new cloudwatch.Alarm(scope, `${spec.id}Alarm`, {
      alarmName: alarmName(scope, spec.id),
      metric: spec.metric,
      threshold: spec.threshold,
      comparisonOperator: spec.comparison ?? cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
      evaluationPeriods,
      datapointsToAlarm: spec.datapointsToAlarm ?? evaluationPeriods,
      treatMissingData: spec.treatMissingData ?? cloudwatch.TreatMissingData.NOT_BREACHING,
      alarmDescription: runbook(spec),
    });
    alarm.addAlarmAction(action);
    alarm.addOkAction(action);
    alarms[spec.id] = alarm;
  }
  return alarms;
}

/**
 * A drained job's state machines: an execution that failed (the drain: a job error or retries
 * exhausted; the tick: it could not list or start the drain), one that timed out (the backstop
 * after the time cap), and a worker that stopped at a cap with work left (DrainCapReached,
 * which the drain writes itself: AWS/States has no metric for "ended with work left").
 */
export function drainSpecs(name: string, drain: MonitoredDrain): AlarmSpec[] {
  const id = pascal(name);
  const five = { statistic: 'Sum', period: MINUTES_5 };
  const console = `the ${name} drain and tick executions in the Step Functions console (or their log group /aws/vendedlogs/states/<stack>-${name}-drain)`;
  return [
    {
      id: `${id}DrainFailed`,
      metric: new cloudwatch.MathExpression({
        expression: 'FILL(drain, 0) + FILL(tick, 0)',
        usingMetrics: { drain: drain.metricFailed(five), tick: drain.metricTickFailed(five) },
        period: MINUTES_5,
        label: `${name} drain + tick executions failed`,
      }),
      threshold: 0,
      meaning: `a ${name} drain execution failed (the job threw, or Lambda kept refusing), or its tick could not start it: the backlog waits for the next tick`,
      look: `${console}: the failed state and its error; ${logsOf(name)}`,
      run: `npx export-ops run ${name} --dry-run, then aws stepfunctions start-execution (see "Draining a backlog by hand" in the README)`,
    },
    {
      id: `${id}DrainTimedOut`,
      metric: drain.metricTimedOut(five),
      threshold: 0,
      meaning: `a ${name} drain execution timed out (an invocation outlived the time cap by more than the function timeout)`,
      look: `${console}: the last RunJob state; ${logsOf(name)}`,
      run: `npx export-ops status, then start a drain by hand (README, "Draining a backlog by hand")`,
    },
    {
      id: `${id}DrainCapReached`,
      metric: drain.metricCapReached({ statistic: 'Sum', period: Duration.days(1) }),
      threshold: 0,
      meaning: `a ${name} drain stopped at its iteration or time cap (drainMaxIterations, drainMaxHours) with work left`,
      look: `${console}: the StoppedAtCap workers' iteration and elapsedMs; npx export-ops status for what is left`,
      run: 'start a drain by hand (README, "Draining a backlog by hand"), or raise the cap',
    },
  ];
}
