/**
 * A small CloudWatch alarm evaluator for tests: reads a synthesized `AWS::CloudWatch::Alarm`,
 * turns datapoints (from EMF documents the jobs printed, or synthesized for AWS namespaces)
 * into the alarm's per-period values and applies CloudWatch's alarm rules. It covers what the
 * stack uses: single-metric alarms and metric-math alarms with MetricStat inputs and an
 * expression made of IF, FILL, arithmetic and comparisons.
 *
 * Rules followed, with the AWS documentation they come from:
 * - Statistics (Sum, Average, Maximum, Minimum, SampleCount) aggregate every value published
 *   with the metric's exact namespace, name and dimensions whose timestamp falls in a period;
 *   periods start at multiples of the period since the epoch (an hourly period starts on the
 *   hour). https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/cloudwatch_concepts.html
 *   (Statistics, Periods, Dimensions: "each unique combination of dimensions is a separate metric").
 * - EMF: each document's `_aws.CloudWatchMetrics[]` directive publishes each of its Metrics once per
 *   dimension set, with the values of the root members named by the set, at `_aws.Timestamp`;
 *   an array value is several samples.
 *   https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/CloudWatch_Embedded_Metric_Format_Specification.html
 * - Metric math: operators and functions apply per timestamp; arithmetic of two series gives a
 *   point only where both have one, a scalar applies to every point; FILL(m, v) gives v where m
 *   has no point; IF(cond, a, b) gives a where cond is non-zero, b where it is 0, and nothing where
 *   cond has no point; comparisons give 1 or 0.
 *   https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/using-metric-math.html
 *   (Metric math syntax and functions: arithmetic, comparison operators, IF, FILL).
 *   Division by zero gives no point here (the page: the result of dividing by 0 is not a number,
 *   which the alarm cannot compare; we treat it as missing).
 * - Evaluation: the alarm looks at the last EvaluationPeriods periods ("N"), and goes to ALARM
 *   when DatapointsToAlarm of them ("M", default N) breach the threshold under
 *   ComparisonOperator. https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/AlarmThatSendsEmail.html
 *   (Evaluating an alarm: Period, Evaluation Periods, Datapoints to Alarm).
 * - Missing data (TreatMissingData, default `missing`):
 *   https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/alarms-and-missing-data.html
 *   `notBreaching`: a missing period counts as good; `breaching`: as bad; `ignore`: the
 *   current state is kept when the range has no datapoint, else only the present points count;
 *   `missing`: only present points count, and a range without any datapoint is INSUFFICIENT_DATA.
 *   Simplification: CloudWatch may look further back than N periods to find points for
 *   `missing`/`ignore` ("evaluation range"); this evaluator looks at the N periods only.
 */

/** One published value. */
export interface Datapoint {
  namespace: string;
  name: string;
  /** Dimension name → value (token-valued dimensions of a template: their JSON, see `dimensionValue`). */
  dimensions: Record<string, string>;
  /** Epoch ms. */
  timestamp: number;
  value: number;
}

export type AlarmState = 'OK' | 'ALARM' | 'INSUFFICIENT_DATA';

/** The properties of a synthesized alarm this evaluator reads. */
export interface AlarmProperties {
  MetricName?: string;
  Namespace?: string;
  Dimensions?: { Name: string; Value: unknown }[];
  Statistic?: string;
  Period?: number;
  Metrics?: {
    Id: string;
    ReturnData?: boolean;
    Expression?: string;
    Period?: number;
    MetricStat?: { Metric: { Namespace: string; MetricName: string; Dimensions?: { Name: string; Value: unknown }[] }; Period: number; Stat: string };
  }[];
  EvaluationPeriods: number;
  DatapointsToAlarm?: number;
  Threshold: number;
  ComparisonOperator: string;
  TreatMissingData?: string;
}

export interface Evaluation {
  state: AlarmState;
  /** The value of each of the N periods, oldest first (undefined: missing). */
  values: (number | undefined)[];
  /** The N period starts, epoch ms. */
  periods: number[];
  breaching: number;
}

/** A template dimension's value as a string: literal strings as is, tokens (Ref, GetAtt) as their JSON. */
export const dimensionValue = (value: unknown): string => (typeof value === 'string' ? value : JSON.stringify(value));

const dims = (list: { Name: string; Value: unknown }[] = []) => Object.fromEntries(list.map((d) => [d.Name, dimensionValue(d.Value)]));
const sameDims = (a: Record<string, string>, b: Record<string, string>) => {
  const ka = Object.keys(a).sort();
  const kb = Object.keys(b).sort();
  return ka.length === kb.length && ka.every((k, i) => k === kb[i] && a[k] === b[k]);
};

