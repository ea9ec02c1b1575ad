/**
 * A backing service that does not answer is `503 unavailable` with `Retry-After` on every route that
 * needs it (never `500 internal`), `/readyz` names the service that is down, and everything works
 * again once it is back — against PostgreSQL and Redis servers this test kills and restarts.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningServer } from '../../src/http/server.js';
import { startTestServer } from '../support/test-service.js';
import { startThrowawayPostgres, type ThrowawayPostgres } from '../support/throwaway-postgres.js';
import { startThrowawayRedis, type ThrowawayRedis } from '../support/throwaway-redis.js';
import { waitUntil } from '../support/wait-until.js';

const json = { 'content-type': 'application/json' };

describe('backing services down', () => {
  let postgres: ThrowawayPostgres;
  let redis: ThrowawayRedis;
  let server: RunningServer;
  let sessionId: string;

  beforeAll(async () => {
    [postgres, redis] = await Promise.all([startThrowawayPostgres(), startThrowawayRedis()]);
    server = await startTestServer({
      databaseUrl: await postgres.createDatabase('unavailable'),
      redisUrl: redis.url,
      dataDir: 'memory://',
      limits: { requestsPerMinute: 1000 },
    });
    sessionId = (await (await server.app.request('/api/chat/sessions', { method: 'POST' })).json()).sessionId;
  });
  afterAll(async () => {
    await postgres?.start().catch(() => {});
    await redis?.start().catch(() => {});
    await server?.close();
    await redis?.destroy();
    await postgres?.destroy();
  });

  const expectUnavailable = async (response: Response, service: 'database' | 'Redis server', route: string) => {
    expect(response.status, route).toBe(503);
    expect(Number(response.headers.get('retry-after')), route).toBeGreaterThan(0);
    const body = await response.json();
    expect(body.error, route).toMatchObject({ code: 'unavailable', requestId: expect.any(String) });
    expect(body.error.message, route).toContain(service);
  };
  const ready = () => server.app.request('/readyz');

  it('PostgreSQL down: 503 unavailable with Retry-After on every API route, /readyz names the database', async () => {
    await postgres.kill();
    const routes: [string, string, string?][] = [
      ['POST', '/api/chat/sessions'],
      ['GET', '/api/chat/sessions'],
      ['GET', `/api/chat/sessions/${sessionId}`],
      ['DELETE', `/api/chat/sessions/${sessionId}`],
      ['POST', `/api/chat/sessions/${sessionId}/stream`, '{"message":"Hello"}'],
      ['GET', `/api/chat/sessions/${sessionId}/stream`],
      ['POST', `/api/chat/sessions/${sessionId}/stop`],
      ['GET', '/api/usage'],
      ['GET', '/api/store/agents?q=money'],
      ['GET', '/api/library'],
      ['POST', '/api/library', '{"slug":"money-printer"}'],
      ['DELETE', '/api/library/money-printer'],
      ['GET', '/api/me/export'],
      ['DELETE', '/api/me'],
    ];
    for (const [method, path, body] of routes) {
      await expectUnavailable(
        await server.app.request(path, { method, headers: body ? json : undefined, body }),
        'database',
        `${method} ${path}`,
      );
    }
    const readiness = await ready();
    expect(readiness.status).toBe(503);
    expect(await readiness.json()).toMatchObject({ status: 'unavailable', down: ['database'], checks: { database: false, redis: true } });
    expect((await server.app.request('/healthz')).status).toBe(200);

    await postgres.start();
    await waitUntil(async () => (await ready()).status === 200, 20_000);
    await waitUntil(async () => (await server.app.request(`/api/chat/sessions/${sessionId}`)).status === 200, 10_000);
    expect((await server.app.request('/api/usage')).status).toBe(200);
  });

  it('Redis down: 503 unavailable on the routes that need it, /readyz names Redis', async () => {
    await redis.kill();
    await expectUnavailable(
      await server.app.request(`/api/chat/sessions/${sessionId}/stream`, { method: 'POST', headers: json, body: '{"message":"Hello"}' }),
      'Redis server',
      'POST stream',
    );
    await expectUnavailable(await server.app.request('/api/me', { method: 'DELETE' }), 'Redis server', 'DELETE /api/me');
    // Nothing was claimed or erased by the refused requests.
    const session = await (await server.app.request(`/api/chat/sessions/${sessionId}`)).json();
    expect(session).toMatchObject({ status: 'idle', messages: [] });
    const readiness = await ready();
    expect(readiness.status).toBe(503);
    expect(await readiness.json()).toMatchObject({ status: 'unavailable', down: ['redis'], checks: { database: true, redis: false } });

    await redis.start();
    await waitUntil(async () => (await ready()).status === 200, 20_000);
    const response = await fetch(`${server.url}/api/chat/sessions/${sessionId}/stream`, {
      method: 'POST',
      headers: json,
      body: '{"message":"Hello"}',
    });
    expect(response.status).toBe(200);
    expect(await response.text()).toContain('"type":"finish"');
  });
});
