/**
 * The log cleanup's logic over in-memory fakes of its ports (no local stack): what it archives,
 * when it deletes, how it resumes. The fakes are held to the real adapters by ports.contract.test.ts.
 */
import { createHash } from 'node:crypto';
import { gunzipSync, gzipSync } from 'node:zlib';
import { writePart } from '../../../lambdas/log-cleanup/archive-writer';
import { createLogCleanupJob, type LogCleanupResult } from '../../../lambdas/log-cleanup/job';
import type { ArchivePart, Page, PartManifest } from '../../../lambdas/log-cleanup/ports';
import { restoreArchive } from '../../../lambdas/log-cleanup/restore';
import { archivePart, MAX_STALE_REWRITES } from '../../../lambdas/log-cleanup/settle-part';
import { runJob } from '../../../lambdas/shared/job';
import { FakeClock, fakeJobDeps } from '../shared/fakes';
import { FakeArchiveStore, fakeLogCleanupPorts, type FakeLog } from './fakes';

const BUCKET = 'archive';
const DAY = 86_400_000;
const LIMITS = { partRows: 10, pageRows: 4 };

function world(env: Record<string, string> = {}, remainingMs?: () => number) {
  const clock = new FakeClock();
  const ports = fakeLogCleanupPorts(clock);
  const deps = { ...fakeJobDeps({ ARCHIVE_BUCKET: BUCKET, LOG_RETENTION_DAYS: '30', ...env }, { clock, remainingMs }), ...ports };
  const scheduledTime = clock.now().toISOString();
  const cutoff = new Date(clock.nowMs() - 30 * DAY);
  const job = createLogCleanupJob(LIMITS);
  const run = (input: Record<string, unknown> = {}): Promise<LogCleanupResult> => runJob(job, deps, { scheduledTime, ...input });
  /** `n` rows per month for three months before the cutoff, in every status, and some recent ones. */
  const seed = (n = 12) => {
    const statuses = ['failed', 'expired', 'completed', 'completed', 'queued', 'processing'];
    for (let month = 1; month <= 3; month += 1) {
      for (let i = 0; i < n; i += 1) {
        const status = statuses[i % statuses.length];
        ports.logs.add({ created_at: new Date(cutoff.getTime() - month * 31 * DAY + i * 3_600_000).toISOString(), status, stored: status === 'completed' && i % 4 === 3 });
      }
    }
    for (let i = 0; i < 5; i += 1) ports.logs.add({ created_at: new Date(clock.nowMs() - i * DAY).toISOString(), status: 'failed' });
  };
  const eligible = () => [...ports.logs.rows.values()]
    .filter((r) => Date.parse(r.created_at) < cutoff.getTime() && (['failed', 'expired'].includes(r.status) || (r.status === 'completed' && !r.stored)));
  return { clock, deps, ...ports, run, seed, eligible, cutoff, job };
}

/** Every data object's lines (checked against its manifest), and the manifests. */
function readArchive(archive: FakeArchiveStore) {
  const manifests: PartManifest[] = [];
  const lines: string[] = [];
  for (const [key, object] of archive.objects) {
    if (key.endsWith('.manifest.json')) manifests.push(JSON.parse(object.body.toString('utf8')));
  }
  for (const manifest of manifests) {
    const text = gunzipSync(archive.body(BUCKET, manifest.object_key) as Buffer).toString('utf8');
    expect(createHash('sha256').update(text).digest('hex')).toBe(manifest.sha256);
    expect(text.split('\n').filter(Boolean)).toHaveLength(manifest.row_count);
    lines.push(...text.split('\n').filter(Boolean));
  }
  return { manifests, lines, ids: lines.map((l) => (JSON.parse(l) as { id: string }).id) };
}

const ids = (rows: FakeLog[]) => rows.map((r) => r.id).sort();

