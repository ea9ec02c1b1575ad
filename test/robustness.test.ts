/**
 * Abuse and load against a running server: property-based bodies, ids and queries get only
 * documented statuses (never a 500) and the server stays healthy; hostile strings (NUL, lone
 * surrogates, overlong and malformed percent-encodings, huge numbers) in every path segment, query
 * parameter, JSON field and token claim, on PGlite and PostgreSQL, never get a 5xx; then a bounded
 * load of 200 concurrent streams, some clients dropping and some upstream faults, after which every
 * started run has ended with its answer stored and nothing is left running or open.
 */
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signJwt } from '../src/http/middleware/jwt.js';
import type { RunningServer } from '../src/http/server.js';
import { createMcpEndpoint } from '../src/mcp/mcp-http-endpoint.js';
import { databaseTargets } from './support/databases.js';
import { startFakeUpstream, say, type FakeUpstream, type Script } from './support/fake-upstream.js';
import { startTestServer, upstreamOptions } from './support/test-service.js';
import { readSse } from './support/ui-stream.js';

const DOCUMENTED = new Set([200, 201, 204, 400, 401, 403, 404, 405, 406, 408, 409, 413, 415, 429, 503]);

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
      fc.record(
        { message: fc.oneof(fc.string({ maxLength: 3000 }), fc.integer(), fc.constant(null), fc.array(fc.string())) },
        { requiredKeys: [] },
      ),
      fc.record({
        messages: fc.array(
          fc.record({
            role: fc.constantFrom('user', 'assistant', 'x'),
            parts: fc.array(fc.record({ type: fc.string(), text: fc.string() })),
          }),
        ),
      }),
      fc.uint8Array({ maxLength: 200 }).map((bytes) => Buffer.from(bytes).toString('latin1')),
    );
    await fc.assert(
      fc.asyncProperty(body, async (payload) => {
        const text = typeof payload === 'string' ? payload : JSON.stringify(payload);
        const response = await server.app.request(`/api/chat/sessions/${sessionId}/stream`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: text,
        });
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
    const segment = fc.oneof(
      fc.uuid(),
      fc.string({ maxLength: 60 }),
      fc.constantFrom("' OR 1=1 --", '../../etc/passwd', '%00', '%ff%fe', 'ñ', '😀'),
    );
    await fc.assert(
      fc.asyncProperty(segment, fc.constantFrom('GET', 'DELETE', 'POST'), fc.string({ maxLength: 80 }), async (id, method, query) => {
        const encoded = encodeURIComponent(id);
        for (const path of [
          `/api/chat/sessions/${encoded}`,
          `/api/chat/sessions/${encoded}/stop`,
          `/api/store/agents?q=${encodeURIComponent(query)}&limit=${encodeURIComponent(query)}`,
          `/api/chat/sessions?cursor=${encodeURIComponent(query)}`,
          `/api/library/${encoded}`,
        ]) {
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

/** Strings an attacker would try: NUL, lone surrogates, odd Unicode, percent signs, traversal, huge numbers. */
const HUGE_NUMBERS = [
  '2147483648',
  '-2147483649',
  '9007199254740993',
  '1e308',
  '1e400',
  '-0',
  'NaN',
  'Infinity',
  '0x7fffffff',
  '99999999999999999999999',
];
const NASTY = [
  '\u0000',
  'a\u0000b',
  '\uD800',
  'x\uDFFFy',
  '\uDC00\uD800',
  '\uFFFF',
  '\uFEFF',
  '\u202E',
  '\u0007',
  '\r\n',
  '%',
  '%%',
  '%00',
  '%c0%ae',
  '%e0%80%ae',
  '%ed%a0%80',
  '%ff%fe',
  '../',
  '..%2f',
  "' OR 1=1 --",
  '😀',
  '',
  '99999-01-01',
  '+275760-09-13T00:00:00.000Z',
  '0000-01-01T00:00:00.000Z',
];
const nasty = fc.constantFrom(...NASTY);
const hostileText = fc.oneof(
  { arbitrary: nasty, weight: 3 },
  // The same, inside ordinary text.
  {
    arbitrary: fc.tuple(fc.string({ maxLength: 6 }), nasty, fc.string({ unit: 'binary', maxLength: 6 })).map((parts) => parts.join('')),
    weight: 3,
  },
  { arbitrary: fc.string({ unit: 'binary', maxLength: 40 }), weight: 2 },
  { arbitrary: fc.string({ unit: 'grapheme', maxLength: 20 }), weight: 1 },
  { arbitrary: fc.constantFrom(...HUGE_NUMBERS), weight: 1 },
);
const hostileJson = fc.oneof(
  hostileText,
  fc.constantFrom(2 ** 31, 2 ** 53 + 2, 1e308, -1e308, Number.MIN_VALUE, -0, 0.5, null, true),
  fc.array(hostileText, { maxLength: 3 }),
);

/**
 * A path segment or query value as raw percent-encoded bytes: proper UTF-8 where the text has it, the
 * 3-byte (CESU) form for a lone surrogate — not UTF-8 at all — or arbitrary bytes, including the
 * overlong forms of "." and "/".
 */
function percentEncoded(text: string): string {
  return [...text]
    .map((char) => {
      const code = char.codePointAt(0)!;
      if (code >= 0xd800 && code <= 0xdfff)
        return [
          '%ED',
          `%${(0x80 | ((code >> 6) & 0x3f)).toString(16).toUpperCase()}`,
          `%${(0x80 | (code & 0x3f)).toString(16).toUpperCase()}`,
        ].join('');
      return encodeURIComponent(char);
    })
    .join('');
}
const rawBytes = fc
  .uint8Array({ maxLength: 8 })
  .map((bytes) => [...bytes].map((byte) => `%${byte.toString(16).padStart(2, '0')}`).join(''));
const hostileSegment = fc.oneof(
  hostileText.map(percentEncoded),
  rawBytes,
  fc.constantFrom('%', '%z', '%%41', '%c0%ae%c0%ae', '%2e%2e', '%252e', 'a%00b'),
);

describe.each(databaseTargets)('hostile input on $name', (target) => {
  const SECRET = 'fuzz-secret';
  let database: Awaited<ReturnType<typeof target.create>>;
  let server: RunningServer;
  let sessionId: string;
  const bearer = (claims: Record<string, unknown>) => ({ authorization: `Bearer ${signJwt(claims, SECRET)}` });
  const alice = () => bearer({ sub: 'alice', exp: Math.floor(Date.now() / 1000) + 600 });

  beforeAll(async () => {
    database = await target.create();
    server = await startTestServer({
      databaseUrl: database.databaseUrl,
      dataDir: database.dataDir,
      authJwtSecret: SECRET,
      mcp: createMcpEndpoint,
      limits: { maxMessageChars: 2000 },
    });
    sessionId = (await (await fetch(`${server.url}/api/chat/sessions`, { method: 'POST', headers: alice() })).json()).sessionId;
  });
  afterAll(async () => {
    await server?.close();
    await database?.drop();
  });

  /** Never a 5xx; a documented status; for an error, the one error shape (or, from /mcp, a JSON-RPC error). */
  const expectHandled = async (response: Response, what: string) => {
    expect(response.status, what).toBeLessThan(500);
    expect(DOCUMENTED.has(response.status), `${what}: status ${response.status}`).toBe(true);
    if (response.status === 200 && response.headers.get('content-type')?.startsWith('text/event-stream')) {
      await readSse(response); // a message that was valid: let its answer finish so the next one is not a 409
      return;
    }
    if (response.status < 400) {
      await response.body?.cancel();
      return;
    }
    const body = (await response.json()) as { error?: { code?: unknown; message?: unknown; requestId?: unknown }; jsonrpc?: unknown };
    if (body.jsonrpc === '2.0' && what.includes('/mcp')) return;
    expect(body.error, what).toEqual({
      code: expect.any(String),
      message: expect.any(String),
      requestId: response.headers.get('x-request-id'),
    });
    // biome-ignore lint/suspicious/noControlCharactersInRegex: a NUL echoed back is what this looks for
    expect(String(body.error!.message), what).not.toMatch(/\u0000|\n\s+at |node_modules|\.ts:\d+|SQL|syntax|violates/);
  };
  const call = async (method: string, path: string, init: { headers?: Record<string, string>; body?: unknown } = {}) => {
    const response = await fetch(`${server.url}${path}`, {
      method,
      headers: { ...alice(), ...(init.body !== undefined ? { 'content-type': 'application/json' } : {}), ...init.headers },
      body: init.body === undefined ? undefined : JSON.stringify(init.body),
    });
    await expectHandled(response, `${method} ${path} ${init.body === undefined ? '' : JSON.stringify(init.body).slice(0, 200)}`);
  };

  it('never answers 5xx to hostile path segments and query parameters', async () => {
    await fc.assert(
      fc.asyncProperty(hostileSegment, hostileSegment, async (segment, value) => {
        await call('GET', `/api/chat/sessions/${segment}`);
        await call('DELETE', `/api/chat/sessions/${segment}`);
        await call('GET', `/api/chat/sessions/${segment}/stream`);
        await call('POST', `/api/chat/sessions/${segment}/stop`);
        await call('DELETE', `/api/library/${segment}`);
        await call('GET', `/assets/${segment}`);
        await call('GET', `/assets/${segment}/${value}`);
        await call('GET', `/api/store/agents?q=${value}&limit=${segment}`);
        await call('GET', `/api/chat/sessions?limit=${value}&cursor=${segment}`);
      }),
      { numRuns: 40 },
    );
  });

  it('never answers 5xx to hostile JSON fields, cursors and MCP calls', async () => {
    await fc.assert(
      fc.asyncProperty(hostileJson, hostileJson, async (value, other) => {
        for (const forged of [
          { updatedAt: value, id: other },
          { updatedAt: value, id: '3f2b8f9e-1111-4222-8333-444455556666' },
        ]) {
          await call('GET', `/api/chat/sessions?cursor=${Buffer.from(JSON.stringify(forged)).toString('base64url')}`);
        }
        await call('POST', '/api/library', { body: { slug: value } });
        await call('POST', '/api/chat/sessions', { body: { title: value } });
        await call('POST', `/api/chat/sessions/${sessionId}/stream`, { body: { message: value, messageId: other } });
        await call('POST', `/api/chat/sessions/${sessionId}/stream`, {
          body: { id: other, messages: [{ id: value, role: 'user', parts: [{ type: 'text', text: value }] }], trigger: 'submit-message' },
        });
        const mcpHeaders = { accept: 'application/json, text/event-stream' };
        for (const [name, args] of [
          ['find_agent', { query: value }],
          ['get_agent_details', { slug: value }],
          ['add_agent_to_library', { slug: other }],
          ['find_library_agent', { query: other }],
          [value, {}],
        ] as const) {
          await call('POST', '/mcp', {
            headers: mcpHeaders,
            body: { jsonrpc: '2.0', id: other, method: 'tools/call', params: { name, arguments: args } },
          });
        }
      }),
      { numRuns: 40 },
    );
  });

  it('never answers 5xx to hostile token claims (sub, exp, nbf)', async () => {
    const claim = fc.oneof(hostileJson, fc.constantFrom(...HUGE_NUMBERS.map(Number)));
    await fc.assert(
      fc.asyncProperty(hostileJson, claim, claim, async (sub, exp, nbf) => {
        const later = Math.floor(Date.now() / 1000) + 600;
        for (const claims of [{ sub }, { sub, exp: later }, { sub: 'alice', exp }, { sub: 'alice', nbf }, { sub, exp, nbf }]) {
          await call('POST', '/api/chat/sessions', { headers: bearer(claims) });
          await call('GET', '/api/chat/sessions', { headers: bearer(claims) });
          await call('POST', '/mcp', {
            headers: { ...bearer(claims), accept: 'application/json, text/event-stream' },
            body: { jsonrpc: '2.0', id: 1, method: 'tools/list' },
          });
        }
      }),
      { numRuns: 40 },
    );
  });

  it('still answers normally afterwards', async () => {
    expect((await fetch(`${server.url}/healthz`)).status).toBe(200);
    expect((await fetch(`${server.url}/readyz`)).status).toBe(200);
    const created = await fetch(`${server.url}/api/chat/sessions`, { method: 'POST', headers: alice() });
    expect(created.status).toBe(201);
    const stream = await fetch(`${server.url}/api/chat/sessions/${(await created.json()).sessionId}/stream`, {
      method: 'POST',
      headers: { ...alice(), 'content-type': 'application/json' },
      body: JSON.stringify({ message: 'Hello' }),
    });
    expect(stream.status).toBe(200);
    expect((await readSse(stream)).endedWithDone).toBe(true);
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
      // An answer that began is charged; a call the provider refused (500) before answering costs nothing.
      if (session!.messages.length > 1) expect(session!.usage.length).toBeGreaterThan(0);
      else expect(session!.usage.filter((entry) => entry.kind === 'chat')).toEqual([]);
    }
    expect(outcomes.finished).toBeGreaterThan(100);
    expect(outcomes.failed).toBeGreaterThan(10);
    expect(Object.keys(outcomes).sort()).toEqual(['failed', 'finished']);
    const metrics = await (await server.app.request('/metrics')).text();
    await expect
      .poll(async () => (await (await server.app.request('/metrics')).text()).match(/^autochat_active_streams (\d+)/m)?.[1], {
        timeout: 10_000,
      })
      .toBe('0');
    expect(metrics).toMatch(/autochat_active_runs 0/);
    expect((await fetch(`${server.url}/healthz`)).status).toBe(200);
  });
});
