import { randomUUID } from 'node:crypto';
import type {
  DueCursor, DueRule, FileCleanupReport, FileCleanupStore, FileRow, ObjectRemover, OrphanPage, PreviewPage, RemoveOutcome,
} from '../../../lambdas/file-cleanup/ports';
import { MAX_NAMES_PER_REMOVE } from '../../../lambdas/file-cleanup/ports';
import { isTransientHttpError, RETRY_ATTEMPTS } from '../../../lambdas/shared/retry';
import type { FakeClock } from '../shared/fakes';

/**
 * In-memory fakes of the file cleanup's ports (lambdas/file-cleanup/ports.ts): a bucket store
 * with Storage's bulk remove, and the database's rows and claims over it. They follow the SQL
 * functions of the file-cleanup migration; ports.contract.test.ts runs the same cases against
 * them and the real adapters on the local stack. Test code only.
 */

const HOUR = 3_600_000;

interface StoredObject {
  size: number;
  createdAt: number;
}

/** Buckets of objects, with Storage's remove(): deletes what is there, skips the rest silently. */
export class FakeObjectStorage implements ObjectRemover {
  readonly objects = new Map<string, StoredObject>();
  /** Names Storage skips although they are stored (a wrong key, a policy). */
  readonly undeletable = new Set<string>();
  /**
   * Failed answers Storage gives to the next remove() requests (a failed request deletes
   * nothing). As the adapter does, a transient one (429, 5xx) is retried, up to RETRY_ATTEMPTS
   * requests in all.
   */
  readonly failures: { status: number; message: string }[] = [];
  /** Requests sent to Storage. */
  requests = 0;
  /** Every remove() call's names, in order. */
  readonly calls: string[][] = [];

  constructor(private readonly clock?: FakeClock) {}

  put(bucket: string, name: string, size = 100, createdAt = this.clock?.nowMs() ?? Date.now()): void {
    this.objects.set(`${bucket}/${name}`, { size, createdAt });
  }
  has(bucket: string, name: string): boolean {
    return this.objects.has(`${bucket}/${name}`);
  }
  list(bucket: string): { name: string; size: number; createdAt: number }[] {
    return [...this.objects].filter(([k]) => k.startsWith(`${bucket}/`)).map(([k, o]) => ({ name: k.slice(bucket.length + 1), ...o }));
  }

  async remove(bucket: string, names: string[]): Promise<RemoveOutcome> {
    if (names.length === 0) return { ok: true, deleted: [], bytes: 0 };
    if (names.length > MAX_NAMES_PER_REMOVE) throw new Error(`remove() takes at most ${MAX_NAMES_PER_REMOVE} names, got ${names.length}`);
    this.calls.push([...names]);
    for (let attempt = 1; ; attempt += 1) {
      this.requests += 1;
      const failure = this.failures.shift();
      if (!failure) break;
      const transient = isTransientHttpError({ status: failure.status });
      if (!transient || attempt === RETRY_ATTEMPTS) return { ok: false, error: `${failure.status}: ${failure.message}`, transient };
    }
    const deleted: string[] = [];
    let bytes = 0;
    for (const name of new Set(names)) {
      const object = this.objects.get(`${bucket}/${name}`);
      if (!object || this.undeletable.has(name)) continue;
      this.objects.delete(`${bucket}/${name}`);
      deleted.push(name);
      bytes += object.size;
    }
    return { ok: true, deleted, bytes };
  }
}