describe('log cleanup logic (fakes)', () => {
  test('archives every eligible row exactly once, in parts that never cross a month, then deletes exactly those', async () => {
    const w = world();
    w.seed();
    const due = w.eligible();
    const kept = [...w.logs.rows.values()].filter((r) => !due.includes(r));
    const lines = new Map(due.map((r) => [r.id, w.logs.line(r)]));
    const result = await w.run();
    expect(result).toMatchObject({ deleted_count: due.length, archived_count: due.length, more: false, archive: 'on' });
    expect(ids([...w.logs.rows.values()])).toEqual(ids(kept));
    const archive = readArchive(w.archive);
    expect([...archive.ids].sort()).toEqual(ids(due));
    expect(archive.lines.every((l) => lines.get((JSON.parse(l) as { id: string }).id) === l)).toBe(true);
    expect(result.parts).toBe(archive.manifests.length);
    for (const m of archive.manifests) {
      expect(m.row_count).toBeLessThanOrEqual(LIMITS.partRows);
      expect(m.first_key?.created_at.slice(0, 7)).toBe(m.last_key?.created_at.slice(0, 7));
    }
    expect(w.deps.metrics.published[0]).toMatchObject({ LogsArchived: due.length, LogsDeleted: due.length });
  });

  test('a part whose object does not verify is never deleted; the run fails, gives the part back, and a rerun finishes it', async () => {
    const w = world();
    w.seed();
    const due = w.eligible();
    const size = w.logs.rows.size;
    let lie = true;
    // S3 reports another size for the first part written (a truncated object, a wrong ETag).
    w.archive.headOverride = (key) => (lie && key.endsWith('.ndjson.gz') ? { bytes: 1, etag: '"x"' } : undefined);
    await expect(w.run()).rejects.toThrow(/does not match what was uploaded.*nothing deleted/);
    expect(w.logs.rows.size).toBe(size);
    const [part] = [...w.logs.parts.values()];
    expect(part).toMatchObject({ state: 'pending', lease_until: w.clock.nowMs() });
    expect(w.deps.runs.last()).toMatchObject({ status: 'failed', error: expect.stringMatching(/does not match/) });
    expect(w.deps.metrics.published[0]).toEqual({ LogCleanupFailures: 1 });

    lie = false;
    expect(await w.run()).toMatchObject({ deleted_count: due.length });
    expect(readArchive(w.archive).ids.sort()).toEqual(ids(due));
  });

  test.each([
    ['the second part\'s object upload', 'upload', 2],
    ['the second part\'s manifest', 'put', 2],
  ])('a failed write of %s deletes the first part only; a rerun ends with one copy of each row', async (_what, op, nth) => {
    const w = world();
    w.seed();
    const due = w.eligible();
    let writes = 0;
    w.archive.intercept = (o) => {
      if (o === op && ++writes === nth) throw new Error('injected: S3 write failed');
    };
    await expect(w.run()).rejects.toThrow(/archive part .* failed \(injected: S3 write failed\); \d+ rows in 1 parts were archived and deleted before it/);
    const deleted = [...w.logs.parts.values()].filter((p) => p.state === 'deleted');
    expect(deleted).toHaveLength(1);
    expect(due.length - w.eligible().length).toBe(deleted[0].row_count);

    w.archive.intercept = undefined;
    await w.run();
    expect(w.eligible()).toEqual([]);
    const archive = readArchive(w.archive);
    expect(archive.ids.sort()).toEqual(ids(due));
  });

  test('a part a crashed run planned is resumed first once its lease runs out; while it lasts the run stops, busy', async () => {
    const w = world();
    w.seed();
    const due = w.eligible();
    const crashed = await w.logs.forRun('crashed-run', 300).claim({ cutoff: w.cutoff, userId: null, prefix: 'export-logs', partRows: 10, after: null });
    if (crashed.kind !== 'part') throw new Error('expected a part');

    expect(await w.run()).toMatchObject({ more: true, busy_part: crashed.part.part_key, deleted_count: 0 });
    expect(w.archive.writes).toEqual([]);

    w.clock.advance(301_000);
    expect(await w.run()).toMatchObject({ more: false, deleted_count: due.length });
    expect(w.logs.parts.get(crashed.part.part_key)).toMatchObject({ state: 'deleted', attempts: 2 });
    expect(readArchive(w.archive).ids.sort()).toEqual(ids(due));
  });

  test('a part a crashed run verified, its object intact, is deleted without being written again', async () => {
    const w = world();
    w.seed();
    const due = w.eligible();
    const parts = w.logs.forRun('crashed-run', 300);
    const claim = await parts.claim({ cutoff: w.cutoff, userId: null, prefix: 'export-logs', partRows: 10, after: null });
    if (claim.kind !== 'part') throw new Error('expected a part');
    await archivePart({ archive: w.archive, bucket: BUCKET, clock: w.clock, parts, pageRows: 4 }, claim.part);
    expect(w.logs.parts.get(claim.part.part_key)?.state).toBe('verified');
    const writesBefore = w.archive.writes.length;

    w.clock.advance(301_000);
    const result = await w.run();
    expect(result.deleted_count).toBe(due.length);
    expect(result.archived_count).toBe(due.length - claim.part.row_count);
    expect(w.archive.writes.slice(writesBefore).map((x) => x.key)).not.toContain(claim.part.object_key);
    expect(readArchive(w.archive).ids.sort()).toEqual(ids(due));
  });

  test('a row changed after its part\'s upload: the delete refuses, the part is written again with the change, then deleted', async () => {
    const w = world();
    w.seed();
    const due = w.eligible();
    const first = [...due].sort((a, b) => a.created_at.localeCompare(b.created_at))[0];
    let changed = false;
    w.archive.intercept = (op) => {
      if (op === 'head' && !changed) {
        changed = true;
        first.error_message = 'changed after upload';
      }
    };
    const result = await w.run();
    expect(result.deleted_count).toBe(due.length);
    expect(result.archived_count).toBeGreaterThan(due.length);
    const archive = readArchive(w.archive);
    expect(archive.lines.filter((l) => l.includes(first.id))).toEqual([w.logs.line(first)]);
    expect(archive.ids.sort()).toEqual(ids(due));
  });

  test(`rows that keep changing: after ${MAX_STALE_REWRITES} rewrites the run fails and nothing of that part is deleted`, async () => {
    const w = world();
    w.seed();
    const first = [...w.eligible()].sort((a, b) => a.created_at.localeCompare(b.created_at))[0];
    let n = 0;
    w.archive.intercept = (op) => {
      if (op === 'head') first.error_message = `change ${++n}`;
    };
    await expect(w.run()).rejects.toThrow(/kept changing after upload/);
    expect(w.logs.rows.has(first.id)).toBe(true);
    expect([...w.logs.parts.values()].filter((p) => p.state === 'deleted')).toEqual([]);
  });

  test('a planned part whose rows vanished is forgotten, nothing uploaded for it', async () => {
    const w = world();
    w.seed();
    const crashed = await w.logs.forRun('crashed-run', 300).claim({ cutoff: w.cutoff, userId: null, prefix: 'export-logs', partRows: 10, after: null });
    if (crashed.kind !== 'part') throw new Error('expected a part');
    for (const row of w.logs.partRows(crashed.part)) w.logs.rows.delete(row.id);
    w.clock.advance(301_000);
    const due = w.eligible();
    expect(await w.run()).toMatchObject({ deleted_count: due.length });
    expect(w.logs.parts.has(crashed.part.part_key)).toBe(false);
    expect(w.archive.writes.map((x) => x.key)).not.toContain(crashed.part.object_key);
  });

  test('archival off: refuses without ALLOW_UNARCHIVED_DELETE; with it, deletes the rows unarchived', async () => {
    const off = world({ ARCHIVE_ENABLED: 'false' });
    off.seed();
    const before = off.logs.rows.size;
    await expect(off.run()).rejects.toThrow(/refusing to delete export logs without an archive; nothing deleted/);
    expect(off.logs.rows.size).toBe(before);

    const allowed = world({ ARCHIVE_ENABLED: 'false', ALLOW_UNARCHIVED_DELETE: 'true' });
    allowed.seed();
    const due = allowed.eligible();
    expect(await allowed.run()).toMatchObject({ deleted_count: due.length, archived_count: 0, archive: 'off' });
    expect(allowed.eligible()).toEqual([]);
    expect(allowed.archive.writes).toEqual([]);
  });

  test('dry run and stats change nothing and count what a run would delete', async () => {
    const w = world();
    w.seed();
    const due = w.eligible();
    const size = w.logs.rows.size;
    const stale = [...w.logs.rows.values()].filter((r) => ['queued', 'processing'].includes(r.status) && Date.parse(r.created_at) < w.cutoff.getTime());
    expect(stale.length).toBeGreaterThan(0);
    expect(await w.run({ dryRun: true })).toMatchObject({ dry_run: true, eligible_count: due.length, deleted_count: 0, stale_count: stale.length });
    expect(await w.run({ statsOnly: true })).toMatchObject({ stats: { eligible_for_cleanup: due.length, open_parts: 0 } });
    expect(w.logs.rows.size).toBe(size);
    expect(w.logs.parts.size).toBe(0);
    expect(w.archive.writes).toEqual([]);
  });

  test('a user purge takes that user\'s rows of any age, except queued and processing ones', async () => {
    const w = world();
    w.seed();
    const user = 'a3bb189e-8bf9-4888-9912-ace4e6543002';
    const mine = ['failed', 'completed', 'queued'].map((status) => w.logs.add({ user_id: user, status, created_at: w.clock.now().toISOString() }));
    const result = await w.run({ userId: user });
    expect(result).toMatchObject({ deleted_count: 2, user_id: user });
    expect([...w.logs.rows.values()].filter((r) => r.user_id === user)).toEqual([mine[2]]);
  });

  test('restore reads only recorded parts, checks each object against the recorded hash, and puts the rows back once', async () => {
    const w = world();
    w.seed();
    const due = w.eligible();
    const lines = new Map(due.map((r) => [r.id, w.logs.line(r)]));
    await w.run();
    const [tampered] = [...w.logs.parts.values()];
    const original = w.archive.body(BUCKET, tampered.object_key) as Buffer;
    const forged = gzipSync(`${gunzipSync(original).toString('utf8')}{"id":"forged"}\n`);
    w.archive.objects.set(`${BUCKET}/${tampered.object_key}`, { body: forged, etag: '"forged"', contentType: 'application/gzip' });
    await expect(restoreArchive({ archive: w.archive, logs: w.logs, bucket: BUCKET, key: 'export-logs/' }))
      .rejects.toThrow(/does not match what this database recorded/);

    w.archive.objects.set(`${BUCKET}/${tampered.object_key}`, { body: original, etag: '"x"', contentType: 'application/gzip' });
    const summary = await restoreArchive({ archive: w.archive, logs: w.logs, bucket: BUCKET, key: 'export-logs/' });
    expect(summary).toMatchObject({ parts: w.logs.parts.size, rows: due.length, present: expect.any(Number) });
    for (const row of due) expect(w.logs.line(w.logs.rows.get(row.id) as FakeLog)).toBe(lines.get(row.id));
    expect(await restoreArchive({ archive: w.archive, logs: w.logs, bucket: BUCKET, key: 'export-logs/' })).toMatchObject({ inserted: 0, present: due.length });
  });

  test('with too little time left for a part, the run takes none and says there is more', async () => {
    const w = world({}, () => 1_000);
    w.seed();
    expect(await w.run()).toMatchObject({ more: true, deleted_count: 0 });
    expect(w.logs.parts.size).toBe(0);
  });
});

