import { createHash, randomUUID } from 'node:crypto';
import { Readable } from 'node:stream';
import type {
  ArchivePart, ArchiveStore, Claim, CleanupStats, DeleteOutcome, LogScope, LogStore, Page, PartManifest, RecordedPart, RestoreCounts,
  RowKey, RunParts, StoredObjectInfo,
} from '../../../lambdas/log-cleanup/ports';
import type { FakeClock } from '../shared/fakes';

/**
 * In-memory fakes of the log cleanup's ports (lambdas/log-cleanup/ports.ts): the export rows
 * and archive parts with the semantics of the log-cleanup SQL functions, and an archive store.
 * ports.contract.test.ts runs the same cases against them and the real adapters. Test code only.
 */

export interface FakeLog {
  id: string;
  user_id: string;
  status: string;
  /** ISO date-time. */
  created_at: string;
  /** The row's file is still in Storage (a completed row then waits for the file cleanup). */
  stored: boolean;
  error_message: string | null;
}

interface PartRecord extends ArchivePart {
  run_id: string;
  lease_until: number | null;
  manifest: PartManifest | null;
  seq: number;
}

const keyOf = (row: { created_at: string; id: string }) => `${new Date(row.created_at).toISOString()}|${row.id}`;
const cmp = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);
/** A 64-bit signed hash of a line, as the database's hashtextextended (another function, the same use). */
const hash64 = (line: string) => BigInt.asIntN(64, createHash('sha256').update(line).digest().readBigUInt64BE(0));

function matches(sel: ArchivePart['selector'], row: FakeLog): boolean {
  if (sel.kind === 'user') return row.user_id === sel.user_id && !['queued', 'processing'].includes(row.status);
  if (Date.parse(row.created_at) >= Date.parse(sel.cutoff)) return false;
  return row.status === 'failed' || row.status === 'expired' || (row.status === 'completed' && !row.stored);
}

/** The export logs and archive parts. Leases run on `clock` (the database's now()). */
export class FakeLogStore implements LogStore {
  readonly rows = new Map<string, FakeLog>();
  readonly parts = new Map<string, PartRecord>();
  private seq = 0;

  constructor(readonly clock: FakeClock) {}

  add(row: Partial<FakeLog> & { created_at: string }): FakeLog {
    const full: FakeLog = {
      id: randomUUID(), user_id: '00000000-0000-0000-0000-0000000000f1', status: 'failed', stored: false, error_message: null, ...row,
    };
    this.rows.set(full.id, full);
    return full;
  }

  /** A row's archived form (the real one is the row's JSON as PostgreSQL writes it). */
  line(row: FakeLog): string {
    return JSON.stringify({ id: row.id, user_id: row.user_id, status: row.status, created_at: row.created_at, error_message: row.error_message });
  }

  /** Rows of the selector in the part's key range, in key order. */
  partRows(part: Pick<ArchivePart, 'selector' | 'first_created_at' | 'first_id' | 'last_created_at' | 'last_id'>): FakeLog[] {
    const lo = keyOf({ created_at: part.first_created_at, id: part.first_id });
    const hi = keyOf({ created_at: part.last_created_at, id: part.last_id });
    return [...this.rows.values()]
      .filter((r) => matches(part.selector, r) && keyOf(r) >= lo && keyOf(r) <= hi)
      .sort((a, b) => cmp(keyOf(a), keyOf(b)));
  }

  forRun(runId: string, leaseSeconds: number): RunParts {
    return new FakeRunParts(this, runId, leaseSeconds);
  }

  /** @internal for FakeRunParts */
  nextSeq(): number {
    return (this.seq += 1);
  }

  async stats(scope: LogScope, measure: boolean): Promise<CleanupStats> {
    const sel = selectorOf(scope);
    const cutoff = scope.cutoff.getTime();
    const rows = [...this.rows.values()];
    return {
      eligible_for_cleanup: measure ? rows.filter((r) => matches(sel, r)).length : null,
      total_size_estimate_mb: measure ? 0 : null,
      oldest_log_date: rows.map((r) => r.created_at).sort()[0] ?? null,
      cutoff_date: scope.cutoff.toISOString(),
      stale_count: rows.filter((r) => ['queued', 'processing'].includes(r.status)
        && (scope.userId === null ? Date.parse(r.created_at) < cutoff : r.user_id === scope.userId)).length,
      waiting_for_file_count: scope.userId !== null ? 0
        : rows.filter((r) => r.status === 'completed' && r.stored && Date.parse(r.created_at) < cutoff).length,
      open_parts: [...this.parts.values()].filter((p) => p.state !== 'deleted').length,
    };
  }

