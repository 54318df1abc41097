import { Duration, TimeZone } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as scheduler from 'aws-cdk-lib/aws-scheduler';
import { Monitoring, MonitoringProps } from '../../lib/monitoring';
import { ScheduledJob } from '../../lib/scheduled-job';
import { FIXTURE_ENTRY, nagFindings, testStack } from './helpers';

function setup(props: Partial<MonitoringProps> = {}) {
  const stack = testStack();
  const job = (jobName: string) => new ScheduledJob(stack, jobName, {
    jobName,
    entry: FIXTURE_ENTRY,
    schedule: scheduler.ScheduleExpression.expression('cron(0 * * * ? *)', TimeZone.ETC_UTC),
  });
  const monitoring = new Monitoring(stack, 'Monitoring', {
    exportMetricsJob: job('metrics-aggregate'),
    cleanupJobs: [
      { job: job('file-cleanup'), failureMetrics: ['FilesFailed', 'CleanupFailures'] },
      { job: job('log-cleanup'), failureMetrics: ['LogCleanupFailures'] },
    ],
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
  test('topic: KMS encrypted with a key CloudWatch may use, TLS only', () => {
    const { template } = setup();
    template.hasResourceProperties('AWS::SNS::Topic', { KmsMasterKeyId: Match.anyValue() });
    template.hasResourceProperties('AWS::KMS::Key', {
      EnableKeyRotation: true,
      KeyPolicy: { Statement: Match.arrayWith([Match.objectLike({ Principal: { Service: 'cloudwatch.amazonaws.com' } })]) },
    });
    template.hasResourceProperties('AWS::SNS::TopicPolicy', {
      PolicyDocument: { Statement: [Match.objectLike({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } })] },
    });
    template.resourceCountIs('AWS::SNS::Subscription', 0);
  });

  test('optional email subscription, with its own DLQ', () => {
    const { template } = setup({ alarmEmail: 'ops@example.com' });
    template.hasResourceProperties('AWS::SNS::Subscription', {
      Protocol: 'email', Endpoint: 'ops@example.com', RedrivePolicy: { deadLetterTargetArn: Match.anyValue() },
    });
    alarm(template, 'MonitoringSubscriptionUndelivered');
  });

  test('failure rate: metric math over one hour, missing data not breaching, notifies the topic', () => {
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
    expect(expr).toMatchObject({ Expression: 'IF(total > 0, 100 * failed / total, 0)', ReturnData: true });
    // The expression's explicit one-hour period is rendered onto its inputs.
    const inputs = props.Metrics.filter((m: any) => m.MetricStat).map((m: any) => m.MetricStat);
    expect(inputs).toEqual(expect.arrayContaining([
      { Metric: { Namespace: 'ExportOps', MetricName: 'ExportsFailed' }, Period: 3600, Stat: 'Sum' },
      { Metric: { Namespace: 'ExportOps', MetricName: 'ExportsTotal' }, Period: 3600, Stat: 'Sum' },
    ]));
  });

  test('duration, volume and cleanup-failure alarms with their thresholds', () => {
    const { template } = setup({ avgDurationThresholdMs: 4000, volumeThreshold: 500, cleanupFailuresThreshold: 7 });
    expect(alarm(template, 'MonitoringAverageDuration')).toMatchObject({
      MetricName: 'ExportDurationAvg', Namespace: 'ExportOps', Statistic: 'Average', Period: 3600, Threshold: 4000,
    });
    expect(alarm(template, 'MonitoringVolume')).toMatchObject({ MetricName: 'ExportsTotal', Statistic: 'Sum', Period: 3600, Threshold: 500 });
    const fileFailures = alarm(template, 'MonitoringFileCleanupFailures');
    expect(fileFailures.Threshold).toBe(7);
    expect(fileFailures.Metrics.find((m: any) => m.Expression).Expression).toBe('FILL(f0, 0) + FILL(f1, 0)');
    expect(fileFailures.Metrics.filter((m: any) => m.MetricStat).map((m: any) => m.MetricStat)).toEqual(['FilesFailed', 'CleanupFailures'].map((name) => ({
      Metric: { Namespace: 'ExportOps', MetricName: name, Dimensions: [{ Name: 'Job', Value: 'file-cleanup' }] }, Period: 86400, Stat: 'Sum',
    })));
    expect(alarm(template, 'MonitoringLogCleanupFailures')).toMatchObject({
      MetricName: 'LogCleanupFailures', Dimensions: [{ Name: 'Job', Value: 'log-cleanup' }], Threshold: 7,
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

  test('dashboard shows export and job metrics', () => {
    const { template } = setup();
    const body = JSON.stringify(template.findResources('AWS::CloudWatch::Dashboard'));
    for (const name of ['ExportsTotal', 'ExportsFailed', 'ExportDurationP95', 'ExportFileSizeMax', 'FilesDeleted', 'BytesReclaimed',
      'LogsArchived', 'ArchiveBytes', 'JobDurationMs', '\\"Format\\",\\"markdown\\"']) {
      expect(body).toContain(name);
    }
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
