import { createHash } from 'node:crypto';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { gzipSync } from 'node:zlib';
import { createLogCleanupJob } from '../../../lambdas/log-cleanup/job';
import { restoreArchive } from '../../../lambdas/log-cleanup/restore';
import { logCleanupPorts } from '../../../lambdas/log-cleanup/adapters';
import { createS3Client } from '../../../lambdas/shared/s3';
import { createServiceClient } from '../../../lambdas/shared/supabase';
import { runJob } from '../../../lambdas/shared/job';
import { main as restoreCli } from '../../../cli/restore';
import type { LocalStack } from '../../../local/stack';
import { jobDepsFor } from '../../support/jobs';
import { databaseMode, startTestStack } from '../../support/stack';
import { readArchive, scheduledTime, seedHistory, snapshot } from './support';

const FORGED_USER = '00000000-0000-0000-0000-00000000f0f0';

describe(`log restore on ${databaseMode}`, () => {
  let stack: LocalStack;
  let original: Map<string, string>;
  let originalFinish: Map<string, string>;
  let afterCleanup: Map<string, string>;
  /** Each row's finish time as the metrics count it (the hour it belongs to). */
  const finishTimes = async () => new Map((await stack.db.query<{ id: string; at: string }>(
    `select id::text as id, finished_at::text as at from export_ops.exports where finished_at is not null`)).rows.map((r) => [r.id, r.at]));
  const restore = (key: string, dryRun = false) => restoreArchive({
    ...logCleanupPorts({ env: stack.env, supabase: createServiceClient(stack.supabase.url, stack.serviceRoleKey) }),
    bucket: stack.env.ARCHIVE_BUCKET, key, dryRun,
  });

  beforeAll(async () => {
    stack = await startTestStack();
    await seedHistory(stack, 300);
    original = await snapshot(stack);
    originalFinish = await finishTimes();
    await runJob(createLogCleanupJob({ partRows: 50, pageRows: 20 }), await jobDepsFor(stack, 'log-cleanup'), { scheduledTime });
    afterCleanup = await snapshot(stack);
    expect(original.size - afterCleanup.size).toBeGreaterThan(50);
  });
  afterAll(() => stack.stop());

  test('a dry run checks every part and inserts nothing', async () => {
    const summary = await restore('export-logs/', true);
    expect(summary).toMatchObject({ inserted: 0, present: 0, orphaned: 0, rows: original.size - afterCleanup.size, dry_run: true });
    expect(await snapshot(stack)).toEqual(afterCleanup);
  });

  test('one manifest key restores exactly that part', async () => {
    const { manifests } = await readArchive(stack);
    const key = manifests[0].object_key.replace(/\.ndjson\.gz$/, '.manifest.json');
    const summary = await restore(key);
    expect(summary).toMatchObject({ parts: 1, rows: manifests[0].row_count, inserted: manifests[0].row_count });
    expect((await snapshot(stack)).size).toBe(afterCleanup.size + manifests[0].row_count);
  });

  test('the whole prefix restores the rows identically, every column, and a rerun inserts nothing', async () => {
    const { manifests } = await readArchive(stack);
    const first = await restore('export-logs/export_logs/');
    expect(first.parts).toBe(manifests.length);
    expect(first.inserted + first.present).toBe(original.size - afterCleanup.size);
    expect(await snapshot(stack)).toEqual(original);
    // Restored rows count in the hour they were counted in before, not in the restore's hour.
    expect(await finishTimes()).toEqual(originalFinish);

    const again = await runCli(['--from', `s3://${stack.env.ARCHIVE_BUCKET}/export-logs/`, '--json']);
    expect(again.code).toBe(0);
    expect(JSON.parse(again.output)).toMatchObject({ inserted: 0, present: original.size - afterCleanup.size });
    expect(await snapshot(stack)).toEqual(original);
  });

  test('a part whose object no longer matches what the database recorded is refused before any row is inserted, manifest or not', async () => {
    const { manifests, lines } = await readArchive(stack);
    const target = manifests[0];
    const partLines = lines.filter((l) => {
      const row = JSON.parse(l) as { created_at: string; id: string };
      return row.created_at >= target.first_key!.created_at && row.created_at <= target.last_key!.created_at;
    });
    await stack.db.query(`delete from public.export_logs where id = any($1::uuid[])`, [lines.map((l) => JSON.parse(l).id)]);
    const cleared = await snapshot(stack);
    // The attacker rewrites the object AND its manifest consistently: one row changed to
    // another user's, the manifest's hash and count recomputed to match.
    const forged = partLines.map((l, i) => (i === 0 ? l.replace(/"status":"[a-z]+"/, '"status":"completed"').replace(/"user_id":"[^"]+"/, `"user_id":"${FORGED_USER}"`) : l));
    const text = `${forged.join('\n')}\n`;
    const s3 = createS3Client(stack.env);
    await s3.send(new PutObjectCommand({ Bucket: target.bucket, Key: target.object_key, Body: gzipSync(text) }));
    await s3.send(new PutObjectCommand({
      Bucket: target.bucket, Key: target.object_key.replace(/\.ndjson\.gz$/, '.manifest.json'),
      Body: JSON.stringify({ ...target, sha256: createHash('sha256').update(text).digest('hex'), row_count: forged.length }),
    }));
    await expect(restore(target.object_key.replace(/\.ndjson\.gz$/, '.manifest.json'))).rejects.toThrow(/does not match what this database recorded/);
    expect(await snapshot(stack)).toEqual(cleared);
  });

  test('an object this database never recorded is not restored, whatever its manifest says', async () => {
    const { manifests, lines } = await readArchive(stack);
    const foreignKey = 'export-logs/export_logs/year=2020/month=01/planted.ndjson.gz';
    const text = `${lines[0]}\n`;
    const s3 = createS3Client(stack.env);
    await s3.send(new PutObjectCommand({ Bucket: manifests[0].bucket, Key: foreignKey, Body: gzipSync(text) }));
    await s3.send(new PutObjectCommand({
      Bucket: manifests[0].bucket, Key: foreignKey.replace(/\.ndjson\.gz$/, '.manifest.json'),
      Body: JSON.stringify({ ...manifests[0], object_key: foreignKey, sha256: createHash('sha256').update(text).digest('hex'), row_count: 1 }),
    }));
    const before = await snapshot(stack);
    await expect(restore('export-logs/export_logs/year=2020/')).rejects.toThrow(/no archived parts recorded/);
    expect(await snapshot(stack)).toEqual(before);
  });

  test('the database itself refuses rows outside the part it is told they belong to', async () => {
    const { manifests, lines } = await readArchive(stack);
    const outside = lines.find((l) => (JSON.parse(l) as { created_at: string }).created_at > manifests[0].last_key!.created_at)!;
    const supabase = createServiceClient(stack.supabase.url, stack.serviceRoleKey);
    const { error } = await supabase.rpc('export_ops_log_cleanup_restore', { p_part_key: manifests[0].part_key, p_ndjson: `${outside}\n` });
    expect(error?.message).toMatch(/outside its recorded key range/);
  });

  test('the CLI refuses a missing --from, and an empty prefix', async () => {
    const missing = await runCli([]);
    expect(missing.code).toBe(2);
    expect(missing.output).toMatch(/--from is required/);
    await expect(runCli(['--from', 'nothing-here/'])).rejects.toThrow(/no archived parts recorded under s3:\/\/export-ops-archive\/nothing-here\//);
  });

  /** The restore command as `npx export-ops restore` runs it: env from the stack, output captured. */
  async function runCli(args: string[]): Promise<{ code: number; output: string }> {
    const saved = process.env;
    process.env = { ...saved, ...stack.env };
    const out: string[] = [];
    const [write, writeErr] = [process.stdout.write, process.stderr.write];
    const capture = ((chunk: string) => { out.push(String(chunk)); return true; }) as typeof process.stdout.write;
    process.stdout.write = capture;
    process.stderr.write = capture;
    try {
      const code = await restoreCli(args);
      return { code, output: out.join('') };
    } finally {
      process.stdout.write = write;
      process.stderr.write = writeErr;
      process.env = saved;
    }
  }
});