  async deleteUnarchived(scope: LogScope, limit: number): Promise<number> {
    const sel = selectorOf(scope);
    const doomed = [...this.rows.values()].filter((r) => matches(sel, r)).sort((a, b) => cmp(keyOf(a), keyOf(b))).slice(0, limit);
    for (const row of doomed) this.rows.delete(row.id);
    return doomed.length;
  }

  async recordedParts(prefix: string, afterKey: string | null, limit: number): Promise<RecordedPart[]> {
    return [...this.parts.values()]
      .filter((p) => p.state !== 'pending' && p.object_key.startsWith(prefix) && (afterKey === null || p.object_key > afterKey))
      .sort((a, b) => cmp(a.object_key, b.object_key))
      .slice(0, limit)
      .map((p) => ({ part_key: p.part_key, object_key: p.object_key, sha256: p.sha256 as string, row_count: p.row_count, state: p.state as 'verified' | 'deleted' }));
  }

  async restoreRows(partKey: string, ndjson: string, dryRun: boolean): Promise<RestoreCounts> {
    const part = this.parts.get(partKey);
    if (!part || part.state === 'pending') throw new Error(`archive part ${partKey} is not a verified part recorded by this database: nothing restored`);
    const rows = ndjson.split('\n').filter(Boolean).map((line) => JSON.parse(line) as Omit<FakeLog, 'stored'>);
    const lo = keyOf({ created_at: part.first_created_at, id: part.first_id });
    const hi = keyOf({ created_at: part.last_created_at, id: part.last_id });
    const outside = rows.filter((r) => !r.id || keyOf(r) < lo || keyOf(r) > hi).length;
    if (outside > 0) throw new Error(`${outside} of the rows sent are not rows of archive part ${partKey} (outside its recorded key range): nothing restored`);
    const counts = { rows: rows.length, inserted: 0, present: 0, orphaned: 0 };
    for (const row of rows) {
      if (this.rows.has(row.id)) counts.present += 1;
      else if (!dryRun) {
        counts.inserted += 1;
        this.rows.set(row.id, { ...row, stored: false });
      }
    }
    return counts;
  }
}

function selectorOf(scope: LogScope): ArchivePart['selector'] {
  return scope.userId !== null ? { kind: 'user', user_id: scope.userId } : { kind: 'age', cutoff: scope.cutoff.toISOString() };
}

/** `20261001T120000.000000Z`: the part key's time, as to_char(…, 'YYYYMMDD"T"HH24MISS.US"Z"'). */
function keyTime(iso: string): string {
  const d = new Date(iso).toISOString();
  return `${d.slice(0, 4)}${d.slice(5, 7)}${d.slice(8, 10)}T${d.slice(11, 13)}${d.slice(14, 16)}${d.slice(17, 19)}.${d.slice(20, 23)}000Z`;
}

class FakeRunParts implements RunParts {
  constructor(private readonly db: FakeLogStore, readonly runId: string, private readonly leaseSeconds: number) {}

  private now(): number {
    return this.db.clock.nowMs();
  }

  /** export_ops.log_own_part: the part, held by this run and not finished; renews the lease. */
  private own(partKey: string, leaseSeconds = this.leaseSeconds): PartRecord {
    const part = this.db.parts.get(partKey);
    if (!part || part.run_id !== this.runId || part.state === 'deleted') {
      throw new Error(`archive part ${partKey} is not held by run ${this.runId} (finished, or taken over after its lease ran out)`);
    }
    part.lease_until = this.now() + leaseSeconds * 1000;
    return part;
  }

