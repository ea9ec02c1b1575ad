import { createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { JwtError, signJwt, verifyJwt } from './jwt.js';

const SECRET = 'a-test-secret';
const NOW = 1_800_000_000;

const refusal = (token: string, now = NOW) => {
  try {
    verifyJwt(token, SECRET, now);
  } catch (error) {
    if (error instanceof JwtError) return error.message;
    throw error;
  }
  return undefined;
};
const base64url = (value: unknown) => Buffer.from(typeof value === 'string' ? value : JSON.stringify(value)).toString('base64url');

describe('verifyJwt', () => {
  it('returns the claims of a well-signed HS256 token', () => {
    const token = signJwt({ sub: 'alice', exp: NOW + 60, iat: NOW }, SECRET);
    expect(verifyJwt(token, SECRET, NOW)).toEqual({ sub: 'alice', exp: NOW + 60, iat: NOW });
  });

  it('agrees with a token signed by hand, as any other library would sign it', () => {
    const body = `${base64url({ alg: 'HS256', typ: 'JWT' })}.${base64url({ sub: 'bob' })}`;
    const token = `${body}.${createHmac('sha256', SECRET).update(body).digest('base64url')}`;
    expect(verifyJwt(token, SECRET, NOW).sub).toBe('bob');
  });

  it('refuses a token signed with another secret, or whose payload was changed after signing', () => {
    expect(refusal(signJwt({ sub: 'alice' }, 'another-secret'))).toBe('The token signature is invalid.');
    const [header, , signature] = signJwt({ sub: 'alice' }, SECRET).split('.');
    expect(refusal(`${header}.${base64url({ sub: 'admin' })}.${signature}`)).toBe('The token signature is invalid.');
    expect(refusal(`${header}.${base64url({ sub: 'alice' })}.`)).toBe('The token signature is invalid.');
  });

  it('refuses every algorithm but HS256, alg "none" included, even with a valid HS256 signature', () => {
    expect(refusal(`${base64url({ alg: 'none' })}.${base64url({ sub: 'alice' })}.`)).toBe('The token must be signed with HS256.');
    for (const alg of ['none', 'HS512', 'RS256', 'hs256', undefined]) {
      expect(refusal(signJwt({ sub: 'alice' }, SECRET, { alg, typ: 'JWT' }))).toBe('The token must be signed with HS256.');
    }
  });

  it('refuses what is not a JWT', () => {
    for (const token of ['', 'abc', 'a.b', 'a.b.c.d']) expect(refusal(token)).toMatch(/not a JWT|HS256/);
    expect(refusal('a.b')).toBe('The token is not a JWT.');
    expect(refusal(`${base64url('not json')}.${base64url({ sub: 'a' })}.x`)).toBe('The token must be signed with HS256.');
  });

  it('refuses a payload that is not a JSON object', () => {
    const header = base64url({ alg: 'HS256' });
    const signed = (payload: string) =>
      `${header}.${payload}.${createHmac('sha256', SECRET).update(`${header}.${payload}`).digest('base64url')}`;
    expect(refusal(signed(base64url('{not json')))).toBe('The token payload is not JSON.');
    expect(refusal(signed(base64url('42')))).toBe('The token payload is not JSON.');
  });

  it('holds exp and nbf with 30 s of clock skew, and refuses them when they are not numbers', () => {
    const expiring = signJwt({ sub: 'a', exp: NOW }, SECRET);
    expect(refusal(expiring, NOW + 30)).toBeUndefined();
    expect(refusal(expiring, NOW + 31)).toBe('The token has expired.');
    const future = signJwt({ sub: 'a', nbf: NOW }, SECRET);
    expect(refusal(future, NOW - 30)).toBeUndefined();
    expect(refusal(future, NOW - 31)).toBe('The token is not valid yet.');
    expect(refusal(signJwt({ sub: 'a', exp: String(NOW + 60) }, SECRET))).toBe('The token has expired.');
    expect(refusal(signJwt({ sub: 'a', nbf: 'soon' }, SECRET))).toBe('The token is not valid yet.');
  });

  it('requires a subject that can name a user', () => {
    expect(refusal(signJwt({}, SECRET))).toBe('The token has no subject (sub) naming the user.');
    expect(refusal(signJwt({ sub: '' }, SECRET))).toBe('The token has no subject (sub) naming the user.');
    expect(refusal(signJwt({ sub: 42 }, SECRET))).toMatch(/^The token's subject \(sub\) cannot name a user: it is missing or empty\.$/);
    expect(refusal(signJwt({ sub: 'a\u0000b' }, SECRET))).toMatch(/control characters/);
    expect(refusal(signJwt({ sub: 'x'.repeat(201) }, SECRET))).toMatch(/longer than 200 characters/);
    expect(refusal(signJwt({ sub: '\uD800' }, SECRET))).toMatch(/lone surrogate/);
    expect(refusal(signJwt({ sub: '😀'.repeat(200) }, SECRET))).toBeUndefined();
  });
});
