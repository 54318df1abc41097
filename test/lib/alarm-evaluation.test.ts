import { Template } from 'aws-cdk-lib/assertions';
import { fileCleanupJob } from '../../lambdas/file-cleanup/job';
import { logCleanupJob } from '../../lambdas/log-cleanup/job';
import { metricsAggregateJob } from '../../lambdas/metrics-aggregate/job';
import { type JobDefinition, type JobResult, runJob } from '../../lambdas/shared/job';
import { RETRY_ATTEMPTS } from '../../lambdas/shared/retry';
import type { JobName } from '../../lambdas/shared/observability';
import type { LocalStack } from '../../local/stack';
import {
  type AlarmProperties, type AlarmState, type Datapoint, datapointsFromEmf, dimensionValue, emfDocuments, evaluateAlarm,
} from '../support/cloudwatch/evaluate-alarm';
import { jobDepsFor } from '../support/jobs';
import { databaseMode, startTestStack } from '../support/stack';
import { insertExports, storageUrl, USER } from '../lambdas/file-cleanup/fixtures';
import { exportOpsStack } from './helpers';
import { findState, stateMachineDefinitions } from '../support/sfn/definitions';
import { captureStdout } from '../support/output';

/**
 * Every alarm of the synthesized stack, evaluated by test/support/cloudwatch/evaluate-alarm.ts
 * on the metrics the jobs really emit: export hours are seeded in the local stack and the
 * metrics job is run over them (its EMF documents keep their own timestamps, the window
 * starts); the cleanup jobs are run, successfully and failing. A job's run documents are
 * stamped by Powertools with the time the test ran, so they are re-stamped to place each run
 * in the scenario's timeline (values untouched). AWS-namespace metrics (AWS/Lambda Errors...)
 * cannot be produced locally: where a scenario needs one it is synthesized (a job that throws
 * => Lambda Errors 1 in the 5 minutes before the evaluation) and the table says so. Every other
 * AWS metric has no datapoint, which these alarms treat as not breaching.
 */

type Doc = Record<string, unknown>;
const H = 3_600_000;
const DAY = 24 * H;
const floorHour = (ms: number) => Math.floor(ms / H) * H;
const floorDay = (ms: number) => Math.floor(ms / DAY) * DAY;
const iso = (ms: number) => new Date(ms).toISOString();

/** Copies of documents with another `_aws.Timestamp`. */
const restamp = (docs: Doc[], timestamp: number): Doc[] =>
  docs.map((d) => ({ ...d, _aws: { ...(d._aws as object), Timestamp: timestamp } }));
/** Export window documents carry no Job dimension; a run's own documents do. */
const isRunDoc = (d: Doc) => typeof d.Job === 'string';

