import { InputError } from '../shared/job';

/** Windows are whole UTC hours: the period of the alarms and of the original hourly cron. */
export const HOUR_MS = 3_600_000;
/** CloudWatch drops EMF datapoints whose timestamp is more than 14 days old. */
export const CLOUDWATCH_MAX_AGE_MS = 14 * 24 * HOUR_MS;
/**
 * Kept back from CloudWatch's 14 days: a window is emitted some time after it is planned (a long
 * backfill, a slow database), and it must still be inside the 14 days when written.
 */
export const CLOUDWATCH_AGE_MARGIN_MS = HOUR_MS;

export interface Window {
  start: Date;
  end: Date;
}

export interface WindowRange {
  /** First hour start (inclusive). */
  from: Date;
  /** Last hour end (exclusive). */
  to: Date;
}

const floorHour = (ms: number) => Math.floor(ms / HOUR_MS) * HOUR_MS;
const ceilHour = (ms: number) => Math.ceil(ms / HOUR_MS) * HOUR_MS;

/**
 * The hours a run may emit: closed at least `lagMinutes` before `now` (so exports finishing late
 * are in), and young enough for CloudWatch relative to the wall clock (which is what CloudWatch
 * compares against, whatever `now` the run was given).
 *
 * @example
 * eligibleRange(new Date('2026-01-15T10:20:00Z'), 15, Date.parse('2026-01-15T10:20:00Z'))
 * // → { from: 2026-01-01T12:00Z, to: 2026-01-15T10:00Z }
 */
export function eligibleRange(now: Date, lagMinutes: number, wallClockMs = Date.now()): WindowRange {
  const closedBy = Math.min(now.getTime(), wallClockMs) - lagMinutes * 60_000;
  return {
    from: new Date(ceilHour(wallClockMs - CLOUDWATCH_MAX_AGE_MS + CLOUDWATCH_AGE_MARGIN_MS)),
    to: new Date(floorHour(closedBy)),
  };
}

/**
 * The range a run works on: the requested `from`/`to` (checked against the eligible range, with
 * each problem named), or the whole eligible range (the scheduled case, which backfills missed
 * hours). Throws InputError; nothing has been done then.
 *
 * @example
 * planRange({ from: '2026-01-15T06:00:00Z', to: '2026-01-15T08:00:00Z' }, eligible) // two hours
 */
export function planRange(requested: { from?: string; to?: string }, eligible: WindowRange): WindowRange {
  if (requested.from === undefined && requested.to === undefined) return eligible;
  const problems: string[] = [];
  const from = new Date(requested.from ?? '');
  const to = new Date(requested.to ?? '');
  for (const [name, value] of [['from', from], ['to', to]] as const) {
    if (Number.isNaN(value.getTime())) problems.push(`${name} is required with ${name === 'from' ? 'to' : 'from'}`);
    else if (value.getTime() % HOUR_MS !== 0) problems.push(`${name} must be a whole UTC hour (windows are hours), got ${value.toISOString()}`);
  }
  if (problems.length === 0) {
    if (to <= from) problems.push(`to (${to.toISOString()}) must be after from (${from.toISOString()})`);
    if (from < eligible.from) {
      problems.push(`from (${from.toISOString()}) is older than CloudWatch accepts: the oldest window that can be emitted starts at ${eligible.from.toISOString()}`);
    }
    if (to > eligible.to) {
      problems.push(`to (${to.toISOString()}) is beyond the last closed window: hours up to ${eligible.to.toISOString()} are closed (with the configured lag)`);
    }
  }
  if (problems.length) throw new InputError(`invalid metrics-aggregate input: ${problems.join('; ')}`);
  return { from, to };
}

/** The hour windows of a range, oldest first. */
export function hoursOf(range: WindowRange): Window[] {
  const windows: Window[] = [];
  for (let t = range.from.getTime(); t < range.to.getTime(); t += HOUR_MS) windows.push({ start: new Date(t), end: new Date(t + HOUR_MS) });
  return windows;
}
