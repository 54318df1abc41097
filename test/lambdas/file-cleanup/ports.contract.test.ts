/**
 * Contract of the file cleanup's ports: one set of cases run against the in-memory fakes
 * (./fakes.ts, what logic.test.ts runs over) and against the real adapters (supabase-js over the
 * local stack's database and Storage), so the fakes cannot drift from what the SQL functions
 * and Storage do.
 */
import { randomUUID } from 'node:crypto';
import { createClient } from '@supabase/supabase-js';
import { SupabaseFileCleanupStore } from '../../../lambdas/file-cleanup/claims';
import type { DueRule, FileCleanupStore, ObjectRemover } from '../../../lambdas/file-cleanup/ports';
import { SupabaseObjectRemover } from '../../../lambdas/file-cleanup/storage-remover';
import { createServiceClient, SupabaseRunLedger } from '../../../lambdas/shared/supabase';
import { describeContract, inMemory, onLocalStack } from '../../support/contract';
import { FAKE_SUPABASE_URL, FakeClock } from '../shared/fakes';
import { fakeFileCleanupPorts } from './fakes';

const HOUR = 3_600_000;
const USER = '00000000-0000-0000-0000-0000000000f1';
const BUCKET = 'exports';

interface ExportSpec {
  /** Object path (in the exports bucket) the row's Storage URL names. */
  path?: string;
  /** Store that object (this many bytes). */
  upload?: number;
  /** file_url instead of a Storage URL of `path`. */
  fileUrl?: string | null;
  status?: string;
  /** Hours before now it expired; null: no expires_at. @default 24 */
  expiredHoursAgo?: number | null;
  /** @default 48 */
  createdHoursAgo?: number;
}

/** One system the ports are adapters of, empty at the start of each case. */
interface FileWorld {
  files: FileCleanupStore;
  storage: ObjectRemover;
  /** The job's "now" (not ahead of the database's clock). */
  now: Date;
  origin: string;
  newRun(): Promise<string>;
  addExport(spec: ExportSpec): Promise<{ id: string; export_id: string }>;
  putObject(name: string, bytes: number): Promise<void>;
  statusOf(id: string): Promise<string | undefined>;
  /** Every lease runs out. */
  expireLeases(): Promise<void>;
  /** Storage answers the next `times` remove requests with `status`. */
  failRemoves(status: number, times: number): Promise<void>;
}

const fake = inMemory<FileWorld>(() => {
  const clock = new FakeClock(Date.now());
  const { files, storage } = fakeFileCleanupPorts(clock);
  const now = clock.now();
  return {
    files, storage, now, origin: FAKE_SUPABASE_URL,
    newRun: async () => randomUUID(),
    async addExport(spec) {
      if (spec.path && spec.upload !== undefined) storage.put(BUCKET, spec.path, spec.upload);
      const row = files.add({
        user_id: USER,
        file_url: spec.fileUrl !== undefined ? spec.fileUrl : `${FAKE_SUPABASE_URL}/storage/v1/object/public/${BUCKET}/${spec.path}`,
        status: spec.status ?? 'completed',
        expires_at: spec.expiredHoursAgo === null ? null : now.getTime() - (spec.expiredHoursAgo ?? 24) * HOUR,
        created_at: now.getTime() - (spec.createdHoursAgo ?? 48) * HOUR,
      });
      return { id: row.id, export_id: row.export_id };
    },
    async putObject(name, bytes) {
      storage.put(BUCKET, name, bytes);
    },
    async statusOf(id) {
      return files.rows.get(id)?.status;
    },
    async expireLeases() {
      clock.advance(3_600_000);
    },
    async failRemoves(status, times) {
      for (let i = 0; i < times; i += 1) storage.failures.push({ status, message: 'injected' });
    },
  };
});