  async claim(args: LogScope & { prefix: string; partRows: number; after: RowKey | null }): Promise<Claim> {
    if (!(args.partRows >= 1)) throw new Error(`p_part_rows must be a positive number (got ${args.partRows})`);
    const now = this.now();
    const byAge = [...this.db.parts.values()].sort((a, b) => a.seq - b.seq);
    const busy = byAge.find((p) => p.state !== 'deleted' && p.lease_until !== null && p.lease_until > now && p.run_id !== this.runId);
    if (busy) return { kind: 'busy', partKey: busy.part_key, leaseUntil: new Date(busy.lease_until as number).toISOString() };
    const abandoned = byAge.find((p) => p.state !== 'deleted' && (p.lease_until === null || p.lease_until <= now));
    if (abandoned) {
      Object.assign(abandoned, { run_id: this.runId, lease_until: now + this.leaseSeconds * 1000, attempts: abandoned.attempts + 1 });
      return { kind: 'part', part: publicPart(abandoned), resumed: true };
    }

    const sel = selectorOf(args);
    const open = byAge.filter((p) => p.state !== 'deleted')
      .map((p) => ({ lo: keyOf({ created_at: p.first_created_at, id: p.first_id }), hi: keyOf({ created_at: p.last_created_at, id: p.last_id }) }));
    const after = args.after ? keyOf({ created_at: args.after.createdAt, id: args.after.id }) : null;
    const candidates = [...this.db.rows.values()].filter((r) => matches(sel, r)).sort((a, b) => cmp(keyOf(a), keyOf(b)));
    const start = candidates.find((r) => (after === null || keyOf(r) > after) && !open.some((o) => keyOf(r) >= o.lo && keyOf(r) <= o.hi));
    if (!start) return { kind: 'done' };
    const startKey = keyOf(start);
    const nextOpen = open.map((o) => o.lo).filter((lo) => lo > startKey).sort()[0];
    const month = new Date(start.created_at).toISOString().slice(0, 7);
    const rows = candidates
      .filter((r) => keyOf(r) >= startKey && new Date(r.created_at).toISOString().slice(0, 7) === month && (nextOpen === undefined || keyOf(r) < nextOpen))
      .slice(0, args.partRows);
    const last = rows[rows.length - 1];
    const base = `${keyTime(start.created_at)}-${start.id}`;
    const used = [...this.db.parts.keys()].filter((k) => k === base || k.startsWith(`${base}-`)).length;
    const key = used ? `${base}-${used}` : base;
    const d = new Date(start.created_at).toISOString();
    const dir = [args.prefix || null, 'export_logs', `year=${d.slice(0, 4)}`, `month=${d.slice(5, 7)}`].filter(Boolean).join('/');
    const part: PartRecord = {
      part_key: key, object_key: `${dir}/${key}.ndjson.gz`, manifest_key: `${dir}/${key}.manifest.json`, row_count: rows.length,
      first_created_at: start.created_at, first_id: start.id, last_created_at: last.created_at, last_id: last.id,
      state: 'pending', selector: sel, sha256: null, bytes: null, etag: null, attempts: 1,
      run_id: this.runId, lease_until: now + this.leaseSeconds * 1000, manifest: null, seq: this.db.nextSeq(),
    };
    this.db.parts.set(key, part);
    return { kind: 'part', part: publicPart(part), resumed: false };
  }

  async *rows(partKey: string, pageRows: number): AsyncGenerator<Page> {
    let after: string | null = null;
    for (;;) {
      const part = this.own(partKey);
      if (after === null && part.state === 'verified') part.state = 'pending';
      const from = after;
      const page = this.db.partRows(part).filter((r) => from === null || keyOf(r) > from).slice(0, pageRows);
      const lines = page.map((r) => this.db.line(r));
      const last = page[page.length - 1];
      if (page.length > 0) {
        yield {
          rows: page.length,
          ndjson: Buffer.from(`${lines.join('\n')}\n`),
          checksum: lines.reduce((sum, l) => sum + hash64(l), 0n).toString(),
          lastCreatedAt: last.created_at,
          lastId: last.id,
        };
      }
      if (page.length < pageRows) return;
      after = keyOf(last);
    }
  }

  async recordManifest(partKey: string, manifest: PartManifest): Promise<void> {
    const part = this.own(partKey);
    Object.assign(part, { state: 'verified', manifest, row_count: manifest.row_count, sha256: manifest.sha256, bytes: manifest.bytes, etag: manifest.etag });
  }

