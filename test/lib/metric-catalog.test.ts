import { Template } from 'aws-cdk-lib/assertions';
import { fileCleanupJob } from '../../lambdas/file-cleanup/job';
import { logCleanupJob } from '../../lambdas/log-cleanup/job';
import { metricsAggregateJob } from '../../lambdas/metrics-aggregate/job';
import { type JobDefinition, type JobResult, runJob } from '../../lambdas/shared/job';
import { METRICS } from '../../lambdas/shared/metric-catalog';
import type { JobName } from '../../lambdas/shared/observability';
import { seedExports } from '../../local/seed';
import type { LocalStack } from '../../local/stack';
import { jobDepsFor } from '../support/jobs';
import { captureStdout } from '../support/output';
import { databaseMode, startTestStack } from '../support/stack';
import { exportOpsStack } from './helpers';
import { findState, stateMachineDefinitions } from '../support/sfn/definitions';

/**
 * Every metric an alarm or a dashboard widget of the synthesized stack reads is one the jobs
 * really emit, with exactly those dimensions: the jobs run on the local stack (successful and
 * failing runs), their EMF documents are collected from stdout, and the template is walked.
 * CloudWatch treats a metric nobody writes as missing data, which our alarms read as "not
 * breaching": a misspelled name would be an alarm that never fires.
 *
 * AWS-namespace metrics cannot be emitted here; they are checked against the metric and
 * dimension names AWS documents for the namespace.
 */

/**
 * Metric and dimension names AWS publishes, from its documentation:
 * - AWS/Lambda: https://docs.aws.amazon.com/lambda/latest/dg/monitoring-metrics-types.html
 * - AWS/SQS: https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/sqs-available-cloudwatch-metrics.html
 * - AWS/SNS: https://docs.aws.amazon.com/sns/latest/dg/sns-monitoring-using-cloudwatch.html
 * - AWS/Scheduler: https://docs.aws.amazon.com/scheduler/latest/UserGuide/monitoring-cloudwatch.html
 *   (one dimension, ScheduleGroup; the DLQ failure metric also comes suffixed with an error code)
 */
const AWS_METRICS: Record<string, { metrics: string[]; dimensions: string[][] }> = {
  'AWS/Lambda': {
    metrics: ['Invocations', 'Errors', 'DeadLetterErrors', 'DestinationDeliveryFailures', 'Throttles', 'OversizedRecordCount',
      'ProvisionedConcurrencyInvocations', 'ProvisionedConcurrencySpilloverInvocations', 'RecursiveInvocationsDropped',
      'Duration', 'PostRuntimeExtensionsDuration', 'IteratorAge', 'OffsetLag', 'ConcurrentExecutions', 'ProvisionedConcurrentExecutions',
      'ProvisionedConcurrencyUtilization', 'UnreservedConcurrentExecutions', 'ClaimedAccountConcurrency',
      'AsyncEventsReceived', 'AsyncEventAge', 'AsyncEventsDropped'],
    dimensions: [[], ['FunctionName'], ['FunctionName', 'Resource'], ['ExecutedVersion', 'FunctionName', 'Resource']],
  },
  'AWS/SQS': {
    metrics: ['ApproximateAgeOfOldestMessage', 'ApproximateNumberOfGroupsWithInflightMessages', 'ApproximateNumberOfMessagesDelayed',
      'ApproximateNumberOfMessagesNotVisible', 'ApproximateNumberOfMessagesVisible', 'NumberOfEmptyReceives',
      'NumberOfDeduplicatedSentMessages', 'NumberOfMessagesDeleted', 'NumberOfMessagesReceived', 'NumberOfMessagesSent', 'SentMessageSize'],
    dimensions: [['QueueName']],
  },
  'AWS/SNS': {
    metrics: ['NumberOfMessagesPublished', 'NumberOfNotificationsDelivered', 'NumberOfNotificationsFailed', 'NumberOfNotificationsFilteredOut',
      'NumberOfNotificationsFilteredOut-InvalidAttributes', 'NumberOfNotificationsFilteredOut-NoMessageAttributes',
      'NumberOfNotificationsFilteredOut-InvalidMessageBody', 'NumberOfNotificationsRedrivenToDlq', 'NumberOfNotificationsFailedToRedriveToDlq',
      'PublishSize', 'SMSMonthToDateSpentUSD', 'SMSSuccessRate'],
    dimensions: [['TopicName'], ['Application'], ['Application', 'Platform'], ['Country'], ['SMSType'], ['Platform']],
  },
  // https://docs.aws.amazon.com/step-functions/latest/dg/procedure-cw-metrics.html (execution metrics, per StateMachineArn)
  'AWS/States': {
    metrics: ['ExecutionTime', 'ExecutionThrottled', 'ExecutionsAborted', 'ExecutionsFailed', 'ExecutionsStarted', 'ExecutionsSucceeded',
      'ExecutionsTimedOut', 'ExecutionsRedriven', 'RedrivenExecutionsAborted', 'RedrivenExecutionsFailed', 'RedrivenExecutionsSucceeded',
      'RedrivenExecutionsTimedOut'],
    dimensions: [['StateMachineArn']],
  },
  'AWS/Scheduler': {
    metrics: ['InvocationAttemptCount', 'TargetErrorCount', 'TargetErrorThrottledCount', 'InvocationThrottleCount', 'InvocationDroppedCount',
      'InvocationsSentToDeadLetterCount', 'InvocationsFailedToBeSentToDeadLetterCount'],
    dimensions: [[], ['ScheduleGroup']],
  },
};

