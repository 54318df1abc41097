import { HeadObjectCommand } from '@aws-sdk/client-s3';
import { createLogCleanupJob } from '../../../lambdas/log-cleanup/job';
import { createS3Client } from '../../../lambdas/shared/s3';
import { runJob } from '../../../lambdas/shared/job';
import type { LocalStack } from '../../../local/stack';
import { jobDepsFor } from '../../support/jobs';
import { captureStdout } from '../../support/output';
import { databaseMode, startTestStack } from '../../support/stack';
import { CUTOFF, eligibleIds, expectArchivedExactlyOnce, scheduledTime, seedHistory, snapshot } from './support';

/** Small parts so one run writes several, across month partitions. */
const job = createLogCleanupJob({ partRows: 40, pageRows: 15 });

describe(`log cleanup archive on ${databaseMode}`, () => {
  let stack: LocalStack;
  beforeAll(async () => {
    stack = await startTestStack();
    await seedHistory(stack);
  });
  afterAll(() => stack.stop());

  test('archives exactly the eligible rows, every column, verified, then deletes only them', async () => {
    const before = await snapshot(stack);
    const eligible = await eligibleIds(stack);
    const { rows: kept } = await stack.db.query<{ id: string; reason: string }>(
      `select e.id::text as id, case when e.status in ('queued', 'processing') then 'stale' else 'file' end as reason
         from public.export_logs e join export_ops.exports x on x.id = e.id
        where e.created_at < $1 and (e.status in ('queued', 'processing') or exists
              (select 1 from storage.objects o where o.bucket_id = x.storage_bucket and o.name = x.storage_path))`,
      [CUTOFF],
    );
    expect(eligible.length).toBeGreaterThan(100);
    expect(kept.filter((k) => k.reason === 'stale').length).toBeGreaterThan(0);
    expect(kept.filter((k) => k.reason === 'file').length).toBeGreaterThan(0);

    const { value: result, lines } = await captureStdout(async () =>
      runJob(job, await jobDepsFor(stack, 'log-cleanup'), { scheduledTime }));

    const archive = await expectArchivedExactlyOnce(stack, before, eligible);
    const after = await snapshot(stack);
    for (const { id } of kept) expect(after.get(id)).toBe(before.get(id)); // untouched, every column

    expect(result).toMatchObject({
      deleted_count: eligible.length, archived_count: eligible.length, failed_count: 0, more: false,
      parts: archive.manifests.length, stale_count: kept.filter((k) => k.reason === 'stale').length,
      waiting_for_file_count: kept.filter((k) => k.reason === 'file').length,
    });
    expect(result.skipped).toBe(kept.length);
    expect(archive.manifests.length).toBeGreaterThanOrEqual(Math.ceil(eligible.length / 40));

    // Each line carries every column of the app's row, then the finish time the metrics counted
    // it at (so a restore keeps its hour); timestamps are ISO 8601 with their zone.
    const { rows: columns } = await stack.db.query<{ name: string }>(
      `select attname as name from pg_attribute where attrelid = 'public.export_logs'::regclass and attnum > 0 and not attisdropped order by attnum`,
    );
    const s3 = createS3Client(stack.env);
    let bytes = 0;
    for (const manifest of archive.manifests) {
      const head = await s3.send(new HeadObjectCommand({ Bucket: manifest.bucket, Key: manifest.object_key }));
      expect(head.ContentLength).toBe(manifest.bytes);
      expect(head.ETag).toBe(manifest.etag);
      bytes += manifest.bytes;
      const match = /^export-logs\/export_logs\/year=(\d{4})\/month=(\d{2})\/[^/]+\.ndjson\.gz$/.exec(manifest.object_key);
      expect(match).not.toBeNull();
      expect(manifest.first_key!.created_at.slice(0, 7)).toBe(`${match![1]}-${match![2]}`);
      expect(manifest.last_key!.created_at.slice(0, 7)).toBe(`${match![1]}-${match![2]}`); // a part never spans months
    }
    expect(result.archive_bytes).toBe(bytes);
    for (const line of archive.lines) {
      const row = JSON.parse(line) as Record<string, unknown>;
      expect(Object.keys(row)).toEqual([...columns.map((c) => c.name), 'finished_at']);
      expect(row.created_at).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?\+00:00$/);
    }

    // The ops table records each part as deleted, with the manifest's figures.
    const { rows: parts } = await stack.db.query<{ part_key: string; state: string; row_count: number; sha256: string; etag: string }>(
      'select part_key, state, row_count, sha256, etag from export_ops.archive_parts order by part_key',
    );
    expect(parts.map((p) => p.state)).toEqual(archive.manifests.map(() => 'deleted'));
    expect(parts.map((p) => [p.part_key, p.row_count, p.sha256, p.etag]).sort())
      .toEqual(archive.manifests.map((m) => [m.part_key, m.row_count, m.sha256, m.etag]).sort());

    const emf = lines.filter((l) => l.includes('"_aws"')).map((l) => JSON.parse(l));
    expect(emf).toHaveLength(1);
    expect(emf[0]).toMatchObject({ Job: 'log-cleanup', LogsArchived: eligible.length, LogsDeleted: eligible.length, ArchiveBytes: bytes });
    expect(emf[0]._aws.CloudWatchMetrics[0].Dimensions).toEqual([['Job']]);
    expect(typeof emf[0].JobDurationMs).toBe('number');
  });

  test('a second run finds nothing and writes no part', async () => {
    const before = await snapshot(stack);
    const result = await runJob(job, await jobDepsFor(stack, 'log-cleanup'), { scheduledTime });
    expect(result).toMatchObject({ deleted_count: 0, archived_count: 0, parts: 0, more: false });
    expect(await snapshot(stack)).toEqual(before);
  });
});
