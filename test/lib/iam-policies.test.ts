import { StackPolicies, type AwsRequest } from '../support/iam/evaluate';
import { synthesizedPolicies } from '../support/iam/stack-wiring';
import { ACCOUNT, REGION } from '../support/iam/template';

/**
 * The stack's own wiring, evaluated with AWS's policy evaluation logic (iam-simulate) on the
 * synthesized template: every delivery one AWS service makes to another for the stack is
 * allowed, and what no function may do is denied. The calls the jobs' code makes are checked
 * from a real run in test/lambdas/log-cleanup/aws-permissions.test.ts.
 */
const { policies, t, jobs, archiveBucket, archiveBucketId, archiveKeyArn } = synthesizedPolicies();
const OTHER_ACCOUNT = '444455556666';
const names = Object.keys(jobs).sort();
const role = (job: string) => ({ role: jobs[job].roleId, session: jobs[job].functionId });

const expectAllowed = async (requests: AwsRequest[]) => expect(await policies.denials(requests)).toEqual([]);
const expectDenied = async (requests: AwsRequest[]) => {
  const verdicts = await Promise.all(requests.map((r) => policies.evaluate(r)));
  expect(verdicts.filter((v) => v.result === 'Allowed').map((v) => v.summary)).toEqual([]);
};

