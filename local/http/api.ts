import type { IncomingHttpHeaders } from 'node:http';
import type { Database, Queryable } from '../db/database';
import { API_ROLES } from './jwt';

/**
 * Who a request runs as, once its token is verified: the database role to switch to and the
 * claims that `auth.uid()`, `auth.role()` and RLS policies read from `request.jwt.claims`.
 * Each service derives both from the token its own way (see `auth.ts`).
 */
export interface Principal {
  role: string;
  claims: Record<string, unknown> & { sub?: string };
}

/** A request as the REST and Storage handlers see it: authenticated, body read. */
export interface ApiRequest extends Principal {
  method: string;
  /** Path below the service prefix, e.g. `rpc/fn` or `object/exports/a.json`, still percent-encoded. */
  path: string;
  query: URLSearchParams;
  headers: IncomingHttpHeaders;
  body: Buffer;
}

export interface ApiReply {
  status: number;
  headers?: Record<string, string>;
  body?: string | Buffer;
}

/** An error answer whose status and JSON body are already in the service's own format. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly body: Record<string, unknown>,
    readonly headers: Record<string, string> = {},
  ) {
    super(String(body.message ?? body.error ?? status));
  }
}

export const json = (status: number, value: unknown, headers: Record<string, string> = {}): ApiReply => ({
  status,
  headers: { 'content-type': 'application/json; charset=utf-8', ...headers },
  body: typeof value === 'string' ? value : JSON.stringify(value),
});

/**
 * Runs `fn` in one transaction as the principal's role, with its claims where `auth.uid()` and
 * RLS policies read them — what PostgREST and Supabase Storage do for every request, and the
 * same way: `set_config('role', …, true)` with the role as a bound value, so a role the
 * database does not know fails there with Postgres's own 22023 `role "x" does not exist`.
 */
export function asRole<T>(db: Database, principal: Principal, fn: (tx: Queryable) => Promise<T>): Promise<T> {
  return db.transaction(async (tx) => {
    await refuseUngrantedRole(tx, principal.role);
    await tx.query(`select set_config('role', $1, true), set_config('request.jwt.claims', $2, true)`, [
      principal.role,
      JSON.stringify(principal.claims),
    ]);
    return fn(tx);
  });
}

/**
 * Supabase's services log in as `authenticator` / `supabase_storage_admin`, which are granted
 * only the API roles; switching to any other existing role (`postgres`, say) fails there with
 * 42501. The local stack connects as a superuser that could switch to anything, so it refuses
 * those roles itself, with the error Postgres would give. Unknown roles are left to Postgres.
 */
async function refuseUngrantedRole(tx: Queryable, role: string): Promise<void> {
  if ((API_ROLES as readonly string[]).includes(role)) return;
  const { rows } = await tx.query(`select 1 from pg_roles where rolname = $1`, [role]);
  if (rows.length > 0) throw Object.assign(new Error(`permission denied to set role "${role}"`), { code: '42501' });
}

/** Quotes an identifier that has already been checked against the catalog. */
export const ident = (name: string) => `"${name.replace(/"/g, '""')}"`;
