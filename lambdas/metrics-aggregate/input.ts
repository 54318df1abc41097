import * as z from 'zod';
import { jobNow, notAheadDateTime } from '../shared/clock';
import { InputError, scheduledInput } from '../shared/job';
import { MAX_VOLUME_DAYS } from './service';
import { eligibleRange, planRange } from './windows';

const isoDateTime = (name: string) => notAheadDateTime(name, `${name} must be an ISO 8601 date-time such as 2026-01-15T09:00:00Z`);
/** checkFailureRate's look-back: at most the 14 days the windows cover. */
export const MAX_LOOKBACK_MINUTES = 14 * 24 * 60;

/**
 * The job's input. Without `report`: emit the closed, unemitted hours — of [from, to) when given
 * (a backfill), else of the last 14 days (the schedule's `{"scheduledTime"}`). With `report`:
 * answer one of the seed's queries and change nothing. Unknown fields are refused, and so is a
 * `scheduledTime`, `from` or `to` more than MAX_CLOCK_SKEW_MS ahead of the clock (see ../shared/clock).
 */
export const metricsInput = z
  .strictObject({
    ...scheduledInput.shape,
    from: isoDateTime('from').optional(),
    to: isoDateTime('to').optional(),
    dryRun: z.boolean().optional(),
    report: z.enum(['failure-rate', 'volume', 'aggregate']).optional(),
    lookbackMinutes: z.number().int().positive().max(MAX_LOOKBACK_MINUTES).optional(),
    period: z.enum(['hourly', 'daily']).optional(),
    days: z.number().int().positive().max(MAX_VOLUME_DAYS).optional(),
  })
  .superRefine((input, ctx) => {
    const misplaced = (field: keyof typeof input, only: string) => {
      if (input[field] !== undefined) ctx.addIssue({ code: 'custom', path: [field], message: `is only accepted with ${only}` });
    };
    if (input.report !== 'failure-rate') misplaced('lookbackMinutes', 'report "failure-rate"');
    if (input.report !== 'volume') {
      misplaced('period', 'report "volume"');
      misplaced('days', 'report "volume"');
    }
    if (input.report !== undefined) misplaced('dryRun', 'the emitting run (reports change nothing)');
    if (input.report === 'aggregate') {
      if (!input.from || !input.to) ctx.addIssue({ code: 'custom', path: ['from'], message: 'from and to are required with report "aggregate"' });
      else if (Date.parse(input.to) <= Date.parse(input.from)) ctx.addIssue({ code: 'custom', path: ['to'], message: 'must be after from' });
      return;
    }
    if (input.report !== undefined) {
      misplaced('from', 'report "aggregate" or the emitting run');
      misplaced('to', 'report "aggregate" or the emitting run');
      return;
    }
    // The range checks that need no configuration run here, before anything is recorded; the
    // job repeats them with the configured lag.
    try {
      const now = jobNow(input);
      planRange(input, eligibleRange(now, 0));
    } catch (error) {
      if (!(error instanceof InputError)) throw error;
      ctx.addIssue({ code: 'custom', message: error.message.replace(/^invalid metrics-aggregate input: /, '') });
    }
  });

export type MetricsInput = z.infer<typeof metricsInput>;
