import { parseArgs } from 'node:util';
import type { SupabaseClient } from '@supabase/supabase-js';
import { eligibleRange } from '../lambdas/metrics-aggregate/windows';
import { loadConfig, type ExportOpsConfig } from '../lambdas/shared/config';
import { createServiceClient, must, resolveServiceRoleKey } from '../lambdas/shared/supabase';
import { EXIT, exitHelp } from './exit-codes';
import { nextRun } from './schedule';
import { aligned, humanBytes } from './summary';

const USAGE = `usage: export-ops status [--json]

Is export-ops healthy, and what is waiting? One read-only call (export_ops_status, service role
only) against SUPABASE_URL: each job's last run, last failure and next scheduled time (from
FILE_CLEANUP_CRON, LOG_CLEANUP_CRON, METRICS_CRON in SCHEDULE_TIME_ZONE, or the defaults), and
the backlog: files due and their bytes, stuck and flagged rows, orphans as of the last file
cleanup, log rows eligible, archive parts open, metric hours not yet emitted.

examples:
  npx export-ops status
  npx export-ops status --json | jq .files.due

${exitHelp}`;

/**
 * Rows a backlog figure counts before it says "more than": keeps the call under 20 ms on any
 * backlog (each counted row costs a few microseconds: 10,000 took 77 ms among 10M rows). Past a
 * thousand, the number matters less than that the job is far behind.
 */
export const STATUS_COUNT_CAP = 1_000;

type Json = Record<string, unknown>;
export interface JobStatus {
  last_run: { status: string; dry_run: boolean; started_at: string; duration_ms: number | null; result: Json | null; error: string | null } | null;
  last_success_at: string | null;
  last_failure: { started_at: string; error: string | null } | null;
  running: number;
  abandoned: number;
  next_run?: string | null;
}
export interface Status {
  now: string;
  jobs: Record<string, JobStatus>;
  files: { due: number; due_capped: boolean; due_bytes: number; stuck: number; flagged: Record<string, number>; orphans: { as_of: string; count: number; bytes: number; scanned_all: boolean } | null };
  logs: { cutoff: string; eligible: number; eligible_capped: boolean; parts_open: Record<string, number>; last_verified_part: { object_key: string; rows: number; recorded_at: string } | null };
  metrics: { from: string; to: string; hours_pending: number };
  backfill: { installed_at: string; rows_seen: number; completed_at: string | null } | null;
  /** What needs a person, in words; empty when healthy. */
  attention: string[];
}

const CRON_OF: Record<string, (c: ExportOpsConfig) => string> = {
  'file-cleanup': (c) => c.fileCleanupCron,
  'log-cleanup': (c) => c.logCleanupCron,
  'metrics-aggregate': (c) => c.metricsCron,
};

/**
 * The arguments of export_ops_status, by name, for the configuration at `now`.
 *
 * @example
 * const args = statusArguments(loadConfig(), new Date()); // { p_now: '2026-…', p_bucket: 'exports', … }
 */
export function statusArguments(config: ExportOpsConfig, now: Date) {
  const metrics = eligibleRange(now, config.metricsLagMinutes);
  return {
    p_now: now.toISOString(),
    p_bucket: config.exportsBucket,
    p_file_grace_hours: config.fileGraceHours,
    p_file_retention_hours: config.fileRetentionHours,
    p_max_file_attempts: config.maxFileAttempts,
    p_log_cutoff: new Date(now.getTime() - config.logRetentionDays * 86_400_000).toISOString(),
    p_metrics_from: metrics.from.toISOString(),
    p_metrics_to: metrics.to.toISOString(),
    p_count_cap: STATUS_COUNT_CAP,
  };
}

/**
 * Reads the status in one round trip and adds what the database cannot know: next run times
 * from the configured crons, and the list of things that need attention.
 *
 * @example
 * const status = await readStatus(supabase, loadConfig(), new Date());
 */
export async function readStatus(supabase: SupabaseClient, config: ExportOpsConfig, now: Date): Promise<Status> {
  const raw = must('export_ops_status', await supabase.rpc('export_ops_status', statusArguments(config, now))) as Omit<Status, 'attention'>;
  for (const [job, s] of Object.entries(raw.jobs)) s.next_run = nextRun(CRON_OF[job](config), config.scheduleTimeZone, now)?.toISOString() ?? null;
  return { ...raw, attention: attentionOf(raw) };
}

/** The findings a person should act on. */
function attentionOf(s: Omit<Status, 'attention'>): string[] {
  const out: string[] = [];
  for (const [job, j] of Object.entries(s.jobs)) {
    if (j.last_run?.status === 'failed') out.push(`${job}: its last run failed: ${j.last_run.error ?? 'no error recorded'}`);
    if (j.abandoned > 0) out.push(`${job}: ${j.abandoned} run(s) never recorded their end (killed or timed out); their work is retried after its lease`);
  }
  if (s.files.stuck > 0) out.push(`${s.files.stuck} file(s) failed every attempt: see the file cleanup's stuck rows`);
  const flagged = Object.values(s.files.flagged).reduce((a, b) => a + b, 0);
  if (flagged > 0) out.push(`${flagged} row(s) flagged and never acted on until fixed`);
  if (s.metrics.hours_pending > 2) out.push(`${s.metrics.hours_pending} metric hours not emitted: the hourly job is behind`);
  if (s.backfill && !s.backfill.completed_at) out.push('the backfill of rows written before export-ops is not complete: run any job to advance it');
  return out;
}