const real = onLocalStack<FileWorld>('supabase-js adapters', {
  async prepare(stack) {
    await stack.db.query(`insert into auth.users (id) values ($1) on conflict do nothing`, [USER]);
  },
  async world(stack) {
    await stack.db.query('delete from export_ops.file_claims');
    await stack.db.query('delete from public.export_logs');
    await stack.db.query('delete from export_ops.exports');
    const client = createServiceClient(stack.supabase.url, stack.serviceRoleKey);
    const storageApi = createClient(stack.supabase.url, stack.serviceRoleKey, { auth: { persistSession: false } }).storage.from(BUCKET);
    const runs = new SupabaseRunLedger(client);
    // A second behind the database's clock, so a due-ness check at `now` is never ahead of it.
    const now = new Date(Date.now() - 1000);
    const upload = async (name: string, bytes: number) => {
      const { error } = await storageApi.upload(name, Buffer.alloc(bytes, 'x'), { upsert: true });
      if (error) throw error;
    };
    return {
      files: new SupabaseFileCleanupStore(client),
      storage: new SupabaseObjectRemover(client),
      now,
      origin: stack.supabase.url,
      newRun: () => runs.start({ job: 'file-cleanup', scheduledTime: now, dryRun: false }),
      async addExport(spec) {
        if (spec.path && spec.upload !== undefined) await upload(spec.path, spec.upload);
        const at = (h: number) => new Date(now.getTime() - h * HOUR).toISOString();
        const fileUrl = spec.fileUrl !== undefined ? spec.fileUrl : `${stack.supabase.url}/storage/v1/object/public/${BUCKET}/${spec.path}`;
        const { rows } = await stack.db.query<{ id: string; export_id: string }>(
          `insert into public.export_logs (export_id, user_id, "timestamp", format, config, conversation_count, file_size,
                                           status, file_url, expires_at, created_at, updated_at)
           values (gen_random_uuid(), $1, $2, 'json', '{}', 3, 100, $3, $4, $5, $2, $2) returning id::text, export_id::text`,
          [USER, at(spec.createdHoursAgo ?? 48), spec.status ?? 'completed', fileUrl,
           spec.expiredHoursAgo === null ? null : at(spec.expiredHoursAgo ?? 24)],
        );
        return rows[0];
      },
      putObject: upload,
      async statusOf(id) {
        const { rows } = await stack.db.query<{ status: string }>('select status from public.export_logs where id = $1', [id]);
        return rows[0]?.status;
      },
      async expireLeases() {
        await stack.db.query(`update export_ops.file_claims set lease_until = now() - interval '1 second' where lease_until is not null`);
      },
      async failRemoves(status, times) {
        stack.supabase.faults.clear();
        stack.supabase.faults.add({ method: 'DELETE', path: `/storage/v1/object/${BUCKET}`, times, fault: { status } });
      },
    };
  },
});

