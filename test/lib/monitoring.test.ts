import { Duration, TimeZone } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as scheduler from 'aws-cdk-lib/aws-scheduler';
import { METRICS } from '../../lambdas/shared/metric-catalog';
import { Monitoring, MonitoringProps } from '../../lib/monitoring';
import { ScheduledJob } from '../../lib/scheduled-job';
import { FIXTURE_ENTRY, nagFindings, testStack } from './helpers';

function setup(props: Partial<MonitoringProps> = {}, withGroup = true) {
  const stack = testStack();
  const scheduleGroup = withGroup ? new scheduler.ScheduleGroup(stack, 'Group') : undefined;
  const job = (jobName: string) => new ScheduledJob(stack, jobName, {
    jobName,
    entry: FIXTURE_ENTRY,
    schedule: scheduler.ScheduleExpression.expression('cron(0 * * * ? *)', TimeZone.ETC_UTC),
    scheduleGroup,
  });
  const monitoring = new Monitoring(stack, 'Monitoring', {
    exportMetricsJob: job('metrics-aggregate'),
    cleanupJobs: [
      { job: job('file-cleanup'), failureMetrics: [METRICS.FilesFailed, METRICS.CleanupFailures], runInterval: Duration.days(1) },
      { job: job('log-cleanup'), failureMetrics: [METRICS.LogCleanupFailures], failureThreshold: 0, runInterval: Duration.days(31) },
    ],
    scheduleGroup,
    ...props,
  });
  return { stack, monitoring, template: Template.fromStack(stack) };
}

const alarm = (template: Template, idPrefix: string) => {
  const found = Object.entries(template.findResources('AWS::CloudWatch::Alarm')).filter(([id]) => id.startsWith(idPrefix));
  expect(found).toHaveLength(1);
  return found[0][1].Properties;
};