describe(`every alarm evaluated on the metrics the jobs emit (${databaseMode})`, () => {
  const alarms: Record<string, AlarmProperties> = {};
  let stack: LocalStack;
  // The timeline: a healthy UTC day D0, and two single hours two days before it.
  const D0 = floorDay(Date.now()) - 4 * DAY;
  const BAD = D0 - 2 * DAY + 10 * H;
  const QUIET = D0 - 2 * DAY + 14 * H;
  const docs = {
    healthyDay: [] as Doc[], badHour: [] as Doc[], quietHour: [] as Doc[],
    metricsRun: [] as Doc[], fileRun: [] as Doc[], fileRunWithFailures: [] as Doc[],
    metricsThrows: [] as Doc[], logThrows: [] as Doc[],
  };

  async function run<I, R extends JobResult>(job: JobDefinition<I, R>, input: I, env: Record<string, string> = {}, throws = false): Promise<Doc[]> {
    // Captured, not echoed: hundreds of EMF lines.
    const out = captureStdout();
    try {
      const deps = await jobDepsFor(stack, job.name as JobName, env);
      const outcome = runJob(job, deps, input);
      if (throws) await expect(outcome).rejects.toThrow();
      else await outcome;
      return emfDocuments(out.lines());
    } finally {
      out.restore();
    }
  }
  const metricsOver = (from: number, to: number) => run(metricsAggregateJob, metricsAggregateJob.input.parse({ from: iso(from), to: iso(to) }));

  /** `total` exports finished in the hour starting `hour`, `failed` of them failed, each taking 2 s. */
  async function seedHour(hour: number, total: number, failed: number) {
    await stack.db.query(`insert into auth.users (id) values ($1) on conflict do nothing`, [USER]);
    const { rows } = await stack.db.query<{ id: string }>(
      `insert into public.export_logs (export_id, user_id, "timestamp", format, config, conversation_count, file_size,
                                       status, file_url, expires_at, error_message, created_at, updated_at)
       select gen_random_uuid(), $1, t - interval '2 seconds', (array['json', 'jsonl', 'csv', 'markdown'])[1 + i % 4], '{}', 3,
              case when i <= $4 then null else 1000 end, case when i <= $4 then 'failed' else 'completed' end, null, null,
              case when i <= $4 then 'StorageError: upload failed' end, t - interval '2 seconds', t
         from generate_series(1, $3::int) i, lateral (select $2::timestamptz + make_interval(secs => i * 3000.0 / $3) as t) x
       returning id`,
      [USER, iso(hour), total, failed],
    );
    await stack.db.query(
      `update export_ops.exports x set finished_at = e.updated_at, finished_source = 'observed'
         from public.export_logs e where e.id = x.id and e.id = any($1::uuid[])`,
      [rows.map((r) => r.id)],
    );
  }

  /** What the file cleanup's drain writes when a worker stops at its cap (its ReportCapReached state's PutMetricData). */
  let capReached: (timestamp: number) => Datapoint[];

  beforeAll(async () => {
    const template = Template.fromStack(exportOpsStack());
    const report = findState(stateMachineDefinitions(template)['file-cleanup'].drain, 'ReportCapReached').Parameters;
    capReached = (timestamp) => (report.MetricData as { MetricName: string; Value: number; Dimensions: { Name: string; Value: string }[] }[])
      .map((d) => ({ namespace: report.Namespace, name: d.MetricName, value: d.Value, timestamp,
        dimensions: Object.fromEntries(d.Dimensions.map((x) => [x.Name, x.Value])) }));
    for (const resource of Object.values(template.findResources('AWS::CloudWatch::Alarm'))) {
      const p = resource.Properties;
      alarms[String(p.AlarmName).replace(/^ExportOps-/, '')] = p as AlarmProperties;
    }
    stack = await startTestStack();
    // Cleanups first, so the metrics job reports their age (SecondsSinceLastSuccess) as small.
    docs.fileRun = await run(fileCleanupJob, { scheduledTime: new Date().toISOString() });
    await run(logCleanupJob, { scheduledTime: new Date().toISOString() });
    for (let h = 0; h < 24; h += 1) await seedHour(D0 + h * H, 20, 1);
    await seedHour(BAD, 40, 8);
    await seedHour(QUIET, 1, 1);
    const day = await metricsOver(D0, D0 + DAY);
    docs.healthyDay = day.filter((d) => !isRunDoc(d));
    docs.metricsRun = day.filter(isRunDoc);
    docs.badHour = (await metricsOver(BAD - 2 * H, BAD + H)).filter((d) => !isRunDoc(d));
    docs.quietHour = (await metricsOver(QUIET - 2 * H, QUIET + H)).filter((d) => !isRunDoc(d));
    // Six files whose deletion keeps failing (Storage answers 503 to every attempt).
    const now = new Date();
    await insertExports(stack, now, Array.from({ length: 6 }, (_, i) => {
      const name = `${USER}/alarm-eval-${i}.json`;
      return { upload: name, file_url: storageUrl(stack, 'public', name) };
    }));
    stack.supabase.faults.add({ method: 'DELETE', path: '/storage/v1/object/exports', times: RETRY_ATTEMPTS, fault: { status: 503 } });
    docs.fileRunWithFailures = await run(fileCleanupJob, { scheduledTime: now.toISOString() }, { MAX_FILE_ATTEMPTS: '1' });
    stack.supabase.faults.clear();
    // Runs that throw.
    stack.supabase.faults.add({ method: 'POST', path: '/rest/v1/rpc/export_ops_metrics_pending_windows', times: 1000, fault: { status: 500 } });
    docs.metricsThrows = await run(metricsAggregateJob, metricsAggregateJob.input.parse({ from: iso(D0 - DAY), to: iso(D0) }), {}, true);
    stack.supabase.faults.clear();
    stack.supabase.faults.add({ method: 'POST', path: '/rest/v1/rpc/export_ops_log_cleanup_stats', times: 1000, fault: { status: 500 } });
    docs.logThrows = await run(logCleanupJob, { scheduledTime: new Date().toISOString() }, {}, true);
    stack.supabase.faults.clear();
  }, 300_000);
  afterAll(() => stack?.stop());

  /**
   * A healthy timeline up to `at`: the metrics job completed a run 20 min past each of the last
   * 48 hours, the file cleanup one at 03:00 each of the last 3 days (its real documents, re-stamped).
   */
  function baseline(at: number, skip: { metricsHours?: number; fileDays?: number } = {}): Doc[] {
    const out: Doc[] = [];
    for (let k = 1 + (skip.metricsHours ?? 0); k <= 48; k += 1) out.push(...restamp(docs.metricsRun, floorHour(at) - k * H + 20 * 60_000));
    for (let k = 1 + (skip.fileDays ?? 0); k <= 3; k += 1) out.push(...restamp(docs.fileRun, floorDay(at) - k * DAY + 3 * H));
    return out;
  }

  /** A datapoint of an AWS-namespace metric an alarm reads (synthesized: the local stack has no AWS/Lambda). */
  function awsPoint(alarmId: string, value: number, timestamp: number): Datapoint {
    const a = alarms[alarmId];
    return { namespace: a.Namespace as string, name: a.MetricName as string, timestamp, value,
      dimensions: Object.fromEntries((a.Dimensions ?? []).map((d) => [d.Name, dimensionValue(d.Value)])) };
  }

  interface Scenario { at: number; docs: Doc[]; aws?: Datapoint[] }
  const scenarios: Record<string, () => Scenario> = {
    'a healthy day': () => ({ at: D0 + DAY, docs: [...baseline(D0 + DAY), ...docs.healthyDay] }),
    'a bad hour (8 of 40 exports failed, 20 %)': () => ({ at: BAD + H, docs: [...baseline(BAD + H), ...docs.badHour] }),
    'a quiet hour (1 of 1 failed)': () => ({ at: QUIET + H, docs: [...baseline(QUIET + H), ...docs.quietHour] }),
    'file cleanup: 6 files not deleted in a day (threshold 5)': () => ({
      at: D0 + DAY, docs: [...baseline(D0 + DAY), ...docs.healthyDay, ...restamp(docs.fileRunWithFailures, D0 + 12 * H)],
    }),
    'the metrics job throws (+ synthesized AWS/Lambda Errors 1)': () => ({
      at: D0 + DAY, docs: [...baseline(D0 + DAY), ...docs.healthyDay, ...restamp(docs.metricsThrows, D0 + DAY - 3 * 60_000)],
      aws: [awsPoint('MetricsAggregateErrors', 1, D0 + DAY - 3 * 60_000)],
    }),
    'the log cleanup throws (+ synthesized AWS/Lambda Errors 1)': () => ({
      at: D0 + DAY, docs: [...baseline(D0 + DAY), ...docs.healthyDay, ...restamp(docs.logThrows, D0 + DAY - 3 * 60_000)],
      aws: [awsPoint('LogCleanupErrors', 1, D0 + DAY - 3 * 60_000)],
    }),
    'the metrics job did not run for its last 2 hours': () => ({ at: D0 + DAY, docs: [...baseline(D0 + DAY, { metricsHours: 2 }), ...docs.healthyDay] }),
    'the file cleanup did not run for its last 2 days': () => ({ at: D0 + DAY, docs: [...baseline(D0 + DAY, { fileDays: 2 }), ...docs.healthyDay] }),
    'a file-cleanup drain worker stopped at its cap with work left (its PutMetricData)': () => ({
      at: D0 + DAY, docs: [...baseline(D0 + DAY), ...docs.healthyDay], aws: capReached(D0 + 5 * H),
    }),
  };

  /** Which alarms must go to ALARM in which scenario; every other alarm must stay OK. */
  const EXPECTED_ALARMS: Record<string, string[]> = {
    'a healthy day': [],
    'a bad hour (8 of 40 exports failed, 20 %)': ['FailureRate'],
    'a quiet hour (1 of 1 failed)': [],
    'file cleanup: 6 files not deleted in a day (threshold 5)': ['FileCleanupFailures'],
    'the metrics job throws (+ synthesized AWS/Lambda Errors 1)': ['MetricsAggregateErrors'],
    'the log cleanup throws (+ synthesized AWS/Lambda Errors 1)': ['LogCleanupErrors', 'LogCleanupFailures'],
    'the metrics job did not run for its last 2 hours': ['MetricsJobNotRunning'],
    'the file cleanup did not run for its last 2 days': ['FileCleanupNotRunning'],
    'a file-cleanup drain worker stopped at its cap with work left (its PutMetricData)': ['FileCleanupDrainCapReached'],
  };

  function evaluateAll(s: Scenario) {
    const points = [...datapointsFromEmf(s.docs), ...(s.aws ?? [])];
    return Object.fromEntries(Object.entries(alarms).map(([id, a]) => [id, evaluateAlarm(a, points, s.at, 'OK')]));
  }
  const states = (evaluations: Record<string, { state: AlarmState }>) =>
    Object.fromEntries(Object.entries(evaluations).map(([id, e]) => [id, e.state]));

  test('the table covers every alarm the stack deploys', () => {
    expect(Object.keys(alarms).length).toBeGreaterThanOrEqual(20);
    const named = new Set(Object.values(EXPECTED_ALARMS).flat());
    for (const id of named) expect(Object.keys(alarms)).toContain(id);
  });

  test.each(Object.keys(scenarios))('%s', (name) => {
    const result = states(evaluateAll(scenarios[name]()));
    const expected = Object.fromEntries(Object.keys(alarms).map((id) => [id, EXPECTED_ALARMS[name].includes(id) ? 'ALARM' : 'OK']));
    expect(result).toEqual(expected);
  });

  test('the values behind the states are the seeded ones', () => {
    const bad = evaluateAll(scenarios['a bad hour (8 of 40 exports failed, 20 %)']());
    expect(bad.FailureRate.values[2]).toBe(20);
    expect(bad.Volume.values[2]).toBe(40);
    expect(bad.AverageDuration.values[2]).toBe(2000);
    const quiet = evaluateAll(scenarios['a quiet hour (1 of 1 failed)']());
    expect(quiet.FailureRate.values[2]).toBe(0);
    const day = evaluateAll(scenarios['a healthy day']());
    expect(day.FailureRate.values).toEqual([5, 5, 5]);
    expect(day.Volume.values).toEqual([20, 20, 20]);
    expect(evaluateAll(scenarios['file cleanup: 6 files not deleted in a day (threshold 5)']()).FileCleanupFailures.values).toEqual([6]);
  });

  test('each AWS-namespace alarm goes to ALARM on one synthesized breaching datapoint of its first input, alone', () => {
    const at = D0 + DAY;
    const awsAlarms = Object.entries(alarms).filter(([, a]) =>
      (a.Namespace ?? a.Metrics?.find((m) => m.MetricStat)?.MetricStat?.Metric.Namespace ?? '').startsWith('AWS/'));
    expect(awsAlarms.map(([id]) => id)).toEqual(expect.arrayContaining(['MetricsAggregateThrottles', 'FileCleanupUndelivered', 'LogCleanupNearTimeout',
      'SchedulerTargetErrors', 'SchedulerDropped', 'NotificationsFailed',
      'FileCleanupDrainFailed', 'FileCleanupDrainTimedOut', 'LogCleanupDrainFailed', 'LogCleanupDrainTimedOut']));
    for (const [id, a] of awsAlarms) {
      const input = a.MetricName
        ? { namespace: a.Namespace as string, name: a.MetricName, dims: a.Dimensions }
        : (({ Metric: m }) => ({ namespace: m.Namespace, name: m.MetricName, dims: m.Dimensions }))(a.Metrics!.find((m) => m.MetricStat)!.MetricStat!);
      const point: Datapoint = { namespace: input.namespace, name: input.name, timestamp: at - 60_000, value: a.Threshold + 1,
        dimensions: Object.fromEntries((input.dims ?? []).map((d) => [d.Name, dimensionValue(d.Value)])) };
      const points = [...datapointsFromEmf(baseline(at)), point];
      const result = states(Object.fromEntries(Object.entries(alarms).map(([k, x]) => [k, evaluateAlarm(x, points, at, 'OK')])));
      expect({ id, result }).toEqual({ id, result: Object.fromEntries(Object.keys(alarms).map((k) => [k, k === id ? 'ALARM' : 'OK'])) });
    }
  });

  describe('a window emitted twice (a crashed metrics run) changes nothing', () => {
    const twice = (s: Scenario): Scenario => ({ ...s, docs: [...s.docs, ...s.docs.filter((d) => !isRunDoc(d))] });

    test.each(['a healthy day', 'a bad hour (8 of 40 exports failed, 20 %)', 'a quiet hour (1 of 1 failed)'])('%s: same states and values', (name) => {
      const once = evaluateAll(scenarios[name]());
      const doubled = scenarios[name]();
      const again = evaluateAll(twice(doubled));
      // The duplicate really is in the input: twice the export datapoints.
      expect(datapointsFromEmf(twice(doubled).docs).length - datapointsFromEmf(doubled.docs).length)
        .toBe(datapointsFromEmf(doubled.docs.filter((d) => !isRunDoc(d))).length);
      expect(again).toEqual(once);
    });

    test('with Sum, the statistic the alarms used before, it would have doubled the volume', () => {
      const volume = { ...alarms.Volume, Statistic: 'Sum' };
      const s = scenarios['a bad hour (8 of 40 exports failed, 20 %)']();
      const points = (x: Scenario) => datapointsFromEmf(x.docs);
      expect(evaluateAlarm(volume, points(s), s.at).values[2]).toBe(40);
      expect(evaluateAlarm(volume, points(twice(s)), s.at).values[2]).toBe(80);
    });
  });
});
