import { loadConfig } from '../lambdas/shared/config';
import { createServiceClient, resolveServiceRoleKey } from '../lambdas/shared/supabase';
import { logCleanupPorts } from '../lambdas/log-cleanup/adapters';
import { parseArchiveLocation, restoreArchive } from '../lambdas/log-cleanup/restore';
import { parseCommand } from './args';
import { EXIT } from './exit-codes';

const USAGE = `usage: export-ops restore --from <s3://bucket/prefix | prefix | manifest key> [--dry-run] [--json]

Puts archived export logs back into public.export_logs. Only parts this database recorded
are restored: each object is read once and its SHA-256 and row count checked against the
database's record (not the manifest beside it) before any of its rows is inserted; rows
already present are skipped, so a restore can be rerun. A bare prefix or key is read from
ARCHIVE_BUCKET.

examples:
  npx export-ops restore --from s3://export-ops-archive/export-logs/export_logs/year=2026/month=10/ --dry-run
  npx export-ops restore --from export-logs/export_logs/year=2026/month=10/part-0001.manifest.json
`;

/**
 * `export-ops restore`: restores archived export logs from S3.
 *
 * @example
 * await main(['--from', 's3://export-ops-archive/export-logs/export_logs/year=2026/month=10/', '--dry-run']);
 */
export async function main(argv: string[]): Promise<number> {
  const args = parseCommand('restore', argv, { from: { type: 'string' }, 'dry-run': { type: 'boolean' }, json: { type: 'boolean' } }, USAGE);
  if (typeof args === 'number') return args;
  const values = args.values as { from?: string; 'dry-run'?: boolean; json?: boolean };
  if (!values.from) {
    process.stderr.write(`export-ops restore: --from is required\n\n${USAGE}`);
    return EXIT.usage;
  }
  const config = loadConfig();
  const { bucket, key } = parseArchiveLocation(values.from, config.archive.bucket);
  const supabase = createServiceClient(config.supabaseUrl, await resolveServiceRoleKey(config));
  const summary = await restoreArchive({ ...logCleanupPorts({ env: process.env, supabase }), bucket, key, dryRun: values['dry-run'] === true });
  process.stdout.write(values.json ? `${JSON.stringify(summary)}\n` : `${JSON.stringify(summary, null, 2)}\n`);
  return EXIT.done;
}
