-- export-ops log cleanup: a page reaches the job as raw text, not as a string inside JSON.
-- Idempotent; PostgreSQL 15-18 and PGlite. Adds export_ops_log_cleanup_page_text and turns
-- export_ops_log_cleanup_page (20261201000100) into a wrapper over it: same arguments, same answer.
--
-- Why: the page function built its NDJSON, then wrapped it in a JSON object, and PostgreSQL
-- escapes a string into JSON one character at a time. Timed by hand on PostgreSQL 15 (2-core
-- host, 2,500 rows, 1.6 MB of NDJSON): the page cost 80-84 ms, of which `to_json` of the NDJSON
-- alone was 30-31 ms; without the wrapper 41-43 ms, what `COPY` costs for as many rows. At 1M rows
-- that was about 12 s of the database's 52 s of CPU, and the job then paid again to unescape it.
--
-- How: PostgREST serves a function whose return type is a domain named like a media type as that
-- media type, raw, when the request asks for it ("media type handlers", PostgREST 12+; the domain
-- may live in any schema, the function in an exposed one). The job asks with `Accept: text/plain`.
-- The answer's first line is a JSON header, {"rows", "checksum", "last_created_at", "last_id"};
-- every line after it is one archived row, each ending with a newline. A row's line never holds a
-- raw newline: row_to_json escapes them.
--
-- The JSON page stays, as a wrapper, so a Lambda deployed before this migration keeps working
-- until the new one replaces it. It is redefined here (every migration reruns on each start, and
-- 20261201000100 recreates its own body first).

do $$
begin
  -- The domain lives in export_ops so that it cannot meet an app's own public."text/plain".
  if not exists (select 1 from pg_type t join pg_namespace n on n.oid = t.typnamespace
                  where n.nspname = 'export_ops' and t.typname = 'text/plain') then
    create domain export_ops."text/plain" as text;
  end if;
end
$$;

create or replace function public.export_ops_log_cleanup_page_text(
  p_run_id uuid, p_part_key text, p_after_created_at timestamptz, p_after_id uuid, p_limit integer, p_lease_seconds integer
) returns export_ops."text/plain"
language plpgsql set search_path = '' set timezone = 'UTC' set plan_cache_mode = 'force_custom_plan' set work_mem = '64MB' as $$
declare
  part export_ops.archive_parts := export_ops.log_part_held(p_run_id, p_part_key, p_lease_seconds);
  result text;
begin
  if p_after_created_at is null then
    update export_ops.archive_parts set state = 'pending' where part_key = p_part_key and state = 'verified';
  end if;
  with r as materialized (
    select x.created_at, x.id, (select row_to_json(a) from (select e.*, x.finished_at) a)::text as line,
           export_ops.row_version_hash(e.id, e.xmin, x.finished_at) as version_hash
      from export_ops.log_part_rows(part.selector,
             coalesce(p_after_created_at, part.first_created_at), coalesce(p_after_id, part.first_id),
             part.last_created_at, part.last_id) x
      join public.export_logs e on e.id = x.id
     where p_after_created_at is null or (x.created_at, x.id) > (p_after_created_at, p_after_id)
     order by x.created_at, x.id limit p_limit),
  last_row as (select r.created_at, r.id from r order by r.created_at desc, r.id desc limit 1)
  select json_build_object(
           'rows', count(*),
           'checksum', coalesce(sum(r.version_hash), 0)::text,
           'last_created_at', (select l.created_at from last_row l),
           'last_id', (select l.id from last_row l))::text
         || E'\n' || coalesce(string_agg(r.line, E'\n' order by r.created_at, r.id) || E'\n', '')
    into result
    from r;
  return result;
end
$$;

create or replace function public.export_ops_log_cleanup_page(
  p_run_id uuid, p_part_key text, p_after_created_at timestamptz, p_after_id uuid, p_limit integer, p_lease_seconds integer
) returns json
language sql set search_path = '' as $$
  select (split_part(page, E'\n', 1)::jsonb || jsonb_build_object('ndjson', substr(page, strpos(page, E'\n') + 1)))::json
    from public.export_ops_log_cleanup_page_text(p_run_id, p_part_key, p_after_created_at, p_after_id, p_limit, p_lease_seconds) page
$$;

select export_ops.restrict_functions_to_service_role();

-- PostgREST learns of the new handler from its schema cache. Supabase reloads it on DDL itself
-- (its pgrst_ddl_watch event trigger); this asks for it anyway, as PostgREST's docs advise after
-- a migration, for a self-hosted PostgREST without that trigger.
notify pgrst, 'reload schema';
