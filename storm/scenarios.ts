/**
 * What each job's storm iteration seeds and what it checks afterwards. Every check returns
 * counts plus named problems; the storm sums them per job.
 */
import { seedExports } from '../local/seed';
import type { LocalStack } from '../local/stack';
import { archivedRows, duplicates, readArchive, snapshot } from '../test/lambdas/log-cleanup/support';
import type { ChildRun } from './child-process';

export interface Tally {
  lost: number;
  doubled: number;
  /** Metrics: windows emitted by more than one run. */
  duplicates: number;
  /** Problem name → occurrences. */
  problems: Map<string, number>;
}

export const emptyTally = (): Tally => ({ lost: 0, doubled: 0, duplicates: 0, problems: new Map() });
export function problem(t: Tally, name: string, n = 1): void {
  if (n > 0) t.problems.set(name, (t.problems.get(name) ?? 0) + n);
}
export function addTally(into: Tally, t: Tally): void {
  into.lost += t.lost;
  into.doubled += t.doubled;
  into.duplicates += t.duplicates;
  for (const [k, v] of t.problems) problem(into, k, v);
}

export interface Iteration {
  input: Record<string, unknown>;
  /** Right after a kill, before any rerun: invariants that must hold at every instant. */
  afterKill(): Promise<Tally>;
  /** After the reruns finished (`more: false`): the iteration's end state. */
  check(children: ChildRun[]): Promise<Tally>;
}

export interface Scenario {
  /** What one iteration's work is, for the report. */
  work: string;
  env: Record<string, string>;
  setup(): Promise<void>;
  prepare(iteration: number): Promise<Iteration>;
  /** At the end of the storm: what must never have been touched. */
  final(): Promise<Tally>;
  /** What the storm did in all, for the report. */
  describe(): Promise<string>;
}

const target = (stack: LocalStack) => ({ db: stack.db, storageDir: stack.storageDir, supabaseUrl: stack.supabase.url });
const HOUR_MS = 3_600_000;
/** Reads of the whole archive before the checker reports it unreadable. */
const ARCHIVE_READ_ATTEMPTS = 3;

// ---------------------------------------------------------------------------------------------
// File cleanup

/** Rows of one seed marked expired whose object storage.objects still holds. */
async function expiredButStored(stack: LocalStack, seed: number): Promise<number> {
  const { rows } = await stack.db.query<{ n: number }>(
    `select count(*)::int as n from public.export_logs e join export_ops.exports x on x.id = e.id
       join storage.objects o on o.bucket_id = x.storage_bucket and o.name = x.storage_path
      where e.status = 'expired' and e.config ->> 'seed' = $1`,
    [String(seed)],
  );
  return rows[0].n;
}

export function fileCleanupScenario(stack: LocalStack, filesPerIteration: number): Scenario {
  let untouched = new Map<string, string>();
  let untouchedFiles: string[] = [];
  return {
    work: `${filesPerIteration} due rows with stored files`,
    env: {},
    async setup() {
      // Seed 1: rows not due (expiry moved a month ahead) with their files, plus the malformed
      // rows the job must flag and never touch.
      await seedExports(target(stack), { count: 200, mix: 'expired-files', malformed: true, seed: 1 });
      await stack.db.query(
        `update public.export_logs set expires_at = now() + interval '30 days' where config ->> 'seed' = '1' and config ->> 'malformed' is null`,
      );
      untouched = await rowsOfSeed(stack, 1);
      untouchedFiles = (await stack.db.query<{ name: string }>(`select name from storage.objects order by name`)).rows.map((r) => r.name);
    },
    async prepare(i) {
      const seed = 1000 + i;
      await seedExports(target(stack), { count: filesPerIteration, mix: 'expired-files', malformed: false, seed });
      return {
        input: { scheduledTime: new Date().toISOString() },
        async afterKill() {
          const t = emptyTally();
          problem(t, 'expired while file stored (right after a kill)', await expiredButStored(stack, seed));
          return t;
        },
        async check() {
          const t = emptyTally();
          const { rows } = await stack.db.query<{ expired: boolean; stored: boolean }>(
            `select e.status = 'expired' as expired,
                    exists (select 1 from storage.objects o where o.bucket_id = x.storage_bucket and o.name = x.storage_path) as stored
               from public.export_logs e join export_ops.exports x on x.id = e.id where e.config ->> 'seed' = $1`,
            [String(seed)],
          );
          if (rows.length !== filesPerIteration) problem(t, 'seeded due rows missing', filesPerIteration - rows.length);
          t.lost = rows.filter((r) => !r.expired || r.stored).length;
          problem(t, 'due file still stored at the end', rows.filter((r) => r.stored).length);
          problem(t, 'due row not expired at the end', rows.filter((r) => !r.expired).length);
          problem(t, 'expired while file stored', await expiredButStored(stack, seed));
          return t;
        },
      };
    },
    async final() {
      const t = emptyTally();
      const now = await rowsOfSeed(stack, 1);
      let changed = 0;
      for (const [id, row] of untouched) if (now.get(id) !== row) changed++;
      problem(t, 'not-due or flagged row changed', changed);
      const { rows } = await stack.db.query<{ n: number }>(`select count(*)::int as n from storage.objects where name = any($1::text[])`, [untouchedFiles]);
      problem(t, 'file of a not-due row removed', untouchedFiles.length - rows[0].n);
      return t;
    },
    async describe() {
      const { rows } = await stack.db.query<{ expired: number; gone: number }>(
        `select count(*)::int as expired,
                count(*) filter (where not exists (select 1 from storage.objects o where o.bucket_id = x.storage_bucket and o.name = x.storage_path))::int as gone
           from public.export_logs e join export_ops.exports x on x.id = e.id where e.status = 'expired'`,
      );
      return `${rows[0].expired} rows expired (${rows[0].gone} of them with the file gone); ${untouched.size} not-due/flagged rows and ${untouchedFiles.length} files kept`;
    },
  };
}

