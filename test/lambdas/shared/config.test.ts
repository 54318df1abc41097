import { loadConfig } from '../../../lambdas/shared/config';
import { ConfigError } from '../../../lambdas/shared/read-settings';

const minimal = { SUPABASE_URL: 'https://abc.supabase.co', SUPABASE_SERVICE_ROLE_KEY: 'key-from-env' };

describe('loadConfig', () => {
  test('applies the documented defaults', () => {
    expect(loadConfig(minimal)).toEqual({
      supabaseUrl: 'https://abc.supabase.co',
      serviceRoleKeySource: { kind: 'env' },
      exportsBucket: 'exports',
      ownedPathPrefix: '{user_id}/',
      storageUrlOrigins: ['https://abc.supabase.co'],
      archive: { enabled: true, bucket: undefined, prefix: 'export-logs', allowUnarchivedDelete: false },
      logRetentionDays: 30,
      fileRetentionHours: 24,
      fileGraceHours: 0,
      orphanGraceHours: 48,
      deleteOrphans: false,
      maxFileAttempts: 5,
      fileClaimLeaseSeconds: 900,
      logPartLeaseSeconds: 600,
      metricsWindowLeaseSeconds: 900,
      metricsLagMinutes: 15,
      metricsNamespace: 'ExportOps',
      serviceName: 'export-ops',
      // Read by `export-ops status` for next run times; no function is given them.
      scheduleTimeZone: 'UTC',
      fileCleanupCron: '0 2 * * ? *',
      logCleanupCron: '0 3 1 * ? *',
      metricsCron: '0 * * * ? *',
    });
  });

  test('in Lambda the key comes from a secret id, and the key itself is never in the config', () => {
    const config = loadConfig({ SUPABASE_URL: 'https://abc.supabase.co', SUPABASE_SERVICE_ROLE_KEY_SECRET_ID: 'arn:aws:secretsmanager:x' });
    expect(config.serviceRoleKeySource).toEqual({ kind: 'secret', secretId: 'arn:aws:secretsmanager:x' });
    expect(JSON.stringify(loadConfig(minimal))).not.toContain('key-from-env');
  });

  test('names every bad variable at once, and never echoes a key', () => {
    let error: unknown;
    try {
      loadConfig({ SUPABASE_URL: 'not a url', LOG_RETENTION_DAYS: '-3', FILE_GRACE_HOURS: 'soon', DELETE_ORPHANS: 'maybe' });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const problems = (error as ConfigError).problems.join('\n');
    for (const name of ['SUPABASE_URL', 'SUPABASE_SERVICE_ROLE_KEY', 'LOG_RETENTION_DAYS', 'FILE_GRACE_HOURS', 'DELETE_ORPHANS']) {
      expect(problems).toContain(name);
    }
    expect(problems).toContain('(got "-3")');
  });

  test('leases are bounded: at least a second, at most an hour', () => {
    expect(loadConfig({ ...minimal, LOG_PART_LEASE_SECONDS: '2', METRICS_WINDOW_LEASE_SECONDS: '3600' }))
      .toMatchObject({ logPartLeaseSeconds: 2, metricsWindowLeaseSeconds: 3600 });
    expect(() => loadConfig({ ...minimal, FILE_CLAIM_LEASE_SECONDS: '0' })).toThrow(/FILE_CLAIM_LEASE_SECONDS must be at least 1/);
    expect(() => loadConfig({ ...minimal, LOG_PART_LEASE_SECONDS: '86400' })).toThrow(/LOG_PART_LEASE_SECONDS must be at most 3600/);
  });

  test('empty strings count as unset', () => {
    expect(loadConfig({ ...minimal, EXPORTS_BUCKET: '', FILE_RETENTION_HOURS: '' }).fileRetentionHours).toBe(24);
  });

  test('the ownership rule and the trusted origins are checked at start-up', () => {
    expect(() => loadConfig({ ...minimal, OWNED_PATH_PREFIX: 'exports/' })).toThrow(/OWNED_PATH_PREFIX must contain \{user_id\} or \{export_id\}/);
    expect(() => loadConfig({ ...minimal, OWNED_PATH_PREFIX: '{user}/' })).toThrow(/OWNED_PATH_PREFIX/);
    expect(() => loadConfig({ ...minimal, STORAGE_URL_ORIGINS: 'https://files.example.com/storage' })).toThrow(/STORAGE_URL_ORIGINS/);
    expect(loadConfig({ ...minimal, OWNED_PATH_PREFIX: 'u/{user_id}/{export_id}-', STORAGE_URL_ORIGINS: 'https://files.example.com, https://abc.supabase.co' }))
      .toMatchObject({ ownedPathPrefix: 'u/{user_id}/{export_id}-', storageUrlOrigins: ['https://files.example.com', 'https://abc.supabase.co'] });
  });

  test('grace hours and the metrics lag may be fractions; retentions and attempts are whole', () => {
    expect(loadConfig({ ...minimal, FILE_GRACE_HOURS: '1.5', ORPHAN_GRACE_HOURS: '0.25', METRICS_LAG_MINUTES: '7.5' }))
      .toMatchObject({ fileGraceHours: 1.5, orphanGraceHours: 0.25, metricsLagMinutes: 7.5 });
    expect(() => loadConfig({ ...minimal, FILE_RETENTION_HOURS: '1.5' })).toThrow(/FILE_RETENTION_HOURS must be a whole number/);
    expect(() => loadConfig({ ...minimal, FILE_GRACE_HOURS: '-1' })).toThrow(/FILE_GRACE_HOURS must not be negative/);
  });

  test('the Powertools service name comes from POWERTOOLS_SERVICE_NAME (the stack sets it per function)', () => {
    expect(loadConfig({ ...minimal, POWERTOOLS_SERVICE_NAME: 'file-cleanup' }).serviceName).toBe('file-cleanup');
  });

  test('a bad key value is named but never echoed', () => {
    expect(() => loadConfig({ ...minimal, SUPABASE_SERVICE_ROLE_KEY: '   ' })).toThrow(/SUPABASE_SERVICE_ROLE_KEY must not be blank$/m);
  });
});
