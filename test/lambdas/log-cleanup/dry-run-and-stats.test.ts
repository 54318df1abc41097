import { ListObjectsV2Command } from '@aws-sdk/client-s3';
import { createLogCleanupJob } from '../../../lambdas/log-cleanup/job';
import { createS3Client } from '../../../lambdas/shared/s3';
import { runJob } from '../../../lambdas/shared/job';
import type { LocalStack } from '../../../local/stack';
import { jobDepsFor } from '../../support/jobs';
import { databaseMode, startTestStack } from '../../support/stack';
import { CUTOFF, eligibleIds, scheduledTime, seedHistory, snapshot } from './support';

const job = createLogCleanupJob({ partRows: 40, pageRows: 15 });

describe(`log cleanup dry run and stats on ${databaseMode}`, () => {
  let stack: LocalStack;
  beforeAll(async () => {
    stack = await startTestStack();
    await seedHistory(stack);
  });
  afterAll(() => stack.stop());

  const archiveObjects = async () =>
    (await createS3Client(stack.env).send(new ListObjectsV2Command({ Bucket: stack.env.ARCHIVE_BUCKET }))).KeyCount ?? 0;
  const parts = async () => (await stack.db.query('select 1 from export_ops.archive_parts')).rows.length;

  test('statsOnly reports the original route\'s fields from the rows themselves and changes nothing', async () => {
    const before = await snapshot(stack);
    const eligible = await eligibleIds(stack);
    const { rows: [expected] } = await stack.db.query<{ mb: string; oldest: Date; stale: number; waiting: number }>(
      `select (select round(sum(pg_column_size(e.*)) / 1048576.0, 3) from public.export_logs e where e.id = any($1::uuid[]))::text as mb,
              (select min(created_at) from public.export_logs) as oldest,
              (select count(*)::int from public.export_logs where created_at < $2 and status in ('queued', 'processing')) as stale,
              (select count(*)::int from public.export_logs e join export_ops.exports x on x.id = e.id where e.created_at < $2 and e.status = 'completed'
                 and exists (select 1 from storage.objects o where o.bucket_id = x.storage_bucket and o.name = x.storage_path)) as waiting`,
      [eligible, CUTOFF],
    );
    const result = await runJob(job, await jobDepsFor(stack, 'log-cleanup'), { scheduledTime, statsOnly: true });
    expect(result.stats).toMatchObject({
      eligible_for_cleanup: eligible.length,
      oldest_log_date: expected.oldest.toISOString().replace('Z', '+00:00'),
      stale_count: expected.stale,
      waiting_for_file_count: expected.waiting,
    });
    expect(new Date(result.stats!.cutoff_date).getTime()).toBe(CUTOFF.getTime());
    expect(result.stats!.total_size_estimate_mb).toBe(Number(expected.mb));
    // Measured, not the original route's guess of 1 KB a row.
    expect(result.stats!.total_size_estimate_mb).not.toBe(Number((eligible.length / 1024).toFixed(3)));
    expect(result).toMatchObject({ deleted_count: 0, archived_count: 0, skipped: expected.stale + expected.waiting });
    expect(await snapshot(stack)).toEqual(before);
    expect(await archiveObjects()).toBe(0);
    expect(await parts()).toBe(0);
  });

  test('a dry run says what would go and changes nothing, in the table or in S3', async () => {
    const before = await snapshot(stack);
    const result = await runJob(job, await jobDepsFor(stack, 'log-cleanup'), { scheduledTime, dryRun: true });
    expect(result).toMatchObject({ dry_run: true, deleted_count: 0, archived_count: 0, eligible_count: (await eligibleIds(stack)).length });
    expect(await snapshot(stack)).toEqual(before);
    expect(await archiveObjects()).toBe(0);
    expect(await parts()).toBe(0);
  });
});
