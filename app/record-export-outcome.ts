import type { SupabaseClient } from '@supabase/supabase-js';
import { countRange, type ExportFormat } from '../lambdas/shared/export-logs';

/**
 * App-side helper, imported by the app where an export ends (the app's `logExportMetric`):
 * records how the export ended on its export_logs row — the fields the hourly aggregation
 * reads — and logs the structured `export_metric` line the app's logs already carry. It never throws into the export: a failure is logged and returned.
 *
 * What it writes: status (completed | failed), file_size (completed), error_message as
 * 'Kind: detail' (failed; the aggregation's error kind is the text before the first ':').
 * finished_at is set by the database trigger when the status first becomes completed/failed, so
 * the row lands in the hour it finished whoever writes it. format, conversation_count and user_id
 * are already on the row from the request.
 */
export interface ExportOutcome {
  export_id: string;
  user_id: string;
  format: ExportFormat;
  status: 'completed' | 'failed';
  conversation_count: number;
  /** As the app measured it; logged only (the aggregation uses finished_at - created_at). */
  duration_ms?: number;
  /** The file's size in bytes, for completed exports; ignored for failed ones. */
  file_size_bytes?: number | null;
  /** The kind of failure, e.g. 'TimeoutError'; becomes the text before ':' in error_message. */
  error_type?: string;
  error_message?: string;
}

export type RecordOutcomeResult = { recorded: true } | { recorded: false; error: string };


/** 'Kind: detail', keeping a message that already starts with its kind as it is. */
export function errorMessageOf(outcome: Pick<ExportOutcome, 'error_type' | 'error_message'>): string {
  const kind = outcome.error_type?.replace(/:/g, '').trim();
  const detail = outcome.error_message?.trim() ?? '';
  if (!kind) return detail || 'Unknown: no error message';
  return detail.startsWith(`${kind}:`) ? detail : `${kind}: ${detail || 'no detail'}`;
}

/**
 * Records an export's outcome and logs `{"type":"export_metric", ...}`. Use the client the app
 * already has (the user's session: RLS lets users update their own rows; or the service role).
 *
 * @example
 * await recordExportOutcome(supabase, {
 *   export_id, user_id, format: 'jsonl', status: 'completed', conversation_count: 120, duration_ms: 950, file_size_bytes: 264000,
 * }); // → { recorded: true }
 */
export async function recordExportOutcome(
  supabase: SupabaseClient,
  outcome: ExportOutcome,
  log: (line: string) => void = (line) => console.log(line),
): Promise<RecordOutcomeResult> {
  let result: RecordOutcomeResult;
  try {
    const fields = outcome.status === 'completed'
      ? { status: 'completed', file_size: outcome.file_size_bytes ?? null }
      : { status: 'failed', error_message: errorMessageOf(outcome) };
    const { data, error } = await supabase.from('export_logs').update(fields).eq('export_id', outcome.export_id).select('export_id');
    if (error) result = { recorded: false, error: error.message };
    else if (!data || data.length === 0) result = { recorded: false, error: `no export_logs row with export_id ${outcome.export_id} is visible to this client` };
    else result = { recorded: true };
  } catch (error) {
    result = { recorded: false, error: error instanceof Error ? error.message : String(error) };
  }
  try {
    log(JSON.stringify({
      type: 'export_metric',
      ...outcome,
      error_message: outcome.status === 'failed' ? errorMessageOf(outcome) : undefined,
      count_range: countRange(outcome.conversation_count),
      timestamp: new Date().toISOString(),
      ...(result.recorded ? {} : { record_error: result.error }),
    }));
  } catch {
    // Logging must not break the export either.
  }
  return result;
}