describe('the stack under AWS policy evaluation (account 111122223333, eu-west-1)', () => {
  test('finds the three jobs and their wiring in the template', () => {
    expect(names).toEqual(['file-cleanup', 'log-cleanup', 'metrics-aggregate']);
    expect(archiveKeyArn).toMatch(/^arn:aws:kms:eu-west-1:111122223333:key\//);
  });

  test('resource policies are really evaluated: a request without TLS is explicitly denied by the bucket and queue policies', async () => {
    const plain = { 'aws:SecureTransport': 'false' };
    const verdicts = await Promise.all([
      policies.evaluate({ principal: role('log-cleanup'), action: 's3:PutObject', resource: `arn:aws:s3:::${archiveBucket}/export-logs/x`, context: plain }),
      policies.evaluate({ principal: role('log-cleanup'), action: 'sqs:SendMessage', resource: jobs['log-cleanup'].failureQueueArn, context: plain }),
    ]);
    expect(verdicts.map((v) => v.result)).toEqual(['ExplicitlyDenied', 'ExplicitlyDenied']);
    expect(verdicts[0].summary).toMatch(/denied by ArchiveBucketPolicy/);
  });

  describe('service-to-service deliveries', () => {
    test.each(names)('%s: Lambda may assume the function role, and only Lambda', async (job) => {
      const roleArn = t.getAtt(jobs[job].roleId, 'Arn');
      await expectAllowed([{ principal: { service: 'lambda.amazonaws.com' }, action: 'sts:AssumeRole', resource: roleArn }]);
      await expectDenied([{ principal: { service: 'scheduler.amazonaws.com' }, action: 'sts:AssumeRole', resource: roleArn }]);
    });

    test.each(names)('%s: Scheduler (this account only) assumes its role, starts its target (tick machine or function), and dead-letters to its DLQ', async (job) => {
      const j = jobs[job];
      const scheduleRoleArn = t.getAtt(j.scheduleRoleId, 'Arn');
      const scheduler = { principal: { role: j.scheduleRoleId, session: 'scheduler' } };
      const start = j.drain
        ? { ...scheduler, action: 'states:StartExecution', resource: j.drain.tickArn }
        : { ...scheduler, action: 'lambda:InvokeFunction', resource: j.functionArn };
      await expectAllowed([
        { principal: { service: 'scheduler.amazonaws.com' }, action: 'sts:AssumeRole', resource: scheduleRoleArn, context: { 'aws:SourceAccount': ACCOUNT } },
        start,
        { ...scheduler, action: 'sqs:SendMessage', resource: j.deadLetterQueueArn },
      ]);
      const other = jobs[names.find((n) => n !== job) as string];
      await expectDenied([
        // Another account's Scheduler (the confused deputy).
        { principal: { service: 'scheduler.amazonaws.com' }, action: 'sts:AssumeRole', resource: scheduleRoleArn, context: { 'aws:SourceAccount': OTHER_ACCOUNT } },
        { ...scheduler, action: 'lambda:InvokeFunction', resource: other.functionArn },
        { ...scheduler, action: 'sqs:SendMessage', resource: other.deadLetterQueueArn },
        { ...scheduler, action: 'sqs:SendMessage', resource: j.failureQueueArn },
        // A drained job's schedule only starts the tick: not the drain, not the function.
        ...(j.drain ? [
          { ...scheduler, action: 'lambda:InvokeFunction', resource: j.functionArn },
          { ...scheduler, action: 'states:StartExecution', resource: j.drain.drainArn },
        ] : []),
      ]);
    });

    test('drains: the tick may only list and start its drain; the drain may only invoke its function (and write DrainCapReached in its namespace)', async () => {
      const drained = names.filter((n) => jobs[n].drain);
      expect(drained.sort()).toEqual(['file-cleanup', 'log-cleanup']);
      for (const job of drained) {
        const { drain, functionArn } = { drain: jobs[job].drain!, functionArn: jobs[job].functionArn };
        const other = jobs[drained.find((n) => n !== job) as string];
        const tick = { principal: { role: drain.tickRoleId, session: 'tick' } };
        const runner = { principal: { role: drain.drainRoleId, session: 'drain' } };
        await expectAllowed([
          // Step Functions of this account (CDK's trust policy has the confused-deputy conditions).
          { principal: { service: 'states.amazonaws.com' }, action: 'sts:AssumeRole', resource: t.getAtt(drain.tickRoleId, 'Arn'),
            context: { 'aws:SourceAccount': ACCOUNT, 'aws:SourceArn': drain.tickArn } },
          { principal: { service: 'states.amazonaws.com' }, action: 'sts:AssumeRole', resource: t.getAtt(drain.drainRoleId, 'Arn'),
            context: { 'aws:SourceAccount': ACCOUNT, 'aws:SourceArn': drain.drainArn } },
          { ...tick, action: 'states:ListExecutions', resource: drain.drainArn },
          { ...tick, action: 'states:StartExecution', resource: drain.drainArn },
          { ...runner, action: 'lambda:InvokeFunction', resource: functionArn },
          { ...runner, action: 'cloudwatch:PutMetricData', resource: '*', context: { 'cloudwatch:namespace': 'ExportOps' } },
        ]);
        await expectDenied([
          { principal: { service: 'states.amazonaws.com' }, action: 'sts:AssumeRole', resource: t.getAtt(drain.drainRoleId, 'Arn'),
            context: { 'aws:SourceAccount': OTHER_ACCOUNT, 'aws:SourceArn': drain.drainArn.replace(ACCOUNT, OTHER_ACCOUNT) } },
          { ...tick, action: 'states:StartExecution', resource: other.drain!.drainArn },
          { ...tick, action: 'states:StartExecution', resource: drain.tickArn },
          { ...tick, action: 'lambda:InvokeFunction', resource: functionArn },
          { ...runner, action: 'lambda:InvokeFunction', resource: other.functionArn },
          { ...runner, action: 'states:StartExecution', resource: drain.drainArn },
          { ...runner, action: 'cloudwatch:PutMetricData', resource: '*', context: { 'cloudwatch:namespace': 'AWS/Lambda' } },
        ]);
      }
    });

    test.each(names)('%s: the function role writes its own log group and sends failed invocations to its failure destination', async (job) => {
      const j = jobs[job];
      const stream = `${j.logGroupArn.replace(/:\*$/, '')}:log-stream:2026/11/30/[$LATEST]0123456789abcdef`;
      await expectAllowed([
        { principal: role(job), action: 'logs:CreateLogStream', resource: stream },
        { principal: role(job), action: 'logs:PutLogEvents', resource: stream },
        { principal: role(job), action: 'sqs:SendMessage', resource: j.failureQueueArn },
      ]);
      const other = jobs[names.find((n) => n !== job) as string];
      await expectDenied([
        { principal: role(job), action: 'logs:PutLogEvents', resource: `${other.logGroupArn.replace(/:\*$/, '')}:log-stream:x` },
        { principal: role(job), action: 'sqs:SendMessage', resource: other.failureQueueArn },
        { principal: role(job), action: 'sqs:SendMessage', resource: j.deadLetterQueueArn },
      ]);
    });

    test('S3 server access logs of the archive are delivered to the log bucket (logging.s3.amazonaws.com, this bucket and account only)', async () => {
      const logging = t.prop(archiveBucketId, 'LoggingConfiguration');
      const target = `arn:aws:s3:::${logging.DestinationBucketName}/${logging.LogFilePrefix}2026-11-30-12-00-00-0123456789ABCDEF`;
      const delivery = (context: Record<string, string>, resource = target): AwsRequest =>
        ({ principal: { service: 'logging.s3.amazonaws.com' }, action: 's3:PutObject', resource, context });
      await expectAllowed([delivery({ 'aws:SourceArn': `arn:aws:s3:::${archiveBucket}`, 'aws:SourceAccount': ACCOUNT })]);
      await expectDenied([
        delivery({ 'aws:SourceArn': 'arn:aws:s3:::someone-elses-bucket', 'aws:SourceAccount': ACCOUNT }),
        delivery({ 'aws:SourceArn': `arn:aws:s3:::${archiveBucket}`, 'aws:SourceAccount': OTHER_ACCOUNT }),
        delivery({ 'aws:SourceArn': `arn:aws:s3:::${archiveBucket}`, 'aws:SourceAccount': ACCOUNT }, `arn:aws:s3:::${logging.DestinationBucketName}/elsewhere/x`),
      ]);
    });

    /** Every alarm action's topic, with the alarm that publishes to it. */
    const alarmDeliveries = () => t.ofType('AWS::CloudWatch::Alarm').flatMap((alarm) =>
      ['AlarmActions', 'OKActions', 'InsufficientDataActions'].flatMap((p) => (t.prop(alarm, p) ?? []) as string[])
        .map((topicArn) => ({ alarmArn: t.getAtt(alarm, 'Arn'), topicArn })));

    test('every alarm action is an SNS topic of the stack, encrypted with a key of the stack', () => {
      const deliveries = alarmDeliveries();
      expect(deliveries.length).toBeGreaterThan(0);
      for (const { topicArn } of deliveries) {
        const topic = t.ofType('AWS::SNS::Topic').find((id) => t.ref(id) === topicArn);
        expect(topic).toBeDefined();
        expect(t.prop(topic as string, 'KmsMasterKeyId')).toBeDefined();
      }
    });

    const topicKeyArn = (topicArn: string) => {
      const topic = t.ofType('AWS::SNS::Topic').find((id) => t.ref(id) === topicArn) as string;
      const key = String(t.prop(topic, 'KmsMasterKeyId'));
      return key.startsWith('arn:') ? key : `arn:aws:kms:${REGION}:${ACCOUNT}:key/${key}`;
    };

    test('CloudWatch may use the alarm topic\'s KMS key (kms:GenerateDataKey*, kms:Decrypt)', async () => {
      await expectAllowed(alarmDeliveries().flatMap(({ alarmArn, topicArn }) =>
        ['kms:GenerateDataKey', 'kms:Decrypt'].map((action) => ({
          principal: { service: 'cloudwatch.amazonaws.com' }, action, resource: topicKeyArn(topicArn),
          context: { 'aws:SourceArn': alarmArn, 'aws:SourceAccount': ACCOUNT },
        }))));
    });

    test('the publish check passes once the topic policy allows CloudWatch from this account (AWS\'s documented statement)', async () => {
      const fixed = JSON.parse(JSON.stringify(policies.t.template));
      for (const id of t.ofType('AWS::SNS::TopicPolicy')) {
        fixed.Resources[id].Properties.PolicyDocument.Statement.push({
          Effect: 'Allow', Principal: { Service: 'cloudwatch.amazonaws.com' }, Action: 'sns:Publish',
          Resource: fixed.Resources[id].Properties.Topics[0], Condition: { StringEquals: { 'aws:SourceAccount': ACCOUNT } },
        });
      }
      const patched = new StackPolicies(fixed);
      const publish = (account: string) => alarmDeliveries().map(({ alarmArn, topicArn }) => patched.evaluate({
        principal: { service: 'cloudwatch.amazonaws.com' }, action: 'sns:Publish', resource: topicArn,
        context: { 'aws:SourceArn': alarmArn, 'aws:SourceAccount': account },
      }));
      expect(new Set((await Promise.all(publish(ACCOUNT))).map((v) => v.result))).toEqual(new Set(['Allowed']));
      expect(new Set((await Promise.all(publish(OTHER_ACCOUNT))).map((v) => v.result))).toEqual(new Set(['ImplicitlyDenied']));
    });

    // A topic policy replaces SNS's default one: with only the TLS Deny (as before
    // lib/monitoring/alarm-topic.ts added the Allow), nothing let cloudwatch.amazonaws.com publish
    // and every alarm notification was dropped. This failed then.
    test('CloudWatch alarms may publish to the alarm topic (sns:Publish, from this account\'s alarms)', async () => {
      const deliveries = alarmDeliveries();
      await expectAllowed(deliveries.map(({ alarmArn, topicArn }) => ({
        principal: { service: 'cloudwatch.amazonaws.com' }, action: 'sns:Publish', resource: topicArn,
        context: { 'aws:SourceArn': alarmArn, 'aws:SourceAccount': ACCOUNT },
      })));
    });
  });

  describe('what no function may do', () => {
    const objects = (key: string) => `arn:aws:s3:::${archiveBucket}/${key}`;

    test('log-cleanup cannot write, read or list outside its archive prefix', async () => {
      await expectAllowed([
        { principal: role('log-cleanup'), action: 's3:PutObject', resource: objects('export-logs/2026/10/part.ndjson.gz') },
        { principal: role('log-cleanup'), action: 's3:ListBucket', resource: `arn:aws:s3:::${archiveBucket}`, context: { 's3:prefix': 'export-logs/2026/' } },
      ]);
      await expectDenied([
        { principal: role('log-cleanup'), action: 's3:PutObject', resource: objects('other/x') },
        { principal: role('log-cleanup'), action: 's3:PutObject', resource: objects('export-logs-not/x') },
        { principal: role('log-cleanup'), action: 's3:PutObject', resource: objects('x') },
        { principal: role('log-cleanup'), action: 's3:GetObject', resource: objects('other/x') },
        { principal: role('log-cleanup'), action: 's3:ListBucket', resource: `arn:aws:s3:::${archiveBucket}`, context: { 's3:prefix': 'other/' } },
        { principal: role('log-cleanup'), action: 's3:ListBucket', resource: `arn:aws:s3:::${archiveBucket}` },
        { principal: role('log-cleanup'), action: 's3:PutObject', resource: 'arn:aws:s3:::another-bucket/export-logs/x' },
      ]);
    });

    test.each(names)('%s cannot read another secret than its own', async (job) => {
      const own = jobs[job].env.SUPABASE_SERVICE_ROLE_KEY_SECRET_ID;
      await expectAllowed([{ principal: role(job), action: 'secretsmanager:GetSecretValue', resource: own }]);
      await expectDenied([
        { principal: role(job), action: 'secretsmanager:GetSecretValue', resource: `arn:aws:secretsmanager:${REGION}:${ACCOUNT}:secret:prod/other-AbCdEf` },
        { principal: role(job), action: 'secretsmanager:DescribeSecret', resource: own },
        { principal: role(job), action: 'secretsmanager:PutSecretValue', resource: own },
      ]);
    });

    test.each(['file-cleanup', 'metrics-aggregate'])('%s cannot touch the archive bucket or its key at all', async (job) => {
      await expectDenied([
        ...['s3:PutObject', 's3:GetObject', 's3:DeleteObject', 's3:AbortMultipartUpload'].map((action) =>
          ({ principal: role(job), action, resource: objects('export-logs/2026/10/part.ndjson.gz') })),
        { principal: role(job), action: 's3:ListBucket', resource: `arn:aws:s3:::${archiveBucket}`, context: { 's3:prefix': 'export-logs/' } },
        ...['kms:Decrypt', 'kms:GenerateDataKey'].map((action) => ({ principal: role(job), action, resource: archiveKeyArn as string })),
      ]);
    });

    test.each(names)('%s cannot delete, overwrite the retention of, or expire archived objects', async (job) => {
      const key = objects('export-logs/2026/10/part.ndjson.gz');
      await expectDenied([
        { principal: role(job), action: 's3:DeleteObject', resource: key },
        { principal: role(job), action: 's3:DeleteObjectVersion', resource: key },
        { principal: role(job), action: 's3:BypassGovernanceRetention', resource: key },
        { principal: role(job), action: 's3:PutObjectRetention', resource: key },
        { principal: role(job), action: 's3:PutLifecycleConfiguration', resource: `arn:aws:s3:::${archiveBucket}` },
        { principal: role(job), action: 's3:PutBucketPolicy', resource: `arn:aws:s3:::${archiveBucket}` },
      ]);
    });
  });
});
