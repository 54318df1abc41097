-- export-ops metrics: export_ops.exports gets the columns that mirror what the metrics read
-- of the app's row. Idempotent; PostgreSQL 15-18 and PGlite. Why, and what fills them:
-- 20261130000410_metrics_without_join.sql. A file of its own so that its lock is held for the
-- ALTER alone.
--
-- ALTER TABLE locks export_ops.exports, which every app write writes through the triggers,
-- until this file commits: the only other lock an app write can wait for in these migrations,
-- besides the triggers' own in 20261129000000_export_ops.sql. Only when missing (ADD COLUMN IF NOT
-- EXISTS takes the lock even then), and with short lock waits retried, so an app write is
-- never held behind a queued ALTER for long (as the triggers are installed in
-- 20261129000000_export_ops.sql). Nullable, no default: no row is rewritten.
do $$
declare
  attempt_timeout constant text := '200ms';
  max_attempts constant integer := 100;
  attempt integer := 0;
  saved_timeout text := current_setting('lock_timeout');
begin
  if (select count(*) from pg_attribute
       where attrelid = 'export_ops.exports'::regclass and not attisdropped
         and attname in ('metric_format', 'metric_file_size', 'metric_conversation_count', 'metric_error_kind')) = 4 then
    return;
  end if;
  perform set_config('lock_timeout', attempt_timeout, true);
  loop
    begin
      alter table export_ops.exports
        add column if not exists metric_format text,
        add column if not exists metric_file_size bigint,
        add column if not exists metric_conversation_count integer,
        add column if not exists metric_error_kind text;
      exit;
    exception when lock_not_available then
      attempt := attempt + 1;
      if attempt >= max_attempts then
        raise exception 'export-ops: export_ops.exports stayed locked by other transactions for % tries of %; apply again',
          max_attempts, attempt_timeout;
      end if;
      perform pg_sleep(0.05 + random() * 0.1);
    end;
  end loop;
  perform set_config('lock_timeout', saved_timeout, true);
end
$$;
