import type { IncomingHttpHeaders } from 'node:http';
import { ApiError, type Principal } from './api';
import { type ClaimTimePolicy, type JwtClaims, JwtError, type JwtFailure, verifyJwt } from './jwt';
import { storageError } from './storage';

/**
 * Authentication as each real service does it (contract §2 and §3). Both verify the same HS256
 * token, but they word failures differently, judge the clock differently and give a token
 * with no `role` claim different claims — so each service has its own small profile here.
 */
export type Service = 'rest' | 'storage';

/** The role both services fall back to when a token has no `role` claim. */
const ANON_ROLE = 'anon';

/**
 * Storage v1.11 verifies with jose's `jwtVerify` and no `clockTolerance`: expired at the second
 * `exp` names, no skew, `iat` not judged (supabase/storage src/internal/auth/jwt.ts, verifyJWT).
 */
export const STORAGE_TIME_POLICY: ClaimTimePolicy = { skewSeconds: 0, expiredAtExp: true, checkIssuedAt: false };

/**
 * PostgREST 12.2 allows 30 s of skew on exp, nbf and iat, and expires only once now > exp
 * (PostgREST src/PostgREST/Auth.hs, parseToken: `allowedSkewSeconds = 30`).
 */
export const POSTGREST_TIME_POLICY: ClaimTimePolicy = { skewSeconds: 30, expiredAtExp: false, checkIssuedAt: true };

/** jose's error messages, which Storage passes through as the body's `message`. */
const STORAGE_MESSAGES: Record<JwtFailure, string> = {
  malformed: 'Invalid Compact JWS',
  algorithm: '"alg" (Algorithm) Header Parameter value not allowed',
  signature: 'signature verification failed',
  claims: 'JWT Claims Set must be a top-level JSON object',
  expired: '"exp" claim timestamp check failed',
  not_yet_valid: '"nbf" claim timestamp check failed',
  issued_in_future: '"iat" claim timestamp check failed', // unreachable: Storage does not judge iat
};

/**
 * PostgREST 12.2's PGRST301 messages. It kept the wording of the hs-jose library it used before,
 * "to avoid breaking changes" (Auth.hs, jwtDecodeError and verifyClaims), so these are also
 * what Supabase users have long seen in `error.message`.
 */
function postgrestMessage(error: JwtError): string {
  switch (error.failure) {
    case 'malformed':
      return `JWSError (CompactDecodeError Invalid number of parts: Expected 3 parts; got ${error.parts ?? 0})`;
    case 'algorithm':
      return 'JWSError JWSNoSignatures';
    case 'signature':
      return 'JWSError JWSInvalidSignature';
    case 'claims':
      return 'Parsing claims failed';
    case 'expired':
      return 'JWT expired';
    case 'not_yet_valid':
      return 'JWTNotYetValid';
    case 'issued_in_future':
      return 'JWTIssuedAtFuture';
  }
}

/** Storage's answer to a refused token: HTTP 400, the real 403 in the body (ERRORS.AccessDenied). */
function storageAccessDenied(message: string): ApiError {
  return new ApiError(400, { statusCode: '403', code: 'AccessDenied', error: 'Unauthorized', message });
}

/**
 * PostgREST's answer to a refused token: 401 PGRST301, with the `WWW-Authenticate` header it
 * sends (Error.hs, invalidTokenHeader; the description is Haskell-`show`n, i.e. JSON-quoted).
 */
function postgrestInvalidToken(message: string): ApiError {
  return new ApiError(
    401,
    { code: 'PGRST301', message, details: null, hint: null },
    { 'www-authenticate': `Bearer error="invalid_token", error_description=${JSON.stringify(message)}` },
  );
}

function refusal(service: Service, error: JwtError): ApiError {
  return service === 'rest' ? postgrestInvalidToken(postgrestMessage(error)) : storageAccessDenied(STORAGE_MESSAGES[error.failure]);
}

/** The `role` claim as the role name to switch to; absent or empty means no role. */
function roleClaim(claims: JwtClaims): string | undefined {
  const { role } = claims;
  if (role === undefined || role === null || role === '') return undefined;
  // PostgREST uses a non-string claim's JSON text as the name (Auth.hs, `unquoted`).
  return typeof role === 'string' ? role : JSON.stringify(role);
}

/**
 * Storage: a token with no `role` runs as `anon`, and its claims are stored as they came, without
 * a role. Read in supabase/storage src/internal/database/connection.ts — TenantConnection's
 * constructor sets `this.role = options.user.payload.role || 'anon'`, and setScope() runs
 * `set_config('role', this.role, true)` with `request.jwt.claims` = the untouched payload. So "no
 * role" is not a role of its own, nor the server's connecting role: it is the anon role, which has
 * no storage policies — a remove answers [] and deletes nothing, an upload is refused by RLS.
 */
function storagePrincipal(claims: JwtClaims): Principal {
  return { role: roleClaim(claims) ?? ANON_ROLE, claims };
}

/**
 * PostgREST: a token with no `role` runs as `db-anon-role` (anon on Supabase), and the role is
 * written into the claims it exposes (Auth.hs, parseClaims: `KM.insert "role"`).
 */
function postgrestPrincipal(claims: JwtClaims): Principal {
  const role = roleClaim(claims) ?? ANON_ROLE;
  return { role, claims: { ...claims, role } };
}

/**
 * Verifies the request's token (`Authorization: Bearer`, else the `apikey` header, as the gateway
 * forwards it) and returns whom the request runs as; throws the service's own refusal.
 */
export function authenticate(headers: IncomingHttpHeaders, service: Service, secret: string): Principal {
  const apikey = headers.apikey;
  const bearer = /^Bearer (.+)$/i.exec(headers.authorization ?? '')?.[1];
  if (!apikey && !bearer) throw missingKey(service);
  const policy = service === 'rest' ? POSTGREST_TIME_POLICY : STORAGE_TIME_POLICY;
  let claims: JwtClaims;
  try {
    claims = verifyJwt(String(bearer ?? apikey), secret, { policy });
  } catch (error) {
    if (error instanceof JwtError) throw refusal(service, error);
    throw error;
  }
  return service === 'rest' ? postgrestPrincipal(claims) : storagePrincipal(claims);
}

/** What the local stack has always answered for a request carrying no key at all. */
function missingKey(service: Service): ApiError {
  const message = 'No API key found in request';
  return service === 'rest'
    ? new ApiError(401, { code: 'PGRST301', message, details: null, hint: null })
    : storageError(400, 'Unauthorized', message);
}
