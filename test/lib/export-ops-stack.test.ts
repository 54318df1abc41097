import { Validations } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { stateMachineDefinitions } from '../support/sfn/definitions';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { AwsSolutionsChecks, ServerlessChecks } from 'cdk-nag';
import type { SettingsTable } from '../../lambdas/shared/setting-kinds';
import { SETTINGS } from '../../lambdas/shared/settings';
import { ExportOpsStack } from '../../lib/export-ops-stack';
import { JOB_PROCESS_ENV } from '../../lib/scheduled-job';
import { exportOpsStack, FIXTURE_HANDLERS, nagFindings, testApp } from './helpers';

const functions = (template: Template) =>
  Object.fromEntries(Object.values(template.findResources('AWS::Lambda::Function')).map((f: any) =>
    [f.Properties.Environment.Variables.POWERTOOLS_SERVICE_NAME, f.Properties]));

describe('ExportOpsStack', () => {
  test('synthesizes from the supabaseUrl context alone, everything else defaulted', () => {
    const stack = new ExportOpsStack(testApp({ supabaseUrl: 'https://abc.supabase.co' }), 'ExportOps', { handlersDir: FIXTURE_HANDLERS });
    const template = Template.fromStack(stack);
    template.resourceCountIs('AWS::Lambda::Function', 3);
    template.resourceCountIs('AWS::Scheduler::Schedule', 3);
    template.resourceCountIs('AWS::SecretsManager::Secret', 1);
    template.resourceCountIs('AWS::Glue::Table', 0);
    for (const [cron] of [['cron(0 2 * * ? *)'], ['cron(0 3 1 * ? *)'], ['cron(0 * * * ? *)']]) {
      template.hasResourceProperties('AWS::Scheduler::Schedule', { ScheduleExpression: cron, ScheduleExpressionTimezone: 'UTC' });
    }
  });

  test('a missing Supabase URL fails synth with a clear error', () => {
    expect(() => new ExportOpsStack(testApp(), 'ExportOps', { handlersDir: FIXTURE_HANDLERS })).toThrow(/supabaseUrl.*required/);
  });

  test('each function gets its sizing and environment', () => {
    const fns = functions(Template.fromStack(exportOpsStack()));
    const secretId = { Ref: expect.stringMatching(/^ServiceRoleKey/) };
    const common = { SUPABASE_URL: 'https://abc.supabase.co', SUPABASE_SERVICE_ROLE_KEY_SECRET_ID: secretId, ...JOB_PROCESS_ENV, POWERTOOLS_METRICS_NAMESPACE: 'ExportOps' };
    expect(fns['file-cleanup']).toMatchObject({ MemorySize: 512, Timeout: 900, Environment: { Variables: {
      ...common, EXPORTS_BUCKET: 'exports', FILE_RETENTION_HOURS: '24', FILE_GRACE_HOURS: '0',
      ORPHAN_GRACE_HOURS: '48', DELETE_ORPHANS: 'false', MAX_FILE_ATTEMPTS: '5' } } });
    expect(fns['log-cleanup']).toMatchObject({ MemorySize: 1769, Timeout: 900, Environment: { Variables: {
      ...common, ARCHIVE_BUCKET: { Ref: expect.stringMatching(/^ArchiveBucket/) }, ARCHIVE_PREFIX: 'export-logs', LOG_RETENTION_DAYS: '30',
      ARCHIVE_ENABLED: 'true', ALLOW_UNARCHIVED_DELETE: 'false' } } });
    expect(fns['metrics-aggregate']).toMatchObject({ MemorySize: 256, Timeout: 600, Environment: { Variables: { ...common, METRICS_LAG_MINUTES: '15' } } });
    // Only the settings each job uses (the settings table's `jobs`), besides how its process runs (JOB_PROCESS_ENV).
    const usedBy = (job: string) => new Set(Object.values(SETTINGS as SettingsTable)
      .filter((s) => s.env !== undefined && (s.jobs === 'all' || (s.jobs as readonly string[]).includes(job))).map((s) => s.env));
    for (const job of ['file-cleanup', 'log-cleanup', 'metrics-aggregate']) {
      const foreign = Object.keys(fns[job].Environment.Variables).filter((name) => !(name in JOB_PROCESS_ENV) && !usedBy(job).has(name));
      expect({ job, foreign }).toEqual({ job, foreign: [] });
    }
    expect(fns['file-cleanup'].Environment.Variables).not.toHaveProperty('METRICS_LAG_MINUTES');
    expect(fns['metrics-aggregate'].Environment.Variables).not.toHaveProperty('ARCHIVE_BUCKET');
    // The key itself is never an environment value.
    expect(JSON.stringify(fns)).not.toMatch(/SUPABASE_SERVICE_ROLE_KEY"/);
  });

  test('settings flow through: crons, time zone, namespace, retentions, job options', () => {
    const template = Template.fromStack(exportOpsStack({}, {
      fileCleanupCron: '30 1 * * ? *', scheduleTimeZone: 'Europe/Berlin', metricsNamespace: 'Acme/Exports',
      fileRetentionHours: '48', exportsBucket: 'user-exports', functionLogRetentionDays: '90', archivePrefix: 'audit/exports',
      deleteOrphans: 'true', archiveEnabled: 'false', allowUnarchivedDelete: 'true', metricsLagMinutes: '30', failureRateMinExports: '20',
      fileGraceHours: '1.5', storageUrlOrigins: 'https://files.example.com, https://abc.supabase.co',
      fileCleanupWorkers: '4', drainMaxIterations: '50', drainMaxHours: '2.5',
    }));
    template.hasResourceProperties('AWS::Scheduler::Schedule', { ScheduleExpression: 'cron(30 1 * * ? *)', ScheduleExpressionTimezone: 'Europe/Berlin' });
    // Three function log groups and the two drains' execution log groups.
    template.resourcePropertiesCountIs('AWS::Logs::LogGroup', { RetentionInDays: 90 }, 5);
    const drain = stateMachineDefinitions(template)['file-cleanup'].drain;
    expect(drain.States.Workers).toMatchObject({ Type: 'Map', MaxConcurrency: 4 });
    expect(JSON.stringify(drain.States.Workers.ItemProcessor.States.WorkLeft)).toContain('"NumericGreaterThanEquals":50');
    expect(JSON.stringify(drain.States.Workers.ItemProcessor.States.WorkLeft)).toContain(`"NumericGreaterThanEquals":${2.5 * 3_600_000}`);
    expect(drain.States.PlanWorkers.Parameters['workers.$']).toBe('States.ArrayRange(1, 4, 1)');
    const fns = functions(template);
    expect(fns['file-cleanup'].Environment.Variables).toMatchObject({ FILE_RETENTION_HOURS: '48', EXPORTS_BUCKET: 'user-exports', POWERTOOLS_METRICS_NAMESPACE: 'Acme/Exports' });
    expect(fns['log-cleanup'].Environment.Variables).toMatchObject({ ARCHIVE_PREFIX: 'audit/exports', ARCHIVE_ENABLED: 'false', ALLOW_UNARCHIVED_DELETE: 'true' });
    expect(fns['file-cleanup'].Environment.Variables.DELETE_ORPHANS).toBe('true');
    // A fraction of an hour, as the function accepts it; the origins as one comma-separated list.
    expect(fns['file-cleanup'].Environment.Variables).toMatchObject({ FILE_GRACE_HOURS: '1.5', STORAGE_URL_ORIGINS: 'https://files.example.com,https://abc.supabase.co' });
    expect(fns['metrics-aggregate'].Environment.Variables.METRICS_LAG_MINUTES).toBe('30');
    template.hasResourceProperties('AWS::CloudWatch::Alarm', { MetricName: 'ExportsTotal', Namespace: 'Acme/Exports' });
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      AlarmName: 'ExportOps-FailureRate', Metrics: Match.arrayWith([Match.objectLike({ Expression: 'IF(total >= 20, 100 * failed / total, 0)' })]),
    });
  });

  test('new secret: blank placeholder, each function may only GetSecretValue on it', () => {
    const template = Template.fromStack(exportOpsStack());
    template.hasResourceProperties('AWS::SecretsManager::Secret', { SecretString: ' ', GenerateSecretString: Match.absent() });
    const grants = Object.values(template.findResources('AWS::IAM::Policy'))
      .flatMap((p: any) => p.Properties.PolicyDocument.Statement)
      .filter((s: any) => JSON.stringify(s.Action).includes('secretsmanager'));
    expect(grants).toHaveLength(3);
    for (const g of grants) expect(g).toEqual({ Action: 'secretsmanager:GetSecretValue', Effect: 'Allow', Resource: { Ref: expect.stringMatching(/^ServiceRoleKey/) } });
  });

  test.each([
    ['name', 'prod/supabase', 'prod/supabase', ':secretsmanager:eu-west-1:123456789012:secret:prod/supabase-??????'],
    ['complete ARN', 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:prod/supabase-AbCdEf',
      'arn:aws:secretsmanager:eu-west-1:123456789012:secret:prod/supabase-AbCdEf', 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:prod/supabase-AbCdEf'],
    ['partial ARN', 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:prod/supabase',
      'arn:aws:secretsmanager:eu-west-1:123456789012:secret:prod/supabase', 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:prod/supabase-??????'],
  ])('existing secret by %s: no new secret, grant scoped to it', (_, ref, secretId, resource) => {
    const stack = exportOpsStack({ serviceRoleKeySecret: ref });
    const template = Template.fromStack(stack);
    template.resourceCountIs('AWS::SecretsManager::Secret', 0);
    expect(functions(template)['file-cleanup'].Environment.Variables.SUPABASE_SERVICE_ROLE_KEY_SECRET_ID).toBe(secretId);
    const grant = Object.values(template.findResources('AWS::IAM::Policy'))
      .flatMap((p: any) => p.Properties.PolicyDocument.Statement)
      .find((s: any) => s.Action === 'secretsmanager:GetSecretValue');
    // The grant carries the suffix wildcard only when the ARN's random suffix is unknown.
    expect(JSON.stringify(grant.Resource)).toContain(`${resource}"`);
  });

  test('only the log job may touch the archive, and only under its prefix', () => {
    const template = Template.fromStack(exportOpsStack());
    const s3Statements = Object.entries(template.findResources('AWS::IAM::Policy'))
      .flatMap(([id, p]: [string, any]) => p.Properties.PolicyDocument.Statement.map((s: any) => ({ id, ...s })))
      .filter((s: any) => JSON.stringify(s.Action).includes('s3:'));
    expect(s3Statements.map((s) => s.id)).toEqual([expect.stringMatching(/^LogCleanupRole/), expect.stringMatching(/^LogCleanupRole/)]);
    expect(JSON.stringify(s3Statements)).not.toMatch(/s3:Delete|s3:\*|s3:PutBucket/);
  });

  test('optional Glue table, archive options and alarm email', () => {
    const template = Template.fromStack(exportOpsStack({
      archiveTable: true, glueDatabaseName: 'ops', archiveEncryption: 's3', archiveObjectLockDays: 365, archiveExpirationDays: 3650, alarmEmail: 'ops@example.com',
    }));
    template.hasResourceProperties('AWS::Glue::Database', { DatabaseInput: { Name: 'ops' } });
    template.hasResourceProperties('AWS::S3::Bucket', {
      ObjectLockConfiguration: { ObjectLockEnabled: 'Enabled', Rule: { DefaultRetention: { Mode: 'GOVERNANCE', Days: 365 } } },
      LifecycleConfiguration: { Rules: [Match.objectLike({ ExpirationInDays: 3650 })] },
    });
    template.hasResourceProperties('AWS::SNS::Subscription', { Protocol: 'email', Endpoint: 'ops@example.com' });
    template.resourcePropertiesCountIs('AWS::KMS::Key', { Description: 'export-ops archive bucket' }, 0);
  });

  test.each([
    ['defaults', {}],
    ['all options', { archiveTable: true, alarmEmail: 'ops@example.com', archiveEncryption: 's3' as const, archiveObjectLockDays: 30, serviceRoleKeySecret: 'prod/supabase' }],
  ])('cdk-nag AwsSolutions and Serverless report nothing unacknowledged (%s)', (_, props) => {
    expect(nagFindings(exportOpsStack(props))).toEqual([]);
  });

  test('the nag checks do catch an unacknowledged finding', () => {
    const stack = exportOpsStack();
    new s3.Bucket(stack, 'Careless');
    expect(nagFindings(stack)).toEqual(expect.arrayContaining([expect.stringMatching(/^AwsSolutions-S1 at ExportOps\/Careless/)]));
  });

  test.each([[false], [true]])('app synth with the nag plugins registered, as bin/export-ops.ts does (careless bucket: %s)', (careless) => {
    const stack = exportOpsStack();
    if (careless) new s3.Bucket(stack, 'Careless');
    const app = stack.node.root as ReturnType<typeof testApp>;
    Validations.of(app).addPlugins(new AwsSolutionsChecks(app), new ServerlessChecks(app));
    if (careless) expect(() => app.synth()).toThrow(/ExportOps\/Careless[\s\S]*AwsSolutions-S1/);
    else expect(() => app.synth()).not.toThrow();
  });
});
