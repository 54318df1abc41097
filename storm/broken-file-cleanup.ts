/**
 * THE CONTROL — a deliberately broken file cleanup, used only by the storm's child when
 * STORM_BROKEN=mark-before-remove. It marks each batch's rows `expired` first and removes their
 * files after: an uninterrupted run ends in the right state, but a kill between the two leaves
 * rows expired whose files are still stored (and no later run looks at them again). The storm
 * must report it. Files are removed one call each, so that window is most of the run.
 */
import { fileCleanupJob, type FileCleanupInput, type FileCleanupResult } from '../lambdas/file-cleanup/job';
import { jobNow } from '../lambdas/shared/clock';
import type { SupabaseClient } from '@supabase/supabase-js';
import type { JobDefinition } from '../lambdas/shared/job';
import { must } from '../lambdas/shared/supabase';

const BATCH = 100;

/** The object path of a Storage URL in the exports bucket (the URLs local/seed.ts writes), or null. */
function objectPath(fileUrl: string | null, bucket: string): string | null {
  if (!fileUrl) return null;
  try {
    const [, path] = new URL(fileUrl).pathname.split(`/${bucket}/`);
    return path ? decodeURIComponent(path) : null;
  } catch {
    return null;
  }
}

export const brokenFileCleanupJob: JobDefinition<FileCleanupInput, FileCleanupResult, { supabase: SupabaseClient }> = {
  ...fileCleanupJob,
  // The raw client: the bug is in what it calls, in which order.
  ports: ({ supabase }) => ({ supabase }),
  async run(deps, input) {
    const bucket = deps.config.exportsBucket;
    const now = jobNow(input);
    let deleted = 0;
    for (;;) {
      const { data, error } = await deps.supabase.from('export_logs').select('id, file_url, config')
        .eq('status', 'completed').lte('expires_at', now.toISOString()).order('id').limit(BATCH * 10);
      if (error) throw error;
      // Only the seeded ordinary rows: the malformed ones are left alone, as the real job does.
      const rows = (data ?? []).filter((r) => !(r.config as { malformed?: boolean } | null)?.malformed).slice(0, BATCH);
      if (rows.length === 0) break;
      // The bug: rows marked expired before their files are removed.
      must('export_ops_mark_files_expired', await deps.supabase.rpc('export_ops_mark_files_expired', { p_ids: rows.map((r) => r.id) }));
      const names = rows.map((r) => objectPath(r.file_url as string | null, bucket)).filter((n): n is string => n !== null);
      // One remove() per file, as the original cron route did: the window between the mark and
      // the last removal is then most of the run, so a few random kills find it.
      for (const name of names) {
        const removal = await deps.supabase.storage.from(bucket).remove([name]);
        if (removal.error) throw removal.error;
        deleted += removal.data?.length ?? 0;
      }
    }
    return {
      deleted_count: deleted, failed_count: 0, bytes_reclaimed: 0, more: false,
    } as unknown as Omit<FileCleanupResult, 'duration_ms' | 'timestamp'>;
  },
  recordMetrics() {},
};