/** The datapoints EMF documents publish (one per metric, dimension set and sample). */
export function datapointsFromEmf(docs: Record<string, unknown>[]): Datapoint[] {
  const out: Datapoint[] = [];
  for (const doc of docs) {
    const aws = doc._aws as { Timestamp: number; CloudWatchMetrics: { Namespace: string; Dimensions: string[][]; Metrics: { Name: string }[] }[] } | undefined;
    if (!aws) continue;
    for (const directive of aws.CloudWatchMetrics) {
      for (const set of directive.Dimensions) {
        const dimensions = Object.fromEntries(set.map((k) => [k, String(doc[k])]));
        for (const metric of directive.Metrics) {
          const raw = doc[metric.Name];
          for (const value of Array.isArray(raw) ? raw : [raw]) {
            if (typeof value === 'number') out.push({ namespace: directive.Namespace, name: metric.Name, dimensions, timestamp: aws.Timestamp, value });
          }
        }
      }
    }
  }
  return out;
}

/** EMF documents from captured stdout lines (other lines ignored). */
export const emfDocuments = (lines: string[]): Record<string, unknown>[] =>
  lines.filter((l) => l.includes('"_aws"')).map((l) => JSON.parse(l) as Record<string, unknown>);

/** The statistic of a period's values; undefined when the period has none. */
export function statistic(stat: string, values: number[]): number | undefined {
  if (values.length === 0) return undefined;
  switch (stat) {
    case 'Sum': return values.reduce((a, b) => a + b, 0);
    case 'Average': return values.reduce((a, b) => a + b, 0) / values.length;
    case 'Maximum': return Math.max(...values);
    case 'Minimum': return Math.min(...values);
    case 'SampleCount': return values.length;
    default: throw new Error(`statistic ${stat} is not supported by this evaluator`);
  }
}

/** A metric's value per period start (only periods with datapoints). */
function series(points: Datapoint[], namespace: string, name: string, dimensions: Record<string, string>, periodS: number, stat: string): Map<number, number> {
  const period = periodS * 1000;
  const buckets = new Map<number, number[]>();
  for (const p of points) {
    if (p.namespace !== namespace || p.name !== name || !sameDims(p.dimensions, dimensions)) continue;
    const start = Math.floor(p.timestamp / period) * period;
    buckets.set(start, [...(buckets.get(start) ?? []), p.value]);
  }
  return new Map([...buckets].map(([k, v]) => [k, statistic(stat, v) as number]));
}

// ---- metric math: the subset IF, FILL, + - * /, comparisons, parentheses, numbers, ids ----

type Node =
  | { kind: 'num'; value: number }
  | { kind: 'id'; id: string }
  | { kind: 'bin'; op: string; left: Node; right: Node }
  | { kind: 'neg'; arg: Node }
  | { kind: 'call'; fn: string; args: Node[] };

function tokenize(expression: string): string[] {
  const tokens = expression.match(/\s*(>=|<=|==|!=|<>|&&|\|\||[A-Za-z_][A-Za-z0-9_]*|\d+(?:\.\d+)?|[-+*/(),<>^])\s*/g);
  if (!tokens || tokens.join('').replace(/\s/g, '') !== expression.replace(/\s/g, '')) throw new Error(`cannot tokenize ${expression}`);
  return tokens.map((t) => t.trim());
}

/** Parses an expression; precedence: || < && < comparisons < + - < * / < unary minus. */
export function parseExpression(expression: string): Node {
  const tokens = tokenize(expression);
  let i = 0;
  const peek = () => tokens[i];
  const take = (t?: string) => {
    const tok = tokens[i++];
    if (t !== undefined && tok !== t) throw new Error(`expected ${t} at ${i} in ${expression}, got ${tok}`);
    return tok;
  };
  const levels = [['||'], ['&&'], ['>=', '<=', '==', '!=', '<>', '>', '<'], ['+', '-'], ['*', '/']];
  const binary = (level: number): Node => {
    if (level === levels.length) return unary();
    let left = binary(level + 1);
    while (levels[level].includes(peek())) {
      const op = take();
      left = { kind: 'bin', op, left, right: binary(level + 1) };
    }
    return left;
  };
  const unary = (): Node => {
    if (peek() === '-') { take(); return { kind: 'neg', arg: unary() }; }
    return primary();
  };
  const primary = (): Node => {
    const tok = take();
    if (tok === '(') { const e = binary(0); take(')'); return e; }
    if (/^\d/.test(tok)) return { kind: 'num', value: Number(tok) };
    if (/^[A-Za-z_]/.test(tok)) {
      if (peek() === '(') {
        take('(');
        const args: Node[] = [binary(0)];
        while (peek() === ',') { take(','); args.push(binary(0)); }
        take(')');
        return { kind: 'call', fn: tok.toUpperCase(), args };
      }
      return { kind: 'id', id: tok };
    }
    throw new Error(`unexpected ${tok} in ${expression}`);
  };
  const node = binary(0);
  if (i !== tokens.length) throw new Error(`trailing ${tokens.slice(i).join(' ')} in ${expression}`);
  return node;
}

