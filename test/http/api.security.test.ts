/**
 * Who may ask what: bearer JWTs (HS256 only, signature, expiry), single-user mode only on loopback,
 * and another user's session is 404 on every route.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signJwt } from '../../src/http/middleware/jwt.js';
import type { RunningServer } from '../../src/http/server.js';
import { startTestServer } from '../support/test-service.js';

const SECRET = 'test-secret-which-is-long-enough';
const token = (sub: string, claims: Record<string, unknown> = {}) =>
  signJwt({ sub, exp: Math.floor(Date.now() / 1000) + 600, ...claims }, SECRET);

describe('auth and isolation', () => {
  let server: RunningServer;
  const as = (user: string | null, path: string, init: RequestInit = {}) =>
    server.app.request(path, {
      ...init,
      headers: { 'content-type': 'application/json', ...(user ? { authorization: `Bearer ${token(user)}` } : {}), ...init.headers },
    });

  beforeAll(async () => {
    server = await startTestServer({ dataDir: 'memory://', authJwtSecret: SECRET });
  });
  afterAll(async () => server?.close());

  const expect401 = async (response: Response) => {
    expect(response.status).toBe(401);
    expect((await response.json()).error.code).toBe('unauthorized');
  };

  it('refuses requests with no token, a bad signature, an expired token, alg none or another algorithm', async () => {
    await expect401(await server.app.request('/api/chat/sessions'));
    await expect401(await server.app.request('/api/chat/sessions', { headers: { authorization: 'Bearer nonsense' } }));
    await expect401(
      await server.app.request('/api/chat/sessions', { headers: { authorization: `Bearer ${signJwt({ sub: 'alice' }, 'wrong-secret')}` } }),
    );
    await expect401(
      await server.app.request('/api/chat/sessions', {
        headers: { authorization: `Bearer ${token('alice', { exp: Math.floor(Date.now() / 1000) - 3600 })}` },
      }),
    );
    const none = `${Buffer.from(JSON.stringify({ alg: 'none', typ: 'JWT' })).toString('base64url')}.${Buffer.from(JSON.stringify({ sub: 'alice' })).toString('base64url')}.`;
    await expect401(await server.app.request('/api/chat/sessions', { headers: { authorization: `Bearer ${none}` } }));
    const hs512 = signJwt({ sub: 'alice' }, SECRET, { alg: 'HS512', typ: 'JWT' });
    await expect401(await server.app.request('/api/chat/sessions', { headers: { authorization: `Bearer ${hs512}` } }));
    await expect401(
      await server.app.request('/api/chat/sessions', { headers: { authorization: `Bearer ${signJwt({ exp: 9999999999 }, SECRET)}` } }),
    );
    await expect401(
      await server.app.request('/api/usage', { headers: { authorization: `Basic ${Buffer.from('a:b').toString('base64')}` } }),
    );
  });

  it('refuses a sub that is not well-formed Unicode, has control characters or is too long (401, a sentence), so two ids never collide', async () => {
    for (const sub of ['x\uD800y', 'x\uDFFF', 'a\u0000b', 'line\nbreak', 'bell\u0007', 'x'.repeat(201)]) {
      const response = await server.app.request('/api/chat/sessions', {
        method: 'POST',
        headers: { authorization: `Bearer ${token(sub)}` },
      });
      expect(response.status, JSON.stringify(sub)).toBe(401);
      const body = await response.json();
      expect(body.error.code).toBe('unauthorized');
      expect(body.error.message).toMatch(/subject \(sub\)/);
      expect(response.headers.get('www-authenticate')).toBe('Bearer realm="autochat", error="invalid_token"');
    }
    // Text that only looks odd is a user like any other, and stays apart from its look-alike.
    const replacement = await as('x\uFFFDy', '/api/chat/sessions', { method: 'POST' });
    expect(replacement.status).toBe(201);
    const id = (await replacement.json()).sessionId;
    expect((await as('x\uFFFDy', `/api/chat/sessions/${id}`)).status).toBe(200);
    expect((await as('😀'.repeat(200), '/api/chat/sessions', { method: 'POST' })).status).toBe(201);
  });

  it('says how to authenticate on every 401 (WWW-Authenticate: Bearer)', async () => {
    const missing = await server.app.request('/api/usage');
    expect(missing.status).toBe(401);
    expect(missing.headers.get('www-authenticate')).toBe('Bearer realm="autochat"');
    const invalid = await server.app.request('/api/usage', {
      headers: { authorization: `Bearer ${signJwt({ sub: 'alice' }, 'wrong-secret')}` },
    });
    expect(invalid.status).toBe(401);
    expect(invalid.headers.get('www-authenticate')).toBe('Bearer realm="autochat", error="invalid_token"');
    expect((await as('alice', '/api/usage')).headers.get('www-authenticate')).toBeNull();
  });

  it('hides every session route of one user from another (404), and leaves their data untouched', async () => {
    const session = await (await as('alice', '/api/chat/sessions', { method: 'POST' })).json();
    const id = session.sessionId;
    expect((await as('mallory', `/api/chat/sessions/${id}`)).status).toBe(404);
    expect(
      (await as('mallory', `/api/chat/sessions/${id}/stream`, { method: 'POST', body: JSON.stringify({ message: 'hi' }) })).status,
    ).toBe(404);
    expect((await as('mallory', `/api/chat/sessions/${id}/stream`)).status).toBe(404);
    expect((await as('mallory', `/api/chat/sessions/${id}/stop`, { method: 'POST' })).status).toBe(404);
    expect((await as('mallory', `/api/chat/sessions/${id}`, { method: 'DELETE' })).status).toBe(404);
    const list = await (await as('mallory', '/api/chat/sessions')).json();
    expect(list.sessions.map((s: { sessionId: string }) => s.sessionId)).not.toContain(id);
    const exported = await (await as('mallory', '/api/me/export')).json();
    expect(JSON.stringify(exported)).not.toContain(id);
    expect((await as('mallory', '/api/me', { method: 'DELETE' })).status).toBe(204);
    expect((await as('alice', `/api/chat/sessions/${id}`)).status).toBe(200);
  });

  it('keeps each user’s library and usage to themselves', async () => {
    expect((await as('alice', '/api/library', { method: 'POST', body: JSON.stringify({ slug: 'money-printing-agent' }) })).status).toBe(
      201,
    );
    expect((await (await as('bob', '/api/library')).json()).agents).toEqual([]);
    expect((await (await as('alice', '/api/library')).json()).agents.map((a: { slug: string }) => a.slug)).toEqual([
      'money-printing-agent',
    ]);
  });

  it('leaves health, readiness and the OpenAPI document open', async () => {
    expect((await server.app.request('/healthz')).status).toBe(200);
    expect((await server.app.request('/readyz')).status).toBe(200);
    expect((await server.app.request('/openapi.json')).status).toBe(200);
  });
});

describe('single-user local mode', () => {
  it('refuses to start on a non-loopback host without a secret', async () => {
    await expect(startTestServer({ dataDir: 'memory://', host: '0.0.0.0' })).rejects.toThrow(/AUTH_JWT_SECRET/);
  });
});
