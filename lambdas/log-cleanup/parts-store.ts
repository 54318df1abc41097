import { must, type ServiceClient } from '../shared/supabase';
import type {
  ArchivePart, Claim, CleanupStats, DeleteOutcome, LogScope, LogStore, Page, PartManifest, RecordedPart, RestoreCounts, RowKey, RunParts,
} from './ports';

export type { ArchivePart, Claim, CleanupStats, DeleteOutcome, Page, PartManifest } from './ports';

/**
 * The log cleanup's database port (LogStore) over supabase-js: one method per SQL function of
 * the log-cleanup migrations, all reached through RPC as service_role.
 *
 * @example
 * const parts = new SupabaseLogStore(supabase).forRun(runId, 300);
 * const claim = await parts.claim({ cutoff, userId: null, prefix: 'export-logs', partRows: 50_000, after: null });
 */
export class SupabaseLogStore implements LogStore {
  constructor(readonly client: ServiceClient) {}

  forRun(runId: string, leaseSeconds: number): RunParts {
    return new SupabaseRunParts(this.client, runId, leaseSeconds);
  }

  async stats(scope: LogScope, measure: boolean): Promise<CleanupStats> {
    return must<CleanupStats>('export_ops_log_cleanup_stats', await this.client.rpc('export_ops_log_cleanup_stats', {
      p_cutoff: scope.cutoff.toISOString(), p_user_id: scope.userId, p_measure: measure,
    }));
  }

  async deleteUnarchived(scope: LogScope, limit: number): Promise<number> {
    return must<number>('export_ops_log_cleanup_delete_unarchived', await this.client.rpc('export_ops_log_cleanup_delete_unarchived', {
      p_cutoff: scope.cutoff.toISOString(), p_user_id: scope.userId, p_limit: limit,
    }));
  }

  async recordedParts(prefix: string, afterKey: string | null, limit: number): Promise<RecordedPart[]> {
    return must<RecordedPart[]>('export_ops_log_cleanup_parts', await this.client.rpc('export_ops_log_cleanup_parts', {
      p_prefix: prefix, p_after_key: afterKey, p_limit: limit,
    }));
  }

  async restoreRows(partKey: string, ndjson: string, dryRun: boolean): Promise<RestoreCounts> {
    return must<RestoreCounts>('export_ops_log_cleanup_restore', await this.client.rpc('export_ops_log_cleanup_restore', {
      p_part_key: partKey, p_ndjson: ndjson, p_dry_run: dryRun,
    }));
  }
}

/** A page asked for: the key it starts after (null: the part's start) and its answer to come. */
interface PageRequest {
  after: RowKey | null;
  page: Promise<Page>;
}

const sameKey = (a: RowKey | null, b: RowKey) => a !== null && a.createdAt === b.createdAt && a.id === b.id;

/** One run's parts over supabase-js (see RunParts). */
class SupabaseRunParts implements RunParts {
  constructor(
    private readonly client: ServiceClient,
    readonly runId: string,
    /** How long a part stays this run's after its last call (LOG_PART_LEASE_SECONDS). */
    private readonly leaseSeconds: number,
  ) {}

  async claim(args: LogScope & { prefix: string; partRows: number; after: RowKey | null }): Promise<Claim> {
    const answer = must<{ part?: ArchivePart | null; resumed?: boolean; busy?: boolean; part_key?: string; lease_until?: string }>(
      'export_ops_log_cleanup_claim_part',
      await this.client.rpc('export_ops_log_cleanup_claim_part', {
        p_run_id: this.runId,
        p_cutoff: args.cutoff.toISOString(),
        p_user_id: args.userId,
        p_prefix: args.prefix,
        p_part_rows: args.partRows,
        p_lease_seconds: this.leaseSeconds,
        p_after_created_at: args.after?.createdAt ?? null,
        p_after_id: args.after?.id ?? null,
      }),
    );
    if (answer.busy) return { kind: 'busy', partKey: String(answer.part_key), leaseUntil: String(answer.lease_until) };
    if (!answer.part) return { kind: 'done' };
    return { kind: 'part', part: answer.part, resumed: answer.resumed === true };
  }

