/** Health, readiness, metrics, OpenAPI, request ids and security headers. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningServer } from '../../src/http/server.js';
import { ensureWebBuilt } from '../browser/browser.js';
import { startTestServer } from '../support/test-service.js';
import { readSse } from '../support/ui-stream.js';

describe('operations', () => {
  let server: RunningServer;
  beforeAll(async () => {
    // The CSP is checked on the real page: built here (if missing or stale) rather than skipped.
    await ensureWebBuilt();
    server = await startTestServer({ dataDir: 'memory://' });
  }, 180_000);
  afterAll(async () => server?.close());

  it('is alive and ready', async () => {
    expect(await (await server.app.request('/healthz')).json()).toEqual({ status: 'ok' });
    const ready = await server.app.request('/readyz');
    expect(ready.status).toBe(200);
    expect(await ready.json()).toMatchObject({ status: 'ready', checks: { database: true } });
  });

  it('gives every response a request id, echoing a sane incoming one', async () => {
    const own = await server.app.request('/healthz', { headers: { 'x-request-id': 'req-123' } });
    expect(own.headers.get('x-request-id')).toBe('req-123');
    const hostile = await server.app.request('/healthz', { headers: { 'x-request-id': 'x'.repeat(500) } });
    expect(hostile.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
    expect((await server.app.request('/nope')).headers.get('x-request-id')).toBeTruthy();
  });

  it('sets security headers, and a strict CSP on the web UI', async () => {
    const response = await server.app.request('/healthz');
    expect(response.headers.get('x-content-type-options')).toBe('nosniff');
    expect(response.headers.get('access-control-allow-origin')).toBeNull();
    const page = await server.app.request('/');
    expect(page.status).toBe(200);
    expect(page.headers.get('content-security-policy')).toContain("script-src 'self'");
  });

  it('exports Prometheus metrics for requests, streams, runs, time to first token and tokens', async () => {
    const session = await (await server.app.request('/api/chat/sessions', { method: 'POST' })).json();
    await readSse(
      await fetch(`${server.url}/api/chat/sessions/${session.sessionId}/stream`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: '{"message":"Hello"}',
      }),
    );
    const text = await (await server.app.request('/metrics')).text();
    for (const name of [
      'autochat_http_requests_total',
      'autochat_http_request_duration_seconds',
      'autochat_active_streams',
      'autochat_time_to_first_token_seconds_count',
      'autochat_runs_total{outcome="finished"}',
      'autochat_tokens_total',
      'autochat_upstream_errors_total',
    ]) {
      expect(text).toContain(name);
    }
    expect(text).toMatch(/autochat_http_requests_total\{method="POST",route="\/api\/chat\/sessions",status="201"\} \d+/);
  });

  it('documents every route in OpenAPI 3.1', async () => {
    const document = await (await server.app.request('/openapi.json')).json();
    expect(document.openapi).toBe('3.1.0');
    const documented = Object.entries(document.paths as Record<string, Record<string, unknown>>).flatMap(([path, methods]) =>
      Object.keys(methods).map((method) => `${method.toUpperCase()} ${path}`),
    );
    for (const route of [
      'POST /api/chat/sessions',
      'GET /api/chat/sessions',
      'GET /api/chat/sessions/{id}',
      'DELETE /api/chat/sessions/{id}',
      'POST /api/chat/sessions/{id}/stream',
      'GET /api/chat/sessions/{id}/stream',
      'POST /api/chat/sessions/{id}/stop',
      'GET /api/usage',
      'GET /api/store/agents',
      'GET /api/library',
      'POST /api/library',
      'DELETE /api/library/{slug}',
      'GET /api/me/export',
      'DELETE /api/me',
      'GET /healthz',
      'GET /readyz',
      'GET /metrics',
      'GET /openapi.json',
      'GET /',
    ]) {
      expect(documented).toContain(route);
    }
    const streamBody = document.paths['/api/chat/sessions/{id}/stream'].post.requestBody.content['application/json'].schema;
    expect(JSON.stringify(streamBody)).toContain('message');
  });
});

describe('CORS', () => {
  it('is closed by default and opened only to the configured origins', async () => {
    const server = await startTestServer({ dataDir: 'memory://', corsOrigins: ['https://app.example'] });
    try {
      const preflight = (origin: string) =>
        server.app.request('/api/chat/sessions', { method: 'OPTIONS', headers: { origin, 'access-control-request-method': 'POST' } });
      expect((await preflight('https://app.example')).headers.get('access-control-allow-origin')).toBe('https://app.example');
      expect((await preflight('https://evil.example')).headers.get('access-control-allow-origin')).toBeNull();
      const simple = await server.app.request('/api/usage', { headers: { origin: 'https://app.example' } });
      expect(simple.headers.get('access-control-allow-origin')).toBe('https://app.example');
    } finally {
      await server.close();
    }
  });
});

describe('shutdown', () => {
  it('reports not ready and refuses new runs while running answers drain', async () => {
    const server = await startTestServer({ dataDir: 'memory://', demoDelayMs: 30 });
    const session = await server.chat.createChatSession('local');
    const run = await server.chat.startRun(session.sessionId, 'Hello', { userId: 'local' });
    const closing = server.chat.close(10_000);
    const ready = await server.app.request('/readyz');
    expect(ready.status).toBe(503);
    expect((await ready.json()).checks.accepting).toBe(false);
    const refused = await server.app.request(`/api/chat/sessions/${session.sessionId}/stream`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{"message":"more"}',
    });
    expect(refused.status).toBe(503);
    expect((await refused.json()).error.code).toBe('upstream_unavailable');
    expect(refused.headers.get('retry-after')).toBeTruthy();
    expect(await server.chat.waitForRun(run.runId)).toBe('finished');
    await closing;
    await server.close();
  });
});
