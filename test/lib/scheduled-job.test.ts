import { Duration } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as scheduler from 'aws-cdk-lib/aws-scheduler';
import { TimeZone } from 'aws-cdk-lib';
import { METRICS } from '../../lambdas/shared/metric-catalog';
import { JOB_PROCESS_ENV, ScheduledJob } from '../../lib/scheduled-job';
import { FIXTURE_ENTRY, nagFindings, testStack } from './helpers';

function setup(extra: Partial<ConstructorParameters<typeof ScheduledJob>[2]> = {}) {
  const stack = testStack();
  const job = new ScheduledJob(stack, 'Job', {
    jobName: 'file-cleanup',
    entry: FIXTURE_ENTRY,
    schedule: scheduler.ScheduleExpression.expression('cron(0 2 * * ? *)', TimeZone.EUROPE_BERLIN),
    memorySize: 512,
    timeout: Duration.minutes(15),
    environment: { EXPORTS_BUCKET: 'exports' },
    ...extra,
  });
  return { stack, job, template: Template.fromStack(stack) };
}

describe('ScheduledJob', () => {
  test('function: Node.js 24 on ARM64, sized, with source maps enabled and Powertools settings', () => {
    const { template } = setup();
    template.hasResourceProperties('AWS::Lambda::Function', {
      Runtime: 'nodejs24.x',
      Architectures: ['arm64'],
      MemorySize: 512,
      Timeout: 900,
      Handler: 'index.handler',
      Environment: {
        Variables: {
          EXPORTS_BUCKET: 'exports',
          ...JOB_PROCESS_ENV,
          POWERTOOLS_SERVICE_NAME: 'file-cleanup',
          POWERTOOLS_METRICS_NAMESPACE: 'ExportOps',
        },
      },
      LoggingConfig: { LogGroup: { Ref: Match.stringLikeRegexp('^JobLogGroup') } },
    });
    // No reserved concurrency by default: new accounts cannot reserve any.
    template.hasResourceProperties('AWS::Lambda::Function', { ReservedConcurrentExecutions: Match.absent() });
  });

  test('log group: retention, Standard class (EMF is extracted)', () => {
    setup().template.hasResourceProperties('AWS::Logs::LogGroup', { RetentionInDays: 30, LogGroupClass: 'STANDARD' });
  });

  test('own role: no managed policies, log writes scoped to its log group', () => {
    const { template } = setup();
    template.hasResourceProperties('AWS::IAM::Role', {
      AssumeRolePolicyDocument: { Statement: [Match.objectLike({ Principal: { Service: 'lambda.amazonaws.com' } })] },
      ManagedPolicyArns: Match.absent(),
    });
    template.hasResourceProperties('AWS::IAM::Policy', {
      PolicyDocument: { Statement: Match.arrayWith([{
        Action: ['logs:CreateLogStream', 'logs:PutLogEvents'],
        Effect: 'Allow',
        Resource: { 'Fn::GetAtt': [Match.stringLikeRegexp('^JobLogGroup'), 'Arn'] },
      }]) },
    });
  });

  test("async failures go to the function's own failure destination, after bounded retries", () => {
    setup().template.hasResourceProperties('AWS::Lambda::EventInvokeConfig', {
      DestinationConfig: { OnFailure: { Destination: { 'Fn::GetAtt': [Match.stringLikeRegexp('^JobFailureQueue'), 'Arn'] } } },
      MaximumRetryAttempts: 2,
      MaximumEventAgeInSeconds: 3600,
    });
  });

  test('schedule: cron in its time zone, passes scheduledTime, retry policy and DLQ', () => {
    setup().template.hasResourceProperties('AWS::Scheduler::Schedule', {
      ScheduleExpression: 'cron(0 2 * * ? *)',
      ScheduleExpressionTimezone: 'Europe/Berlin',
      FlexibleTimeWindow: { Mode: 'OFF' },
      State: 'ENABLED',
      Target: {
        Arn: { 'Fn::GetAtt': [Match.stringLikeRegexp('^JobFunction'), 'Arn'] },
        Input: JSON.stringify({ scheduledTime: '<aws.scheduler.scheduled-time>' }),
        RetryPolicy: { MaximumRetryAttempts: 3, MaximumEventAgeInSeconds: 3600 },
        DeadLetterConfig: { Arn: { 'Fn::GetAtt': [Match.stringLikeRegexp('^JobDeadLetterQueue'), 'Arn'] } },
      },
    });
  });

  test('queues: encrypted, TLS only, 14 days retention', () => {
    const { template } = setup();
    template.resourcePropertiesCountIs('AWS::SQS::Queue', { SqsManagedSseEnabled: true, MessageRetentionPeriod: 1209600 }, 2);
    template.resourcePropertiesCountIs('AWS::SQS::QueuePolicy', {
      PolicyDocument: { Statement: [Match.objectLike({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } })] },
    }, 2);
  });

  test('options: reserved concurrency, retries, disabled schedule', () => {
    const { template } = setup({ reservedConcurrentExecutions: 1, asyncRetryAttempts: 0, scheduleRetryAttempts: 0, enabled: false });
    template.hasResourceProperties('AWS::Lambda::Function', { ReservedConcurrentExecutions: 1 });
    template.hasResourceProperties('AWS::Lambda::EventInvokeConfig', { MaximumRetryAttempts: 0 });
    template.hasResourceProperties('AWS::Scheduler::Schedule', { State: 'DISABLED', Target: Match.objectLike({ RetryPolicy: Match.objectLike({ MaximumRetryAttempts: 0 }) }) });
  });

  test('metric() carries the Job dimension and namespace', () => {
    const { job } = setup({ metricsNamespace: 'Custom' });
    const metric = job.metric(METRICS.FilesDeleted);
    expect(metric.namespace).toBe('Custom');
    expect(metric.dimensions).toEqual({ Job: 'file-cleanup' });
    expect(metric.metricName).toBe('FilesDeleted');
    // A metric the catalog does not have this job emit cannot be built.
    expect(() => job.metric(METRICS.LogsArchived)).toThrow(/not emitted by file-cleanup/);
  });

  test('cdk-nag AwsSolutions and Serverless report nothing unacknowledged', () => {
    expect(nagFindings(setup().stack)).toEqual([]);
  });
});
