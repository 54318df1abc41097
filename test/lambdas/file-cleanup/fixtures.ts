import { createClient } from '@supabase/supabase-js';
import type { LocalStack } from '../../../local/stack';

export const USER = '00000000-0000-0000-0000-0000000000f1';

export interface ExportFixture {
  /** Object path in `exports` to upload, or none. */
  upload?: string;
  file_url: string | null;
  status?: string;
  /** Hours before `now` the row expired (negative: expires later). null: no expires_at. */
  expiredHoursAgo?: number | null;
  createdHoursAgo?: number;
}

/** Inserts export rows (and uploads their files through the Storage API), returns their export ids. */
export async function insertExports(stack: LocalStack, now: Date, fixtures: ExportFixture[]): Promise<string[]> {
  await stack.db.query(`insert into auth.users (id) values ($1) on conflict do nothing`, [USER]);
  const storage = createClient(stack.supabase.url, stack.serviceRoleKey, { auth: { persistSession: false } }).storage.from('exports');
  const ids: string[] = [];
  for (const f of fixtures) {
    if (f.upload) {
      const { error } = await storage.upload(f.upload, Buffer.from(`file ${f.upload}`), { upsert: true });
      if (error) throw error;
    }
    const hours = (h: number) => new Date(now.getTime() - h * 3_600_000).toISOString();
    const { rows } = await stack.db.query<{ export_id: string }>(
      `insert into public.export_logs (export_id, user_id, "timestamp", format, config, conversation_count, file_size,
                                       status, file_url, expires_at, created_at, updated_at)
       values (gen_random_uuid(), $1, $2, 'json', '{}', 3, 100, $3, $4, $5, $2, $2) returning export_id`,
      [USER, hours(f.createdHoursAgo ?? 48), f.status ?? 'completed', f.file_url,
       f.expiredHoursAgo === null ? null : hours(f.expiredHoursAgo ?? 24)],
    );
    ids.push(rows[0].export_id);
  }
  return ids;
}

export const storageUrl = (stack: LocalStack, form: string, path: string, query = '') =>
  `${stack.supabase.url}/storage/v1/object/${form}/exports/${path}${query}`;

/**
 * The two ways the table and the bucket can disagree: a row marked expired whose object still
 * exists, and a due, unflagged completed row whose object is gone.
 */
export async function disagreements(stack: LocalStack, now: Date, graceHours = 0) {
  const { rows } = await stack.db.query<{ expired_but_live: number; gone_but_unexpired: number }>(`
    select count(*) filter (where l.status = 'expired' and o.id is not null)::int as expired_but_live,
           count(*) filter (where l.status = 'completed' and l.expires_at <= $1::timestamptz - make_interval(hours => $2)
                              and o.id is null and c.skip_reason is null
                              and x.storage_bucket = 'exports' and x.storage_path <> '')::int as gone_but_unexpired
      from public.export_logs l
      join export_ops.exports x on x.id = l.id
      left join storage.objects o on o.bucket_id = x.storage_bucket and o.name = x.storage_path
      left join export_ops.file_claims c on c.export_log_id = l.id`, [now.toISOString(), graceHours]);
  return rows[0];
}

export async function statusOf(stack: LocalStack, exportIds: string[]): Promise<string[]> {
  const { rows } = await stack.db.query<{ export_id: string; status: string }>(
    `select export_id, status from public.export_logs where export_id = any($1::uuid[])`, [`{${exportIds.join(',')}}`]);
  const byId = new Map(rows.map((r) => [r.export_id, r.status]));
  return exportIds.map((id) => byId.get(id) ?? 'missing');
}

export async function objectExists(stack: LocalStack, name: string): Promise<boolean> {
  const { rows } = await stack.db.query(`select 1 from storage.objects where bucket_id = 'exports' and name = $1`, [name]);
  return rows.length > 0;
}
