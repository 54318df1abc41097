import type { MetricsDeps } from '../../../lambdas/metrics-aggregate/ports';
import type { LocalStack } from '../../../local/stack';
import { jobDepsFor } from '../../support/jobs';
import type { EmfDocument } from '../../support/output';

/** Helpers shared by the metrics tests: check EMF (captured with test/support/output), aggregate rows in JS. */

export const HOUR = 3_600_000;
export const floorHour = (ms: number) => Math.floor(ms / HOUR) * HOUR;

export const metricsDeps = (stack: LocalStack): Promise<MetricsDeps> => jobDepsFor(stack, 'metrics-aggregate');

/** CloudWatch's standard units (PutMetricData's StandardUnit). */
const UNITS = new Set(['Seconds', 'Microseconds', 'Milliseconds', 'Bytes', 'Kilobytes', 'Megabytes', 'Gigabytes', 'Terabytes', 'Bits',
  'Kilobits', 'Megabits', 'Gigabits', 'Terabits', 'Percent', 'Count', 'Bytes/Second', 'Kilobytes/Second', 'Megabytes/Second',
  'Gigabytes/Second', 'Terabytes/Second', 'Bits/Second', 'Kilobits/Second', 'Megabits/Second', 'Gigabits/Second',
  'Terabits/Second', 'Count/Second', 'None']);

/**
 * Problems of a document against the EMF specification: _aws with an integer ms Timestamp and a
 * CloudWatchMetrics array of MetricDirectives (Namespace string, Dimensions: array of arrays of
 * at most 30 strings, Metrics: at most 100, each Name (1-255 chars) + a standard Unit); every
 * dimension key a string member of the root, every metric a number member of the root.
 */
export function emfProblems(doc: EmfDocument): string[] {
  const problems: string[] = [];
  const aws = doc._aws;
  if (!aws || typeof aws !== 'object') return ['no _aws object'];
  if (!Number.isInteger(aws.Timestamp) || aws.Timestamp < 1e12) problems.push('Timestamp is not epoch milliseconds');
  if (!Array.isArray(aws.CloudWatchMetrics) || aws.CloudWatchMetrics.length === 0) return [...problems, 'no CloudWatchMetrics'];
  for (const directive of aws.CloudWatchMetrics) {
    if (typeof directive.Namespace !== 'string' || directive.Namespace.length === 0 || directive.Namespace.length > 255) problems.push('bad Namespace');
    if (!Array.isArray(directive.Dimensions)) problems.push('Dimensions is not an array');
    for (const set of directive.Dimensions ?? []) {
      if (!Array.isArray(set) || set.length > 30) problems.push(`bad dimension set ${JSON.stringify(set)}`);
      for (const key of set) if (typeof doc[key] !== 'string') problems.push(`dimension ${key} is not a string member of the root`);
    }
    if (!Array.isArray(directive.Metrics) || directive.Metrics.length > 100) problems.push('Metrics missing or over 100');
    for (const metric of directive.Metrics ?? []) {
      if (typeof metric.Name !== 'string' || metric.Name.length < 1 || metric.Name.length > 255) problems.push('bad metric Name');
      if (metric.Unit !== undefined && !UNITS.has(metric.Unit)) problems.push(`bad Unit ${metric.Unit}`);
      if (typeof doc[metric.Name] !== 'number' || !Number.isFinite(doc[metric.Name])) problems.push(`metric ${metric.Name} is not a number member of the root`);
    }
  }
  return problems;
}

export interface FinishedRow {
  format: string;
  user_id: string;
  status: string;
  file_size: number | null;
  conversation_count: number;
  error_message: string | null;
  /** Epoch microseconds (exact; Date would round to ms). */
  created_us: number;
  finished_us: number | null;
  /** False where the finish time is only the backfill's created_at fallback: no duration then. */
  duration_known: boolean;
}