describe('archive writer (fed pages, no database)', () => {
  const part = { part_key: 'p1', object_key: 'k/p1.ndjson.gz', manifest_key: 'k/p1.manifest.json', selector: { kind: 'age', cutoff: '2026-10-30T00:00:00Z' } } as ArchivePart;
  const page = (lines: { created_at: string; id: string }[]): Page => ({
    rows: lines.length,
    ndjson: Buffer.from(lines.map((l) => `${JSON.stringify(l)}\n`).join('')),
    checksum: String(lines.length),
    lastCreatedAt: lines[lines.length - 1]?.created_at ?? null,
    lastId: lines[lines.length - 1]?.id ?? null,
  });
  async function* pages(list: Page[], failAfter?: number) {
    let n = 0;
    for (const p of list) {
      if (failAfter !== undefined && n++ === failAfter) throw new Error('page read failed');
      yield p;
    }
  }
  const dest = (archive: FakeArchiveStore) => ({ archive, bucket: BUCKET, clock: new FakeClock() });

  test('writes the pages as one gzip NDJSON object, verified, with a manifest of exactly those rows', async () => {
    const archive = new FakeArchiveStore();
    const rows = Array.from({ length: 7 }, (_, i) => ({ created_at: `2026-09-0${i + 1}T00:00:00Z`, id: `id-${i}` }));
    const manifest = await writePart(dest(archive), part, pages([page(rows.slice(0, 3)), page(rows.slice(3, 6)), page(rows.slice(6))]));
    const text = gunzipSync(archive.body(BUCKET, part.object_key) as Buffer).toString('utf8');
    expect(text).toBe(rows.map((r) => `${JSON.stringify(r)}\n`).join(''));
    expect(manifest).toMatchObject({
      row_count: 7, row_checksum: '7', first_key: rows[0], last_key: rows[6],
      sha256: createHash('sha256').update(text).digest('hex'), bytes: archive.body(BUCKET, part.object_key)?.length,
    });
    expect(JSON.parse(archive.body(BUCKET, part.manifest_key)?.toString('utf8') as string)).toEqual(manifest);
  });

  test('no rows: returns null and writes nothing', async () => {
    const archive = new FakeArchiveStore();
    expect(await writePart(dest(archive), part, pages([]))).toBeNull();
    expect(archive.writes).toEqual([]);
  });

  test('a page that cannot be read abandons the upload: the error is thrown and no object is stored', async () => {
    const archive = new FakeArchiveStore();
    const rows = Array.from({ length: 4 }, (_, i) => ({ created_at: `2026-09-0${i + 1}T00:00:00Z`, id: `id-${i}` }));
    await expect(writePart(dest(archive), part, pages([page(rows.slice(0, 2)), page(rows.slice(2))], 1))).rejects.toThrow('page read failed');
    expect(archive.objects.size).toBe(0);
  });
});
