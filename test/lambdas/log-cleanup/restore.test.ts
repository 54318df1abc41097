import { PutObjectCommand } from '@aws-sdk/client-s3';
import { gzipSync } from 'node:zlib';
import { createLogCleanupJob } from '../../../lambdas/log-cleanup/job';
import { restoreArchive } from '../../../lambdas/log-cleanup/restore';
import { createS3Client } from '../../../lambdas/shared/s3';
import { createServiceClient } from '../../../lambdas/shared/supabase';
import { runJob } from '../../../lambdas/shared/job';
import { main as restoreCli } from '../../../cli/restore';
import type { LocalStack } from '../../../local/stack';
import { jobDepsFor } from '../../support/jobs';
import { databaseMode, startTestStack } from '../../support/stack';
import { readArchive, scheduledTime, seedHistory, snapshot } from './support';

describe(`log restore on ${databaseMode}`, () => {
  let stack: LocalStack;
  let original: Map<string, string>;
  let afterCleanup: Map<string, string>;
  const restore = (key: string, dryRun = false) => restoreArchive({
    s3: createS3Client(stack.env), supabase: createServiceClient(stack.supabase.url, stack.serviceRoleKey),
    bucket: stack.env.ARCHIVE_BUCKET, key, dryRun,
  });

  beforeAll(async () => {
    stack = await startTestStack();
    await seedHistory(stack, 300);
    original = await snapshot(stack);
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

    const again = await runCli(['--from', `s3://${stack.env.ARCHIVE_BUCKET}/export-logs/`, '--json']);
    expect(again.code).toBe(0);
    expect(JSON.parse(again.output)).toMatchObject({ inserted: 0, present: original.size - afterCleanup.size });
    expect(await snapshot(stack)).toEqual(original);
  });

  test('a part whose object no longer matches its manifest is refused before any of its rows is inserted', async () => {
    const { manifests, lines } = await readArchive(stack);
    const target = manifests[0];
    await stack.db.query(`delete from public.export_logs where id = any($1::uuid[])`, [lines.map((l) => JSON.parse(l).id)]);
    const cleared = await snapshot(stack);
    const tampered = lines.filter((l) => JSON.parse(l).id !== target.first_key!.id).join('\n');
    await createS3Client(stack.env).send(new PutObjectCommand({
      Bucket: target.bucket, Key: target.object_key, Body: gzipSync(`${tampered}\n`),
    }));
    await expect(restore(target.object_key.replace(/\.ndjson\.gz$/, '.manifest.json'))).rejects.toThrow(/does not match its manifest/);
    expect(await snapshot(stack)).toEqual(cleared);
  });

  test('the CLI refuses a missing --from, and an empty prefix', async () => {
    const missing = await runCli([]);
    expect(missing.code).toBe(2);
    expect(missing.output).toMatch(/--from is required/);
    await expect(runCli(['--from', 'nothing-here/'])).rejects.toThrow(/no archive manifests at s3:\/\/export-ops-archive\/nothing-here\//);
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