/** Every export row, with exact timestamps; the tests apply the window rule themselves. */
export async function fetchRows(stack: LocalStack): Promise<FinishedRow[]> {
  const { rows } = await stack.db.query<Record<string, unknown>>(
    `select e.format, e.user_id::text as user_id, e.status, e.file_size::text as file_size, e.conversation_count, e.error_message,
            (extract(epoch from e.created_at) * 1000000)::bigint::text as created_us,
            (extract(epoch from x.finished_at) * 1000000)::bigint::text as finished_us,
            x.finished_source is distinct from 'created_at' as duration_known
       from public.export_logs e join export_ops.exports x on x.id = e.id`,
  );
  return rows.map((r) => ({
    format: String(r.format),
    user_id: String(r.user_id),
    status: String(r.status),
    file_size: r.file_size === null ? null : Number(r.file_size),
    conversation_count: Number(r.conversation_count),
    error_message: r.error_message as string | null,
    created_us: Number(r.created_us),
    finished_us: r.finished_us === null ? null : Number(r.finished_us),
    duration_known: r.duration_known === true,
  }));
}

/** Linear interpolation between closest ranks: PostgreSQL's percentile_cont. */
export function percentileCont(values: number[], p: number): number | null {
  if (values.length === 0) return null;
  const sorted = [...values].sort((a, b) => a - b);
  const pos = p * (sorted.length - 1);
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  return sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - lo);
}

const avg = (values: number[]) => (values.length ? values.reduce((a, b) => a + b, 0) / values.length : null);
const max = (values: number[]) => (values.length ? Math.max(...values) : null);

/** The expected statistics of rows, computed here independently of the SQL. */
export function expectedStats(rows: FinishedRow[]) {
  const durations = rows.filter((r) => r.duration_known).map((r) => Math.max(((r.finished_us as number) - r.created_us) / 1000, 0));
  const sizes = rows.flatMap((r) => (r.file_size === null ? [] : [r.file_size]));
  const failed = rows.filter((r) => r.status === 'failed').length;
  return {
    total: rows.length,
    succeeded: rows.length - failed,
    failed,
    failure_rate: rows.length ? failed / rows.length : null,
    duration_ms: { avg: avg(durations), p50: percentileCont(durations, 0.5), p95: percentileCont(durations, 0.95), max: max(durations) },
    file_size_bytes: { avg: avg(sizes), max: max(sizes) },
  };
}

/** The window rule, restated: finished_at in [start, end) and an outcome status. */
export function rowsInWindow(rows: FinishedRow[], startMs: number, endMs: number): FinishedRow[] {
  return rows.filter((r) => r.finished_us !== null && ['completed', 'failed', 'expired'].includes(r.status)
    && r.finished_us >= startMs * 1000 && r.finished_us < endMs * 1000);
}

/** The seed's error kind: text before the first ':', trimmed; 'Unknown' when empty. */
export const errorKind = (message: string | null) => (message ?? '').split(':')[0].trim().slice(0, 100) || 'Unknown';

export const countRangeOf = (n: number) => (n < 100 ? 'small' : n < 500 ? 'medium' : n < 1000 ? 'large' : 'xlarge');

/**
 * A realistic history ending `endMs`, spread over the 12 hours before it: the seeding tool's
 * mix (four formats, failures with 'Kind: detail' messages, queued/processing rows, sizes),
 * plus completed rows later expired (they keep finished_at), expired rows from before export-ops
 * whose finish time the backfill could only take from created_at (counted, no duration), and
 * failures whose message has no kind (null, no ':').
 */
export async function seedHistory(stack: LocalStack, endMs: number, count = 1500, seed = 7): Promise<void> {
  const { seedExports } = await import('../../../local/seed');
  await seedExports({ db: stack.db, storageDir: stack.storageDir, supabaseUrl: stack.env.SUPABASE_URL },
    { count, days: 0.5, now: new Date(endMs), seed, files: false, malformed: false });
  await stack.db.query(
    `update public.export_logs set status = 'expired', file_url = null
      where id in (select id from public.export_logs where status = 'completed' and config ->> 'seed' = $1 order by export_id limit 40)`,
    [String(seed)],
  );
  // Rows that expired before export-ops: the backfill's fallback is the request time.
  await stack.db.query(
    `update export_ops.exports set finished_at = created_at, finished_source = 'created_at'
      where id in (select id from public.export_logs where status = 'expired' and config ->> 'seed' = $1 order by export_id desc limit 10)`,
    [String(seed)],
  );
  await stack.db.query(
    `update public.export_logs set error_message = case when conversation_count % 2 = 0 then null else '  No colon in this message ' end
      where id in (select id from public.export_logs where status = 'failed' and config ->> 'seed' = $1 order by export_id limit 12)`,
    [String(seed)],
  );
}
