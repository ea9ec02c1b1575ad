/**
 * Abuse and load against a running server: property-based bodies, ids and queries get only
 * documented statuses (never a 500) and the server stays healthy; then a bounded load of 200
 * concurrent streams, some clients dropping and some upstream faults, after which every started run
 * has ended with its answer stored and nothing is left running or open.
 */
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningServer } from '../src/http/server.js';
import { startFakeUpstream, say, type FakeUpstream, type Script } from './support/fake-upstream.js';
import { startTestServer, upstreamOptions } from './support/test-service.js';
import { readSse } from './support/ui-stream.js';

const DOCUMENTED = new Set([200, 201, 204, 400, 401, 404, 409, 413, 429, 503]);

describe('property-based requests', () => {
  let server: RunningServer;
  let sessionId: string;
  beforeAll(async () => {
    server = await startTestServer({ dataDir: 'memory://', limits: { maxMessageChars: 2000 } });
    sessionId = (await (await server.app.request('/api/chat/sessions', { method: 'POST' })).json()).sessionId;
  });
  afterAll(async () => server?.close());

  const expectDocumented = async (response: Response) => {
    expect(DOCUMENTED.has(response.status), `status ${response.status}`).toBe(true);
    if (response.status >= 400) {
      const body = await response.json();
      expect(body.error).toMatchObject({ code: expect.any(String), message: expect.any(String), requestId: expect.any(String) });
    } else {
      await response.body?.cancel();
    }
  };

  it('answers arbitrary stream bodies with documented statuses', async () => {
    const body = fc.oneof(
      fc.string(),
      fc.json(),
      fc.record({ message: fc.oneof(fc.string({ maxLength: 3000 }), fc.integer(), fc.constant(null), fc.array(fc.string())) }, { requiredKeys: [] }),
      fc.record({ messages: fc.array(fc.record({ role: fc.constantFrom('user', 'assistant', 'x'), parts: fc.array(fc.record({ type: fc.string(), text: fc.string() })) })) }),
      fc.uint8Array({ maxLength: 200 }).map((bytes) => Buffer.from(bytes).toString('latin1')),
    );
    await fc.assert(
      fc.asyncProperty(body, async (payload) => {
        const text = typeof payload === 'string' ? payload : JSON.stringify(payload);
        const response = await server.app.request(`/api/chat/sessions/${sessionId}/stream`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: text });
        if (response.status === 200) {
          await readSse(response); // a valid message: let it finish so the next one is not a 409
          return;
        }
        await expectDocumented(response);
      }),
      { numRuns: 60 },
    );
  });

  it('answers arbitrary ids, paths and queries with documented statuses', async () => {
    const segment = fc.oneof(fc.uuid(), fc.string({ maxLength: 60 }), fc.constantFrom("' OR 1=1 --", '../../etc/passwd', '%00', '%ff%fe', 'ñ', '😀'));
    await fc.assert(
      fc.asyncProperty(segment, fc.constantFrom('GET', 'DELETE', 'POST'), fc.string({ maxLength: 80 }), async (id, method, query) => {
        const encoded = encodeURIComponent(id);
        for (const path of [`/api/chat/sessions/${encoded}`, `/api/chat/sessions/${encoded}/stop`, `/api/store/agents?q=${encodeURIComponent(query)}&limit=${encodeURIComponent(query)}`, `/api/chat/sessions?cursor=${encodeURIComponent(query)}`, `/api/library/${encoded}`]) {
          const response = await server.app.request(path, { method });
          if (response.status === 404 && method === 'POST' && !path.endsWith('/stop')) continue; // unrouted method
          await expectDocumented(response);
        }
      }),
      { numRuns: 60 },
    );
    expect((await server.app.request('/healthz')).status).toBe(200);
    expect((await server.app.request('/readyz')).status).toBe(200);
  });
});

describe('bounded load: 200 concurrent streams with drops and faults', () => {
  let upstream: FakeUpstream;
  let server: RunningServer;
  beforeAll(async () => {
    upstream = await startFakeUpstream();
    let count = 0;
    upstream.setDefault((request): Script => {
      if (request.body.stream !== true) return say('Title');
      count++;
      if (count % 10 === 0) return { status: 500 };
      if (count % 10 === 5) return { steps: [{ text: 'partial ' }, { text: 'answer ', delayMs: 20 }, { reset: true }] };
      return say('a steady answer in several words for the load test', 10);
    });
    server = await startTestServer(upstreamOptions(upstream.url, { dataDir: 'memory://' }));
  });
  afterAll(async () => {
    await server?.close();
    await upstream?.close();
  });

  it('ends every started run with its answer stored and leaves nothing running', async () => {
    const sessions: string[] = [];
    for (let index = 0; index < 200; index++) {
      sessions.push((await (await fetch(`${server.url}/api/chat/sessions`, { method: 'POST' })).json()).sessionId);
    }
    const started = Date.now();
    await Promise.all(
      sessions.map(async (sessionId, index) => {
        const controller = new AbortController();
        const response = await fetch(`${server.url}/api/chat/sessions/${sessionId}/stream`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ message: `load ${index}` }),
          signal: controller.signal,
        });
        expect(response.status).toBe(200);
        if (index % 7 === 0) {
          // A client that drops after the first bytes.
          await response.body!.getReader().read();
          controller.abort();
          return;
        }
        const stream = await readSse(response);
        expect(stream.endedWithDone).toBe(true);
        expect(stream.invalid).toEqual([]);
      }),
    );
    await expect.poll(() => server.chat.activeRunCount(), { timeout: 30_000 }).toBe(0);
    expect(Date.now() - started).toBeLessThan(120_000);

    const outcomes: Record<string, number> = {};
    for (const sessionId of sessions) {
      const session = await server.chat.getChatSession(sessionId);
      expect(session!.status).toBe('idle');
      expect(session!.messages[0]!.role).toBe('user');
      outcomes[session!.lastRunStatus ?? 'none'] = (outcomes[session!.lastRunStatus ?? 'none'] ?? 0) + 1;
      if (session!.lastRunStatus === 'finished') {
        expect(session!.messages[1]!.parts.some((part) => part.type === 'text' && part.text.length > 0)).toBe(true);
      }
      expect(session!.usage.length).toBeGreaterThan(0);
    }
    expect(outcomes.finished).toBeGreaterThan(100);
    expect(outcomes.failed).toBeGreaterThan(10);
    expect(Object.keys(outcomes).sort()).toEqual(['failed', 'finished']);
    const metrics = await (await server.app.request('/metrics')).text();
    await expect.poll(async () => (await (await server.app.request('/metrics')).text()).match(/^autochat_active_streams (\d+)/m)?.[1], { timeout: 10_000 }).toBe('0');
    expect(metrics).toMatch(/autochat_active_runs 0/);
    expect((await fetch(`${server.url}/healthz`)).status).toBe(200);
  });
});
