import { execFile } from 'node:child_process';
import { statSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { JOB_PROCESS_ENV } from '../../lib/scheduled-job';
import { seedExports } from '../../local/seed';
import type { LocalStack } from '../../local/stack';
import { startTestStack } from '../support/stack';
import { bundleBytesByPackage, JOB_NAMES, synthesizeBundles } from './bundles';

/** The aim of issue 10: no function bundle over 1 MB. */
const MAX_BUNDLE_BYTES = 1_000_000;
/** Packages only log-cleanup uses; no other job's bundle may carry them. */
const S3_PACKAGES = ['@aws-sdk/client-s3', '@aws-sdk/lib-storage'];

const NODE = join(__dirname, '..', '..', 'node_modules', '.bin', 'node');
const run = promisify(execFile);

/** Loads a bundle as Lambda would (CommonJS `index.handler`) and invokes it with one event. */
const INVOKE = `
  const { handler } = require(process.argv[1] + '/index.js');
  handler(JSON.parse(process.argv[2]), { getRemainingTimeInMillis: () => 600000 })
    .then((result) => process.stdout.write('\\nRESULT ' + JSON.stringify(result) + '\\n'))
    .catch((error) => { process.stderr.write(String(error && error.stack || error)); process.exit(1); });`;

describe('synthesized function bundles', () => {
  let stack: LocalStack;
  let bundles: Record<string, string>;
  beforeAll(async () => {
    bundles = synthesizeBundles();
    stack = await startTestStack();
  }, 120_000);
  afterAll(() => stack.stop());

  /** Runs a bundle's handler in a fresh Node 24 process against the local stack; its result. */
  async function invoke(job: string, event: object): Promise<Record<string, unknown>> {
    const { stdout } = await run(NODE, ['-e', INVOKE, bundles[job], JSON.stringify(event)], {
      env: { PATH: process.env.PATH, ...stack.env, ...JOB_PROCESS_ENV, AWS_REGION: 'eu-west-1' },
    });
    const line = stdout.split('\n').find((l) => l.startsWith('RESULT '));
    expect(line).toBeDefined();
    return JSON.parse(line!.slice('RESULT '.length));
  }

  test.each(JOB_NAMES)('%s loads in a separate Node 24 process and runs a dry run against the local stack', async (job) => {
    expect(statSync(join(bundles[job], 'index.js')).size).toBeGreaterThan(0);
    const result = await invoke(job, { dryRun: true, scheduledTime: new Date().toISOString() });
    expect(result).toMatchObject({ dry_run: true, timestamp: expect.any(String), duration_ms: expect.any(Number) });
  });

  test.each(JOB_NAMES)('%s bundle is at most 1 MB', (job) => {
    expect(statSync(join(bundles[job], 'index.js')).size).toBeLessThanOrEqual(MAX_BUNDLE_BYTES);
  });

  // A job declares the ports it needs (JobDefinition.ports); only log-cleanup's reach S3.
  test.each(['file-cleanup', 'metrics-aggregate'])('%s bundle holds no S3 client (esbuild metafile inputs)', (job) => {
    const packages = bundleBytesByPackage(bundles[job]).map((p) => p.pkg);
    expect(packages).toEqual(expect.arrayContaining(['@aws-sdk/client-secrets-manager', '@supabase/supabase-js']));
    expect(packages.filter((p) => S3_PACKAGES.includes(p))).toEqual([]);
  });

  test('log-cleanup bundle holds the S3 client (the check above sees it where it belongs)', () => {
    const packages = bundleBytesByPackage(bundles['log-cleanup']).map((p) => p.pkg);
    expect(packages).toEqual(expect.arrayContaining(S3_PACKAGES));
  });

  test('log-cleanup bundle archives to S3 and deletes for real (the bundled SDK and lib-storage at work)', async () => {
    const now = new Date();
    await seedExports({ db: stack.db, storageDir: stack.storageDir, supabaseUrl: stack.supabase.url }, { count: 200, days: 90, now, seed: 10 });
    const result = await invoke('log-cleanup', { scheduledTime: now.toISOString() });
    expect(result).toMatchObject({ archive: 'on', failed_count: 0, more: false });
    expect(result.archived_count).toBeGreaterThan(0);
    expect(result.deleted_count).toBe(result.archived_count);
  });
});