async function rowsOfSeed(stack: LocalStack, seed: number): Promise<Map<string, string>> {
  const { rows } = await stack.db.query<{ id: string; row: string }>(
    `select id::text as id, e::text as row from public.export_logs e where config ->> 'seed' = $1`,
    [String(seed)],
  );
  return new Map(rows.map((r) => [r.id, r.row]));
}

// ---------------------------------------------------------------------------------------------
// Log cleanup

const RETENTION_DAYS = 30;

/** Rows the log cleanup must archive and delete at `now`: old, final, and without a stored file. */
async function eligibleIds(stack: LocalStack, now: Date): Promise<string[]> {
  const { rows } = await stack.db.query<{ id: string }>(
    `select e.id::text as id from public.export_logs e join export_ops.exports x on x.id = e.id
      where e.created_at < $1::timestamptz
        and (e.status in ('failed', 'expired')
             or (e.status = 'completed'
                 and not exists (select 1 from storage.objects o where o.bucket_id = x.storage_bucket and o.name = x.storage_path)))`,
    [new Date(now.getTime() - RETENTION_DAYS * 86400_000).toISOString()],
  );
  return rows.map((r) => r.id);
}

export function logCleanupScenario(stack: LocalStack, rowsPerIteration: number, partRows: number): Scenario {
  /** Every row ever seeded, as it was before any run: each must stay in the table or be archived, once, unchanged. */
  const before = new Map<string, string>();
  const remember = async () => {
    for (const [id, row] of await snapshot(stack)) if (!before.has(id)) before.set(id, row);
  };
  return {
    work: `${rowsPerIteration} new rows over 90 days (about a third eligible), parts of ${partRows} rows`,
    env: { STORM_LOG_PART_ROWS: String(partRows), STORM_LOG_PAGE_ROWS: String(Math.max(1, Math.floor(partRows / 2))) },
    async setup() {
      await seedExports(target(stack), { count: 300, days: 90, seed: 1 });
      await remember();
    },
    async prepare(i) {
      const now = new Date();
      await seedExports(target(stack), { count: rowsPerIteration, days: 90, seed: 1000 + i, now });
      await remember();
      return {
        input: { scheduledTime: now.toISOString() },
        afterKill: async () => emptyTally(),
        async check() {
          const t = emptyTally();
          let archive;
          // The local S3 server can answer a read with a 500 under heavy load (seen once in a
          // 100-kill storm, past the SDK's own retries). A read error is the checker's, not the
          // job's: read again after a pause, and count it only when it persists.
          for (let attempt = 1; !archive; attempt++) {
            try {
              archive = await readArchive(stack, { partial: true });
            } catch (error) {
              if (attempt < ARCHIVE_READ_ATTEMPTS) {
                await new Promise((resolve) => setTimeout(resolve, 1000 * attempt));
                continue;
              }
              problem(t, `archive unreadable: ${(error as Error).message}`);
              return t;
            }
          }
          problem(t, 'data object without manifest', archive.dataKeys.length - archive.manifests.length);
          const twice = duplicates(archive.lines);
          problem(t, 'row archived twice across parts', twice.length);
          const archived = await archivedRows(stack, archive.lines);
          const table = await snapshot(stack);
          let lost = 0;
          let doubled = twice.length;
          for (const [id, row] of before) {
            const inTable = table.get(id);
            const inArchive = archived.get(id);
            if (inTable === undefined && inArchive === undefined) lost++;
            if (inTable !== undefined && inArchive !== undefined) doubled++;
            if (inTable !== undefined && inTable !== row) problem(t, 'row in the table changed');
            if (inArchive !== undefined && inArchive !== row) problem(t, 'archived row differs from the row before the storm');
          }
          for (const id of archived.keys()) if (!before.has(id)) problem(t, 'archived row never seeded');
          t.lost = lost;
          t.doubled = doubled;
          problem(t, 'row lost (neither in the table nor in the archive)', lost);
          problem(t, 'row both in the table and in the archive', doubled - twice.length);
          const left = (await eligibleIds(stack, now)).length;
          problem(t, 'eligible row still in the table at the end', left);
          // Each manifest against the parts table: same sha256 and row count, part deleted.
          const { rows: parts } = await stack.db.query<{ part_key: string; sha256: string | null; row_count: number; state: string }>(
            `select part_key, sha256, row_count, state from export_ops.archive_parts`,
          );
          const byKey = new Map(parts.map((p) => [p.part_key, p]));
          for (const m of archive.manifests) {
            const p = byKey.get(m.part_key);
            if (!p) problem(t, 'manifest without an archive_parts row');
            else if (p.sha256 !== m.sha256 || p.row_count !== m.row_count) problem(t, 'manifest differs from archive_parts');
          }
          problem(t, 'archive part not deleted at the end', parts.filter((p) => p.state !== 'deleted').length);
          const manifested = new Set(archive.manifests.map((m) => m.part_key));
          problem(t, 'deleted part without a manifest in S3', parts.filter((p) => p.state === 'deleted' && !manifested.has(p.part_key)).length);
          return t;
        },
      };
    },
    final: async () => emptyTally(),
    async describe() {
      const { rows } = await stack.db.query<{ parts: number; archived: number; left: number }>(
        `select (select count(*)::int from export_ops.archive_parts) as parts,
                (select coalesce(sum(row_count), 0)::int from export_ops.archive_parts) as archived,
                (select count(*)::int from public.export_logs) as left`,
      );
      return `${rows[0].archived} rows archived in ${rows[0].parts} parts; ${rows[0].left} rows kept in the table`;
    },
  };
}

