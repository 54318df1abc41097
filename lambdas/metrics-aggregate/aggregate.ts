import type { ExportFormat } from '../shared/export-logs';
import type { OutcomeStats, WindowAggregate } from './ports';

/** Users listed per window (metadata only, never a dimension: user ids are high-cardinality). */
export const TOP_USERS = 10;

/** Zero counts and no statistics: what an hour without finished exports reports. */
export const EMPTY_STATS: OutcomeStats = {
  total: 0,
  succeeded: 0,
  failed: 0,
  failure_rate: null,
  duration_ms: { avg: null, p50: null, p95: null, max: null },
  file_size_bytes: { avg: null, max: null },
};

/** The window's statistics for one format, or for all formats; zero counts when it had no rows. */
export function statsFor(aggregate: WindowAggregate, format?: ExportFormat): OutcomeStats {
  return (format ? aggregate.by_format[format] : aggregate.all) ?? EMPTY_STATS;
}
