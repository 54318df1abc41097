-- export-ops file cleanup: claim expired export files, mark them expired once Storage confirms
-- them gone, keep attempts and flags. Idempotent; every function is for service_role only.
--
-- Which rows: status 'completed' and either expires_at <= now - grace, or no expires_at and
-- created more than the retention ago. Claims are leases in export_ops.file_claims: a row is
-- taken by one run at a time (FOR UPDATE SKIP LOCKED while claiming, then the lease), and a
-- crashed run's rows come back when its lease runs out.

-- Rows due for cleanup at p_now, in due order, past a keyset cursor; shared by claim and dry run.
-- Flagged rows (skip_reason) are left out: they are reported, never retried until fixed. With
-- p_skip_leased, rows another run holds are left out before the limit, so overlapping runs
-- each find work.
create or replace function export_ops.file_cleanup_due(
  p_now timestamptz, p_grace_hours numeric, p_retention_hours numeric, p_limit integer,
  p_after_due timestamptz default null, p_after_id uuid default null, p_skip_leased boolean default false
) returns table (id uuid, due timestamptz)
language sql stable set search_path = '' as $$
  select d.id, d.due from (
    (select x.id, x.expires_at as due from export_ops.exports x
      where x.status = 'completed' and x.expires_at is not null
        and x.expires_at <= p_now - make_interval(secs => p_grace_hours * 3600)
        and (p_after_due is null or (x.expires_at, x.id) > (p_after_due, p_after_id))
        and not exists (select 1 from export_ops.file_claims c where c.export_log_id = x.id
                          and (c.skip_reason is not null or (p_skip_leased and c.lease_until > now())))
      order by x.expires_at, x.id limit p_limit)
    union all
    (select x.id, x.created_at + make_interval(secs => p_retention_hours * 3600) from export_ops.exports x
      where x.status = 'completed' and x.expires_at is null
        and x.created_at <= p_now - make_interval(secs => p_retention_hours * 3600)
        and (p_after_due is null or (x.created_at + make_interval(secs => p_retention_hours * 3600), x.id) > (p_after_due, p_after_id))
        and not exists (select 1 from export_ops.file_claims c where c.export_log_id = x.id
                          and (c.skip_reason is not null or (p_skip_leased and c.lease_until > now())))
      order by x.created_at, x.id limit p_limit)
  ) d order by d.due, d.id limit p_limit;
$$;

-- What the job needs of a row, as one JSON object: the live row's owner and URL, and what
-- export-ops derived from that URL (never a value a client wrote).
create or replace function export_ops.file_cleanup_row(l public.export_logs, x export_ops.exports, c export_ops.file_claims)
returns jsonb language sql immutable set search_path = '' as $$
  select jsonb_build_object('id', l.id, 'export_id', l.export_id, 'user_id', l.user_id,
                            'origin', x.storage_origin, 'bucket', x.storage_bucket, 'path', x.storage_path,
                            'url_problem', x.url_problem, 'file_url', l.file_url, 'file_size', l.file_size,
                            'attempts', coalesce(c.attempts, 0));
$$;

