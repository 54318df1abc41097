-- export-ops metrics: an hour's rows read page by page, and the format and conversation-count
-- groups aggregated in one pass. Idempotent; PostgreSQL 15-18 and PGlite. Replaces
-- public.export_ops_metrics_aggregate (20261130000410_metrics_without_join.sql); its arguments
-- and answer are unchanged (see 20261129000300_metrics.sql for the window rule and the shape).
--
-- Measured on PostgreSQL 15, 10,000,000 rows over 30 days (13,889 in an hour), vacuumed and
-- analyzed, the same 20 hours timed in the database (median [min-max]): 34-36 ms before, 27-32 after
-- (`npm run bench` gives the figures as an RPC).
--
-- Why:
-- * The planner reads the hour through exports_finished_idx by index scan, in finished_at
--   order. An hour's rows sit on a few hundred heap pages (383 of them here) but not in
--   finished_at order within them, so that scan pins a page again for nearly every row (6,277
--   buffer visits for 13,889 rows): 5.5-7.4 ms. A bitmap scan visits each page once: 3.5 ms.
--   enable_indexscan = off leaves the planner the bitmap scan on the same index (and, for the
--   rows without a mirror, on the app table's primary key).
-- * stats and by_count_range were two sorts and two aggregate passes over the hour; one
--   GROUPING SETS pass now gives both (p95 of a count range is the same percentile_cont).

create or replace function public.export_ops_metrics_aggregate(
  p_start timestamptz, p_end timestamptz, p_top_users integer default 10
) returns jsonb
language sql stable set search_path = '' set jit = off set enable_indexscan = off as $$
  with w as materialized (
    -- As in 20261130000410_metrics_without_join.sql: a mirrored row's metric columns, else the app row's.
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
  -- gf = 1: not grouped by format (the all-rows set); gr = 0: grouped by count range.
  g as (
    select format, count_range, grouping(format) as gf, grouping(count_range) as gr,
           count(*) as n, count(*) filter (where is_failed) as failed,
           avg(duration_ms) as avg_ms, max(duration_ms) as max_ms,
           percentile_cont(array[0.5, 0.95]) within group (order by duration_ms) as pct,
           avg(file_size)::float8 as avg_size, max(file_size) as max_size
      from w group by grouping sets ((), (format), (count_range))),
  stats as (
    select format, gf = 1 as is_all,
           jsonb_build_object(
             'total', n, 'succeeded', n - failed, 'failed', failed,
             'failure_rate', case when n > 0 then failed::float8 / n end,
             'duration_ms', jsonb_build_object('avg', avg_ms, 'p50', pct[1], 'p95', pct[2], 'max', max_ms),
             'file_size_bytes', jsonb_build_object('avg', avg_size, 'max', max_size)) as body
      from g where gr = 1),
  ranges as (
    select coalesce(jsonb_object_agg((array['small', 'medium', 'large', 'xlarge'])[count_range], jsonb_build_object(
             'total', n, 'succeeded', n - failed, 'failed', failed, 'duration_ms', jsonb_build_object('avg', avg_ms, 'p95', pct[2]))), '{}') as body
      from g where gr = 0),
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
