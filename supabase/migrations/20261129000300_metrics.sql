-- export-ops metrics: hourly export metrics aggregated in SQL, each window emitted once.
--
-- Idempotent ("create or replace", "if not exists"); PostgreSQL 15-18 and PGlite. Every function
-- returns ONE value (jsonb, boolean) so PostgREST's 1000-row cap never cuts an answer, and no
-- row data leaves the database: only counts, averages, percentiles and bounded top lists.
--
-- Window rule: a row belongs to the window [start, end) that contains its finished_at in
-- export_ops.exports, and only when its status is completed, failed or expired. finished_at is
-- set once, by export-ops' triggers, when the row is first seen in a final state (the
-- transaction's time, not a time a client wrote), and kept whatever the row becomes later:
-- expired, archived (the archive keeps it) or restored (set back from the archive). So every
-- export counts once, in its hour. Rows written before export-ops get a fallback finish time
-- from the backfill (see export_ops_backfill_step); the hours before the triggers went in are
-- not emitted until that backfill is complete. Rows whose finish time is only approximated by
-- created_at count in the totals, not in the durations. A duration is finished_at - created_at,
-- at least 0 (created_at is the app's, and a client may write it).

-- Aggregates the rows finished in [p_start, p_end). Duration is finished_at - created_at in ms
-- over all finished rows; percentiles are percentile_cont (linear interpolation). Top lists are
-- bounded so the answer's size does not grow with the row count.
create or replace function public.export_ops_metrics_aggregate(
  p_start timestamptz, p_end timestamptz, p_top_users integer default 10
) returns jsonb
language sql stable set search_path = '' as $$
  with w as materialized (
    select e.format, e.user_id, e.file_size,
           (x.status = 'failed') as is_failed,
           case when x.finished_source <> 'created_at'
                then greatest(extract(epoch from (x.finished_at - e.created_at))::float8 * 1000, 0) end as duration_ms,
           case when e.conversation_count < 100 then 'small' when e.conversation_count < 500 then 'medium'
                when e.conversation_count < 1000 then 'large' else 'xlarge' end as count_range,
           case when e.status = 'failed'
                then coalesce(nullif(left(btrim(split_part(coalesce(e.error_message, ''), ':', 1)), 100), ''), 'Unknown')
           end as error_kind
      from export_ops.exports x join public.export_logs e on e.id = x.id
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
               'p50', percentile_cont(0.5) within group (order by duration_ms),
               'p95', percentile_cont(0.95) within group (order by duration_ms),
               'max', max(duration_ms)),
             'file_size_bytes', jsonb_build_object('avg', avg(file_size)::float8, 'max', max(file_size))
           ) as body
      from w group by grouping sets ((), (format))),
  ranges as (
    select coalesce(jsonb_object_agg(count_range, jsonb_build_object(
             'total', n, 'succeeded', n - failed, 'failed', failed, 'duration_ms', jsonb_build_object('avg', avg_ms, 'p95', p95_ms))), '{}') as body
      from (select count_range, count(*) as n, count(*) filter (where is_failed) as failed, avg(duration_ms) as avg_ms,
                   percentile_cont(0.95) within group (order by duration_ms) as p95_ms
              from w group by count_range) r),
  kinds as (
    select error_kind, count(*) as n, row_number() over (order by count(*) desc, error_kind) as rank
      from w where error_kind is not null group by error_kind),
  users as (
    select user_id, count(*) as n from w group by user_id order by count(*) desc, user_id limit greatest(p_top_users, 0))
  select jsonb_build_object(
           'window_start', p_start, 'window_end', p_end,
           'all', (select body from stats where is_all),
           'by_format', (select coalesce(jsonb_object_agg(format, body), '{}') from stats where not is_all),
           'by_count_range', (select body from ranges),
           'distinct_users', (select count(distinct user_id) from w),
           -- At most 20 kinds by count; the rest summed, so a free-text message cannot grow the answer.
           'error_kinds', (select coalesce(jsonb_object_agg(error_kind, n), '{}') from kinds where rank <= 20),
           'error_kinds_other', (select coalesce(sum(n), 0) from kinds where rank > 20),
           'top_users', (select coalesce(jsonb_agg(jsonb_build_object('user_id', user_id, 'exports', n) order by n desc, user_id), '[]') from users));
$$;

-- Whether a window's rows are all known: it starts once the triggers were in, or the backfill
-- of the rows written before them is complete.
create or replace function export_ops.window_is_known(p_window_start timestamptz) returns boolean
language sql stable set search_path = '' as $$
  select coalesce((select b.completed_at is not null or p_window_start >= b.installed_at from export_ops.backfill b), false);