/** The value of an expression at one timestamp: `lookup(id)` is the series' point (undefined: none). */
export function evaluateExpression(node: Node, lookup: (id: string) => number | undefined): number | undefined {
  const ev = (n: Node): number | undefined => evaluateExpression(n, lookup);
  switch (node.kind) {
    case 'num': return node.value;
    case 'id': return lookup(node.id);
    case 'neg': { const v = ev(node.arg); return v === undefined ? undefined : -v; }
    case 'call': {
      if (node.fn === 'FILL') {
        if (node.args.length !== 2) throw new Error('FILL takes (series, value)');
        return ev(node.args[0]) ?? ev(node.args[1]);
      }
      if (node.fn === 'IF') {
        if (node.args.length !== 3) throw new Error('IF takes (condition, true value, false value)');
        const c = ev(node.args[0]);
        if (c === undefined) return undefined;
        return c !== 0 ? ev(node.args[1]) : ev(node.args[2]);
      }
      throw new Error(`function ${node.fn} is not supported by this evaluator`);
    }
    case 'bin': {
      const a = ev(node.left);
      const b = ev(node.right);
      if (a === undefined || b === undefined) return undefined;
      switch (node.op) {
        case '+': return a + b;
        case '-': return a - b;
        case '*': return a * b;
        case '/': return b === 0 ? undefined : a / b;
        case '>': return Number(a > b);
        case '<': return Number(a < b);
        case '>=': return Number(a >= b);
        case '<=': return Number(a <= b);
        case '==': return Number(a === b);
        case '!=': case '<>': return Number(a !== b);
        case '&&': return Number(a !== 0 && b !== 0);
        case '||': return Number(a !== 0 || b !== 0);
        default: throw new Error(`operator ${node.op}`);
      }
    }
  }
}

/** The alarm's period in seconds. */
export function alarmPeriod(p: AlarmProperties): number {
  if (p.Period) return p.Period;
  const stat = p.Metrics?.find((m) => m.MetricStat)?.MetricStat;
  const period = p.Metrics?.find((m) => m.ReturnData !== false && m.Period)?.Period ?? stat?.Period;
  if (!period) throw new Error('alarm without a period');
  return period;
}

/** The alarm's value for the period starting at `start` (epoch ms); undefined when missing. */
export function alarmValue(p: AlarmProperties, points: Datapoint[], start: number): number | undefined {
  if (p.MetricName) {
    return series(points, p.Namespace as string, p.MetricName, dims(p.Dimensions), p.Period as number, p.Statistic as string).get(start);
  }
  const queries = p.Metrics ?? [];
  const values = new Map<string, number | undefined>();
  for (const q of queries) {
    if (!q.MetricStat) continue;
    const m = q.MetricStat.Metric;
    values.set(q.Id, series(points, m.Namespace, m.MetricName, dims(m.Dimensions), q.MetricStat.Period, q.MetricStat.Stat).get(start));
  }
  const lookup = (id: string): number | undefined => {
    if (values.has(id)) return values.get(id);
    const q = queries.find((x) => x.Id === id);
    if (!q?.Expression) throw new Error(`unknown id ${id}`);
    const v = evaluateExpression(parseExpression(q.Expression), lookup);
    values.set(id, v);
    return v;
  };
  const returned = queries.filter((q) => q.ReturnData !== false);
  if (returned.length !== 1) throw new Error('an alarm returns exactly one query');
  return lookup(returned[0].Id);
}

const COMPARE: Record<string, (v: number, t: number) => boolean> = {
  GreaterThanThreshold: (v, t) => v > t,
  GreaterThanOrEqualToThreshold: (v, t) => v >= t,
  LessThanThreshold: (v, t) => v < t,
  LessThanOrEqualToThreshold: (v, t) => v <= t,
};

/**
 * Evaluates the alarm at `at` (epoch ms): over the N whole periods that end at or before `at`.
 * `current` is the state `ignore` keeps.
 */
export function evaluateAlarm(p: AlarmProperties, points: Datapoint[], at: number, current: AlarmState = 'INSUFFICIENT_DATA'): Evaluation {
  const period = alarmPeriod(p) * 1000;
  const n = p.EvaluationPeriods;
  const m = p.DatapointsToAlarm ?? n;
  const end = Math.floor(at / period) * period;
  const periods = Array.from({ length: n }, (_, k) => end - (n - k) * period);
  const values = periods.map((start) => alarmValue(p, points, start));
  const compare = COMPARE[p.ComparisonOperator];
  if (!compare) throw new Error(`comparison ${p.ComparisonOperator} is not supported`);
  const treat = p.TreatMissingData ?? 'missing';
  const present = values.filter((v): v is number => v !== undefined);
  let breaching = present.filter((v) => compare(v, p.Threshold)).length;
  if (treat === 'breaching') breaching += values.length - present.length;
  let state: AlarmState;
  if (present.length === 0 && treat === 'missing') state = 'INSUFFICIENT_DATA';
  else if (present.length === 0 && treat === 'ignore') state = current;
  else state = breaching >= m ? 'ALARM' : 'OK';
  return { state, values, periods, breaching };
}