/** What the database derives from a file_url (export_ops.exports' storage columns), for plain URLs. */
export function deriveObjectFields(fileUrl: string | null): Pick<FileRow, 'origin' | 'bucket' | 'path' | 'url_problem'> {
  if (fileUrl === null || !/^[a-z][a-z0-9+.-]*:\/\//i.test(fileUrl)) return { origin: null, bucket: null, path: null, url_problem: null };
  const url = new URL(fileUrl);
  const match = /^\/storage\/v1\/object\/(?:public|sign|authenticated)\/([^/]+)\/(.*)$/.exec(url.pathname);
  if (!match) return { origin: url.origin, bucket: null, path: null, url_problem: null };
  try {
    return { origin: url.origin, bucket: decodeURIComponent(match[1]), path: decodeURIComponent(match[2]), url_problem: null };
  } catch {
    return { origin: url.origin, bucket: decodeURIComponent(match[1]), path: null, url_problem: 'undecodable_path' };
  }
}

export interface FakeExport {
  id: string;
  export_id: string;
  user_id: string;
  status: string;
  file_url: string | null;
  file_size: number | null;
  expires_at: number | null;
  created_at: number;
}

interface Claim {
  run_id: string | null;
  lease_until: number | null;
  attempts: number;
  last_error: string | null;
  skip_reason: string | null;
}

/**
 * The export rows and the file cleanup's claims, with the semantics of the file-cleanup SQL
 * functions. Leases run on `clock` (the database's now()); due-ness on the rule's `now`.
 */
export class FakeFileCleanupStore implements FileCleanupStore {
  readonly rows = new Map<string, FakeExport>();
  readonly claims = new Map<string, Claim>();

  constructor(readonly storage: FakeObjectStorage, private readonly clock: FakeClock) {}

  /** Adds an export row (completed, expired a day ago, created two days ago, unless given). */
  add(row: Partial<FakeExport> & { file_url: string | null }): FakeExport {
    const now = this.clock.nowMs();
    const full: FakeExport = {
      id: randomUUID(), export_id: randomUUID(), user_id: '00000000-0000-0000-0000-0000000000f1', status: 'completed',
      file_size: 100, expires_at: now - 24 * HOUR, created_at: now - 48 * HOUR, ...row,
    };
    this.rows.set(full.id, full);
    return full;
  }

  private fileRow(row: FakeExport): FileRow {
    return {
      id: row.id, export_id: row.export_id, user_id: row.user_id, ...deriveObjectFields(row.file_url),
      file_url: row.file_url, file_size: row.file_size, attempts: this.claims.get(row.id)?.attempts ?? 0,
    };
  }

  /** Due rows in (due, id) order, as export_ops.file_cleanup_due. */
  private due(rule: DueRule, skipLeased: boolean, cursor?: DueCursor): { row: FakeExport; due: number }[] {
    const now = rule.now.getTime();
    const db = this.clock.nowMs();
    const out: { row: FakeExport; due: number }[] = [];
    for (const row of this.rows.values()) {
      if (row.status !== 'completed') continue;
      const due = row.expires_at !== null ? row.expires_at : row.created_at + rule.retentionHours * HOUR;
      const limit = row.expires_at !== null ? now - rule.graceHours * HOUR : now;
      if (due > limit) continue;
      const claim = this.claims.get(row.id);
      if (claim?.skip_reason) continue;
      if (skipLeased && claim?.lease_until != null && claim.lease_until > db) continue;
      if (cursor) {
        const after = Date.parse(cursor.due);
        if (due < after || (due === after && row.id <= cursor.id)) continue;
      }
      out.push({ row, due });
    }
    return out.sort((a, b) => a.due - b.due || (a.row.id < b.row.id ? -1 : a.row.id > b.row.id ? 1 : 0));
  }

  async claim(runId: string, rule: DueRule, limit: number, leaseSeconds: number): Promise<FileRow[]> {
    const db = this.clock.nowMs();
    const taken = this.due(rule, true).slice(0, limit).map((d) => d.row).sort((a, b) => (a.id < b.id ? -1 : 1));
    for (const row of taken) {
      const claim = this.claims.get(row.id) ?? { run_id: null, lease_until: null, attempts: 0, last_error: null, skip_reason: null };
      this.claims.set(row.id, { ...claim, run_id: runId, lease_until: db + leaseSeconds * 1000 });
    }
    return taken.map((row) => this.fileRow(row));
  }

  async preview(rule: DueRule, limit: number, cursor?: DueCursor): Promise<PreviewPage> {
    const page = this.due(rule, false, cursor).slice(0, limit);
    const last = page[page.length - 1];
    return {
      rows: page.map(({ row, due }) => ({ ...this.fileRow(row), due: new Date(due).toISOString() })),
      last_due: last ? new Date(last.due).toISOString() : null,
      last_id: last ? last.row.id : null,
    };
  }

  async markExpired(ids: string[]): Promise<number> {
    let n = 0;
    for (const id of ids) {
      const row = this.rows.get(id);
      if (row?.status === 'completed') {
        row.status = 'expired';
        n += 1;
      }
      this.claims.delete(id);
    }
    return n;
  }

  async recordFailures(failures: { id: string; error: string }[]): Promise<Record<string, number>> {
    const out: Record<string, number> = {};
    for (const { id, error } of failures) {
      const claim = this.claims.get(id);
      if (!claim) continue;
      claim.attempts += 1;
      claim.last_error = error;
      out[id] = claim.attempts;
    }
    return out;
  }

  async flag(flags: { id: string; reason: string }[]): Promise<void> {
    for (const { id, reason } of flags) {
      const claim = this.claims.get(id);
      if (claim) Object.assign(claim, { skip_reason: reason, lease_until: null });
    }
  }

  async releaseAll(runId: string): Promise<number> {
    let n = 0;
    for (const claim of this.claims.values()) {
      if (claim.run_id === runId && claim.lease_until !== null) {
        claim.lease_until = null;
        n += 1;
      }
    }
    return n;
  }

  async report(maxAttempts: number, limit: number): Promise<FileCleanupReport> {
    const live = [...this.claims].filter(([id]) => this.rows.get(id)?.status === 'completed');
    const stuck = live.filter(([, c]) => c.attempts >= maxAttempts)
      .map(([id, c]) => ({ export_id: (this.rows.get(id) as FakeExport).export_id, attempts: c.attempts, last_error: c.last_error }))
      .sort((a, b) => b.attempts - a.attempts || (a.export_id < b.export_id ? -1 : 1));
    return { flagged_total: live.filter(([, c]) => c.skip_reason !== null).length, stuck_total: stuck.length, stuck: stuck.slice(0, limit) };
  }

  async stillStored(bucket: string, names: string[]): Promise<Set<string>> {
    return new Set(names.slice(0, MAX_NAMES_PER_REMOVE).filter((n) => this.storage.has(bucket, n)));
  }

  async findOrphans(bucket: string, olderThan: Date, limit: number, afterName?: string): Promise<OrphanPage> {
    const needed = new Set([...this.rows.values()]
      .filter((r) => ['completed', 'queued', 'processing'].includes(r.status))
      .map((r) => deriveObjectFields(r.file_url))
      .filter((f) => f.bucket === bucket && f.path !== null)
      .map((f) => f.path as string));
    const objects = this.storage.list(bucket)
      .filter((o) => o.createdAt < olderThan.getTime() && (afterName === undefined || o.name > afterName) && !needed.has(o.name))
      .sort((a, b) => (a.name < b.name ? -1 : 1))
      .slice(0, limit)
      .map((o) => ({ name: o.name, size: o.size }));
    return { objects, last_name: objects.length ? objects[objects.length - 1].name : null };
  }
}

/** File-cleanup ports over one fake world (rows and the bucket they point into). */
export function fakeFileCleanupPorts(clock: FakeClock) {
  const storage = new FakeObjectStorage(clock);
  const files = new FakeFileCleanupStore(storage, clock);
  return { files, storage };
}