// ---------------------------------------------------------------------------------------------
// Metrics

interface EmfDocument {
  _aws: { Timestamp: number; CloudWatchMetrics: { Dimensions: string[][] }[] };
  window_start?: string;
  Format?: string;
  [key: string]: unknown;
}

/** The window documents a child printed (job-level documents, without window_start, left out). */
export function windowDocuments(stdout: string): EmfDocument[] {
  const docs: EmfDocument[] = [];
  for (const line of stdout.split('\n')) {
    if (!line.includes('"_aws"')) continue;
    try {
      const doc = JSON.parse(line) as EmfDocument;
      if (typeof doc.window_start === 'string') docs.push(doc);
    } catch {
      // A line cut by the kill: not a document CloudWatch would take either.
    }
  }
  return docs;
}

export function metricsScenario(stack: LocalStack, hours: number): Scenario {
  return {
    work: `${hours} hourly windows`,
    env: {},
    async setup() {
      await seedExports(target(stack), { count: 3000, days: Math.ceil(hours / 24) + 1, seed: 1 });
    },
    async prepare() {
      // A fresh range each iteration: the same hours, forgotten.
      await stack.db.query(`delete from export_ops.metric_windows`);
      const to = Math.floor((Date.now() - 20 * 60_000) / HOUR_MS) * HOUR_MS;
      const from = to - hours * HOUR_MS;
      const range = { from: new Date(from).toISOString(), to: new Date(to).toISOString() };
      return {
        input: { scheduledTime: new Date().toISOString(), ...range },
        afterKill: async () => emptyTally(),
        async check(children) {
          const t = emptyTally();
          const { rows } = await stack.db.query<{ start: Date; emitted: boolean }>(
            `select window_start as start, emitted_at is not null as emitted from export_ops.metric_windows
              where window_start >= $1 and window_start < $2`,
            [range.from, range.to],
          );
          const emittedInDb = new Set(rows.filter((r) => r.emitted).map((r) => new Date(r.start).toISOString()));
          // window start → child index → documents it printed
          const printed = new Map<string, Map<number, EmfDocument[]>>();
          children.forEach((child, index) => {
            for (const doc of windowDocuments(child.stdout)) {
              const start = doc.window_start as string;
              if (doc._aws.Timestamp !== Date.parse(start)) problem(t, 'document timestamp is not its window start');
              const byChild = printed.get(start) ?? new Map<number, EmfDocument[]>();
              byChild.set(index, [...(byChild.get(index) ?? []), doc]);
              printed.set(start, byChild);
            }
          });
          let lost = 0;
          for (let s = from; s < to; s += HOUR_MS) {
            const start = new Date(s).toISOString();
            const notMarked = !emittedInDb.has(start);
            const notPrinted = !printed.has(start);
            if (notMarked) problem(t, 'window not marked emitted');
            if (notPrinted) problem(t, 'window marked emitted but never printed');
            if (notMarked || notPrinted) lost++;
          }
          t.lost = lost;
          for (const [, byChild] of printed) {
            if (byChild.size < 2) continue;
            t.duplicates++;
            // Harmless when every emission of a series carries the same values and timestamp.
            const bySeries = new Map<string, Set<string>>();
            for (const docs of byChild.values()) {
              for (const doc of docs) {
                const series = String(doc.Format ?? '(all formats)');
                const set = bySeries.get(series) ?? new Set<string>();
                set.add(JSON.stringify(doc));
                bySeries.set(series, set);
              }
            }
            if ([...bySeries.values()].some((set) => set.size > 1)) {
              t.doubled++;
              problem(t, 'window emitted twice with different values');
            }
          }
          return t;
        },
      };
    },
    final: async () => emptyTally(),
    describe: async () => `each iteration: the ${hours} windows emitted again from scratch`,
  };
}
