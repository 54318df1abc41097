/**
 * The file cleanup's logic over in-memory fakes of its ports (no local stack): what it deletes,
 * marks, flags and counts. The fakes are held to the real adapters by ports.contract.test.ts.
 */
import { BATCH_SIZE, cleanExpiredFiles } from '../../../lambdas/file-cleanup/cleanup';
import { fileCleanupJob } from '../../../lambdas/file-cleanup/job';
import { runJob } from '../../../lambdas/shared/job';
import { RETRY_ATTEMPTS } from '../../../lambdas/shared/retry';
import { FAKE_SUPABASE_URL, FakeClock, fakeJobDeps } from '../shared/fakes';
import { fakeFileCleanupPorts } from './fakes';

const USER = '00000000-0000-0000-0000-0000000000f1';
const OTHER_USER = '00000000-0000-0000-0000-0000000000f2';
const url = (path: string) => `${FAKE_SUPABASE_URL}/storage/v1/object/public/exports/${path}`;

function world(env: Record<string, string> = {}, remainingMs?: () => number) {
  const clock = new FakeClock();
  const ports = fakeFileCleanupPorts(clock);
  const deps = { ...fakeJobDeps({ FILE_GRACE_HOURS: '0', ...env }, { clock, remainingMs }), ...ports };
  const now = clock.now();
  const run = (options: { dryRun?: boolean; maxFiles?: number } = {}) =>
    cleanExpiredFiles(deps, `run-${Math.random()}`, { now, dryRun: options.dryRun === true, maxFiles: options.maxFiles });
  /** A completed, due row whose object is stored (size bytes). */
  const withFile = (name: string, size = 100, user = USER) => {
    ports.storage.put('exports', `${user}/${name}`, size);
    return ports.files.add({ user_id: user, file_url: url(`${user}/${name}`), file_size: size });
  };
  return { clock, deps, ...ports, run, withFile };
}

