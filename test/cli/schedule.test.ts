import { nextRun } from '../../cli/schedule';

/**
 * The next firing of EventBridge Scheduler crons, checked against dates worked out by hand from
 * the Scheduler documentation's rules: six fields (minutes hours day-of-month month day-of-week
 * year), days of the week 1-7 from Sunday, `#` for the nth weekday, `L` for last, the schedule's
 * own time zone with its daylight-saving changes.
 */
describe('nextRun', () => {
  const at = (iso: string) => new Date(iso);

  test.each([
    ['daily 02:00 UTC', '0 2 * * ? *', 'UTC', '2026-11-30T15:00:00Z', '2026-12-01T02:00:00.000Z'],
    ['daily 02:00 Berlin (UTC+1 in winter)', 'cron(0 2 * * ? *)', 'Europe/Berlin', '2026-11-30T15:00:00Z', '2026-12-01T01:00:00.000Z'],
    ['daily 02:00 Berlin in summer (UTC+2)', '0 2 * * ? *', 'Europe/Berlin', '2026-07-01T12:00:00Z', '2026-07-02T00:00:00.000Z'],
    ['monthly, the 1st at 03:00', '0 3 1 * ? *', 'UTC', '2026-11-30T15:00:00Z', '2026-12-01T03:00:00.000Z'],
    ['hourly on the hour', '0 * * * ? *', 'UTC', '2026-11-30T15:20:00Z', '2026-11-30T16:00:00.000Z'],
    ['Mondays (2) at 06:30', '30 6 ? * 2 *', 'UTC', '2026-11-30T07:00:00Z', '2026-12-07T06:30:00.000Z'],
    ['Sundays (1) at 06:30', '30 6 ? * 1 *', 'UTC', '2026-11-30T07:00:00Z', '2026-12-06T06:30:00.000Z'],
    ['weekdays MON-FRI at 09:00', '0 9 ? * MON-FRI *', 'UTC', '2026-12-04T10:00:00Z', '2026-12-07T09:00:00.000Z'],
    ['the second Sunday (1#2)', '0 3 ? * 1#2 *', 'UTC', '2026-11-30T00:00:00Z', '2026-12-13T03:00:00.000Z'],
    ['the last day of the month', '0 3 L * ? *', 'UTC', '2026-11-30T04:00:00Z', '2026-12-31T03:00:00.000Z'],
    ['only in 2028', '0 3 1 1 ? 2028', 'UTC', '2026-11-30T00:00:00Z', '2028-01-01T03:00:00.000Z'],
  ])('%s', (_name, cron, zone, after, expected) => {
    expect(nextRun(cron, zone, at(after))?.toISOString()).toBe(expected);
  });

  test('a cron whose years are past never fires', () => {
    expect(nextRun('0 3 1 1 ? 2020', 'UTC', at('2026-11-30T00:00:00Z'))).toBeNull();
  });

  test('five fields are refused, naming the cron', () => {
    expect(() => nextRun('0 2 * * ?', 'UTC', new Date())).toThrow('not a six-field EventBridge cron: "0 2 * * ?"');
  });
});