const ago = (iso: string | null | undefined, now: Date) => {
  if (!iso) return 'never';
  const minutes = Math.round((now.getTime() - Date.parse(iso)) / 60_000);
  const when = iso.slice(0, 16).replace('T', ' ');
  if (minutes < 0) return `${when} (in ${-minutes} min)`;
  if (minutes < 120) return `${when} (${minutes} min ago)`;
  if (minutes < 48 * 60) return `${when} (${Math.round(minutes / 60)} h ago)`;
  return `${when} (${Math.round(minutes / 1440)} days ago)`;
};
const capped = (n: number, isCapped: boolean) => `${isCapped ? 'more than ' : ''}${n.toLocaleString('en-US')}`;

/**
 * The status as a screen of text.
 *
 * @example
 * process.stdout.write(formatStatus(status).join('\n') + '\n');
 */
export function formatStatus(s: Status): string[] {
  const now = new Date(s.now);
  const lines = [`export-ops status at ${s.now.slice(0, 16).replace('T', ' ')} UTC: ${s.attention.length ? 'NEEDS ATTENTION' : 'healthy'}`, ''];
  for (const [job, j] of Object.entries(s.jobs)) {
    const last = j.last_run;
    lines.push(job);
    lines.push(...aligned([
      ['last run', last ? `${last.status}${last.dry_run ? ' (dry run)' : ''}, ${ago(last.started_at, now)}, took ${last.duration_ms === null ? '–' : `${(last.duration_ms / 1000).toFixed(1)} s`}` : 'never'],
      ['last success', ago(j.last_success_at, now)],
      ['last failure', j.last_failure ? `${ago(j.last_failure.started_at, now)}: ${j.last_failure.error ?? ''}` : 'none'],
      ['next run', j.next_run ? ago(j.next_run, now) : 'not scheduled'],
    ]));
  }
  const flagged = Object.entries(s.files.flagged);
  const parts = Object.entries(s.logs.parts_open);
  lines.push('', 'waiting');
  lines.push(...aligned([
    ['files due', `${capped(s.files.due, s.files.due_capped)} (${humanBytes(s.files.due_bytes)})`],
    ['stuck files', s.files.stuck.toLocaleString('en-US')],
    ['flagged rows', flagged.length ? flagged.map(([reason, n]) => `${n} ${reason}`).join('; ') : 'none'],
    ['orphaned objects', s.files.orphans ? `${s.files.orphans.count} (${humanBytes(s.files.orphans.bytes)}), as of ${ago(s.files.orphans.as_of, now)}` : 'no file cleanup run yet'],
    ['log rows eligible', `${capped(s.logs.eligible, s.logs.eligible_capped)} (older than ${s.logs.cutoff.slice(0, 10)})`],
    ['archive parts open', parts.length ? parts.map(([state, n]) => `${n} ${state}`).join(', ') : 'none'],
    ['last verified part', s.logs.last_verified_part ? `${s.logs.last_verified_part.object_key} (${s.logs.last_verified_part.rows} rows)` : 'none'],
    ['metric hours pending', String(s.metrics.hours_pending)],
    ['backfill', !s.backfill ? 'not started' : s.backfill.completed_at ? `complete (${s.backfill.rows_seen.toLocaleString('en-US')} rows)` : `in progress (${s.backfill.rows_seen.toLocaleString('en-US')} rows so far)`],
  ]));
  if (s.attention.length) lines.push('', 'attention', ...s.attention.map((a) => `  - ${a}`));
  return lines;
}

/**
 * `export-ops status [--json]`.
 *
 * @example
 * process.exitCode = await main(['--json']);
 */
export async function main(argv: string[]): Promise<number> {
  let values: { json?: boolean; help?: boolean };
  try {
    ({ values } = parseArgs({ args: argv, options: { json: { type: 'boolean' }, help: { type: 'boolean', short: 'h' } } }));
  } catch (error) {
    process.stderr.write(`export-ops status: ${(error as Error).message}\n\n${USAGE}`);
    return EXIT.usage;
  }
  if (values.help) {
    process.stdout.write(USAGE);
    return EXIT.done;
  }
  const config = loadConfig();
  const supabase = createServiceClient(config.supabaseUrl, await resolveServiceRoleKey(config));
  const status = await readStatus(supabase, config, new Date());
  process.stdout.write(values.json ? `${JSON.stringify(status)}\n` : `${formatStatus(status).join('\n')}\n`);
  return EXIT.done;
}
