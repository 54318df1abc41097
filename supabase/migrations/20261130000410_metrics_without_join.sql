-- export-ops metrics: an hour aggregated without a lookup per row into the app's table.
-- Idempotent; PostgreSQL 15-18 and PGlite. Replaces export_ops.track_exports (7. of
-- 20261129000000_export_ops.sql) and public.export_ops_metrics_aggregate (20261129000300_metrics.sql);
-- their arguments and answers are unchanged.
--
-- Measured on PostgreSQL 15, 10,000,000 rows over 30 days (13,889 in an hour), vacuumed and
-- analyzed, psql: one hour took 84-130 ms before and 17-18 ms after; `npm run bench` on hours
-- not read before: 20 ms in the database, 24 ms as an RPC through the local HTTP front.
--
-- Why: the aggregate read each of the hour's rows from public.export_logs by primary key, a
-- random uuid: 13,889 index probes into a 10M-row index larger than shared_buffers took 50 ms,
-- the rest of the hour's work 25 ms. export_ops.exports, which the triggers already keep in
-- step with every app write, now also mirrors the four columns the metrics read (metric_format,
-- metric_file_size, metric_conversation_count, and metric_error_kind, the error kind of a failed
-- row; prefixed, so no query joining the two tables finds a column name ambiguous), so an hour
-- is one range of export_ops.exports. A row not written since this migration has no mirror
-- (metric_format is null there, never on a mirrored row: it is copied as the app wrote it,
-- and the app's column is not null) and is read from the app's row as before, so no backfill
-- of old rows is needed and the answer is the same for every row. The remaining time went to just-in-time
-- compilation, which PostgreSQL starts on this query's cost estimate and which took longer
-- than the query (jit = off), and to sorts on text keys (count ranges are sorted as numbers).

-- The kind of a failed export, the part of its message before the first ':' (at most 100
-- characters, 'Unknown' when empty); null when the row did not fail. Without SET options, so
-- it is inlined where it is called.
create or replace function export_ops.error_kind(p_status text, p_error_message text) returns text
language sql immutable as $$
  select case when p_status = 'failed'
              then coalesce(nullif(left(btrim(split_part(coalesce(p_error_message, ''), ':', 1)), 100), ''), 'Unknown') end
$$;

-- 7. (replaced) Keeping export_ops.exports in step with the app's table, metric columns included.
create or replace function export_ops.track_exports() returns trigger
language plpgsql security definer set search_path = '' as $$
begin
  if tg_op = 'TRUNCATE' then
    delete from export_ops.exports;
    return null;
  end if;
  if tg_op = 'DELETE' then
    -- = any(array(...)): a hash of the deleted ids probed per row; `in (select ...)` joined
    -- them, 390-515 ms against 295 ms for a 50,000-row delete (the log cleanup's part).
    delete from export_ops.exports x where x.id = any(array(select o.id from old_rows o));
    return null;
  end if;
  if tg_op = 'UPDATE' then
    -- Rows whose id changed: the old id is gone.
    delete from export_ops.exports x
     where x.id in (select o.id from old_rows o) and x.id not in (select n.id from new_rows n);
  end if;
  with derived as (
    select n.id, n.user_id, n.created_at, n.status, n.expires_at, u.origin, u.bucket, u.path, u.problem,
           n.format, n.file_size, n.conversation_count, export_ops.error_kind(n.status, n.error_message) as error_kind
      from new_rows n cross join lateral export_ops.parse_file_url(n.file_url) u),
  unflag as (
    -- A row whose file_url now points elsewhere gets a new judgement: the flag was for the old one.
    delete from export_ops.file_claims c
     using derived d, export_ops.exports x
     where c.export_log_id = d.id and x.id = d.id and c.skip_reason is not null
       and (x.storage_origin, x.storage_bucket, x.storage_path, x.url_problem)
           is distinct from (d.origin, d.bucket, d.path, d.problem))
  insert into export_ops.exports as x
    (id, user_id, created_at, status, expires_at, storage_origin, storage_bucket, storage_path, url_problem,
     finished_at, finished_source, metric_format, metric_file_size, metric_conversation_count, metric_error_kind)
  select d.id, d.user_id, d.created_at, d.status, d.expires_at, d.origin, d.bucket, d.path, d.problem,
         case when d.status in ('completed', 'failed', 'expired') then now() end,
         case when d.status in ('completed', 'failed', 'expired') then 'observed' end,
         d.format, d.file_size, d.conversation_count, d.error_kind
    from derived d
  on conflict (id) do update
     set user_id = excluded.user_id, created_at = excluded.created_at, status = excluded.status,
         expires_at = excluded.expires_at, storage_origin = excluded.storage_origin,
         storage_bucket = excluded.storage_bucket, storage_path = excluded.storage_path,
         url_problem = excluded.url_problem,
         metric_format = excluded.metric_format, metric_file_size = excluded.metric_file_size,
         metric_conversation_count = excluded.metric_conversation_count, metric_error_kind = excluded.metric_error_kind,
         -- Set once: a row's finish is the first time it was seen final, whatever it becomes.
         finished_at = coalesce(x.finished_at, excluded.finished_at),
         finished_source = coalesce(x.finished_source, excluded.finished_source);
  return null;
end
$$;
revoke all on function export_ops.track_exports() from public;

-- (replaced) See 20261129000300_metrics.sql for the window rule and the answer's shape. Each
-- metric column is the mirror's when the row has one (x.metric_format is not null), else the app
-- row's, read only then.
create or replace function public.export_ops_metrics_aggregate(
  p_start timestamptz, p_end timestamptz, p_top_users integer default 10
) returns jsonb
language sql stable set search_path = '' set jit = off as $$
  with w as materialized (
    select coalesce(x.metric_format, (select e.format from public.export_logs e where e.id = x.id)) collate "C" as format,
           x.user_id,
           case when x.metric_format is not null then x.metric_file_size
                else (select e.file_size from public.export_logs e where e.id = x.id) end as file_size,
           (x.status = 'failed') as is_failed,
           -- date_part is float8 already; extract() is numeric, and converting it cost 1 ms an hour.
           case when x.finished_source <> 'created_at'
                then greatest(date_part('epoch', x.finished_at - x.created_at) * 1000, 0) end as duration_ms,
           -- 1 small (< 100 conversations), 2 medium (< 500), 3 large (< 1000), 4 xlarge (and unknown).
           coalesce(width_bucket(case when x.metric_format is not null then x.metric_conversation_count
                                      else (select e.conversation_count from public.export_logs e where e.id = x.id) end,
                                 array[100, 500, 1000]), 3) + 1 as count_range,
           case when x.metric_format is not null then x.metric_error_kind
                else (select export_ops.error_kind(e.status, e.error_message) from public.export_logs e where e.id = x.id) end as error_kind
      from export_ops.exports x
     where x.finished_at >= p_start and x.finished_at < p_end
       and x.status in ('completed', 'failed', 'expired')),
  stats as (
    select format, grouping(format) = 1 as is_all,
           jsonb_build_object(
             'total', count(*),
             'succeeded', count(*) filter (where not is_failed),
             'failed', count(*) filter (where is_failed),
             'failure_rate', case when count(*) > 0 then (count(*) filter (where is_failed))::float8 / count(*) end,
             'duration_ms', jsonb_build_object(
               'avg', avg(duration_ms),
               'p50', (percentile_cont(array[0.5, 0.95]) within group (order by duration_ms))[1],
               'p95', (percentile_cont(array[0.5, 0.95]) within group (order by duration_ms))[2],
               'max', max(duration_ms)),
             'file_size_bytes', jsonb_build_object('avg', avg(file_size)::float8, 'max', max(file_size))
           ) as body
      from w group by grouping sets ((), (format))),
  ranges as (
    select coalesce(jsonb_object_agg((array['small', 'medium', 'large', 'xlarge'])[count_range], jsonb_build_object(
             'total', n, 'succeeded', n - failed, 'failed', failed, 'duration_ms', jsonb_build_object('avg', avg_ms, 'p95', p95_ms))), '{}') as body
      from (select count_range, count(*) as n, count(*) filter (where is_failed) as failed, avg(duration_ms) as avg_ms,
                   percentile_cont(0.95) within group (order by duration_ms) as p95_ms
              from w group by count_range) r),
  kinds as (
    select error_kind, count(*) as n, row_number() over (order by count(*) desc, error_kind) as rank
      from w where error_kind is not null group by error_kind),
  users as (
    select user_id, count(*) as n from w group by user_id)
  select jsonb_build_object(
           'window_start', p_start, 'window_end', p_end,
           'all', (select body from stats where is_all),
           'by_format', (select coalesce(jsonb_object_agg(format, body), '{}') from stats where not is_all),
           'by_count_range', (select body from ranges),
           'distinct_users', (select count(*) from users),
           -- At most 20 kinds by count; the rest summed, so a free-text message cannot grow the answer.
           'error_kinds', (select coalesce(jsonb_object_agg(error_kind, n), '{}') from kinds where rank <= 20),
           'error_kinds_other', (select coalesce(sum(n), 0) from kinds where rank > 20),
           'top_users', (select coalesce(jsonb_agg(jsonb_build_object('user_id', user_id, 'exports', n) order by n desc, user_id), '[]')
                           from (select user_id, n from users order by n desc, user_id limit greatest(p_top_users, 0)) u));
$$;

select export_ops.restrict_functions_to_service_role();
