import type { JobClients } from '../shared/job';
import { SupabaseFileCleanupStore } from './claims';
import type { FileCleanupPorts } from './ports';
import { SupabaseObjectRemover } from './storage-remover';

/** The file cleanup's ports over the job's supabase-js client (database and Storage). */
export function fileCleanupPorts({ supabase }: Pick<JobClients, 'supabase'>): FileCleanupPorts {
  return { files: new SupabaseFileCleanupStore(supabase), storage: new SupabaseObjectRemover(supabase) };
}
