import { CronExpressionParser } from 'cron-parser';

/** Occurrences tried when the year field restricts the cron (EventBridge's sixth field). */
const YEAR_SEARCH_LIMIT = 500;

/**
 * EventBridge Scheduler numbers days of the week 1-7 from Sunday; cron-parser 0-7 from Sunday
 * (0 and 7 both Sunday). Names are the same in both.
 */
const shiftDaysOfWeek = (field: string) =>
  // Every day number, but not the ordinal after '#' ("1#2": the second Sunday).
  field.replace(/(^|[^#\d])([1-7])(?!\d)/g, (_, before: string, day: string) => `${before}${Number(day) - 1}`);

/**
 * When an EventBridge Scheduler cron (`cron(0 2 * * ? *)` or its six fields) next fires after
 * `after`, in the schedule's IANA time zone, as a Date; null when it never does (a past year).
 *
 * @example
 * nextRun('0 2 * * ? *', 'Europe/Berlin', new Date('2026-11-30T15:00:00Z')) // → 2026-12-01T01:00:00.000Z
 */
export function nextRun(cron: string, timeZone: string, after: Date): Date | null {
  const fields = cron.replace(/^cron\((.*)\)$/, '$1').trim().split(/\s+/);
  if (fields.length !== 6) throw new Error(`not a six-field EventBridge cron: "${cron}"`);
  const [minutes, hours, dayOfMonth, month, dayOfWeek, year] = fields;
  const schedule = CronExpressionParser.parse(`0 ${minutes} ${hours} ${dayOfMonth} ${month} ${shiftDaysOfWeek(dayOfWeek)}`, { currentDate: after, tz: timeZone });
  for (let i = 0; i < YEAR_SEARCH_LIMIT; i++) {
    const next = schedule.next().toDate();
    if (year === '*' || yearMatches(year, next.getUTCFullYear())) return next;
  }
  return null;
}

/** The year field: `*`, a year, a list, a range, or `start/step`. */
function yearMatches(field: string, y: number): boolean {
  return field.split(',').some((part) => {
    const [range, step] = part.split('/');
    const [lo, hi] = range.includes('-') ? range.split('-').map(Number) : [Number(range), step ? Infinity : Number(range)];
    return y >= lo && y <= hi && (!step || (y - lo) % Number(step) === 0);
  });
}
