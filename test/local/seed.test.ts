import { createClient } from '@supabase/supabase-js';
import { seedExports } from '../../local/seed';
import type { LocalStack } from '../../local/stack';
import { databaseMode, startTestStack } from '../support/stack';

describe(`seeding tool on ${databaseMode}`, () => {
  let stack: LocalStack;
  const now = new Date('2026-11-29T12:00:00Z');
  beforeAll(async () => {
    stack = await startTestStack();
  });
  afterAll(() => stack.stop());

  test('seeds a realistic mix with files where completed rows point at Storage', async () => {
    const summary = await seedExports({ db: stack.db, storageDir: stack.storageDir, supabaseUrl: stack.supabase.url }, { count: 400, days: 10, now });
    expect(summary.rows).toBe(406);
    expect(summary.malformed).toBe(6);
    for (const status of ['completed', 'expired', 'failed', 'queued', 'processing']) expect(summary.byStatus[status]).toBeGreaterThan(0);
    expect(summary.legacy).toBeGreaterThan(0);

    const { rows: [counts] } = await stack.db.query<Record<string, number>>(`
      select count(distinct format)::int as formats,
             count(*) filter (where e.status = 'failed' and error_message !~ '^[A-Za-z]+: ')::int as bad_errors,
             count(*) filter (where e.created_at < $1::timestamptz - interval '10 days' or e.created_at > $1::timestamptz)::int as out_of_range,
             (select count(*)::int from storage.objects where bucket_id = 'exports') as objects,
             count(*) filter (where e.status = 'completed' and x.storage_bucket = 'exports' and x.storage_path <> ''
                               and config ->> 'malformed' is null)::int as completed_with_path
        from public.export_logs e join export_ops.exports x on x.id = e.id`, [now.toISOString()]);
    expect(counts).toEqual({ formats: 4, bad_errors: 0, out_of_range: 0, objects: summary.files, completed_with_path: summary.files });
  });

  test('files are reachable through the Storage API at <user_id>/<file name>, sized as the row says', async () => {
    const { rows: [row] } = await stack.db.query<{ user_id: string; storage_path: string; file_size: string }>(
      `select e.user_id, x.storage_path, e.file_size::text from public.export_logs e join export_ops.exports x on x.id = e.id
        where e.status = 'completed' and x.storage_bucket = 'exports' and x.storage_path like e.user_id || '/training-data-%' limit 1`,
    );
    const supabase = createClient(stack.supabase.url, stack.serviceRoleKey, { auth: { persistSession: false } });
    const file = await supabase.storage.from('exports').download(row.storage_path);
    expect(file.data?.size).toBe(Number(row.file_size));
  });

  test('legacy rows point at no stored object; malformed rows cover each bad path', async () => {
    const { rows } = await stack.db.query<{ storage_origin: string; storage_bucket: string | null; storage_path: string | null }>(
      `select x.storage_origin, x.storage_bucket, x.storage_path from public.export_logs e join export_ops.exports x on x.id = e.id
        where config ->> 'malformed' = 'true' order by export_id`,
    );
    const paths = rows.map((r) => `${r.storage_origin === stack.supabase.url.toLowerCase() ? '' : r.storage_origin}|${r.storage_bucket}:${r.storage_path}`);
    expect(paths).toEqual(expect.arrayContaining([
      '|exports:', '|exports:/etc/passwd', expect.stringMatching(/^\|exports:.*\/\.\.\//), expect.stringMatching(/^\|avatars:/),
      expect.stringMatching(/^https:\/\/attacker\.example\|exports:/), expect.stringMatching(/^\|exports:00000000-0000-0000-0000-00000000b0b0\//),
    ]));
    const legacy = await stack.db.query(`select 1 from public.export_logs e join export_ops.exports x on x.id = e.id
                                          where e.file_url like '/api/export/download/%' and x.storage_path is not null`);
    expect(legacy.rows).toEqual([]);
  });

  test('the same seed gives the same rows; seeding again adds nothing', async () => {
    const before = await stack.db.query<{ n: number }>(`select count(*)::int as n from public.export_logs`);
    await seedExports({ db: stack.db, storageDir: stack.storageDir, supabaseUrl: stack.supabase.url }, { count: 400, days: 10, now });
    const after = await stack.db.query<{ n: number }>(`select count(*)::int as n from public.export_logs`);
    expect(after.rows[0].n).toBe(before.rows[0].n);
  });
});