describeContract('file-cleanup ports contract', [fake, real], (world) => {
  const ruleOf = (w: FileWorld): DueRule => ({ now: w.now, graceHours: 1, retentionHours: 24 });
  const sorted = (xs: string[]) => [...xs].sort();
  const path = () => `${USER}/${randomUUID()}.json`;

  test('claim takes the due completed rows only, each once, with what the logic reads of them', async () => {
    const w = await world();
    const p = path();
    const expired = await w.addExport({ path: p });
    const oldNoExpiry = await w.addExport({ path: path(), expiredHoursAgo: null, createdHoursAgo: 30 });
    await w.addExport({ path: path(), expiredHoursAgo: 0.5 }); // inside the grace
    await w.addExport({ path: path(), expiredHoursAgo: null, createdHoursAgo: 10 }); // inside the retention
    await w.addExport({ path: path(), status: 'failed' });
    await w.addExport({ path: path(), status: 'expired' });
    const run = await w.newRun();
    const rows = await w.files.claim(run, ruleOf(w), 10, 60);
    expect(sorted(rows.map((r) => r.id))).toEqual(sorted([expired.id, oldNoExpiry.id]));
    expect(rows.find((r) => r.id === expired.id)).toEqual({
      id: expired.id, export_id: expired.export_id, user_id: USER, origin: w.origin, bucket: BUCKET, path: p, url_problem: null,
      file_url: `${w.origin}/storage/v1/object/public/${BUCKET}/${p}`, file_size: 100, attempts: 0,
    });
    expect(await w.files.claim(run, ruleOf(w), 10, 60)).toEqual([]);
  });

  test('a leased row is not claimed by another run until the lease is given back or runs out; the limit holds', async () => {
    const w = await world();
    const a = await w.addExport({ path: path() });
    const b = await w.addExport({ path: path() });
    const c = await w.addExport({ path: path() });
    const [first, second] = [await w.newRun(), await w.newRun()];
    const taken = await w.files.claim(first, ruleOf(w), 2, 600);
    expect(taken).toHaveLength(2);
    const rest = await w.files.claim(second, ruleOf(w), 10, 600);
    expect(sorted([...taken, ...rest].map((r) => r.id))).toEqual(sorted([a.id, b.id, c.id]));
    expect(await w.files.claim(second, ruleOf(w), 10, 600)).toEqual([]);

    expect(await w.files.releaseAll(first)).toBe(2);
    expect(sorted((await w.files.claim(second, ruleOf(w), 10, 600)).map((r) => r.id))).toEqual(sorted(taken.map((r) => r.id)));
    await w.expireLeases();
    expect(await w.files.claim(first, ruleOf(w), 10, 600)).toHaveLength(3);
  });

  test('markExpired changes completed rows only, once; a marked row is never claimed again', async () => {
    const w = await world();
    const a = await w.addExport({ path: path() });
    const failed = await w.addExport({ path: path(), status: 'failed' });
    const run = await w.newRun();
    await w.files.claim(run, ruleOf(w), 10, 60);
    expect(await w.files.markExpired([a.id, failed.id])).toBe(1);
    expect(await w.files.markExpired([a.id])).toBe(0);
    expect(await w.files.markExpired([])).toBe(0);
    expect([await w.statusOf(a.id), await w.statusOf(failed.id)]).toEqual(['expired', 'failed']);
    await w.expireLeases();
    expect(await w.files.claim(run, ruleOf(w), 10, 60)).toEqual([]);
  });

  test('recordFailures counts attempts across claims; report lists rows at the limit with their last error', async () => {
    const w = await world();
    const a = await w.addExport({ path: path() });
    for (let attempt = 1; attempt <= 2; attempt += 1) {
      const run = await w.newRun();
      const [row] = await w.files.claim(run, ruleOf(w), 10, 60);
      expect(row.attempts).toBe(attempt - 1);
      expect(await w.files.recordFailures([{ id: a.id, error: `503 (${attempt})` }])).toEqual({ [a.id]: attempt });
      await w.files.releaseAll(run);
    }
    expect(await w.files.report(2, 10)).toEqual({ flagged_total: 0, stuck_total: 1, stuck: [{ export_id: a.export_id, attempts: 2, last_error: '503 (2)' }] });
    expect(await w.files.report(3, 10)).toEqual({ flagged_total: 0, stuck_total: 0, stuck: [] });
  });

  test('a flagged row is out of every later claim and preview, and counted in the report', async () => {
    const w = await world();
    const a = await w.addExport({ path: path() });
    const run = await w.newRun();
    await w.files.claim(run, ruleOf(w), 10, 60);
    await w.files.flag([{ id: a.id, reason: 'not_owner' }]);
    await w.files.releaseAll(run);
    await w.expireLeases();
    expect(await w.files.claim(await w.newRun(), ruleOf(w), 10, 60)).toEqual([]);
    expect((await w.files.preview(ruleOf(w), 10)).rows).toEqual([]);
    expect((await w.files.report(5, 10)).flagged_total).toBe(1);
  });

  test('preview pages through the due rows in due order with its cursor, and claims nothing', async () => {
    const w = await world();
    const rows = [await w.addExport({ path: path(), expiredHoursAgo: 30 }), await w.addExport({ path: path(), expiredHoursAgo: 20 }),
      await w.addExport({ path: path(), expiredHoursAgo: 10 })];
    const seen: string[] = [];
    let cursor: { due: string; id: string } | undefined;
    for (;;) {
      const page = await w.files.preview(ruleOf(w), 2, cursor);
      if (page.rows.length === 0) break;
      seen.push(...page.rows.map((r) => r.id));
      expect(page.last_id).toBe(page.rows[page.rows.length - 1].id);
      cursor = { due: page.last_due as string, id: page.last_id as string };
    }
    expect(seen).toEqual(rows.map((r) => r.id));
    expect(await w.files.claim(await w.newRun(), ruleOf(w), 10, 60)).toHaveLength(3);
  });

  test('remove deletes what is stored and reports it with its bytes; an absent name is skipped silently; stillStored agrees', async () => {
    const w = await world();
    const [a, b, missing] = [path(), path(), path()];
    await w.putObject(a, 11);
    await w.putObject(b, 7);
    expect(await w.files.stillStored(BUCKET, [a, b, missing])).toEqual(new Set([a, b]));
    expect(await w.storage.remove(BUCKET, [a, missing])).toEqual({ ok: true, deleted: [a], bytes: 11 });
    expect(await w.files.stillStored(BUCKET, [a, b, missing])).toEqual(new Set([b]));
    expect(await w.storage.remove(BUCKET, [a])).toEqual({ ok: true, deleted: [], bytes: 0 });
    expect(await w.storage.remove(BUCKET, [])).toEqual({ ok: true, deleted: [], bytes: 0 });
    await expect(w.storage.remove(BUCKET, Array.from({ length: 1001 }, (_, i) => `${i}`))).rejects.toThrow(/at most 1000 names/);
  });

  test('a transient failure (503) is retried and the removal goes through; a refusal (403) deletes nothing and is not transient', async () => {
    const w = await world();
    const [a, b] = [path(), path()];
    await w.putObject(a, 3);
    await w.putObject(b, 4);
    await w.failRemoves(503, 1);
    expect(await w.storage.remove(BUCKET, [a])).toEqual({ ok: true, deleted: [a], bytes: 3 });
    await w.failRemoves(403, 1);
    expect(await w.storage.remove(BUCKET, [b])).toEqual({ ok: false, error: expect.stringMatching(/^403: /), transient: false });
    expect(await w.files.stillStored(BUCKET, [a, b])).toEqual(new Set([b]));
  });

  test('findOrphans lists, by name and page, old objects that no live row needs', async () => {
    const w = await world();
    const prefix = `orphans-${randomUUID()}`;
    const [o1, o2, live] = [`${prefix}/a.json`, `${prefix}/b.json`, `${prefix}/live.json`];
    for (const name of [o1, o2, live]) await w.putObject(name, 5);
    await w.addExport({ path: live, expiredHoursAgo: -24 });
    const later = new Date(Date.now() + HOUR);
    const mine = (names: { name: string }[]) => names.map((o) => o.name).filter((n) => n.startsWith(prefix));
    const all = await w.files.findOrphans(BUCKET, later, 1000);
    expect(mine(all.objects)).toEqual([o1, o2]);
    expect(all.objects.find((o) => o.name === o1)?.size).toBe(5);
    expect(mine((await w.files.findOrphans(BUCKET, new Date(Date.now() - HOUR), 1000)).objects)).toEqual([]);
    const first = await w.files.findOrphans(BUCKET, later, 1, `${prefix}/`);
    expect(first).toEqual({ objects: [{ name: o1, size: 5 }], last_name: o1 });
    expect((await w.files.findOrphans(BUCKET, later, 1, o1)).objects.map((o) => o.name)).toEqual([o2]);
  });
});
