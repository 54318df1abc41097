import type { IncomingHttpHeaders } from 'node:http';
import type { Database, Queryable } from '../db/database';
import type { JwtClaims } from './jwt';

/** A request as the REST and Storage handlers see it: authenticated, body read. */
export interface ApiRequest {
  method: string;
  /** Path below the service prefix, e.g. `rpc/fn` or `object/exports/a.json`, still percent-encoded. */
  path: string;
  query: URLSearchParams;
  headers: IncomingHttpHeaders;
  body: Buffer;
  claims: JwtClaims;
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
 * Runs `fn` in one transaction as the JWT's role, with its claims where `auth.uid()` and RLS
 * policies read them — what PostgREST and Supabase Storage do for every request.
 */
export function asRole<T>(db: Database, claims: JwtClaims, fn: (tx: Queryable) => Promise<T>): Promise<T> {
  return db.transaction(async (tx) => {
    // The role is one of the three API roles (checked in verifyJwt), so it is safe to inline.
    await tx.query(`set local role ${claims.role}`);
    await tx.query(`select set_config('request.jwt.claims', $1, true)`, [JSON.stringify(claims)]);
    return fn(tx);
  });
}

/** Quotes an identifier that has already been checked against the catalog. */
export const ident = (name: string) => `"${name.replace(/"/g, '""')}"`;