$$;

-- Hour starts in [p_from, p_to) not yet emitted (claimed-but-unfinished ones included: the
-- claim decides) and known (export_ops.window_is_known). Bounded by the caller's range, at
-- most 14 days = 336 hours.
create or replace function public.export_ops_metrics_pending_windows(p_from timestamptz, p_to timestamptz)
returns jsonb
language sql stable set search_path = '' as $$
  select coalesce(jsonb_agg(h order by h), '[]')
    from generate_series(p_from, p_to - interval '1 hour', interval '1 hour') h
   where not exists (select 1 from export_ops.metric_windows m where m.window_start = h and m.emitted_at is not null)
     and export_ops.window_is_known(h);
$$;

-- Claims one window for a run and, when claimed, returns its aggregate in the same round trip.
-- A window is claimable when it has no row, or its row is unemitted and its claim older than
-- the lease (the claiming run died). ON CONFLICT DO UPDATE locks the row and re-checks the
-- WHERE, so of two concurrent claims exactly one gets a row back. Null: not claimed.
create or replace function public.export_ops_metrics_claim_window(
  p_window_start timestamptz, p_window_end timestamptz, p_run_id uuid, p_lease_seconds integer, p_top_users integer default 10
) returns jsonb
language plpgsql volatile set search_path = '' as $$
declare
  claimed timestamptz;
begin
  if not export_ops.window_is_known(p_window_start) or p_window_end > now() then
    -- Not all of its rows are known yet (backfill running, or the hour is not over).
    return null;
  end if;
  insert into export_ops.metric_windows as m (window_start, window_end, run_id, claimed_at)
  values (p_window_start, p_window_end, p_run_id, clock_timestamp())
  on conflict (window_start) do update set run_id = excluded.run_id, claimed_at = excluded.claimed_at, window_end = excluded.window_end
   where m.emitted_at is null and m.claimed_at < clock_timestamp() - make_interval(secs => p_lease_seconds)
  returning m.window_start into claimed;
  if claimed is null then
    return null;
  end if;
  return public.export_ops_metrics_aggregate(p_window_start, p_window_end, p_top_users);
end
$$;

-- Records that the run wrote the window's EMF documents. Idempotent for the claiming run (a
-- retry after a lost response answers true again, emitted_at unchanged). False when the claim
-- was lost (the lease expired and another run took the window), which the caller reports.
create or replace function public.export_ops_metrics_mark_emitted(
  p_window_start timestamptz, p_run_id uuid, p_documents integer, p_summary jsonb
) returns boolean
language sql volatile set search_path = '' as $$
  with marked as (
    update export_ops.metric_windows
       set emitted_at = coalesce(emitted_at, clock_timestamp()), documents = p_documents, summary = p_summary
     where window_start = p_window_start and run_id = p_run_id
    returning 1)
  select exists (select 1 from marked);
$$;

-- Gives a claim back when the run failed before writing anything, so the next run need not
-- wait for the lease.
create or replace function public.export_ops_metrics_release_window(p_window_start timestamptz, p_run_id uuid)
returns boolean
language sql volatile set search_path = '' as $$
  with released as (
    delete from export_ops.metric_windows where window_start = p_window_start and run_id = p_run_id and emitted_at is null
    returning 1)
  select exists (select 1 from released);
$$;

-- Export volume (the original service's getExportVolume): exports requested (by "timestamp") per hour or day in
-- [p_start, p_end), non-empty periods only, as [{period, count}] with the original keys
-- ('YYYY-MM-DDTHH' / 'YYYY-MM-DD', UTC).
create or replace function public.export_ops_metrics_volume(p_period text, p_start timestamptz, p_end timestamptz)
returns jsonb
language plpgsql stable set search_path = '' as $$
begin
  if p_period not in ('hourly', 'daily') then
    raise exception 'period must be hourly or daily (got %)', p_period using errcode = 'P0001';
  end if;
  return (
    select coalesce(jsonb_agg(jsonb_build_object('period', to_char(bucket at time zone 'UTC',
                      case p_period when 'hourly' then 'YYYY-MM-DD"T"HH24' else 'YYYY-MM-DD' end), 'count', n) order by bucket), '[]')
      from (select date_trunc(case p_period when 'hourly' then 'hour' else 'day' end, e."timestamp", 'UTC') as bucket, count(*) as n
              from public.export_logs e
             where e."timestamp" >= p_start and e."timestamp" < p_end
             group by 1) v);
end
$$;

select export_ops.restrict_functions_to_service_role();