-- Claims up to p_limit due rows for p_run_id and returns them as one JSON array (one value, so
-- the API's row cap never cuts it). The ON CONFLICT guard is what makes two overlapping runs
-- safe: a row whose lease another run holds is not taken, even if it was read before that
-- run committed.
create or replace function public.export_ops_claim_files(
  p_run_id uuid, p_now timestamptz, p_grace_hours numeric, p_retention_hours numeric,
  p_limit integer, p_lease_seconds integer
) returns jsonb
language sql set search_path = '' as $$
  with due as (
    -- Twice the limit: rows another claim has locked this instant are skipped below.
    select d.id from export_ops.file_cleanup_due(export_ops.check_job_now(p_now), p_grace_hours, p_retention_hours, p_limit * 2, null, null, true) d
  ),
  locked as (
    select l.id from public.export_logs l where l.id in (select id from due) and l.status = 'completed'
     order by l.id limit p_limit for update of l skip locked
  ),
  claimed as (
    insert into export_ops.file_claims as c (export_log_id, run_id, lease_until)
    select id, p_run_id, now() + make_interval(secs => p_lease_seconds) from locked
    on conflict (export_log_id) do update set run_id = excluded.run_id, lease_until = excluded.lease_until
      where c.skip_reason is null and (c.lease_until is null or c.lease_until <= now())
    returning c.*
  )
  select coalesce(jsonb_agg(export_ops.file_cleanup_row(l, x, c) order by l.id), '[]'::jsonb)
    from claimed c join public.export_logs l on l.id = c.export_log_id join export_ops.exports x on x.id = l.id;
$$;

-- Dry run: the same due rows, read-only, one keyset page at a time.
create or replace function public.export_ops_preview_files(
  p_now timestamptz, p_grace_hours numeric, p_retention_hours numeric, p_limit integer,
  p_after_due timestamptz default null, p_after_id uuid default null
) returns jsonb
language sql stable set search_path = '' as $$
  select jsonb_build_object(
    'rows', coalesce(jsonb_agg(export_ops.file_cleanup_row(l, x, c) || jsonb_build_object('due', d.due) order by d.due, d.id), '[]'::jsonb),
    'last_due', max(d.due), 'last_id', (array_agg(d.id order by d.due desc, d.id desc))[1])
    from export_ops.file_cleanup_due(export_ops.check_job_now(p_now), p_grace_hours, p_retention_hours, p_limit, p_after_due, p_after_id) d
    join public.export_logs l on l.id = d.id and l.status = 'completed'
    join export_ops.exports x on x.id = d.id
    left join export_ops.file_claims c on c.export_log_id = d.id;
$$;

-- Storage confirmed these rows' objects gone (or they never had one): mark them expired, in one
-- statement, and drop their claims. Only rows still 'completed' change.
create or replace function public.export_ops_mark_files_expired(p_ids uuid[]) returns integer
language sql set search_path = '' as $$
  with marked as (
    update public.export_logs set status = 'expired' where id = any(p_ids) and status = 'completed' returning id
  ), released as (
    delete from export_ops.file_claims where export_log_id = any(p_ids)
  )
  select count(*)::integer from marked;
$$;

-- Which of p_names are still stored: remove() reports only what it deleted and skips the rest
-- silently, so a name it did not report is marked expired only once this shows it absent.
create or replace function public.export_ops_stored_objects(p_bucket text, p_names text[]) returns jsonb
language sql stable set search_path = '' as $$
  select coalesce(jsonb_agg(o.name), '[]'::jsonb)
    from storage.objects o where o.bucket_id = p_bucket and o.name = any (p_names[1:1000]);
$$;

-- A removal that failed: count the attempt and keep the error. The lease stays until the run
-- releases its claims at the end, so the same run does not take the rows again.
-- Returns the rows' attempt counts.
create or replace function public.export_ops_record_file_failures(p_failures jsonb) returns jsonb
language sql set search_path = '' as $$
  with failed as (
    update export_ops.file_claims c
       set attempts = c.attempts + 1, last_error = f.error, last_attempt_at = now()
      from jsonb_to_recordset(p_failures) as f(id uuid, error text)
     where c.export_log_id = f.id
    returning c.export_log_id, c.attempts
  )
  select coalesce(jsonb_object_agg(export_log_id, attempts), '{}'::jsonb) from failed;
$$;

-- Rows whose path must never reach Storage: keep the reason, take them out of later claims.
create or replace function public.export_ops_flag_files(p_flags jsonb) returns integer
language sql set search_path = '' as $$
  with flagged as (
    update export_ops.file_claims c set skip_reason = f.reason, lease_until = null
      from jsonb_to_recordset(p_flags) as f(id uuid, reason text)
     where c.export_log_id = f.id
    returning 1
  )
  select count(*)::integer from flagged;
$$;

-- At the end of a run: gives back every claim it still holds (rows that failed, or that it did
-- not finish), so the next run retries them at once instead of after the lease.
create or replace function public.export_ops_release_files(p_run_id uuid) returns integer
language sql set search_path = '' as $$
  with released as (
    update export_ops.file_claims set lease_until = null where run_id = p_run_id and lease_until is not null
    returning 1
  )
  select count(*)::integer from released;
$$;

-- Flagged rows and rows that failed p_max_attempts times or more, for the run's report.
create or replace function public.export_ops_file_cleanup_report(p_max_attempts integer, p_limit integer) returns jsonb
language sql stable set search_path = '' as $$
  select jsonb_build_object(
    'flagged_total', (select count(*) from export_ops.file_claims c join public.export_logs l on l.id = c.export_log_id
                       where c.skip_reason is not null and l.status = 'completed'),
    'stuck_total', (select count(*) from export_ops.file_claims c join public.export_logs l on l.id = c.export_log_id
                     where c.attempts >= p_max_attempts and l.status = 'completed'),
    'stuck', (select coalesce(jsonb_agg(s), '[]'::jsonb) from (
                select l.export_id, c.attempts, c.last_error from export_ops.file_claims c
                  join public.export_logs l on l.id = c.export_log_id
                 where c.attempts >= p_max_attempts and l.status = 'completed'
                 order by c.attempts desc, l.export_id limit p_limit) s));
$$;

-- Objects in the bucket older than p_older_than that no export row still needs (a completed,
-- queued or processing row pointing at them), one keyset page by name. Reads storage.objects;
-- deleting goes through the Storage API only.
create or replace function public.export_ops_find_orphans(
  p_bucket text, p_older_than timestamptz, p_limit integer, p_after_name text default null
) returns jsonb
language sql stable set search_path = '' as $$
  select jsonb_build_object(
    'objects', coalesce(jsonb_agg(jsonb_build_object('name', o.name, 'size', (o.metadata ->> 'size')::bigint) order by o.name collate "C"), '[]'::jsonb),
    'last_name', max(o.name collate "C"))
    from (select o.name, o.metadata from storage.objects o
           where o.bucket_id = p_bucket and o.created_at < p_older_than
             and (p_after_name is null or o.name collate "C" > p_after_name collate "C")
             and not exists (select 1 from export_ops.exports x
                              where x.storage_bucket = o.bucket_id and x.storage_path = o.name
                                and x.status in ('completed', 'queued', 'processing'))
           order by o.name collate "C" limit p_limit) o;
$$;

select export_ops.restrict_functions_to_service_role();
