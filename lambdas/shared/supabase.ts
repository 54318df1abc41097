import { createClient, type SupabaseClient } from '@supabase/supabase-js';
import type { ExportOpsConfig } from './config';
import type { JobName } from './observability';
import type { BackfillStep, RunFinish, RunLedger } from './ports';

/** How long one HTTP call to Supabase may take before it counts as a (retryable) timeout. */
export const SUPABASE_REQUEST_TIMEOUT_MS = 30_000;
/** Secrets Manager reads are cached this long, so warm invocations make no extra call. */
const SECRET_MAX_AGE_SECONDS = 300;

/**
 * The service-role key: from SUPABASE_SERVICE_ROLE_KEY locally, from Secrets Manager (through
 * Powertools Parameters, cached) in Lambda. Never logged.
 */
export async function resolveServiceRoleKey(config: ExportOpsConfig, env: NodeJS.ProcessEnv = process.env): Promise<string> {
  if (config.serviceRoleKeySource.kind === 'env') return env.SUPABASE_SERVICE_ROLE_KEY as string;
  const { getSecret } = await import('@aws-lambda-powertools/parameters/secrets');
  const value = await getSecret(config.serviceRoleKeySource.secretId, { maxAge: SECRET_MAX_AGE_SECONDS });
  if (typeof value !== 'string' || value.trim() === '') {
    throw new Error(`secret ${config.serviceRoleKeySource.secretId} is empty: put the Supabase service-role key in it`);
  }
  return value.trim();
}

/** An answer in supabase-js's shape, so `must` unwraps it like any other. */
export interface MediaAnswer {
  data: Buffer | null;
  error: { message: string; code?: string } | null;
}

/**
 * supabase-js with one call it lacks: `rpcMedia`, a function answered by its PostgREST media-type
 * handler (`Accept: <mediaType>`), as the bytes sent. postgrest-js parses every answer but CSV as
 * JSON.
 */
export type ServiceClient = SupabaseClient & {
  rpcMedia(fn: string, args: Record<string, unknown>, mediaType: string): Promise<MediaAnswer>;
};

/**
 * A supabase-js client for server-side jobs: no session, no realtime, every request bounded
 * by a timeout (supabase-js has none of its own).
 *
 * @example
 * const supabase = createServiceClient(config.supabaseUrl, await resolveServiceRoleKey(config));
 * const page = must('export_ops_log_cleanup_page_text', await supabase.rpcMedia('export_ops_log_cleanup_page_text', args, 'text/plain'));
 */
export function createServiceClient(url: string, serviceRoleKey: string, timeoutMs = SUPABASE_REQUEST_TIMEOUT_MS): ServiceClient {
  const timedFetch: typeof fetch = (input, init) => fetch(input, { ...init, signal: init?.signal ?? AbortSignal.timeout(timeoutMs) });
  const client = createClient(url, serviceRoleKey, {
    auth: { persistSession: false, autoRefreshToken: false, detectSessionInUrl: false },
    global: { fetch: timedFetch },
  });
  const restUrl = new URL('rest/v1/', url.endsWith('/') ? url : `${url}/`);
  const rpcMedia = async (fn: string, args: Record<string, unknown>, mediaType: string): Promise<MediaAnswer> => {
    try {
      const response = await timedFetch(new URL(`rpc/${encodeURIComponent(fn)}`, restUrl), {
        method: 'POST',
        headers: {
          apikey: serviceRoleKey, authorization: `Bearer ${serviceRoleKey}`, 'content-type': 'application/json', accept: mediaType,
        },
        body: JSON.stringify(args),
      });
      if (response.ok) return { data: Buffer.from(await response.arrayBuffer()), error: null };
      return { data: null, error: restError(response.status, await response.text()) };
    } catch (error) {
      return { data: null, error: { message: (error as Error).message } }; // no answer at all: network or timeout
    }
  };
  return Object.assign(client, { rpcMedia });
}

/** PostgREST's error body ({ code, message }), or the status and text when the body is not one. */
function restError(status: number, body: string): { message: string; code?: string } {
  try {
    const parsed = JSON.parse(body) as { message?: unknown; code?: unknown };
    if (typeof parsed.message === 'string') return { message: parsed.message, code: typeof parsed.code === 'string' ? parsed.code : undefined };
  } catch {
    // not JSON: a proxy's or gateway's page
  }
  return { message: `HTTP ${status}: ${body.slice(0, 200)}` };
}

/** Unwraps a supabase-js answer, turning `{ error }` into a thrown Error with the call named. */
export function must<T>(what: string, answer: { data: T | null; error: { message: string; code?: string } | null }): T {
  if (answer.error) {
    const error = new Error(`${what} failed: ${answer.error.message}`);
    Object.assign(error, { code: answer.error.code });
    throw error;
  }
  return answer.data as T;
}

/**
 * The run ledger (./ports) over supabase-js: export-ops' run functions, one RPC each.
 *
 * @example
 * const runs = new SupabaseRunLedger(supabase);
 * const runId = await runs.start({ job: 'file-cleanup', scheduledTime: now, dryRun: false });
 */
export class SupabaseRunLedger implements RunLedger {
  constructor(readonly client: SupabaseClient) {}

  async start(run: { job: JobName; scheduledTime: Date; dryRun: boolean }): Promise<string> {
    return must<string>('export_ops_start_run', await this.client.rpc('export_ops_start_run', {
      p_job: run.job,
      p_scheduled_time: run.scheduledTime.toISOString(),
      p_dry_run: run.dryRun,
    }));
  }

  async finish(runId: string, outcome: RunFinish): Promise<void> {
    const args = outcome.status === 'failed'
      ? { p_run_id: runId, p_status: outcome.status, p_error: outcome.error }
      : { p_run_id: runId, p_status: outcome.status, p_result: outcome.result };
    must('export_ops_finish_run', await this.client.rpc('export_ops_finish_run', args));
  }

  async backfillStep(limit: number): Promise<BackfillStep> {
    return must<BackfillStep>('export_ops_backfill_step', await this.client.rpc('export_ops_backfill_step', { p_limit: limit }));
  }
}