describe('file cleanup logic (fakes)', () => {
  test('counts deleted, already gone and no-file rows exactly, marks each expired, sums the bytes Storage reported', async () => {
    const w = world();
    const stored = [w.withFile('a.json', 120), w.withFile('b.json', 30)];
    const gone = w.files.add({ file_url: url(`${USER}/never-uploaded.json`) });
    const noUrl = w.files.add({ file_url: null });
    const relative = w.files.add({ file_url: '/api/exports/download/123' });
    const out = await w.run();
    expect(out).toMatchObject({
      total_found: 5, deleted_count: 2, already_gone_count: 1, no_file_count: 2, failed_count: 0, logs_updated: 5,
      bytes_reclaimed: 150, errors: [], more: false,
    });
    for (const row of [...stored, gone, noUrl, relative]) expect(w.files.rows.get(row.id)?.status).toBe('expired');
    expect(w.storage.list('exports')).toEqual([]);
    // Rows without an object never reach Storage; the absent one was asked for and not reported.
    expect(w.storage.calls.flat().sort()).toEqual([`${USER}/a.json`, `${USER}/b.json`, `${USER}/never-uploaded.json`]);
  });

  test('a row whose path is not its owner\'s is flagged and reported, never sent to Storage, and not claimed again', async () => {
    const w = world();
    w.storage.put('exports', `${OTHER_USER}/victim.json`);
    const hostile = w.files.add({ user_id: USER, file_url: url(`${OTHER_USER}/victim.json`) });
    const foreign = w.files.add({ file_url: 'https://evil.example.com/storage/v1/object/public/exports/x.json' });
    const other = w.files.add({ file_url: `${FAKE_SUPABASE_URL}/storage/v1/object/public/avatars/${USER}/me.png` });
    const out = await w.run();
    expect(out.skipped).toMatchObject({ count: 3, by_reason: { not_owner: 1, foreign_origin: 1, other_bucket: 1 }, flagged_total: 3 });
    expect(out.skipped.rows.map((r) => r.export_id).sort()).toEqual([hostile, foreign, other].map((r) => r.export_id).sort());
    expect(out).toMatchObject({ deleted_count: 0, logs_updated: 0 });
    expect(w.storage.calls).toEqual([]);
    expect(w.storage.has('exports', `${OTHER_USER}/victim.json`)).toBe(true);
    for (const row of [hostile, foreign, other]) {
      expect(w.files.rows.get(row.id)?.status).toBe('completed');
      expect(w.files.claims.get(row.id)?.skip_reason).toBeTruthy();
    }
    expect((await w.run()).total_found).toBe(0);
  });

  test('a row is marked expired only when storage shows its object absent: a name Storage skipped while stored is a failure', async () => {
    const w = world();
    const kept = w.withFile('protected.json');
    const ok = w.withFile('ok.json');
    w.storage.undeletable.add(`${USER}/protected.json`);
    const out = await w.run();
    expect(out).toMatchObject({ deleted_count: 1, already_gone_count: 0, failed_count: 1, logs_updated: 1 });
    expect(out.errors).toEqual([{ export_id: kept.export_id, error: expect.stringMatching(/still stored/) }]);
    expect(w.files.rows.get(kept.id)?.status).toBe('completed');
    expect(w.files.rows.get(ok.id)?.status).toBe('expired');
    // The attempt is recorded and the claim given back, so the next run retries it at once.
    expect(w.files.claims.get(kept.id)).toMatchObject({ attempts: 1, lease_until: null });
    w.storage.undeletable.clear();
    expect(await w.run()).toMatchObject({ total_found: 1, deleted_count: 1, failed_count: 0 });
    expect(w.files.rows.get(kept.id)?.status).toBe('expired');
  });

  test('a failed remove() marks none of its batch, records each row\'s attempt, and reports stuck rows', async () => {
    const w = world({ MAX_FILE_ATTEMPTS: '2' });
    const rows = [w.withFile('1.json'), w.withFile('2.json')];
    for (let attempt = 1; attempt <= 2; attempt += 1) {
      for (let i = 0; i < RETRY_ATTEMPTS; i += 1) w.storage.failures.push({ status: 503, message: 'Service Unavailable' });
      const out = await w.run();
      expect(out).toMatchObject({ deleted_count: 0, failed_count: 2, logs_updated: 0, bytes_reclaimed: 0 });
      expect(out.errors.map((e) => e.error)).toEqual(['503: Service Unavailable', '503: Service Unavailable']);
      expect(out.stuck.count).toBe(attempt === 2 ? 2 : 0);
    }
    for (const row of rows) expect(w.files.rows.get(row.id)?.status).toBe('completed');
    expect(w.storage.list('exports')).toHaveLength(2);
  });

  test('a dry run changes nothing and lists exactly what a real run would delete and mark', async () => {
    const w = world();
    const a = w.withFile('a.json', 70);
    const none = w.files.add({ file_url: null, file_size: null });
    const out = await w.run({ dryRun: true });
    expect(out).toMatchObject({ dry_run: true, total_found: 2, deleted_count: 1, no_file_count: 1, logs_updated: 2 });
    expect(out.planned).toEqual({
      delete: [{ export_id: a.export_id, path: `${USER}/a.json` }],
      mark_expired: expect.arrayContaining([a.export_id, none.export_id]),
      truncated: false, bytes_estimate: 70,
    });
    expect(w.storage.calls).toEqual([]);
    expect([...w.files.rows.values()].map((r) => r.status)).toEqual(['completed', 'completed']);
    expect(w.files.claims.size).toBe(0);
  });

  test('rows not yet due are left; maxFiles stops after that many rows', async () => {
    const w = world({ FILE_GRACE_HOURS: '2' });
    const notYet = w.files.add({ file_url: null, expires_at: w.clock.nowMs() - 3_600_000 });
    for (let i = 0; i < 5; i += 1) w.files.add({ file_url: null });
    expect(await w.run({ maxFiles: 3 })).toMatchObject({ total_found: 3, logs_updated: 3 });
    expect(await w.run()).toMatchObject({ total_found: 2, logs_updated: 2 });
    expect(w.files.rows.get(notYet.id)?.status).toBe('completed');
  });

  test('batches stay within Storage\'s bulk limit', async () => {
    const w = world();
    for (let i = 0; i < BATCH_SIZE * 2 + 5; i += 1) w.withFile(`${i}.json`, 1);
    const out = await w.run();
    expect(out).toMatchObject({ total_found: BATCH_SIZE * 2 + 5, deleted_count: BATCH_SIZE * 2 + 5, bytes_reclaimed: BATCH_SIZE * 2 + 5 });
    expect(w.storage.calls.map((c) => c.length)).toEqual([BATCH_SIZE, BATCH_SIZE, 5]);
  });

  test('with no time left it takes no batch and says there is more', async () => {
    const w = world({}, () => 0);
    w.withFile('a.json');
    expect(await w.run()).toMatchObject({ total_found: 0, more: true, orphans: { scanned_all: false } });
    expect(w.storage.calls).toEqual([]);
  });

  test('orphans past the grace are reported, and deleted only when DELETE_ORPHANS is on', async () => {
    const w = world({ ORPHAN_GRACE_HOURS: '24' });
    w.storage.put('exports', 'orphan-old.json', 10, w.clock.nowMs() - 48 * 3_600_000);
    w.storage.put('exports', 'orphan-new.json', 10, w.clock.nowMs());
    w.storage.put('exports', `${USER}/live.json`, 10, w.clock.nowMs() - 48 * 3_600_000);
    w.files.add({ file_url: url(`${USER}/live.json`), expires_at: w.clock.nowMs() + 3_600_000 });
    expect((await w.run()).orphans).toEqual({ scanned_all: true, count: 1, bytes: 10, deleted: 0, sample: ['orphan-old.json'] });
    expect(w.storage.has('exports', 'orphan-old.json')).toBe(true);

    const d = world({ ORPHAN_GRACE_HOURS: '24', DELETE_ORPHANS: 'true' });
    d.storage.put('exports', 'orphan-old.json', 10, d.clock.nowMs() - 48 * 3_600_000);
    expect((await d.run()).orphans).toMatchObject({ count: 1, deleted: 1 });
    expect(d.storage.has('exports', 'orphan-old.json')).toBe(false);
    expect((await d.run({ dryRun: true })).orphans).toMatchObject({ count: 0, deleted: 0 });
  });

  test('runJob records the run and its metrics; a run that throws gives its claims back and is recorded failed', async () => {
    const w = world();
    w.withFile('a.json', 5);
    const result = await runJob(fileCleanupJob, w.deps, { scheduledTime: w.clock.now().toISOString() });
    expect(result).toMatchObject({ deleted_count: 1, more: false });
    expect(w.deps.runs.last()).toMatchObject({ job: 'file-cleanup', status: 'succeeded', dryRun: false, result: { deleted_count: 1 } });
    expect(w.deps.metrics.published).toEqual([expect.objectContaining({ FilesDeleted: 1, BytesReclaimed: 5, CleanupFailures: 0 })]);

    const broken = w.withFile('b.json');
    w.files.markExpired = () => Promise.reject(new Error('database went away'));
    await expect(runJob(fileCleanupJob, w.deps, { scheduledTime: w.clock.now().toISOString() })).rejects.toThrow('database went away');
    expect(w.deps.runs.last()).toMatchObject({ status: 'failed', error: 'database went away' });
    expect(w.deps.metrics.published[1]).toEqual({ CleanupFailures: 1 });
    expect(w.files.claims.get(broken.id)?.lease_until).toBeNull();
  });
});
