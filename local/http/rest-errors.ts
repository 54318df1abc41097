import { ApiError } from './api';

interface PgLikeError {
  code?: string;
  message?: string;
  detail?: string;
  hint?: string;
}

/**
 * PostgREST's SQLSTATE → HTTP status table (contract §3). 42501 depends on who asked:
 * 401 for the anon role (log in and retry), 403 for a signed-in or service role.
 * A JWT role the database does not know fails `set_config('role', …)` with 22023, which
 * PostgREST 12.2 answers as any other error: 400 (13.0 turned it into 401, PostgREST#3601).
 */
export function restStatusFor(code: string, role: string): number {
  if (code === '42501') return role === 'anon' ? 401 : 403;
  if (code === 'P0001') return 400;
  if (code.startsWith('P0')) return 500;
  if (code === '42883' || code === '42P01') return 404;
  if (code === '23505' || code === '23503') return 409;
  if (code === '57014') return 500;
  if (code === '57P01' || code.startsWith('08') || code.startsWith('53')) return 503;
  if (code === '25006') return 405;
  return 400;
}

/** Turns a driver error (pg or PGlite) into PostgREST's `{code, message, details, hint}` answer. */
export function pgErrorToRest(error: unknown, role: string): ApiError {
  const e = error as PgLikeError;
  if (!e || typeof e.code !== 'string') {
    return new ApiError(500, { code: 'PGRST000', message: String((error as Error)?.message ?? error), details: null, hint: null });
  }
  return new ApiError(restStatusFor(e.code, role), {
    code: e.code,
    message: e.message ?? '',
    details: e.detail ?? null,
    hint: e.hint ?? null,
  });
}