interface ReadMetric { namespace: string; name: string; dimensions: Record<string, string>; where: string }

const key = (namespace: string, name: string, dimensions: Record<string, string>) =>
  `${namespace} ${name} {${Object.keys(dimensions).sort().map((k) => `${k}=${dimensions[k]}`).join(',')}}`;

/** Tokens (Refs, GetAtts) inside the dashboard body become a placeholder string. */
function dashboardBody(body: unknown): string {
  if (typeof body === 'string') return body;
  const join = (body as { 'Fn::Join': [string, unknown[]] })['Fn::Join'];
  return join[1].map((part) => (typeof part === 'string' ? part : '<token>')).join(join[0]);
}

/** Every metric the template's alarms and dashboards read. */
function metricsRead(template: Template): ReadMetric[] {
  const read: ReadMetric[] = [];
  const dims = (list: { Name: string; Value: unknown }[] = []) =>
    Object.fromEntries(list.map((d) => [d.Name, typeof d.Value === 'string' ? d.Value : '<token>']));
  for (const [id, alarm] of Object.entries(template.findResources('AWS::CloudWatch::Alarm'))) {
    const p = alarm.Properties;
    if (p.MetricName) read.push({ namespace: p.Namespace, name: p.MetricName, dimensions: dims(p.Dimensions), where: `alarm ${id}` });
    for (const m of p.Metrics ?? []) {
      const metric = m.MetricStat?.Metric;
      if (metric) read.push({ namespace: metric.Namespace, name: metric.MetricName, dimensions: dims(metric.Dimensions), where: `alarm ${id} (${m.Id})` });
    }
  }
  for (const [id, dashboard] of Object.entries(template.findResources('AWS::CloudWatch::Dashboard'))) {
    const body = JSON.parse(dashboardBody(dashboard.Properties.DashboardBody));
    for (const widget of body.widgets) {
      for (const row of widget.properties.metrics ?? []) {
        const parts = row.filter((x: unknown) => typeof x === 'string');
        if (parts.length < 2) continue; // a math expression row ({ expression, ... })
        const [namespace, name, ...pairs] = parts;
        const dimensions: Record<string, string> = {};
        for (let i = 0; i < pairs.length; i += 2) dimensions[pairs[i]] = pairs[i + 1];
        read.push({ namespace, name, dimensions, where: `dashboard ${id} widget "${widget.properties.title}"` });
      }
    }
  }
  return read;
}

/** Every (namespace, metric, dimension values) the EMF documents carry. */
function emittedBy(lines: string[]): Set<string> {
  const out = new Set<string>();
  for (const line of lines.filter((l) => l.includes('"_aws"'))) {
    const doc = JSON.parse(line);
    for (const directive of doc._aws.CloudWatchMetrics) {
      for (const set of directive.Dimensions as string[][]) {
        const dimensions = Object.fromEntries(set.map((k) => [k, String(doc[k])]));
        for (const metric of directive.Metrics) out.add(key(directive.Namespace, metric.Name, dimensions));
      }
    }
  }
  return out;
}