  /**
   * Page after page (keyset on (created_at, id)); a short page is the last. The next page is
   * asked for while this one is still on its way, starting where the part's page ends (read
   * first, beside the first page) say this one ends; it is used only if this page really ended
   * there, else asked for again from where it did. A part whose rows changed since its ends were
   * read is still read as one unbroken chain, each row once.
   */
  async *rows(partKey: string, pageRows: number): AsyncGenerator<Page> {
    const ask = (after: RowKey | null): PageRequest => {
      const page = this.page(partKey, after, pageRows);
      page.catch(() => undefined); // awaited when used; a page asked for ahead may go unused
      return { after, page };
    };
    const plannedEnds = this.pageEnds(partKey, pageRows);
    plannedEnds.catch(() => undefined); // awaited below
    let current = ask(null);
    let following = true;
    for (let index = 0; ; index += 1) {
      const plannedEnd: RowKey | undefined = following ? (await plannedEnds)[index] : undefined;
      const ahead: PageRequest | null = plannedEnd ? ask(plannedEnd) : null;
      const page = await current.page;
      if (page.rows > 0) yield page;
      if (page.rows < pageRows) return;
      const end: RowKey = { createdAt: page.lastCreatedAt as string, id: page.lastId as string };
      following = ahead !== null && sameKey(ahead.after, end);
      current = following && ahead ? ahead : ask(end);
    }
  }

  /** Where the part's full pages of `pageRows` should end, in order, as its rows are now. */
  private async pageEnds(partKey: string, pageRows: number): Promise<RowKey[]> {
    const ends = must<{ created_at: string; id: string }[]>('export_ops_log_cleanup_page_ends', await this.client.rpc('export_ops_log_cleanup_page_ends', {
      p_run_id: this.runId, p_part_key: partKey, p_page_rows: pageRows, p_lease_seconds: this.leaseSeconds,
    }));
    return ends.map((end) => ({ createdAt: end.created_at, id: end.id }));
  }

  /**
   * Rows of the part after `after` (from its start when null), at most `limit`. The page comes as
   * raw bytes (see 20261202000100_log_cleanup_page_as_text.sql): a JSON header line, then the NDJSON.
   */
  private async page(partKey: string, after: RowKey | null, limit: number): Promise<Page> {
    const answer = must<Buffer>('export_ops_log_cleanup_page_text', await this.client.rpcMedia('export_ops_log_cleanup_page_text', {
      p_run_id: this.runId,
      p_part_key: partKey,
      p_after_created_at: after?.createdAt ?? null,
      p_after_id: after?.id ?? null,
      p_limit: limit,
      p_lease_seconds: this.leaseSeconds,
    }, 'text/plain'));
    return readPage(answer);
  }

  async recordManifest(partKey: string, manifest: PartManifest): Promise<void> {
    must('export_ops_log_cleanup_record_part', await this.client.rpc('export_ops_log_cleanup_record_part', {
      p_run_id: this.runId, p_part_key: partKey, p_manifest: manifest, p_lease_seconds: this.leaseSeconds,
    }));
  }

  async deleteRows(partKey: string): Promise<DeleteOutcome> {
    return must<DeleteOutcome>('export_ops_log_cleanup_delete_part', await this.client.rpc('export_ops_log_cleanup_delete_part', {
      p_run_id: this.runId, p_part_key: partKey,
    }));
  }

  async release(partKey: string): Promise<void> {
    must('export_ops_log_cleanup_release_part', await this.client.rpc('export_ops_log_cleanup_release_part', {
      p_run_id: this.runId, p_part_key: partKey,
    }));
  }

  async drop(partKey: string): Promise<void> {
    must('export_ops_log_cleanup_drop_part', await this.client.rpc('export_ops_log_cleanup_drop_part', {
      p_run_id: this.runId, p_part_key: partKey,
    }));
  }
}

const NEWLINE = 0x0a;

/** A page's bytes: its header line ({ rows, checksum, last_created_at, last_id }), then its NDJSON, left as bytes. */
export function readPage(bytes: Buffer): Page {
  const cut = bytes.indexOf(NEWLINE);
  let header: { rows?: unknown; checksum?: unknown; last_created_at?: unknown; last_id?: unknown } | null = null;
  try {
    header = cut < 0 ? null : JSON.parse(bytes.toString('utf8', 0, cut));
  } catch {
    header = null;
  }
  if (!header || typeof header.rows !== 'number' || typeof header.checksum !== 'string') {
    throw new Error(`export_ops_log_cleanup_page_text answered no page header: ${JSON.stringify(bytes.toString('utf8', 0, 120))}`);
  }
  const key = (value: unknown) => (typeof value === 'string' ? value : null);
  return {
    rows: header.rows, ndjson: bytes.subarray(cut + 1), checksum: header.checksum, lastCreatedAt: key(header.last_created_at), lastId: key(header.last_id),
  };
}
