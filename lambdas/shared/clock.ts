/**
 * A job's "now": the schedule's `scheduledTime` (or the CLI's `--now`) when given, else the
 * clock. Every job reads its "now" here, for its work and for the run's audit record.
 *
 * @example
 * jobNow({ scheduledTime: '2026-11-29T02:00:00Z' }) // → 2026-11-29T02:00:00.000Z
 * jobNow({})                                         // → new Date()
 */
export function jobNow(input: { scheduledTime?: string }): Date {
  return input.scheduledTime ? new Date(input.scheduledTime) : new Date();
}
