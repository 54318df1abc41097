import * as z from 'zod';
import { jobNow, notAheadDateTime } from '../shared/clock';
import { InputError, scheduledInput } from '../shared/job';
import { eligibleRange, planRange } from './windows';

const isoDateTime = (name: string) => notAheadDateTime(name, `${name} must be an ISO 8601 date-time such as 2026-01-15T09:00:00Z`);

/**
 * The job's input: emit the closed, unemitted hours — of [from, to) when given (a backfill),
 * else of the last 14 days (the schedule's `{"scheduledTime"}`). Unknown fields are refused
 * (reports are `npx export-ops report`, not this job), and so is a `scheduledTime`, `from` or
 * `to` more than MAX_CLOCK_SKEW_MS ahead of the clock (see ../shared/clock).
 */
export const metricsInput = z
  .strictObject({
    ...scheduledInput.shape,
    from: isoDateTime('from').optional(),
    to: isoDateTime('to').optional(),
    dryRun: z.boolean().optional(),
  })
  .superRefine((input, ctx) => {
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
