/**
 * Contract of the log cleanup's ports: one set of cases run against the in-memory fakes
 * (./fakes.ts, what logic.test.ts runs over) and against the real adapters (supabase-js over the
 * local stack's database, the S3 SDK over its S3 server), so the fakes cannot drift from what
 * the SQL functions and S3 do.
 */
import { createHash, randomUUID } from 'node:crypto';
import { PassThrough, Readable } from 'node:stream';
import { SupabaseLogStore } from '../../../lambdas/log-cleanup/parts-store';
import type { ArchivePart, ArchiveStore, LogStore, PartManifest, RunParts } from '../../../lambdas/log-cleanup/ports';
import { S3ArchiveStore } from '../../../lambdas/log-cleanup/s3-archive';
import { createS3Client } from '../../../lambdas/shared/s3';
import { createServiceClient, SupabaseRunLedger } from '../../../lambdas/shared/supabase';
import { describeContract, inMemory, onLocalStack } from '../../support/contract';
import { FakeClock } from '../shared/fakes';
import { FakeArchiveStore, FakeLogStore } from './fakes';

const DAY = 86_400_000;
const USER = '00000000-0000-0000-0000-0000000000f1';
const OTHER = 'a3bb189e-8bf9-4888-9912-ace4e6543002';
const PREFIX = 'export-logs';

interface LogSpec {
  status?: string;
  createdAt: Date;
  user?: string;
}

/** One system the ports are adapters of, empty at the start of each case. */
interface LogWorld {
  logs: LogStore;
  archive: ArchiveStore;
  bucket: string;
  cutoff: Date;
  newRun(): Promise<string>;
  addLog(spec: LogSpec): Promise<string>;
  /** The app changes a row (its archived form changes). */
  changeLog(id: string): Promise<void>;
  /** The app deletes a row. */
  deleteLog(id: string): Promise<void>;
  exists(id: string): Promise<boolean>;
}

const fake = inMemory<LogWorld>(() => {
  const clock = new FakeClock(Date.now());
  const logs = new FakeLogStore(clock);
  const cutoff = new Date(clock.nowMs() - 30 * DAY);
  return {
    logs, archive: new FakeArchiveStore(), bucket: 'archive', cutoff,
    newRun: async () => randomUUID(),
    async addLog(spec) {
      return logs.add({ status: spec.status ?? 'failed', user_id: spec.user ?? USER, created_at: spec.createdAt.toISOString() }).id;
    },
    async changeLog(id) {
      (logs.rows.get(id) as { error_message: string | null }).error_message = `changed ${randomUUID()}`;
    },
    async deleteLog(id) {
      logs.rows.delete(id);
    },
    async exists(id) {
      return logs.rows.has(id);
    },
  };
});

const real = onLocalStack<LogWorld>('supabase-js and S3 adapters', {
  async prepare(stack) {
    await stack.db.query(`insert into auth.users (id) values ($1), ($2) on conflict do nothing`, [USER, OTHER]);
  },
  async world(stack) {
    await stack.db.query('delete from export_ops.archive_parts');
    await stack.db.query('delete from public.export_logs');
    await stack.db.query('delete from export_ops.exports');
    const client = createServiceClient(stack.supabase.url, stack.serviceRoleKey);
    const runs = new SupabaseRunLedger(client);
    const cutoff = new Date(Date.now() - 30 * DAY);
    return {
      logs: new SupabaseLogStore(client),
      archive: new S3ArchiveStore(createS3Client(stack.env)),
      bucket: stack.env.ARCHIVE_BUCKET,
      cutoff,
      newRun: () => runs.start({ job: 'log-cleanup', scheduledTime: new Date(), dryRun: false }),
      async addLog(spec) {
        const at = spec.createdAt.toISOString();
        const { rows } = await stack.db.query<{ id: string }>(
          `insert into public.export_logs (export_id, user_id, "timestamp", format, config, conversation_count, status, error_message, created_at, updated_at)
           values (gen_random_uuid(), $1, $2, 'json', '{}', 1, $3, null, $2, $2) returning id::text`,
          [spec.user ?? USER, at, spec.status ?? 'failed'],
        );
        return rows[0].id;
      },
      async changeLog(id) {
        await stack.db.query('update public.export_logs set error_message = $2 where id = $1', [id, `changed ${randomUUID()}`]);
      },
      async deleteLog(id) {
        await stack.db.query('delete from public.export_logs where id = $1', [id]);
      },
      async exists(id) {
        return (await stack.db.query('select 1 from public.export_logs where id = $1', [id])).rows.length > 0;
      },
    };
  },
});

