import * as z from 'zod';

/**
 * How far ahead of this machine's clock a job's time input may be: 5 minutes. EventBridge
 * Scheduler delivers at or after the scheduled time, never before, and Lambda hosts' clocks are
 * NTP-synced, so a real schedule event is never ahead by more than a few seconds; the margin only
 * absorbs skew between a laptop running the CLI and the database. A later time is a typo (say
 * `9999-12-31T23:59:59Z`) that would make every completed export's file and every final log row
 * look due: irreversible, so it is refused. A past time is always accepted (redelivery, backfill).
 */
export const MAX_CLOCK_SKEW_MS = 5 * 60_000;

/**
 * Why `value` (an ISO date-time given as `field`) cannot be used as a job's "now" or range end,
 * or undefined when it can. Values that are not dates are left to the format check.
 *
 * @example
 * tooFarAhead('scheduledTime', '9999-12-31T23:59:59Z')
 * // → 'scheduledTime 9999-12-31T23:59:59Z is ahead of this machine's clock (…) by more than …'
 */
export function tooFarAhead(field: string, value: string, wallClockMs = Date.now()): string | undefined {
  const at = Date.parse(value);
  if (Number.isNaN(at) || at <= wallClockMs + MAX_CLOCK_SKEW_MS) return undefined;
  return `${field} ${value} is ahead of this machine's clock (${new Date(wallClockMs).toISOString()}) `
    + `by more than the allowed skew of ${MAX_CLOCK_SKEW_MS / 60_000} minutes; a future time would treat `
    + 'data that is not yet due as due, so nothing was run or recorded (a past time is accepted)';
}

/**
 * An ISO 8601 date-time (with offset) that is not more than MAX_CLOCK_SKEW_MS ahead of the clock
 * at parse time: every time input that acts as a job's "now" or as the end of its range.
 *
 * @example
 * z.strictObject({ scheduledTime: notAheadDateTime('scheduledTime', 'scheduledTime must be an ISO 8601 date-time').optional() })
 */
export function notAheadDateTime(field: string, formatError: string) {
  return z.iso.datetime({ offset: true, error: formatError }).superRefine((value, ctx) => {
    const problem = tooFarAhead(field, value);
    if (problem) ctx.addIssue({ code: 'custom', message: problem });
  });
}

/**
 * A job's "now": the schedule's `scheduledTime` (or the CLI's `--now`) when given, else the
 * clock. The input schema has already refused a time too far ahead (see MAX_CLOCK_SKEW_MS).
 *
 * @example
 * jobNow({ scheduledTime: '2026-11-29T02:00:00Z' }) // → 2026-11-29T02:00:00.000Z
 * jobNow({})                                         // → new Date()
 */
export function jobNow(input: { scheduledTime?: string }): Date {
  return input.scheduledTime ? new Date(input.scheduledTime) : new Date();
}
