/**
 * The vocabulary of the app's table, public.export_logs, shared by the jobs, the CDK
 * dashboard and the app-side helper (app/), so each value is written once.
 */

/** The app's export formats (the check constraint of export_logs.format). */
export const EXPORT_FORMATS = ['json', 'jsonl', 'csv', 'markdown'] as const;
export type ExportFormat = (typeof EXPORT_FORMATS)[number];

/** Conversation-count ranges, as the app's metrics name them: small < 100, medium < 500, large < 1000, xlarge. */
export const COUNT_RANGES = ['small', 'medium', 'large', 'xlarge'] as const;
export type CountRange = (typeof COUNT_RANGES)[number];

/**
 * The range a conversation count falls in (the SQL aggregate uses the same bounds).
 *
 * @example
 * countRange(120) // → 'medium'
 */
export function countRange(count: number): CountRange {
  if (count < 100) return 'small';
  if (count < 500) return 'medium';
  if (count < 1000) return 'large';
  return 'xlarge';
}
