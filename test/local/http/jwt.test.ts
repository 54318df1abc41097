import { createHmac } from 'node:crypto';
import { POSTGREST_TIME_POLICY, STORAGE_TIME_POLICY } from '../../../local/http/auth';
import { JwtError, type JwtFailure, signJwt, verifyJwt, type VerifyJwtOptions } from '../../../local/http/jwt';

const SECRET = 'super-secret-jwt-token-with-at-least-32-characters-long';
/** Fixed for the whole file, so boundary cases are exact; signJwt stamps iat with the real clock, which is <= this. */
const NOW = Math.floor(Date.now() / 1000) + 1;

/** Signs any header and raw payload text, for tokens signJwt would never make. */
function signRaw(header: object, payload: string, secret = SECRET): string {
  const head = Buffer.from(JSON.stringify(header)).toString('base64url');
  const body = Buffer.from(payload).toString('base64url');
  return `${head}.${body}.${createHmac('sha256', secret).update(`${head}.${body}`).digest('base64url')}`;
}

function failureOf(token: string, options: VerifyJwtOptions = {}): JwtFailure | 'accepted' {
  try {
    verifyJwt(token, SECRET, { nowSeconds: NOW, ...options });
    return 'accepted';
  } catch (error) {
    if (error instanceof JwtError) return error.failure;
    throw error;
  }
}

describe('verifyJwt', () => {
  test('returns the claims of a token signed with the secret', () => {
    const token = signJwt({ role: 'authenticated', sub: 'u1' }, SECRET);
    expect(verifyJwt(token, SECRET)).toMatchObject({ role: 'authenticated', sub: 'u1', iat: expect.any(Number) });
  });

  test('does not judge the role: missing or unknown roles are the services\' business', () => {
    expect(verifyJwt(signJwt({ sub: 'u1' }, SECRET), SECRET).role).toBeUndefined();
    expect(verifyJwt(signJwt({ role: 'postgres' }, SECRET), SECRET).role).toBe('postgres');
  });

  test('classifies a token signed with another secret as a bad signature', () => {
    expect(failureOf(signJwt({ role: 'service_role' }, 'another-secret'))).toBe('signature');
  });

  test('classifies a token that is not three parts as malformed, and says how many it had', () => {
    expect(failureOf('not-a-token')).toBe('malformed');
    expect(() => verifyJwt('a.b', SECRET)).toThrow(expect.objectContaining({ failure: 'malformed', parts: 2 }));
  });

  test('refuses any algorithm but HS256, before looking at the signature', () => {
    expect(failureOf(signRaw({ alg: 'none' }, '{}'))).toBe('algorithm');
    expect(failureOf(signRaw({ alg: 'HS512' }, '{}'))).toBe('algorithm');
  });

  test('refuses a signed payload that is not a JSON object', () => {
    expect(failureOf(signRaw({ alg: 'HS256' }, '[1]'))).toBe('claims');
    expect(failureOf(signRaw({ alg: 'HS256' }, 'not json'))).toBe('claims');
  });

  describe('time claims under Storage\'s policy (jose, no tolerance)', () => {
    const storage = { policy: STORAGE_TIME_POLICY };
    test('is expired at the very second exp names', () => {
      expect(failureOf(signJwt({ exp: NOW + 1 }, SECRET), storage)).toBe('accepted');
      expect(failureOf(signJwt({ exp: NOW }, SECRET), storage)).toBe('expired');
    });
    test('refuses nbf in the future, ignores iat in the future', () => {
      expect(failureOf(signJwt({ nbf: NOW + 1 }, SECRET), storage)).toBe('not_yet_valid');
      expect(failureOf(signJwt({ iat: NOW + 3600 }, SECRET), storage)).toBe('accepted');
    });
  });

  describe('time claims under PostgREST\'s policy (30 s of skew)', () => {
    const postgrest = { policy: POSTGREST_TIME_POLICY };
    test('is expired only once now is past exp + 30 s', () => {
      expect(failureOf(signJwt({ exp: NOW - 30 }, SECRET), postgrest)).toBe('accepted');
      expect(failureOf(signJwt({ exp: NOW - 31 }, SECRET), postgrest)).toBe('expired');
    });
    test('refuses nbf and iat more than 30 s in the future', () => {
      expect(failureOf(signJwt({ nbf: NOW + 30 }, SECRET), postgrest)).toBe('accepted');
      expect(failureOf(signJwt({ nbf: NOW + 31 }, SECRET), postgrest)).toBe('not_yet_valid');
      expect(failureOf(signJwt({ iat: NOW + 31 }, SECRET), postgrest)).toBe('issued_in_future');
    });
  });
});
