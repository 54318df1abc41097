-- export-ops status: no just-in-time compilation. Idempotent; PostgreSQL 15-18 and PGlite.
--
-- PostgreSQL compiles a query once its cost estimate passes jit_above_cost, and the status
-- call's estimate does on a large table even though it reads at most a few thousand index
-- entries: measured on PostgreSQL 15 among 10,000,000 rows, one call took 55 ms with the
-- compilation and 9-11 ms without (backlog counts capped at 1,000, cli/status.ts).
alter function public.export_ops_status(timestamptz, text, numeric, numeric, integer, timestamptz, timestamptz, timestamptz, integer)
  set jit = off;
