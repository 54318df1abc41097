import { type FileCleanupDeps, MAX_NAMES_PER_REMOVE } from './ports';

/** Names listed in the report. */
const ORPHAN_SAMPLE = 20;

export interface OrphanReport {
  /** False when the time budget ended the scan early. */
  scanned_all: boolean;
  count: number;
  bytes: number;
  /** Deleted this run (only with DELETE_ORPHANS=true, never in a dry run). */
  deleted: number;
  sample: string[];
}

/**
 * Finds objects in the exports bucket older than the orphan grace window that no export row
 * still needs, page by page; deletes them only when the configuration opts in.
 *
 * @example
 * const orphans = await scanOrphans(deps, { now, dryRun: false });
 */
export async function scanOrphans(deps: FileCleanupDeps, options: { now: Date; dryRun: boolean }): Promise<OrphanReport> {
  const { config } = deps;
  const olderThan = new Date(options.now.getTime() - config.orphanGraceHours * 3_600_000);
  const report: OrphanReport = { scanned_all: false, count: 0, bytes: 0, deleted: 0, sample: [] };
  let after: string | undefined;
  while (deps.remainingMs() > 0) {
    const page = await deps.files.findOrphans(config.exportsBucket, olderThan, MAX_NAMES_PER_REMOVE, after);
    if (page.objects.length === 0) {
      report.scanned_all = true;
      break;
    }
    report.count += page.objects.length;
    report.bytes += page.objects.reduce((sum, o) => sum + Number(o.size ?? 0), 0);
    for (const o of page.objects) if (report.sample.length < ORPHAN_SAMPLE) report.sample.push(o.name);
    if (config.deleteOrphans && !options.dryRun) {
      const removal = await deps.storage.remove(config.exportsBucket, page.objects.map((o) => o.name));
      if (removal.ok) report.deleted += removal.deleted.length;
      else deps.logger.warn('orphan removal failed', { error: removal.error });
    }
    after = page.last_name ?? undefined;
  }
  return report;
}
