import { CLOUDWATCH_MAX_AGE_MS, eligibleRange, HOUR_MS, hoursOf, planRange } from '../../../lambdas/metrics-aggregate/windows';

/** Which hours a run may emit, from its "now", the lag and the wall clock (pure; no database). */
describe('metrics windows', () => {
  const wall = Date.parse('2026-01-15T10:20:00Z');

  it('takes the hours closed for at least the lag, back to CloudWatch\'s 14 days less a margin', () => {
    const range = eligibleRange(new Date(wall), 15, wall);
    expect(range.to.toISOString()).toBe('2026-01-15T10:00:00.000Z');
    expect(range.from.toISOString()).toBe('2026-01-01T12:00:00.000Z'); // 10:20 + 1 h margin, to the next hour
    expect(wall - range.from.getTime()).toBeLessThan(CLOUDWATCH_MAX_AGE_MS);
    // 25 minutes of lag: 09:00-10:00 closed only 20 minutes ago, not yet.
    expect(eligibleRange(new Date(wall), 25, wall).to.toISOString()).toBe('2026-01-15T09:00:00.000Z');
  });

  it('never treats hours after the wall clock as closed, whatever "now" says', () => {
    expect(eligibleRange(new Date(wall + 5 * HOUR_MS), 0, wall).to.toISOString()).toBe('2026-01-15T10:00:00.000Z');
    expect(eligibleRange(new Date(wall - 3 * HOUR_MS), 0, wall).to.toISOString()).toBe('2026-01-15T07:00:00.000Z');
  });

  it('plans a requested range inside the eligible one and lists its hours', () => {
    const eligible = eligibleRange(new Date(wall), 15, wall);
    const range = planRange({ from: '2026-01-15T06:00:00Z', to: '2026-01-15T09:00:00+01:00' }, eligible);
    expect(hoursOf(range).map((w) => [w.start.toISOString(), w.end.toISOString()])).toEqual([
      ['2026-01-15T06:00:00.000Z', '2026-01-15T07:00:00.000Z'],
      ['2026-01-15T07:00:00.000Z', '2026-01-15T08:00:00.000Z'],
    ]);
    expect(planRange({}, eligible)).toBe(eligible);
  });

  it('names every problem of a bad range at once', () => {
    const eligible = eligibleRange(new Date(wall), 15, wall);
    expect(() => planRange({ from: '2025-12-01T00:00:00Z', to: '2026-01-16T00:00:00Z' }, eligible))
      .toThrow(/older than CloudWatch accepts.*; to .* is beyond the last closed window/);
    expect(() => planRange({ from: '2026-01-15T06:30:00Z', to: '2026-01-15T06:00:00Z' }, eligible))
      .toThrow(/from must be a whole UTC hour/);
  });
});
