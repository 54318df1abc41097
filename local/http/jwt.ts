import { createHmac, timingSafeEqual } from 'node:crypto';

/** The API roles a Supabase JWT may carry in its `role` claim. */
export const API_ROLES = ['anon', 'authenticated', 'service_role'] as const;
export type ApiRole = (typeof API_ROLES)[number];

export interface JwtClaims {
  role: ApiRole;
  sub?: string;
  exp?: number;
  [claim: string]: unknown;
}

const base64url = (data: Buffer | string) => Buffer.from(data).toString('base64url');

/**
 * Signs claims as an HS256 JWT, the way a Supabase project's anon and service-role keys are made.
 *
 * @example
 * const serviceKey = signJwt({ role: 'service_role', iss: 'supabase' }, secret);
 */
export function signJwt(claims: Record<string, unknown>, secret: string): string {
  const head = base64url(JSON.stringify({ alg: 'HS256', typ: 'JWT' }));
  const body = base64url(JSON.stringify({ iat: Math.floor(Date.now() / 1000), ...claims }));
  const signature = createHmac('sha256', secret).update(`${head}.${body}`).digest('base64url');
  return `${head}.${body}.${signature}`;
}

export class JwtError extends Error {}

/** Verifies an HS256 JWT and returns its claims; throws {@link JwtError} saying what is wrong. */
export function verifyJwt(token: string, secret: string, nowSeconds = Date.now() / 1000): JwtClaims {
  const parts = token.split('.');
  if (parts.length !== 3) throw new JwtError('JWT must have three parts');
  const [head, body, signature] = parts;
  let header: { alg?: string };
  let claims: JwtClaims;
  try {
    header = JSON.parse(Buffer.from(head, 'base64url').toString('utf8'));
    claims = JSON.parse(Buffer.from(body, 'base64url').toString('utf8'));
  } catch {
    throw new JwtError('JWT is not valid base64url JSON');
  }
  if (header.alg !== 'HS256') throw new JwtError(`JWT algorithm ${String(header.alg)} is not supported`);
  const expected = createHmac('sha256', secret).update(`${head}.${body}`).digest();
  const given = Buffer.from(signature, 'base64url');
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) {
    throw new JwtError('JWT signature is invalid');
  }
  if (typeof claims.exp === 'number' && claims.exp < nowSeconds) throw new JwtError('JWT expired');
  if (!API_ROLES.includes(claims.role)) throw new JwtError(`JWT role ${String(claims.role)} is not an API role`);
  return claims;
}
