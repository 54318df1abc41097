import { createClient } from '@supabase/supabase-js';
import { statsFor } from '../../lambdas/metrics-aggregate/aggregate';
import { recordExportOutcome } from '../../app/record-export-outcome';
import { signJwt } from '../../local/http/jwt';
import type { LocalStack } from '../../local/stack';
import { databaseMode, startTestStack } from '../support/stack';
import { floorHour, HOUR, metricsDeps } from '../lambdas/metrics-aggregate/support';

/**
 * The app-side helper: records an outcome through the app's own client (a user's session,
 * under RLS), so the hourly aggregate counts it; logs the original route's `export_metric` line; never throws.
 */
describe(`recordExportOutcome (${databaseMode})`, () => {
  let stack: LocalStack;
  const user = '11111111-2222-4333-8444-555555555555';
  const client = () => createClient(stack.env.SUPABASE_URL, signJwt({ role: 'authenticated', sub: user, exp: Math.floor(Date.now() / 1000) + 3600 }, stack.jwtSecret), {
    auth: { persistSession: false, autoRefreshToken: false },
  });

  beforeAll(async () => {
    stack = await startTestStack();
    await stack.db.query(`insert into auth.users (id, email) values ($1, 'app-user@example.com')`, [user]);
  });
  afterAll(() => stack.stop());

  async function requestExport(format: string, conversations: number): Promise<string> {
    const { rows } = await stack.db.query<{ export_id: string }>(
      `insert into public.export_logs (export_id, user_id, "timestamp", format, config, conversation_count, status)
       values (gen_random_uuid(), $1, now(), $2, '{}', $3, 'processing') returning export_id::text`,
      [user, format, conversations],
    );
    return rows[0].export_id;
  }

  it('writes what the aggregation reads and logs export_metric', async () => {
    const done = await requestExport('jsonl', 120);
    const broken = await requestExport('csv', 3);
    const lines: string[] = [];
    await expect(recordExportOutcome(client(), { export_id: done, user_id: user, format: 'jsonl', status: 'completed',
      conversation_count: 120, duration_ms: 950, file_size_bytes: 264_000 }, (l) => lines.push(l))).resolves.toEqual({ recorded: true });
    await expect(recordExportOutcome(client(), { export_id: broken, user_id: user, format: 'csv', status: 'failed',
      conversation_count: 3, error_type: 'StorageError', error_message: 'upload failed with 503' }, (l) => lines.push(l))).resolves.toEqual({ recorded: true });

    const { rows } = await stack.db.query<{ status: string; file_size: string | null; error_message: string | null; finished: boolean }>(
      `select e.status, e.file_size::text, e.error_message, x.finished_at is not null as finished
         from public.export_logs e join export_ops.exports x on x.id = e.id where e.export_id = any($1::uuid[]) order by e.format desc`,
      [[done, broken]],
    );
    expect(rows).toEqual([
      { status: 'completed', file_size: '264000', error_message: null, finished: true },
      { status: 'failed', file_size: null, error_message: 'StorageError: upload failed with 503', finished: true },
    ]);
    const hour = floorHour(Date.now()); // two hours around now: no race with the clock turning an hour
    const agg = await (await metricsDeps(stack)).windows.aggregateWindow({ start: new Date(hour - HOUR), end: new Date(hour + HOUR) });
    expect(statsFor(agg)).toMatchObject({ total: 2, succeeded: 1, failed: 1, file_size_bytes: { max: 264_000 } });
    expect(agg.error_kinds).toEqual({ StorageError: 1 });

    expect(lines.map((l) => JSON.parse(l))).toEqual([
      expect.objectContaining({ type: 'export_metric', export_id: done, status: 'completed', count_range: 'medium', duration_ms: 950, file_size_bytes: 264_000 }),
      expect.objectContaining({ type: 'export_metric', export_id: broken, status: 'failed', count_range: 'small', error_type: 'StorageError',
        error_message: 'StorageError: upload failed with 503' }),
    ]);
  });

  it('never throws: a server error, a dropped connection or an unknown export are returned and logged', async () => {
    const id = await requestExport('json', 10);
    const outcome = { export_id: id, user_id: user, format: 'json' as const, status: 'completed' as const, conversation_count: 10, file_size_bytes: 10 };
    const lines: string[] = [];
    stack.supabase.faults.add({ method: 'PATCH', path: '/rest/v1/export_logs', fault: { status: 500, body: { message: 'boom' } } });
    expect(await recordExportOutcome(client(), outcome, (l) => lines.push(l))).toMatchObject({ recorded: false });
    stack.supabase.faults.add({ method: 'PATCH', path: '/rest/v1/export_logs', fault: { drop: true } });
    expect(await recordExportOutcome(client(), outcome, (l) => lines.push(l))).toMatchObject({ recorded: false, error: expect.stringMatching(/fetch failed/) });
    expect(await recordExportOutcome(client(), { ...outcome, export_id: '00000000-0000-4000-8000-000000000000' }, (l) => lines.push(l)))
      .toEqual({ recorded: false, error: expect.stringMatching(/no export_logs row/) });
    expect(lines.map((l) => JSON.parse(l).record_error)).toEqual([expect.any(String), expect.any(String), expect.any(String)]);
    // A throwing logger does not escape either, and the row is written once the server answers.
    expect(await recordExportOutcome(client(), outcome, () => { throw new Error('log sink down'); })).toEqual({ recorded: true });
  });
});
