/** Bad input on every route: the documented status and error shape, never a 500, nothing stored. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningServer } from '../../src/http/server.js';
import { startTestServer } from '../support/test-service.js';

describe('API errors', () => {
  let server: RunningServer;
  let sessionId: string;
  const request = (path: string, init?: RequestInit) => server.app.request(path, init);
  const expectError = async (response: Response, status: number, code: string) => {
    expect(response.status).toBe(status);
    const body = await response.json();
    expect(body).toEqual({ error: { code, message: expect.any(String), requestId: expect.any(String) } });
    expect(body.error.requestId).toBe(response.headers.get('x-request-id'));
    expect(body.error.message).not.toMatch(/\n\s+at |node_modules|\.ts:\d+/);
    return body.error as { code: string; message: string };
  };
  const post = (path: string, body: BodyInit, headers: Record<string, string> = { 'content-type': 'application/json' }) =>
    request(path, { method: 'POST', headers, body });
  const storedMessages = async () => (await (await request(`/api/chat/sessions/${sessionId}`)).json()).messages.length as number;

  beforeAll(async () => {
    server = await startTestServer({ dataDir: 'memory://', limits: { maxMessageChars: 1000 } });
    sessionId = (await (await request('/api/chat/sessions', { method: 'POST' })).json()).sessionId;
  });
  afterAll(async () => server?.close());

  it('refuses stream bodies that are not JSON, of the wrong types, empty, or with unknown fields (400), or not sent as JSON (415)', async () => {
    const path = `/api/chat/sessions/${sessionId}/stream`;
    await expectError(await post(path, '{not json'), 400, 'invalid_request');
    await expectError(await post(path, ''), 400, 'invalid_request');
    await expectError(await post(path, JSON.stringify({ message: 42 })), 400, 'invalid_request');
    await expectError(await post(path, JSON.stringify({ message: ['a'] })), 400, 'invalid_request');
    await expectError(await post(path, JSON.stringify([])), 400, 'invalid_request');
    await expectError(await post(path, JSON.stringify(null)), 400, 'invalid_request');
    await expectError(await post(path, JSON.stringify({ message: 'hi', extra: true })), 400, 'invalid_request');
    await expectError(await post(path, JSON.stringify({ message: '' })), 400, 'invalid_request');
    await expectError(await post(path, JSON.stringify({ message: '  ' })), 400, 'invalid_request');
    await expectError(await post(path, JSON.stringify({ messages: [] })), 400, 'invalid_request');
    await expectError(
      await post(path, JSON.stringify({ messages: [{ role: 'assistant', parts: [{ type: 'text', text: 'x' }] }] })),
      400,
      'invalid_request',
    );
    await expectError(await post(path, new Uint8Array([0x7b, 0x22, 0xff, 0xfe, 0x22, 0x7d])), 400, 'invalid_request');
    await expectError(
      await post(path, 'message=hi', { 'content-type': 'application/x-www-form-urlencoded' }),
      415,
      'unsupported_media_type',
    );
    await expectError(await post(path, JSON.stringify({ message: 'hi' }), { 'content-type': 'text/plain' }), 415, 'unsupported_media_type');
    expect(await storedMessages()).toBe(0);
  });

  it('refuses an oversize message (413) and an oversize body before reading it whole', async () => {
    const path = `/api/chat/sessions/${sessionId}/stream`;
    const error = await expectError(await post(path, JSON.stringify({ message: 'x'.repeat(1001) })), 413, 'payload_too_large');
    expect(error.message).toMatch(/1,001 characters.*1,000/);
    await expectError(await post(path, JSON.stringify({ message: 'x'.repeat(5_000_000) })), 413, 'payload_too_large');
    expect(await storedMessages()).toBe(0);
  });

  it('refuses an oversize body over a real connection, whether its length is declared or it is streamed', async () => {
    const url = `${server.url}/api/chat/sessions/${sessionId}/stream`;
    // Read whole, this body would be refused as 400 (an unknown field); the limit must refuse it first.
    const huge = JSON.stringify({ message: 'hi', padding: 'x'.repeat(2_000_000) });
    // fetch declares the length of a string body: refused from the header alone.
    await expectError(
      await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: huge }),
      413,
      'payload_too_large',
    );
    // A streamed body has no declared length: refused once it passes the limit.
    const streamed = new ReadableStream<Uint8Array>({
      start(controller) {
        controller.enqueue(new TextEncoder().encode(huge));
        controller.close();
      },
    });
    const response = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: streamed,
      duplex: 'half',
    } as RequestInit);
    await expectError(response, 413, 'payload_too_large');
    expect(await storedMessages()).toBe(0);
  });

  it('answers 404 for unknown sessions and ids of the wrong shape, 400 for bad queries', async () => {
    const unknown = '3f2b8f9e-1111-4222-8333-444455556666';
    await expectError(await request(`/api/chat/sessions/${unknown}`), 404, 'not_found');
    await expectError(await request(`/api/chat/sessions/${unknown}`, { method: 'DELETE' }), 404, 'not_found');
    await expectError(await post(`/api/chat/sessions/${unknown}/stream`, JSON.stringify({ message: 'hi' })), 404, 'not_found');
    await expectError(await request(`/api/chat/sessions/${unknown}/stream`), 404, 'not_found');
    await expectError(await post(`/api/chat/sessions/${unknown}/stop`, ''), 404, 'not_found');
    await expectError(await request(`/api/chat/sessions/not-a-uuid`), 400, 'invalid_request');
    await expectError(await request(`/api/chat/sessions/'%20OR%201=1--`), 400, 'invalid_request');
    await expectError(await request('/api/chat/sessions?limit=0'), 400, 'invalid_request');
    await expectError(await request('/api/chat/sessions?limit=abc'), 400, 'invalid_request');
    await expectError(await request('/api/chat/sessions?cursor=garbage'), 400, 'invalid_request');
    await expectError(await request('/api/store/agents?limit=1000'), 400, 'invalid_request');
    await expectError(await request('/api/nope'), 404, 'not_found');
  });

  it('treats SQL and prompt-injection strings as plain text', async () => {
    const response = await request(`/api/store/agents?q=${encodeURIComponent("'; drop table agents; --")}`);
    expect(response.status).toBe(200);
    const store = await (await request('/api/store/agents?q=money')).json();
    expect(store.agents.length).toBeGreaterThan(0);
  });

  it('answers 204 to resume when no run is active, and stop reports nothing stopped', async () => {
    expect((await request(`/api/chat/sessions/${sessionId}/stream`)).status).toBe(204);
    const stop = await post(`/api/chat/sessions/${sessionId}/stop`, '');
    expect(stop.status).toBe(200);
    expect(await stop.json()).toEqual({ stopped: false });
  });

  it('refuses library entries for unknown slugs and bad bodies', async () => {
    await expectError(await post('/api/library', JSON.stringify({ slug: 'no-such-agent' })), 404, 'not_found');
    await expectError(await post('/api/library', JSON.stringify({})), 400, 'invalid_request');
    await expectError(await request('/api/library/no-such-agent', { method: 'DELETE' }), 404, 'not_found');
  });
});