describe(`metric catalog: what the stack reads is what the jobs emit (${databaseMode})`, () => {
  const NOW = '2026-11-29T03:00:00Z';
  let stack: LocalStack;
  const emitted = new Set<string>();
  /** Emitted metric keys per job. */
  const byJob: Record<string, Set<string>> = {};

  async function run<I, R extends JobResult>(job: JobDefinition<I, R>, input: I, fail?: string) {
    if (fail) stack.supabase.faults.add({ method: 'POST', path: `/rest/v1/rpc/${fail}`, times: 1000, fault: { status: 500 } });
    try {
      const { lines } = await captureStdout(async () => {
        const deps = await jobDepsFor(stack, job.name as JobName);
        await runJob(job, deps, input).catch((error) => {
          if (!fail) throw error;
        });
      });
      const keys = emittedBy(lines);
      for (const k of keys) emitted.add(k);
      byJob[job.name] = new Set([...(byJob[job.name] ?? []), ...keys]);
    } finally {
      stack.supabase.faults.clear();
    }
  }

  beforeAll(async () => {
    // What the drain state machines write themselves (putMetricData in their definition).
    for (const m of Object.values(stateMachineDefinitions(Template.fromStack(exportOpsStack())))) {
      for (const state of [findState(m.drain, 'ReportCapReached')]) {
        for (const datum of state.Parameters.MetricData as { MetricName: string; Dimensions: { Name: string; Value: string }[] }[]) {
          emitted.add(key(state.Parameters.Namespace, datum.MetricName, Object.fromEntries(datum.Dimensions.map((d) => [d.Name, d.Value]))));
        }
      }
    }
    stack = await startTestStack();
    await seedExports({ db: stack.db, storageDir: stack.storageDir, supabaseUrl: stack.supabase.url },
      { count: 600, days: 90, now: new Date(NOW), seed: 3 });
    // Successful runs of each job, then a failing one (the failure metrics are written only then).
    await run(metricsAggregateJob, metricsAggregateJob.input.parse({ from: '2026-11-20T00:00:00Z', to: '2026-11-27T00:00:00Z' }));
    await run(fileCleanupJob, { scheduledTime: NOW });
    await run(logCleanupJob, { scheduledTime: NOW });
    await run(metricsAggregateJob, metricsAggregateJob.input.parse({ from: '2026-11-27T00:00:00Z', to: '2026-11-28T00:00:00Z' }),
      'export_ops_metrics_pending_windows');
    await run(fileCleanupJob, { scheduledTime: NOW }, 'export_ops_claim_files');
    await run(logCleanupJob, { scheduledTime: NOW }, 'export_ops_log_cleanup_stats');
  }, 240_000);
  afterAll(() => stack?.stop());

  test('the jobs emit every catalog metric, from the jobs and with the dimension sets the catalog says', () => {
    const names = (keys: Set<string>) => new Set([...keys].map((k) => k.split(' ')[1]));
    for (const metric of Object.values(METRICS)) {
      for (const job of metric.emittedBy) expect({ job, metric: metric.name, emitted: names(byJob[job]).has(metric.name) }).toEqual({ job, metric: metric.name, emitted: true });
      const sets = [...emitted].filter((k) => k.split(' ')[1] === metric.name)
        .map((k) => k.slice(k.indexOf('{') + 1, -1).split(',').filter(Boolean).map((kv) => kv.split('=')[0]).join(','));
      expect({ metric: metric.name, sets: [...new Set(sets)].sort() })
        .toEqual({ metric: metric.name, sets: metric.dimensionSets.map((s) => [...s].sort().join(',')).sort() });
    }
    // Nothing is emitted outside the catalog.
    const catalog = new Set(Object.keys(METRICS));
    expect([...emitted].map((k) => k.split(' ')[1]).filter((n) => !catalog.has(n))).toEqual([]);
  });

  test('every metric an alarm or dashboard widget reads is emitted with exactly those dimensions', () => {
    for (const props of [{}, { alarmEmail: 'ops@example.com' }]) {
      const read = metricsRead(Template.fromStack(exportOpsStack(props)));
      const ours = read.filter((m) => !m.namespace.startsWith('AWS/'));
      expect(ours.filter((m) => m.where.startsWith('alarm')).length).toBeGreaterThanOrEqual(7);
      expect(ours.filter((m) => m.where.startsWith('dashboard')).length).toBeGreaterThan(30);
      const missing = ours.filter((m) => !emitted.has(key(m.namespace, m.name, m.dimensions)))
        .map((m) => `${m.where}: ${key(m.namespace, m.name, m.dimensions)}`);
      expect(missing).toEqual([]);
    }
  });

  test('AWS-namespace metrics use names and dimensions AWS publishes', () => {
    const read = metricsRead(Template.fromStack(exportOpsStack({ alarmEmail: 'ops@example.com' }))).filter((m) => m.namespace.startsWith('AWS/'));
    expect(new Set(read.map((m) => m.namespace))).toEqual(new Set(['AWS/Lambda', 'AWS/SQS', 'AWS/SNS', 'AWS/Scheduler', 'AWS/States']));
    expect(read.filter((m) => m.where.startsWith('dashboard')).length).toBeGreaterThan(10);
    const wrong = read.filter((m) => {
      const known = AWS_METRICS[m.namespace];
      const dims = Object.keys(m.dimensions).sort().join(',');
      return !known || !known.metrics.includes(m.name) || !known.dimensions.some((d) => d.join(',') === dims);
    }).map((m) => `${m.where}: ${m.namespace} ${m.name} [${Object.keys(m.dimensions)}]`);
    expect(wrong).toEqual([]);
  });

  test('the walk would catch a misspelled name', () => {
    expect(emitted.has(key('ExportOps', 'FilesDeleted', { Job: 'file-cleanup' }))).toBe(true);
    expect(emitted.has(key('ExportOps', 'FileDeleted', { Job: 'file-cleanup' }))).toBe(false);
    expect(emitted.has(key('ExportOps', 'FilesDeleted', { Job: 'log-cleanup' }))).toBe(false);
    expect(emitted.has(key('ExportOps', 'ExportsTotal', { Format: 'csv' }))).toBe(true);
    expect(emitted.has(key('ExportOps', 'ExportsTotal', { Job: 'metrics-aggregate' }))).toBe(false);
  });
});