describe('Monitoring', () => {
  // A topic policy replaces SNS's default policy: with only the TLS Deny in it, nothing allowed
  // CloudWatch to publish and no alarm could notify anyone.
  const fromOurAlarms = {
    StringEquals: { 'aws:SourceAccount': '123456789012' },
    ArnLike: { 'aws:SourceArn': { 'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':cloudwatch:eu-west-1:123456789012:alarm:*']] } },
  };

  test('topic: TLS only, and CloudWatch alarms of this account and region may publish', () => {
    const { template } = setup();
    template.hasResourceProperties('AWS::SNS::Topic', { KmsMasterKeyId: Match.anyValue() });
    const policies = Object.values(template.findResources('AWS::SNS::TopicPolicy'));
    expect(policies).toHaveLength(1);
    const statements = (policies[0] as any).Properties.PolicyDocument.Statement;
    expect(statements).toHaveLength(2);
    expect(statements).toEqual(expect.arrayContaining([
      expect.objectContaining({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
      expect.objectContaining({
        Effect: 'Allow', Principal: { Service: 'cloudwatch.amazonaws.com' }, Action: 'sns:Publish',
        Resource: { Ref: expect.stringMatching(/^MonitoringTopic/) }, Condition: fromOurAlarms,
      }),
    ]));
    template.resourceCountIs('AWS::SNS::Subscription', 0);
  });

  test('topic key: rotated, CloudWatch may encrypt for the topic, under the same conditions', () => {
    const { template } = setup();
    template.hasResourceProperties('AWS::KMS::Key', {
      EnableKeyRotation: true,
      KeyPolicy: { Statement: Match.arrayWith([{
        Sid: 'AllowCloudWatchAlarms', Effect: 'Allow', Principal: { Service: 'cloudwatch.amazonaws.com' },
        Action: ['kms:Decrypt', 'kms:GenerateDataKey*'], Resource: '*', Condition: fromOurAlarms,
      }]) },
    });
  });

  test('optional email subscription, with its own DLQ', () => {
    const { template } = setup({ alarmEmail: 'ops@example.com' });
    template.hasResourceProperties('AWS::SNS::Subscription', {
      Protocol: 'email', Endpoint: 'ops@example.com', RedrivePolicy: { deadLetterTargetArn: Match.anyValue() },
    });
    alarm(template, 'MonitoringSubscriptionUndelivered');
  });

  test('failure rate: metric math over one hour with a minimum volume, missing data not breaching, notifies the topic', () => {
    const { template } = setup();
    const props = alarm(template, 'MonitoringFailureRateAlarm');
    expect(props).toMatchObject({
      Threshold: 10,
      ComparisonOperator: 'GreaterThanThreshold',
      TreatMissingData: 'notBreaching',
      EvaluationPeriods: 3,
      DatapointsToAlarm: 1,
      AlarmActions: [{ Ref: expect.stringMatching(/^MonitoringTopic/) }],
      OKActions: [{ Ref: expect.stringMatching(/^MonitoringTopic/) }],
    });
    const expr = props.Metrics.find((m: any) => m.Expression);
    expect(expr).toMatchObject({ Expression: 'IF(total >= 10, 100 * failed / total, 0)', ReturnData: true });
    expect(alarm(setup({ failureRateMinExports: 25 }).template, 'MonitoringFailureRateAlarm').Metrics.find((m: any) => m.Expression).Expression)
      .toBe('IF(total >= 25, 100 * failed / total, 0)');
    // The expression's explicit one-hour period is rendered onto its inputs.
    const inputs = props.Metrics.filter((m: any) => m.MetricStat).map((m: any) => m.MetricStat);
    expect(inputs).toEqual(expect.arrayContaining([
      { Metric: { Namespace: 'ExportOps', MetricName: 'ExportsFailed' }, Period: 3600, Stat: 'Maximum' },
      { Metric: { Namespace: 'ExportOps', MetricName: 'ExportsTotal' }, Period: 3600, Stat: 'Maximum' },
    ]));
  });

  test('duration, volume and cleanup-failure alarms with their thresholds', () => {
    const { template } = setup({ avgDurationThresholdMs: 4000, volumeThreshold: 500, cleanupFailuresThreshold: 7 });
    expect(alarm(template, 'MonitoringAverageDuration')).toMatchObject({
      MetricName: 'ExportDurationAvg', Namespace: 'ExportOps', Statistic: 'Maximum', Period: 3600, Threshold: 4000,
    });
    expect(alarm(template, 'MonitoringVolume')).toMatchObject({ MetricName: 'ExportsTotal', Statistic: 'Maximum', Period: 3600, Threshold: 500 });
    const fileFailures = alarm(template, 'MonitoringFileCleanupFailures');
    expect(fileFailures.Threshold).toBe(7);
    expect(fileFailures.Metrics.find((m: any) => m.Expression).Expression).toBe('FILL(f0, 0) + FILL(f1, 0)');
    expect(fileFailures.Metrics.filter((m: any) => m.MetricStat).map((m: any) => m.MetricStat)).toEqual(['FilesFailed', 'CleanupFailures'].map((name) => ({
      Metric: { Namespace: 'ExportOps', MetricName: name, Dimensions: [{ Name: 'Job', Value: 'file-cleanup' }] }, Period: 86400, Stat: 'Sum',
    })));
    // One count per failed run of a monthly job: any failure alarms (its own threshold wins).
    expect(alarm(template, 'MonitoringLogCleanupFailures')).toMatchObject({
      MetricName: 'LogCleanupFailures', Dimensions: [{ Name: 'Job', Value: 'log-cleanup' }], Statistic: 'Sum', Period: 86400, Threshold: 0,
    });
  });

  test.each(['FileCleanup', 'LogCleanup', 'MetricsAggregate'])('%s: errors alarm and undelivered (DLQ + failure destination) alarm', (job) => {
    const { template } = setup();
    expect(alarm(template, `Monitoring${job}Errors`)).toMatchObject({
      MetricName: 'Errors', Namespace: 'AWS/Lambda', Threshold: 0, ComparisonOperator: 'GreaterThanThreshold',
    });
    const undelivered = alarm(template, `Monitoring${job}Undelivered`);
    expect(undelivered.Threshold).toBe(0);
    expect(undelivered.Metrics.find((m: any) => m.Expression).Expression).toBe('FILL(q0, 0) + FILL(q1, 0)');
    const queues = undelivered.Metrics.filter((m: any) => m.MetricStat).map((m: any) => m.MetricStat.Metric.Dimensions[0].Value['Fn::GetAtt'][0]);
    expect(queues).toEqual([expect.stringMatching(/DeadLetterQueue/), expect.stringMatching(/FailureQueue/)]);
  });

  test.each(['FileCleanup', 'LogCleanup', 'MetricsAggregate'])('%s: throttles and close-to-timeout alarms', (job) => {
    const { template } = setup();
    expect(alarm(template, `Monitoring${job}Throttles`)).toMatchObject({
      MetricName: 'Throttles', Namespace: 'AWS/Lambda', Statistic: 'Sum', Period: 300, Threshold: 0, TreatMissingData: 'notBreaching',
    });
    // ScheduledJob's default timeout is 5 minutes: 80 % of it.
    expect(alarm(template, `Monitoring${job}NearTimeout`)).toMatchObject({
      MetricName: 'Duration', Namespace: 'AWS/Lambda', Statistic: 'Maximum', Period: 300, Threshold: 240_000, ComparisonOperator: 'GreaterThanThreshold',
    });
    expect(alarm(setup({ timeoutAlarmPercent: 90 }).template, `Monitoring${job}NearTimeout`).Threshold).toBe(270_000);
  });

  test('Scheduler target errors and dropped invocations of the jobs\' schedule group; none without a group', () => {
    const { template } = setup();
    const groupName = (Object.values(template.findResources('AWS::Scheduler::ScheduleGroup'))[0] as any).Properties.Name;
    template.resourcePropertiesCountIs('AWS::Scheduler::Schedule', { GroupName: groupName }, 3);
    for (const [id, metricName] of [['SchedulerTargetErrors', 'TargetErrorCount'], ['SchedulerDropped', 'InvocationDroppedCount']]) {
      expect(alarm(template, `Monitoring${id}`)).toMatchObject({
        Namespace: 'AWS/Scheduler', MetricName: metricName, Statistic: 'Sum', Period: 3600, Threshold: 0,
        Dimensions: [{ Name: 'ScheduleGroup', Value: groupName }],
      });
    }
    const without = Object.keys(setup({}, false).template.findResources('AWS::CloudWatch::Alarm'));
    expect(without.filter((id) => id.startsWith('MonitoringScheduler'))).toEqual([]);
  });

  test('SNS notifications that failed', () => {
    expect(alarm(setup().template, 'MonitoringNotificationsFailed')).toMatchObject({
      Namespace: 'AWS/SNS', MetricName: 'NumberOfNotificationsFailed', Statistic: 'Sum', Threshold: 0,
      Dimensions: [{ Name: 'TopicName', Value: { 'Fn::GetAtt': [expect.stringMatching(/^MonitoringTopic/), 'TopicName'] } }],
    });
  });

  test('every alarm: named <stack>-<id>, a runbook line, notifies on ALARM and OK', () => {
    const { template, monitoring } = setup({ alarmEmail: 'ops@example.com' });
    const alarms = Object.values(template.findResources('AWS::CloudWatch::Alarm')).map((a: any) => a.Properties);
    expect(alarms).toHaveLength(monitoring.specs.length);
    expect(alarms.map((a) => a.AlarmName).sort()).toEqual(monitoring.specs.map((s) => `Test-${s.id}`).sort());
    for (const a of alarms) {
      expect(a.AlarmDescription).toMatch(/^export-ops: .+\. Look at: .+\. Run: (npx export-ops|aws) /);
      expect(a.AlarmActions).toHaveLength(1);
      expect(a.OKActions).toHaveLength(1);
    }
  });

  test('heartbeat: alarms when the metrics job has not completed a run for two hours', () => {
    const { template } = setup();
    expect(alarm(template, 'MonitoringMetricsJobNotRunning')).toMatchObject({
      MetricName: 'JobDurationMs',
      Dimensions: [{ Name: 'Job', Value: 'metrics-aggregate' }],
      Statistic: 'SampleCount',
      Period: 3600,
      EvaluationPeriods: 2,
      Threshold: 1,
      ComparisonOperator: 'LessThanThreshold',
      TreatMissingData: 'breaching',
    });
    expect(alarm(setup({ heartbeatWindow: Duration.hours(3) }).template, 'MonitoringMetricsJobNotRunning').EvaluationPeriods).toBe(3);
  });

  test('heartbeat: the daily file cleanup has not completed a run in two day periods', () => {
    const { template } = setup();
    expect(alarm(template, 'MonitoringFileCleanupNotRunning')).toMatchObject({
      MetricName: 'JobDurationMs', Dimensions: [{ Name: 'Job', Value: 'file-cleanup' }], Statistic: 'SampleCount',
      Period: 86400, EvaluationPeriods: 2, DatapointsToAlarm: 2, Threshold: 1, ComparisonOperator: 'LessThanThreshold', TreatMissingData: 'breaching',
    });
  });

  test('heartbeat: the monthly log cleanup, by the age the metrics job reports, above 31 + 2 days', () => {
    expect(alarm(setup().template, 'MonitoringLogCleanupNotRunning')).toMatchObject({
      Namespace: 'ExportOps', MetricName: 'SecondsSinceLastSuccess', Dimensions: [{ Name: 'Job', Value: 'log-cleanup' }], Statistic: 'Maximum',
      Period: 3600, EvaluationPeriods: 1, Threshold: 33 * 86400, ComparisonOperator: 'GreaterThanThreshold', TreatMissingData: 'notBreaching',
    });
  });

  test('dashboard shows export and job metrics', () => {
    const { template } = setup();
    const body = JSON.stringify(template.findResources('AWS::CloudWatch::Dashboard'));
    for (const name of ['ExportsTotal', 'ExportsFailed', 'ExportDurationP95', 'ExportFileSizeMax', 'FilesDeleted', 'BytesReclaimed',
      'LogsArchived', 'ArchiveBytes', 'JobDurationMs', '\\"Format\\",\\"markdown\\"']) {
      expect(body).toContain(name);
    }
  });

  test('every read of a per-window export metric uses Maximum over the window\'s hour: a window emitted twice moves nothing', () => {
    const { template } = setup();
    const exportNames = new Set(Object.values(METRICS).filter((m) => m.dimensionSets.some((d) => d.length === 0)).map((m) => m.name));
    expect(exportNames).toContain('ExportsTotal');
    const reads: { where: string; stat: string; period: number }[] = [];
    for (const [id, a] of Object.entries(template.findResources('AWS::CloudWatch::Alarm'))) {
      const p = a.Properties;
      if (exportNames.has(p.MetricName)) reads.push({ where: id, stat: p.Statistic, period: p.Period });
      for (const m of p.Metrics ?? []) {
        if (exportNames.has(m.MetricStat?.Metric.MetricName)) reads.push({ where: `${id} ${m.Id}`, stat: m.MetricStat.Stat, period: m.MetricStat.Period });
      }
    }
    for (const d of Object.values(template.findResources('AWS::CloudWatch::Dashboard'))) {
      const raw = d.Properties.DashboardBody;
      const text = typeof raw === 'string' ? raw : raw['Fn::Join'][1].map((x: unknown) => (typeof x === 'string' ? x : '<token>')).join(raw['Fn::Join'][0]);
      for (const widget of JSON.parse(text).widgets) {
        for (const row of widget.properties.metrics ?? []) {
          if (row[0] !== 'ExportOps' || !exportNames.has(row[1])) continue;
          const options = row.find((x: unknown) => typeof x === 'object') ?? {};
          reads.push({ where: `${widget.properties.title} ${row[1]}`, stat: options.stat ?? 'Average', period: options.period ?? 300 });
        }
      }
    }
    expect(reads.length).toBeGreaterThan(20);
    expect(reads.filter((r) => r.stat !== 'Maximum' || r.period !== 3600)).toEqual([]);
  });

  test('Logs Insights saved queries for the common questions', () => {
    const { template } = setup();
    const queries = Object.values(template.findResources('AWS::Logs::QueryDefinition')).map((q: any) => q.Properties);
    expect(queries.map((q) => q.Name).sort()).toEqual([
      'export-ops/cleanup-results', 'export-ops/failures-by-format', 'export-ops/job-errors', 'export-ops/slow-exports',
    ]);
    const byFormat = queries.find((q) => q.Name === 'export-ops/failures-by-format');
    expect(byFormat.QueryString).toContain('by Format');
    expect(queries.find((q) => q.Name === 'export-ops/cleanup-results').LogGroupNames).toHaveLength(2);
  });

  test('cdk-nag reports nothing unacknowledged', () => {
    expect(nagFindings(setup({ alarmEmail: 'ops@example.com' }).stack)).toEqual([]);
  });
});
