/**
 * What a person reads after `npx export-ops run …` without --json: a few lines in words with
 * aligned numbers, the same facts as the JSON result.
 */

/** Bytes in binary units, one decimal: 1536 → '1.5 KiB'. */
export function humanBytes(n: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let value = n;
  let unit = 0;
  while (Math.abs(value) >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return unit === 0 ? `${value} B` : `${value.toFixed(1)} ${units[unit]}`;
}

const count = (n: number | undefined) => (n ?? 0).toLocaleString('en-US');
const percent = (rate: number | null) => (rate === null ? '–' : `${(rate * 100).toFixed(1)} %`);

/**
 * Label/value lines, the values aligned in one column.
 *
 * @example
 * aligned([['files deleted', '12'], ['bytes reclaimed', '3.1 MiB']])
 * // → ['  files deleted    12', '  bytes reclaimed  3.1 MiB']
 */
export function aligned(rows: Array<[string, string]>, indent = '  '): string[] {
  const width = Math.max(0, ...rows.map(([label]) => label.length));
  return rows.map(([label, value]) => `${indent}${label.padEnd(width)}  ${value}`);
}

type Result = Record<string, unknown>;
const num = (r: Result, key: string) => (typeof r[key] === 'number' ? (r[key] as number) : 0);
const byReason = (reasons: Record<string, number> | undefined) =>
  Object.entries(reasons ?? {}).map(([reason, n]): [string, string] => [`  ${reason}`, count(n)]);

function fileCleanupLines(r: Result): Array<[string, string]> {
  const dry = r.dry_run === true;
  const skipped = (r.skipped ?? {}) as { count?: number; by_reason?: Record<string, number>; flagged_total?: number };
  const stuck = (r.stuck ?? {}) as { count?: number };
  const orphans = (r.orphans ?? {}) as { count?: number; bytes?: number; deleted?: number; scanned_all?: boolean };
  return [
    [dry ? 'files it would delete' : 'files deleted', count(num(r, 'deleted_count'))],
    ...(dry ? [] : [['bytes reclaimed', humanBytes(num(r, 'bytes_reclaimed'))] as [string, string]]),
    ['already gone (rows marked)', count(num(r, 'already_gone_count'))],
    ['rows without a file (marked)', count(num(r, 'no_file_count'))],
    [dry ? 'rows it would mark expired' : 'rows marked expired', count(num(r, 'logs_updated'))],
    ['failed (retried next run)', count(num(r, 'failed_count'))],
    ['rows skipped', count(skipped.count)],
    ...byReason(skipped.by_reason),
    ['stuck files (attempts used up)', count(stuck.count)],
    ['orphaned objects', `${count(orphans.count)} (${humanBytes(orphans.bytes ?? 0)}${orphans.scanned_all === false ? ', scan not finished' : ''}; ${count(orphans.deleted)} deleted)`],
  ];
}

/** `--stats`: what is eligible now, measured. */
function statsLines(stats: Record<string, unknown> | undefined): Array<[string, string]> {
  if (!stats) return [];
  return [
    ['eligible now', `${count(stats.eligible_for_cleanup as number)} rows (about ${stats.total_size_estimate_mb ?? 0} MB)`],
    ['oldest row', String(stats.oldest_log_date ?? '–')],
    ['archive parts open', count(stats.open_parts as number)],
  ];
}

function logCleanupLines(r: Result): Array<[string, string]> {
  const dry = r.dry_run === true;
  const keys = Array.isArray(r.archived_keys) ? (r.archived_keys as string[]) : [];
  return [
    ['cutoff', String(r.cutoff_date ?? '–')],
    ...(dry ? [['rows it would archive and delete', count(num(r, 'eligible_count'))] as [string, string]] : [
      ['rows archived', `${count(num(r, 'archived_count'))} (${humanBytes(num(r, 'archive_bytes'))} in S3)`] as [string, string],
      ['rows deleted', count(num(r, 'deleted_count'))] as [string, string],
      ['parts archived', count(num(r, 'parts'))] as [string, string],
      ...keys.map((key): [string, string] => ['  ', key]),
    ]),
    ['rows kept: still queued/processing', count(num(r, 'stale_count'))],
    ['rows kept: file still stored', count(num(r, 'waiting_for_file_count'))],
    ['archive', String(r.archive ?? '–')],
    ...statsLines(r.stats as Record<string, unknown> | undefined),
  ];
}

/** Hours listed one by one after a metrics run; the rest are counted (a backfill is 336 hours). */
const HOURS_LISTED = 6;

function metricsLines(r: Result): Array<[string, string]> {
  const windows = Array.isArray(r.windows) ? (r.windows as Array<{ start: string; total: number; failed: number }>) : [];
  const range = r.range as { from: string; to: string } | undefined;
  const listed = windows.slice(-HOURS_LISTED);
  return [
    ...(range ? [['hours considered', `${range.from} → ${range.to}`] as [string, string]] : []),
    [r.dry_run === true ? 'hours it would emit' : 'hours emitted', count(num(r, 'windows_emitted'))],
    ...(windows.length > listed.length ? [[`  (${count(windows.length - listed.length)} earlier hours)`, ''] as [string, string]] : []),
    ...listed.map((w): [string, string] => [`  ${w.start}`, `${count(w.total)} exports, failure rate ${percent(w.total ? w.failed / w.total : null)}`]),
    ['hours left to another run', count(num(r, 'windows_skipped'))],
  ];
}

const LINES: Record<string, (r: Result) => Array<[string, string]>> = {
  'file-cleanup': fileCleanupLines,
  'log-cleanup': logCleanupLines,
  'metrics-aggregate': metricsLines,
};

/**
 * A job result in words: a headline, aligned figures, and "work left: run again" when the run
 * stopped with `more: true`.
 *
 * @example
 * process.stdout.write(summarize('file-cleanup', result).join('\n') + '\n');
 */
export function summarize(job: string, result: Result): string[] {
  const seconds = (num(result, 'duration_ms') / 1000).toFixed(1);
  const head = `${job}${result.dry_run === true ? ' (dry run: nothing changed)' : ''}: ${result.more === true ? 'stopped with work left' : 'done'} in ${seconds} s`;
  const lines = [head, ...aligned((LINES[job] ?? (() => []))(result))];
  if (result.more === true) lines.push('  work left: run again');
  return lines;
}