/** A part's rows as the pages give them: ids in order, page sizes, the NDJSON and its checksum. */
async function readPart(parts: RunParts, part: ArchivePart, pageRows: number) {
  const ids: string[] = [];
  const sizes: number[] = [];
  let ndjson = '';
  let checksum = 0n;
  for await (const page of parts.rows(part.part_key, pageRows)) {
    sizes.push(page.rows);
    ndjson += page.ndjson.toString('utf8');
    checksum += BigInt(page.checksum);
    const lines = page.ndjson.toString('utf8').split('\n').filter(Boolean);
    expect(lines).toHaveLength(page.rows);
    ids.push(...lines.map((l) => (JSON.parse(l) as { id: string }).id));
    expect(page.lastId).toBe(ids[ids.length - 1]);
  }
  return { ids, sizes, ndjson, checksum: checksum.toString() };
}

function manifestOf(part: ArchivePart, bucket: string, read: { ids: string[]; ndjson: string; checksum: string }): PartManifest {
  return {
    version: 1, part_key: part.part_key, bucket, object_key: part.object_key, row_count: read.ids.length, first_key: null, last_key: null,
    sha256: createHash('sha256').update(read.ndjson).digest('hex'), row_checksum: read.checksum, uncompressed_bytes: read.ndjson.length,
    bytes: 10, etag: '"e"', selector: part.selector, written_at: new Date().toISOString(),
  };
}

const byAge = (w: LogWorld) => ({ cutoff: w.cutoff, userId: null, prefix: PREFIX });

