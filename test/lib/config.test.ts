import { App } from 'aws-cdk-lib';
import { DEFAULTS, ExportOpsSettings, resolveConfig } from '../../lib/config';

const resolve = (context: Record<string, unknown>, props: ExportOpsSettings = {}) =>
  resolveConfig(new App({ context }), props);
const url = { supabaseUrl: 'https://abc.supabase.co' };

describe('resolveConfig', () => {
  test('only supabaseUrl is needed; everything else has its default', () => {
    expect(resolve(url)).toEqual({ ...DEFAULTS, supabaseUrl: 'https://abc.supabase.co', serviceRoleKeySecret: undefined, alarmEmail: undefined });
  });

  test('parses CLI context strings into numbers and booleans', () => {
    const config = resolve({ ...url, logRetentionDays: '90', fileGraceHours: '2', archiveTable: 'true', archiveObjectLockDays: '365' });
    expect(config).toMatchObject({ logRetentionDays: 90, fileGraceHours: 2, archiveTable: true, archiveObjectLockDays: 365 });
  });

  test('grace hours and the metrics lag may be fractions, as the functions accept them', () => {
    expect(resolve({ ...url, fileGraceHours: '1.5', orphanGraceHours: 0.5, metricsLagMinutes: '7.5' }))
      .toMatchObject({ fileGraceHours: 1.5, orphanGraceHours: 0.5, metricsLagMinutes: 7.5 });
  });

  test('names every bad key at once', () => {
    expect(() => resolve({ ...url, logRetentionDays: '0', archiveTable: 'yes', metricsCron: 'hourly' }))
      .toThrow(/'logRetentionDays'.*\n.*'metricsCron'.*\n.*'archiveTable'/);
  });

  test('stack props win over context', () => {
    expect(resolve({ ...url, exportsBucket: 'from-context' }, { exportsBucket: 'from-props' }).exportsBucket).toBe('from-props');
  });

  test('normalises cron: accepts the cron(...) wrapper and strips a trailing URL slash', () => {
    const config = resolve({ supabaseUrl: 'https://abc.supabase.co/', metricsCron: 'cron(15 * * * ? *)' });
    expect(config.metricsCron).toBe('15 * * * ? *');
    expect(config.supabaseUrl).toBe('https://abc.supabase.co');
  });

  test('accepts an existing secret by name or ARN', () => {
    expect(resolve({ ...url, serviceRoleKeySecret: 'prod/supabase' }).serviceRoleKeySecret).toBe('prod/supabase');
    const arn = 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:prod/supabase-AbCdEf';
    expect(resolve({ ...url, serviceRoleKeySecret: arn }).serviceRoleKeySecret).toBe(arn);
  });

  test.each<[string, Record<string, unknown>, RegExp]>([
    ['missing Supabase URL', {}, /'supabaseUrl'.*is required/],
    ['Supabase URL not a URL', { supabaseUrl: 'abc.supabase.co' }, /'supabaseUrl'.*absolute URL/],
    ['Supabase URL over plain http', { supabaseUrl: 'http://abc.supabase.co' }, /'supabaseUrl'.*https/],
    ['negative retention', { ...url, logRetentionDays: '-1' }, /'logRetentionDays'.*at least 1.*"-1"/],
    ['negative grace', { ...url, fileGraceHours: -2 }, /'fileGraceHours'.*must not be negative/],
    ['fractional hours', { ...url, fileRetentionHours: '1.5' }, /'fileRetentionHours'.*whole number/],
    ['orphan deletion not a boolean', { ...url, deleteOrphans: 'yes' }, /'deleteOrphans'.*true or false/],
    ['zero attempts', { ...url, maxFileAttempts: '0' }, /'maxFileAttempts'.*at least 1/],
    ['five-field cron', { ...url, fileCleanupCron: '0 2 * * *' }, /'fileCleanupCron'.*six-field/],
    ['hour out of range', { ...url, fileCleanupCron: '0 25 * * ? *' }, /'fileCleanupCron'.*hours field '25'/],
    ['both day fields set', { ...url, logCleanupCron: '0 3 1 * MON *' }, /'logCleanupCron'.*exactly one/],
    ['unknown time zone', { ...url, scheduleTimeZone: 'Mars/Olympus' }, /'scheduleTimeZone'.*IANA/],
    ['log retention CloudWatch refuses', { ...url, functionLogRetentionDays: 31 }, /'functionLogRetentionDays'.*one of/],
    ['bad email', { ...url, alarmEmail: 'ops' }, /'alarmEmail'/],
    ['failure rate above 100', { ...url, failureRateThreshold: 150 }, /'failureRateThreshold'.*percentage/],
    ['expiry before tiering', { ...url, archiveTransitionDays: 30, archiveExpirationDays: 10 }, /'archiveExpirationDays'.*greater than archiveTransitionDays/],
    ['unknown encryption', { ...url, archiveEncryption: 'none' }, /'archiveEncryption'.*kms, s3/],
    ['bad secret ARN', { ...url, serviceRoleKeySecret: 'arn:aws:s3:::bucket' }, /'serviceRoleKeySecret'/],
    ['prefix with slashes', { ...url, archivePrefix: '/logs/' }, /'archivePrefix'/],
    ['boolean typo', { ...url, archiveTable: 'yes' }, /'archiveTable'.*true or false/],
  ])('rejects %s with an error naming the key', (_, context, message) => {
    expect(() => resolve(context)).toThrow(message);
  });
});