  async deleteRows(partKey: string): Promise<DeleteOutcome> {
    const part = this.db.parts.get(partKey);
    if (!part || part.run_id !== this.runId) throw new Error(`archive part ${partKey} is not held by run ${this.runId}`);
    if (part.state === 'deleted') return { status: 'already_deleted', deleted: 0 };
    if (part.state !== 'verified') throw new Error(`archive part ${partKey} is ${part.state}, not verified: its rows cannot be deleted`);
    const rows = this.db.partRows(part);
    const checksum = rows.reduce((sum, r) => sum + hash64(this.db.line(r)), 0n).toString();
    if (rows.length !== part.row_count || checksum !== part.manifest?.row_checksum) {
      part.state = 'pending';
      return { status: 'stale', deleted: 0, rows_now: rows.length, rows_archived: part.row_count };
    }
    for (const row of rows) this.db.rows.delete(row.id);
    Object.assign(part, { state: 'deleted', lease_until: null });
    return { status: 'deleted', deleted: rows.length };
  }

  async release(partKey: string): Promise<void> {
    const part = this.db.parts.get(partKey);
    if (part && part.run_id === this.runId && part.state !== 'deleted') part.lease_until = this.now();
  }

  async drop(partKey: string): Promise<void> {
    const part = this.own(partKey, 0);
    if (this.db.partRows(part).length > 0) throw new Error(`archive part ${partKey} has rows again; it will be written on the next run`);
    this.db.parts.delete(partKey);
  }
}

function publicPart(part: PartRecord): ArchivePart {
  const { run_id: _r, lease_until: _l, manifest: _m, seq: _s, ...rest } = part;
  return { ...rest };
}

interface FakeObject {
  body: Buffer;
  etag: string;
  contentType: string;
}

/** An S3 bucket set in memory. `intercept` runs before each call (throw to fail it, or change things). */
export class FakeArchiveStore implements ArchiveStore {
  readonly objects = new Map<string, FakeObject>();
  /** Every write (upload or put), in order. */
  readonly writes: { op: 'upload' | 'put'; key: string }[] = [];
  intercept?: (op: 'upload' | 'put' | 'head' | 'get', key: string) => void | Promise<void>;
  /** What head() says instead of the truth, for a key (null: absent), when it returns a value. */
  headOverride?: (key: string) => StoredObjectInfo | null | undefined;

  async upload(bucket: string, key: string, body: Readable, contentType: string): Promise<{ etag: string }> {
    await this.intercept?.('upload', key);
    const chunks: Buffer[] = [];
    for await (const chunk of body) chunks.push(Buffer.from(chunk as Buffer));
    return { etag: this.store(bucket, key, Buffer.concat(chunks), contentType, 'upload') };
  }

  async put(bucket: string, key: string, body: string, contentType: string): Promise<void> {
    await this.intercept?.('put', key);
    this.store(bucket, key, Buffer.from(body), contentType, 'put');
  }

  async head(bucket: string, key: string): Promise<StoredObjectInfo | null> {
    await this.intercept?.('head', key);
    const override = this.headOverride?.(key);
    if (override !== undefined) return override;
    const object = this.objects.get(`${bucket}/${key}`);
    return object ? { bytes: object.body.length, etag: object.etag } : null;
  }

  async get(bucket: string, key: string): Promise<Readable> {
    await this.intercept?.('get', key);
    const object = this.objects.get(`${bucket}/${key}`);
    if (!object) throw Object.assign(new Error(`NoSuchKey: ${bucket}/${key}`), { name: 'NoSuchKey' });
    return Readable.from([object.body]);
  }

  body(bucket: string, key: string): Buffer | undefined {
    return this.objects.get(`${bucket}/${key}`)?.body;
  }

  private store(bucket: string, key: string, body: Buffer, contentType: string, op: 'upload' | 'put'): string {
    const etag = `"${createHash('md5').update(body).digest('hex')}"`;
    this.objects.set(`${bucket}/${key}`, { body, etag, contentType });
    this.writes.push({ op, key });
    return etag;
  }
}

/** Log-cleanup ports over one fake world. */
export function fakeLogCleanupPorts(clock: FakeClock) {
  return { logs: new FakeLogStore(clock), archive: new FakeArchiveStore() };
}