describeContract('log-cleanup ports contract', [fake, real], (world) => {

  /** The 10th of the month `back` months before the cutoff's, noon UTC, plus `minutes`. */
  const inMonth = (w: LogWorld, back: number, minutes = 0) =>
    new Date(Date.UTC(w.cutoff.getUTCFullYear(), w.cutoff.getUTCMonth() - back, 10, 12, minutes));

  /**
   * Eligible rows in two months before the cutoff, each group in key order (`second` is the
   * older month), and rows that are not eligible: queued, and after the cutoff.
   */
  async function seed(w: LogWorld) {
    const first: string[] = [];
    const second: string[] = [];
    for (let i = 0; i < 5; i += 1) first.push(await w.addLog({ createdAt: inMonth(w, 2, i), status: i % 2 ? 'expired' : 'failed' }));
    await w.addLog({ createdAt: inMonth(w, 2, 2), status: 'queued' });
    for (let i = 0; i < 3; i += 1) second.push(await w.addLog({ createdAt: inMonth(w, 4, i), status: 'completed' }));
    await w.addLog({ createdAt: new Date(w.cutoff.getTime() + DAY), status: 'failed' });
    return { first, second };
  }

  test('claim plans parts of at most partRows eligible rows of one month, in key order; rows() pages through exactly them', async () => {
    const w = await world();
    const { first, second } = await seed(w);
    const parts = w.logs.forRun(await w.newRun(), 300);
    const seen: string[][] = [];
    let after: { createdAt: string; id: string } | null = null;
    for (;;) {
      const claim = await parts.claim({ ...byAge(w), partRows: 3, after });
      if (claim.kind === 'done') break;
      if (claim.kind !== 'part') throw new Error(`unexpected ${claim.kind}`);
      const { part } = claim;
      expect(claim.resumed).toBe(false);
      expect(part).toMatchObject({ state: 'pending', attempts: 1, sha256: null, etag: null });
      const month = new Date(part.first_created_at).toISOString().slice(0, 7);
      expect(part.object_key).toBe(`${PREFIX}/export_logs/year=${month.slice(0, 4)}/month=${month.slice(5)}/${part.part_key}.ndjson.gz`);
      expect(part.manifest_key).toBe(part.object_key.replace(/\.ndjson\.gz$/, '.manifest.json'));
      const read = await readPart(parts, part, 2);
      expect(read.ids).toHaveLength(part.row_count);
      expect(read.ids[0]).toBe(part.first_id);
      expect(read.ids[read.ids.length - 1]).toBe(part.last_id);
      expect(read.sizes.every((n) => n <= 2)).toBe(true);
      seen.push(read.ids);
      after = { createdAt: part.last_created_at, id: part.last_id };
    }
    // Oldest month first (seeded later), split at partRows and at the month's end.
    expect(seen).toEqual([second, first.slice(0, 3), first.slice(3)]);
    expect((await w.logs.stats({ cutoff: w.cutoff, userId: null }, false)).open_parts).toBe(3);
  });

  test('rows deleted from and added to a part\'s range while its pages are read: rows() gives each row of the range once, in key order', async () => {
    const w = await world();
    const ids: string[] = [];
    for (let i = 0; i < 8; i += 1) ids.push(await w.addLog({ createdAt: inMonth(w, 2, 2 * i) }));
    const parts = w.logs.forRun(await w.newRun(), 300);
    const claim = await parts.claim({ ...byAge(w), partRows: 8, after: null });
    if (claim.kind !== 'part') throw new Error('expected a part');
    // Pages of 2 planned to end at rows 2, 4, 6, 8. After the first page: row 5 deleted (the
    // third page then ends at row 7, not 6) and a row added between rows 7 and 8.
    const seen: string[] = [];
    let added = '';
    for await (const page of parts.rows(claim.part.part_key, 2)) {
      seen.push(...page.ndjson.toString('utf8').split('\n').filter(Boolean).map((l) => (JSON.parse(l) as { id: string }).id));
      if (seen.length === 2) {
        await w.deleteLog(ids[4]);
        added = await w.addLog({ createdAt: inMonth(w, 2, 13) });
      }
    }
    expect(seen).toEqual([...ids.slice(0, 4), ids[5], ids[6], added, ids[7]]);
  });

  test('a part another run holds is busy; given back, it is resumed by the next run, and its first run may no longer touch it', async () => {
    const w = await world();
    await seed(w);
    const a = w.logs.forRun(await w.newRun(), 300);
    const b = w.logs.forRun(await w.newRun(), 300);
    const claimed = await a.claim({ ...byAge(w), partRows: 3, after: null });
    if (claimed.kind !== 'part') throw new Error('expected a part');
    expect(await b.claim({ ...byAge(w), partRows: 3, after: null })).toMatchObject({ kind: 'busy', partKey: claimed.part.part_key });
    await a.release(claimed.part.part_key);
    const resumed = await b.claim({ ...byAge(w), partRows: 3, after: null });
    expect(resumed).toMatchObject({ kind: 'part', resumed: true, part: { part_key: claimed.part.part_key, attempts: 2 } });
    await expect(readPart(a, claimed.part, 2)).rejects.toThrow(/is not held by run/);
    await expect(a.recordManifest(claimed.part.part_key, manifestOf(claimed.part, w.bucket, { ids: [], ndjson: '', checksum: '0' })))
      .rejects.toThrow(/is not held by run/);
  });

  test('a verified part\'s rows are deleted only as archived: exactly them, once', async () => {
    const w = await world();
    const { second, first } = await seed(w);
    const parts = w.logs.forRun(await w.newRun(), 300);
    const claim = await parts.claim({ ...byAge(w), partRows: 10, after: null });
    if (claim.kind !== 'part') throw new Error('expected a part');
    await expect(parts.deleteRows(claim.part.part_key)).rejects.toThrow(/not verified/);
    const read = await readPart(parts, claim.part, 2);
    expect(read.ids).toEqual(second);
    await parts.recordManifest(claim.part.part_key, manifestOf(claim.part, w.bucket, read));
    expect(await parts.deleteRows(claim.part.part_key)).toEqual({ status: 'deleted', deleted: second.length });
    expect(await parts.deleteRows(claim.part.part_key)).toEqual({ status: 'already_deleted', deleted: 0 });
    for (const id of second) expect(await w.exists(id)).toBe(false);
    for (const id of first) expect(await w.exists(id)).toBe(true);
    expect(await w.logs.recordedParts(PREFIX, null, 10)).toEqual([
      {
        part_key: claim.part.part_key, object_key: claim.part.object_key, sha256: createHash('sha256').update(read.ndjson).digest('hex'),
        row_count: second.length, state: 'deleted',
      },
    ]);
  });

  test('a row changed after the read makes the delete stale: nothing deleted, the part pending until written again', async () => {
    const w = await world();
    const { second } = await seed(w);
    const parts = w.logs.forRun(await w.newRun(), 300);
    const claim = await parts.claim({ ...byAge(w), partRows: 10, after: null });
    if (claim.kind !== 'part') throw new Error('expected a part');
    const read = await readPart(parts, claim.part, 2);
    await parts.recordManifest(claim.part.part_key, manifestOf(claim.part, w.bucket, read));
    await w.changeLog(second[1]);
    expect(await parts.deleteRows(claim.part.part_key)).toEqual({ status: 'stale', deleted: 0, rows_now: 3, rows_archived: 3 });
    for (const id of second) expect(await w.exists(id)).toBe(true);
    await expect(parts.deleteRows(claim.part.part_key)).rejects.toThrow(/not verified/);

    const again = await readPart(parts, claim.part, 2);
    expect(again.ids).toEqual(second);
    expect(again.checksum).not.toBe(read.checksum);
    await parts.recordManifest(claim.part.part_key, manifestOf(claim.part, w.bucket, again));
    expect(await parts.deleteRows(claim.part.part_key)).toEqual({ status: 'deleted', deleted: 3 });
  });

  test('reading a verified part from its start makes it pending again', async () => {
    const w = await world();
    await seed(w);
    const parts = w.logs.forRun(await w.newRun(), 300);
    const claim = await parts.claim({ ...byAge(w), partRows: 10, after: null });
    if (claim.kind !== 'part') throw new Error('expected a part');
    await parts.recordManifest(claim.part.part_key, manifestOf(claim.part, w.bucket, await readPart(parts, claim.part, 5)));
    await readPart(parts, claim.part, 5);
    await expect(parts.deleteRows(claim.part.part_key)).rejects.toThrow(/not verified/);
  });

  test('drop refuses while the part holds rows, and forgets it once they are gone', async () => {
    const w = await world();
    const { second } = await seed(w);
    const parts = w.logs.forRun(await w.newRun(), 300);
    const claim = await parts.claim({ ...byAge(w), partRows: 10, after: null });
    if (claim.kind !== 'part') throw new Error('expected a part');
    await expect(parts.drop(claim.part.part_key)).rejects.toThrow(/has rows again/);
    for (const id of second) await w.deleteLog(id);
    expect(await readPart(parts, claim.part, 2)).toMatchObject({ ids: [] });
    await parts.drop(claim.part.part_key);
    expect((await w.logs.stats({ cutoff: w.cutoff, userId: null }, false)).open_parts).toBe(0);
  });

  test('stats count without changing anything; deleteUnarchived deletes eligible rows only, up to its limit', async () => {
    const w = await world();
    const { first, second } = await seed(w);
    const scope = { cutoff: w.cutoff, userId: null };
    expect(await w.logs.stats(scope, true)).toMatchObject({ eligible_for_cleanup: 8, stale_count: 1, waiting_for_file_count: 0, open_parts: 0 });
    expect(await w.logs.stats(scope, false)).toMatchObject({ eligible_for_cleanup: null, stale_count: 1 });
    expect(await w.logs.deleteUnarchived(scope, 5)).toBe(5);
    expect(await w.logs.deleteUnarchived(scope, 5)).toBe(3);
    expect(await w.logs.deleteUnarchived(scope, 5)).toBe(0);
    for (const id of [...first, ...second]) expect(await w.exists(id)).toBe(false);
    expect((await w.logs.stats(scope, true)).stale_count).toBe(1);
  });

  test('a user\'s scope is that user\'s rows of any age, except queued and processing ones', async () => {
    const w = await world();
    await seed(w);
    // Parts never cross a month: a recent month, with rows after the cutoff.
    const recent = (minutes: number) => new Date(w.cutoff.getTime() + 2 * DAY + minutes * 60_000);
    const mine = [await w.addLog({ user: OTHER, createdAt: recent(0) }), await w.addLog({ user: OTHER, createdAt: recent(1), status: 'completed' })];
    await w.addLog({ user: OTHER, createdAt: recent(2), status: 'processing' });
    const parts = w.logs.forRun(await w.newRun(), 300);
    const claim = await parts.claim({ cutoff: w.cutoff, userId: OTHER, prefix: PREFIX, partRows: 10, after: null });
    if (claim.kind !== 'part') throw new Error('expected a part');
    expect(claim.part.selector).toEqual({ kind: 'user', user_id: OTHER });
    expect((await readPart(parts, claim.part, 10)).ids).toEqual(mine);
  });

  test('restoreRows puts a deleted part\'s rows back once; a dry run inserts nothing; rows outside the part are refused', async () => {
    const w = await world();
    const { second } = await seed(w);
    const parts = w.logs.forRun(await w.newRun(), 300);
    const claim = await parts.claim({ ...byAge(w), partRows: 10, after: null });
    if (claim.kind !== 'part') throw new Error('expected a part');
    const read = await readPart(parts, claim.part, 10);
    await parts.recordManifest(claim.part.part_key, manifestOf(claim.part, w.bucket, read));
    const other = await parts.claim({ ...byAge(w), partRows: 10, after: null });
    if (other.kind !== 'part') throw new Error('expected a second part');
    await expect(w.logs.restoreRows(other.part.part_key, read.ndjson, false)).rejects.toThrow(/not a verified part/);
    await parts.deleteRows(claim.part.part_key);
    expect(await w.logs.restoreRows(claim.part.part_key, read.ndjson, true)).toEqual({ rows: 3, inserted: 0, present: 0, orphaned: 0 });
    expect(await w.exists(second[0])).toBe(false);
    expect(await w.logs.restoreRows(claim.part.part_key, read.ndjson, false)).toEqual({ rows: 3, inserted: 3, present: 0, orphaned: 0 });
    for (const id of second) expect(await w.exists(id)).toBe(true);
    expect(await w.logs.restoreRows(claim.part.part_key, read.ndjson, false)).toEqual({ rows: 3, inserted: 0, present: 3, orphaned: 0 });
    // A line of another part's range (the other part, once recorded) is refused with the whole call.
    const otherRead = await readPart(parts, other.part, 10);
    await parts.recordManifest(other.part.part_key, manifestOf(other.part, w.bucket, otherRead));
    await expect(w.logs.restoreRows(claim.part.part_key, otherRead.ndjson, false)).rejects.toThrow(/outside its recorded key range/);
  });

  describe('archive store', () => {
    const readAll = async (stream: Readable) => {
      const chunks: Buffer[] = [];
      for await (const chunk of stream) chunks.push(Buffer.from(chunk as Buffer));
      return Buffer.concat(chunks);
    };

    test('an uploaded stream is stored as sent: head gives its size and the ETag the upload returned, get its bytes', async () => {
      const w = await world();
      const key = `contract/${randomUUID()}.bin`;
      const bytes = Buffer.from(Array.from({ length: 5000 }, (_, i) => i % 251));
      const { etag } = await w.archive.upload(w.bucket, key, Readable.from([bytes.subarray(0, 1000), bytes.subarray(1000)]), 'application/gzip');
      expect(etag).toMatch(/^".+"$/);
      expect(await w.archive.head(w.bucket, key)).toEqual({ bytes: 5000, etag });
      expect((await readAll(await w.archive.get(w.bucket, key))).equals(bytes)).toBe(true);
    });

    test('put stores a small object; head of a missing key is null', async () => {
      const w = await world();
      const key = `contract/${randomUUID()}.json`;
      await w.archive.put(w.bucket, key, '{"a":1}', 'application/json');
      expect(await w.archive.head(w.bucket, key)).toMatchObject({ bytes: 7 });
      expect((await readAll(await w.archive.get(w.bucket, key))).toString()).toBe('{"a":1}');
      expect(await w.archive.head(w.bucket, `contract/${randomUUID()}`)).toBeNull();
    });

    test('a body that fails abandons the upload: it rejects and nothing is stored', async () => {
      const w = await world();
      const key = `contract/${randomUUID()}.bin`;
      const body = new PassThrough();
      const uploaded = w.archive.upload(w.bucket, key, body, 'application/gzip');
      body.write(Buffer.alloc(1000, 1));
      setTimeout(() => body.destroy(new Error('source failed')), 20);
      await expect(uploaded).rejects.toThrow('source failed');
      expect(await w.archive.head(w.bucket, key)).toBeNull();
    });
  });
});
