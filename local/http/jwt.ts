import { createHmac, timingSafeEqual } from 'node:crypto';

/** The API roles a Supabase JWT may carry in its `role` claim. */
export const API_ROLES = ['anon', 'authenticated', 'service_role'] as const;
export type ApiRole = (typeof API_ROLES)[number];

/**
 * A verified token's claims. `role` is whatever the token says — possibly missing or a role the
 * database does not know: Storage and PostgREST each decide what that means (see `auth.ts`).
 */
export interface JwtClaims {
  role?: unknown;
  sub?: string;
  exp?: number;
  nbf?: number;
  iat?: number;
  [claim: string]: unknown;
}

/** The only algorithm a project's shared JWT secret signs with. */
const JWT_ALGORITHM = 'HS256';
/** A compact JWS is header.payload.signature. */
const COMPACT_PARTS = 3;

const base64url = (data: Buffer | string) => Buffer.from(data).toString('base64url');

/**
 * Signs claims as an HS256 JWT, the way a Supabase project's anon and service-role keys are made.
 *
 * @example
 * const serviceKey = signJwt({ role: 'service_role', iss: 'supabase' }, secret);
 */
export function signJwt(claims: Record<string, unknown>, secret: string): string {
  const head = base64url(JSON.stringify({ alg: JWT_ALGORITHM, typ: 'JWT' }));
  const body = base64url(JSON.stringify({ iat: Math.floor(Date.now() / 1000), ...claims }));
  const signature = createHmac('sha256', secret).update(`${head}.${body}`).digest('base64url');
  return `${head}.${body}.${signature}`;
}

/**
 * What is wrong with a token. The verifier only classifies; each service words the failure its
 * own way (Storage with jose's messages, PostgREST with its own), so the words live with them.
 */
export type JwtFailure =
  | 'malformed' // not three base64url parts, or a header that is not JSON
  | 'algorithm' // signed with something other than HS256
  | 'signature' // signed with another secret, or tampered with
  | 'claims' // the payload is not a JSON object
  | 'expired'
  | 'not_yet_valid' // nbf in the future
  | 'issued_in_future'; // iat in the future

export class JwtError extends Error {
  constructor(
    readonly failure: JwtFailure,
    message: string,
    /** For `malformed`: how many dot-separated parts the token had (PostgREST reports it). */
    readonly parts?: number,
  ) {
    super(message);
  }
}

/**
 * How the time claims are judged. The two services differ: Storage uses jose with no clock
 * tolerance (expired at the very second `exp` names), PostgREST forgives some skew and also
 * refuses an `iat` in the future.
 */
export interface ClaimTimePolicy {
  /** Seconds of clock skew forgiven on exp, nbf and iat. */
  skewSeconds: number;
  /** true: expired once now >= exp (jose); false: only once now > exp (PostgREST). */
  expiredAtExp: boolean;
  /** Refuse a token whose `iat` lies in the future (beyond the skew). */
  checkIssuedAt: boolean;
}

/** Strictest policy: no skew, expired at `exp`, `iat` not judged — jose's defaults. */
export const STRICT_TIME_POLICY: ClaimTimePolicy = { skewSeconds: 0, expiredAtExp: true, checkIssuedAt: false };

export interface VerifyJwtOptions {
  policy?: ClaimTimePolicy;
  /** Unix seconds; whole seconds, as both services compare. @default now */
  nowSeconds?: number;
}

/**
 * Verifies an HS256 JWT and returns its claims; throws {@link JwtError} saying which check failed.
 * Checks run in the order both services run them: shape, algorithm, signature, then claims.
 * The `role` claim is not judged here — a missing or unknown role is the service's business.
 */
export function verifyJwt(token: string, secret: string, options: VerifyJwtOptions = {}): JwtClaims {
  const [head, body, signature] = splitCompact(token);
  const header = parseHeader(head);
  if (header?.alg !== JWT_ALGORITHM) throw new JwtError('algorithm', `JWT algorithm ${String(header?.alg)} is not supported`);
  if (!signatureMatches(head, body, signature, secret)) throw new JwtError('signature', 'JWT signature is invalid');
  const claims = parseClaims(body);
  checkTimes(claims, options.policy ?? STRICT_TIME_POLICY, Math.floor(options.nowSeconds ?? Date.now() / 1000));
  return claims;
}

function splitCompact(token: string): [string, string, string] {
  const parts = token.split('.');
  if (parts.length !== COMPACT_PARTS) throw new JwtError('malformed', `JWT must have ${COMPACT_PARTS} parts`, parts.length);
  return parts as [string, string, string];
}

/** Decodes the header; one that is not JSON makes the token malformed. */
function parseHeader(head: string): { alg?: unknown } | undefined {
  try {
    return JSON.parse(Buffer.from(head, 'base64url').toString('utf8'));
  } catch {
    throw new JwtError('malformed', 'JWT header is not valid base64url JSON', COMPACT_PARTS);
  }
}

/** The payload, once the signature holds: anything but a JSON object is refused as `claims`. */
function parseClaims(body: string): JwtClaims {
  let claims: unknown;
  try {
    claims = JSON.parse(Buffer.from(body, 'base64url').toString('utf8'));
  } catch {
    claims = undefined;
  }
  if (!claims || typeof claims !== 'object' || Array.isArray(claims)) throw new JwtError('claims', 'JWT claims are not a JSON object');
  return claims as JwtClaims;
}

function signatureMatches(head: string, body: string, signature: string, secret: string): boolean {
  const expected = createHmac('sha256', secret).update(`${head}.${body}`).digest();
  const given = Buffer.from(signature, 'base64url');
  return given.length === expected.length && timingSafeEqual(given, expected);
}

function checkTimes(claims: JwtClaims, policy: ClaimTimePolicy, now: number): void {
  const { skewSeconds: skew } = policy;
  if (typeof claims.exp === 'number') {
    const expired = policy.expiredAtExp ? now - skew >= claims.exp : now - skew > claims.exp;
    if (expired) throw new JwtError('expired', 'JWT expired');
  }
  if (typeof claims.nbf === 'number' && now + skew < claims.nbf) throw new JwtError('not_yet_valid', 'JWT not yet valid');
  if (policy.checkIssuedAt && typeof claims.iat === 'number' && now + skew < claims.iat) {
    throw new JwtError('issued_in_future', 'JWT issued in the future');
  }
}
