import {
  type AlarmProperties, type Datapoint, datapointsFromEmf, evaluateAlarm, evaluateExpression, parseExpression, statistic,
} from '../support/cloudwatch/evaluate-alarm';

/** The evaluator's own rules, on hand-made datapoints (see the comments in evaluate-alarm.ts for the AWS pages). */
const H = 3_600_000;
const T0 = Date.UTC(2026, 10, 1);
const point = (name: string, hour: number, value: number, dimensions: Record<string, string> = {}): Datapoint =>
  ({ namespace: 'NS', name, dimensions, timestamp: T0 + hour * H + 60_000, value });
const single = (over: Partial<AlarmProperties> = {}): AlarmProperties => ({
  Namespace: 'NS', MetricName: 'm', Statistic: 'Sum', Period: 3600, EvaluationPeriods: 3, DatapointsToAlarm: 2,
  Threshold: 5, ComparisonOperator: 'GreaterThanThreshold', TreatMissingData: 'missing', ...over,
});

describe('CloudWatch alarm evaluator', () => {
  test('statistics', () => {
    expect(['Sum', 'Average', 'Maximum', 'Minimum', 'SampleCount'].map((s) => statistic(s, [2, 4, 4, 10])))
      .toEqual([20, 5, 10, 2, 4]);
    expect(statistic('Sum', [])).toBeUndefined();
  });

  test('datapoints land in hour-aligned periods; dimensions must match exactly', () => {
    const points = [point('m', 0, 3), point('m', 0, 4), point('m', 0, 100, { Format: 'csv' })];
    const e = evaluateAlarm(single({ EvaluationPeriods: 1, DatapointsToAlarm: 1 }), points, T0 + H);
    expect(e).toMatchObject({ values: [7], state: 'ALARM' });
    expect(evaluateAlarm(single({ EvaluationPeriods: 1, DatapointsToAlarm: 1, Statistic: 'Maximum' }), points, T0 + H).values).toEqual([4]);
  });

  test('M out of N', () => {
    const a = single();
    expect(evaluateAlarm(a, [point('m', 0, 6), point('m', 1, 1), point('m', 2, 6)], T0 + 3 * H).state).toBe('ALARM');
    expect(evaluateAlarm(a, [point('m', 0, 6), point('m', 1, 1), point('m', 2, 1)], T0 + 3 * H).state).toBe('OK');
    // Only the last N whole periods count: hour 3 is not closed at 3:30.
    expect(evaluateAlarm(a, [point('m', 0, 6), point('m', 1, 6), point('m', 3, 1)], T0 + 3.5 * H).periods).toEqual([T0, T0 + H, T0 + 2 * H]);
  });

  test('missing data: missing, notBreaching, breaching, ignore', () => {
    const one = [point('m', 2, 6)];
    const at = T0 + 3 * H;
    expect(evaluateAlarm(single({ TreatMissingData: 'missing' }), [], at).state).toBe('INSUFFICIENT_DATA');
    expect(evaluateAlarm(single({ TreatMissingData: 'missing' }), one, at).state).toBe('OK');
    expect(evaluateAlarm(single({ TreatMissingData: 'notBreaching' }), [], at).state).toBe('OK');
    expect(evaluateAlarm(single({ TreatMissingData: 'breaching' }), one, at)).toMatchObject({ state: 'ALARM', breaching: 3 });
    expect(evaluateAlarm(single({ TreatMissingData: 'breaching' }), [], at).state).toBe('ALARM');
    expect(evaluateAlarm(single({ TreatMissingData: 'ignore' }), [], at, 'ALARM').state).toBe('ALARM');
    expect(evaluateAlarm(single({ TreatMissingData: 'ignore' }), [point('m', 2, 1)], at, 'ALARM').state).toBe('OK');
    // Default: missing.
    expect(evaluateAlarm(single({ TreatMissingData: undefined }), [], at).state).toBe('INSUFFICIENT_DATA');
  });

  test('comparison operators', () => {
    const at = T0 + H;
    const on = (op: string, v: number) => evaluateAlarm(single({ ComparisonOperator: op, EvaluationPeriods: 1, DatapointsToAlarm: 1 }), [point('m', 0, v)], at).state;
    expect([on('GreaterThanThreshold', 5), on('GreaterThanOrEqualToThreshold', 5), on('LessThanThreshold', 4), on('LessThanOrEqualToThreshold', 5)])
      .toEqual(['OK', 'ALARM', 'ALARM', 'ALARM']);
  });

  test('metric math: IF, FILL, arithmetic, comparisons, missing points', () => {
    const ev = (e: string, v: Record<string, number | undefined>) => evaluateExpression(parseExpression(e), (id) => v[id]);
    expect(ev('IF(total >= 10, 100 * failed / total, 0)', { total: 40, failed: 8 })).toBe(20);
    expect(ev('IF(total >= 10, 100 * failed / total, 0)', { total: 1, failed: 1 })).toBe(0);
    expect(ev('IF(total >= 10, 100 * failed / total, 0)', { total: undefined, failed: undefined })).toBeUndefined();
    expect(ev('FILL(f0, 0) + FILL(f1, 0)', { f0: undefined, f1: 3 })).toBe(3);
    expect(ev('f0 + f1', { f0: undefined, f1: 3 })).toBeUndefined();
    expect(ev('-a + 2 * (b - 1) / 4', { a: 1, b: 5 })).toBe(1);
    expect(ev('a / b', { a: 1, b: 0 })).toBeUndefined();
    expect(ev('s_x / 86400', { s_x: 172800 })).toBe(2);
    expect(() => parseExpression('SEARCH(x)')).not.toThrow();
    expect(() => ev('SEARCH(x)', {})).toThrow(/not supported/);
  });

  test('a math alarm: inputs per period, the returned expression compared', () => {
    const alarm: AlarmProperties = {
      EvaluationPeriods: 1, Threshold: 10, ComparisonOperator: 'GreaterThanThreshold', TreatMissingData: 'notBreaching',
      Metrics: [
        { Id: 'expr_1', Expression: 'IF(total >= 10, 100 * failed / total, 0)', Period: 3600, ReturnData: true },
        { Id: 'failed', MetricStat: { Metric: { Namespace: 'NS', MetricName: 'F' }, Period: 3600, Stat: 'Maximum' }, ReturnData: false },
        { Id: 'total', MetricStat: { Metric: { Namespace: 'NS', MetricName: 'T' }, Period: 3600, Stat: 'Maximum' }, ReturnData: false },
      ],
    };
    expect(evaluateAlarm(alarm, [point('F', 0, 8), point('T', 0, 40)], T0 + H)).toMatchObject({ state: 'ALARM', values: [20] });
    expect(evaluateAlarm(alarm, [point('F', 0, 1), point('T', 0, 1)], T0 + H)).toMatchObject({ state: 'OK', values: [0] });
    expect(evaluateAlarm(alarm, [], T0 + H)).toMatchObject({ state: 'OK', values: [undefined] });
  });

  test('EMF: one datapoint per metric and dimension set, at _aws.Timestamp; arrays are several samples', () => {
    const doc = {
      _aws: { Timestamp: T0, CloudWatchMetrics: [{ Namespace: 'NS', Dimensions: [['Format'], []], Metrics: [{ Name: 'A' }, { Name: 'B' }] }] },
      Format: 'csv', A: 1, B: [2, 3], other: 'x',
    };
    expect(datapointsFromEmf([doc])).toEqual([
      { namespace: 'NS', name: 'A', dimensions: { Format: 'csv' }, timestamp: T0, value: 1 },
      { namespace: 'NS', name: 'B', dimensions: { Format: 'csv' }, timestamp: T0, value: 2 },
      { namespace: 'NS', name: 'B', dimensions: { Format: 'csv' }, timestamp: T0, value: 3 },
      { namespace: 'NS', name: 'A', dimensions: {}, timestamp: T0, value: 1 },
      { namespace: 'NS', name: 'B', dimensions: {}, timestamp: T0, value: 2 },
      { namespace: 'NS', name: 'B', dimensions: {}, timestamp: T0, value: 3 },
    ]);
  });
});
