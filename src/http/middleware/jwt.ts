/**
 * Verification of HS256 JSON Web Tokens: the header must say HS256 (so `alg: none` and every other
 * algorithm are refused), the signature must match in constant time, `exp`/`nbf` must hold, and `sub`
 * names the user (well-formed text without control characters, at most 200 characters).
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import { userIdProblem } from '../../chat/user-id.js';

export type JwtClaims = { sub: string; exp?: number; nbf?: number; iat?: number };

export class JwtError extends Error {
  override readonly name = 'JwtError';
}

const CLOCK_SKEW_SECONDS = 30;

export function verifyJwt(token: string, secret: string, nowSeconds = Math.floor(Date.now() / 1000)): JwtClaims {
  const pieces = token.split('.');
  if (pieces.length !== 3) throw new JwtError('The token is not a JWT.');
  const [headerPart, payloadPart, signaturePart] = pieces as [string, string, string];
  const header = decodeJson(headerPart) as { alg?: unknown; typ?: unknown } | undefined;
  if (header?.alg !== 'HS256') throw new JwtError('The token must be signed with HS256.');
  const expected = createHmac('sha256', secret).update(`${headerPart}.${payloadPart}`).digest();
  const actual = Buffer.from(signaturePart, 'base64url');
  if (actual.length !== expected.length || !timingSafeEqual(actual, expected)) throw new JwtError('The token signature is invalid.');
  const claims = decodeJson(payloadPart) as Partial<JwtClaims> | undefined;
  if (!claims || typeof claims !== 'object') throw new JwtError('The token payload is not JSON.');
  if (claims.sub === undefined || claims.sub === '') throw new JwtError('The token has no subject (sub) naming the user.');
  const problem = userIdProblem(claims.sub);
  if (problem) throw new JwtError(`The token's subject (sub) cannot name a user: ${problem}.`);
  if (claims.exp !== undefined && (typeof claims.exp !== 'number' || nowSeconds > claims.exp + CLOCK_SKEW_SECONDS)) {
    throw new JwtError('The token has expired.');
  }
  if (claims.nbf !== undefined && (typeof claims.nbf !== 'number' || nowSeconds + CLOCK_SKEW_SECONDS < claims.nbf)) {
    throw new JwtError('The token is not valid yet.');
  }
  return claims as JwtClaims;
}

/** Makes an HS256 token (tests, the CLI, operators). */
export function signJwt(
  claims: Record<string, unknown>,
  secret: string,
  header: Record<string, unknown> = { alg: 'HS256', typ: 'JWT' },
): string {
  const encode = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
  const body = `${encode(header)}.${encode(claims)}`;
  return `${body}.${createHmac('sha256', secret).update(body).digest('base64url')}`;
}

function decodeJson(part: string): unknown {
  try {
    return JSON.parse(Buffer.from(part, 'base64url').toString('utf8'));
  } catch {
    return undefined;
  }
}
