/**
 * The OpenAPI document tells the truth. Every operation it describes is called on real servers over
 * HTTP — embedded database and the offline demo model; JWT mode with tight limits for 401, 408 and
 * 429; a scripted upstream that holds an answer open for 409s and resumes; a PostgreSQL server this
 * test kills for 503 — on its happy path and for every error status it documents (all but 500, which
 * no correct request produces), and every response is checked against the document: its status is
 * documented for the operation, every documented header is there, and its body matches the schema of
 * its media type. Every route the server registers must be in the document.
 */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Hono } from 'hono';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { signJwt } from '../../src/http/middleware/jwt.js';
import type { OpenApiDocument } from '../../src/http/openapi-document.js';
import type { RunningServer } from '../../src/http/server.js';
import { createMcpEndpoint } from '../../src/mcp/mcp-http-endpoint.js';
import { callTool, say, startFakeUpstream, type FakeUpstream } from '../support/fake-upstream.js';
import { startTestServer, upstreamOptions } from '../support/test-service.js';
import { startThrowawayPostgres, type ThrowawayPostgres } from '../support/throwaway-postgres.js';
import { responseChecker, send, undocumentedRoutes, type Reply, type ResponseChecker } from './openapi-responses.js';

const SECRET = 'conformance-secret-long-enough-for-hs256';
const JSON_BODY = { 'content-type': 'application/json' };
const MCP_HEADERS = { ...JSON_BODY, accept: 'application/json, text/event-stream' };
const UNKNOWN = '3f2b8f9e-1111-4222-8333-444455556666';
const MAX_MESSAGE_CHARS = 1000;
/** Documented statuses that no correct request produces, with the reason they are not exercised. */
const NOT_PRODUCIBLE: Record<number, string> = { 500: 'internal: only a defect in the server produces it' };

const bearer = (user: string) => ({ authorization: `Bearer ${signJwt({ sub: user, exp: Math.floor(Date.now() / 1000) + 600 }, SECRET)}` });
const useChatBody = (id: string, text: string) => ({
  id,
  messages: [{ id: `u-${text.length}`, role: 'user', parts: [{ type: 'text', text }] }],
  trigger: 'submit-message',
});

type Sample = { path: string; body?: unknown; headers?: Record<string, string> };

/** A valid request of every operation, by `METHOD /template`: the one each status sweep below sends. */
function samples(session: string, execution = session): Record<string, Sample> {
  const feedback = `/api/chat/sessions/${session}/messages/answer-1/feedback`;
  return {
    'GET /healthz': { path: '/healthz' },
    'GET /readyz': { path: '/readyz' },
    'GET /metrics': { path: '/metrics' },
    'GET /openapi.json': { path: '/openapi.json' },
    'GET /api/info': { path: '/api/info' },
    'POST /api/chat/sessions': { path: '/api/chat/sessions' },
    'GET /api/chat/sessions': { path: '/api/chat/sessions?limit=5' },
    'GET /api/chat/sessions/{id}': { path: `/api/chat/sessions/${session}` },
    'DELETE /api/chat/sessions/{id}': { path: `/api/chat/sessions/${session}` },
    'POST /api/chat/sessions/{id}/stream': { path: `/api/chat/sessions/${session}/stream`, body: { message: 'Hello!' } },
    'GET /api/chat/sessions/{id}/stream': { path: `/api/chat/sessions/${session}/stream` },
    'POST /api/chat/sessions/{id}/stop': { path: `/api/chat/sessions/${session}/stop` },
    'PUT /api/chat/sessions/{id}/active-leaf': { path: `/api/chat/sessions/${session}/active-leaf`, body: { messageId: 'answer-1' } },
    'PUT /api/chat/sessions/{id}/messages/{messageId}/feedback': { path: feedback, body: { rating: 'up' } },
    'DELETE /api/chat/sessions/{id}/messages/{messageId}/feedback': { path: feedback },
    'GET /api/chat/sessions/{id}/export': { path: `/api/chat/sessions/${session}/export` },
    'POST /api/chat/sessions/{id}/approvals/{approvalId}': {
      path: `/api/chat/sessions/${session}/approvals/approval-1`,
      body: { approved: true },
    },
    // biome-ignore lint/correctness/useHookAtTopLevel: useChatBody builds a request body; it is not a React hook
    'POST /api/chat': { path: '/api/chat', body: useChatBody(session, 'Hello!') },
    'GET /api/chat/{id}/stream': { path: `/api/chat/${session}/stream` },
    'GET /api/usage': { path: '/api/usage' },
    'GET /api/store/agents': { path: '/api/store/agents?q=money&limit=3' },
    'GET /api/library': { path: '/api/library' },
    'POST /api/library': { path: '/api/library', body: { slug: 'money-printing-agent' } },
    'DELETE /api/library/{slug}': { path: '/api/library/money-printing-agent' },
    'POST /api/executions': {
      path: '/api/executions',
      body: { slug: 'money-printing-agent', inputs: { skills: 'design', startupBudget: 100 } },
    },
    'GET /api/executions': { path: '/api/executions?limit=5' },
    'GET /api/executions/{id}': { path: `/api/executions/${execution}` },
    'GET /api/executions/{id}/stream': { path: `/api/executions/${execution}/stream` },
    'POST /api/executions/{id}/stop': { path: `/api/executions/${execution}/stop` },
    'GET /api/store/agents/{slug}/setup': { path: '/api/store/agents/money-printing-agent/setup' },
    'GET /api/me/export': { path: '/api/me/export' },
    'DELETE /api/me': { path: '/api/me' },
    'POST /mcp': { path: '/mcp', body: { jsonrpc: '2.0', id: 1, method: 'tools/list' }, headers: MCP_HEADERS },
    'GET /mcp': { path: '/mcp' },
    'DELETE /mcp': { path: '/mcp' },
    'GET /': { path: '/' },
    'GET /s/{id}': { path: `/s/${session}` },
    'GET /assets/{file}': { path: '/assets/app.js' },
    'GET /favicon.ico': { path: '/favicon.ico' },
  };
}

describe('the OpenAPI document, against live responses', () => {
  let webRoot: string;
  let upstream: FakeUpstream;
  let postgres: ThrowawayPostgres;
  /** Local mode, the demo model, the MCP endpoint and a web build with every kind of file. */
  let local: RunningServer;
  /** JWT mode, no web build; a budget of one token, two stream requests a minute, 1.5 s for a body. */
  let jwt: RunningServer;
  /** A scripted upstream whose answers wait at a gate until released. */
  let held: RunningServer;
  /** On a PostgreSQL server this test kills. */
  let outage: RunningServer;
  let checker: ResponseChecker;
  const seen = new Set<string>();
  let failures: string[] = [];

  /** Sends a request of `operation` to `server`, checks the response against the document and that its status is `expected`. */
  const call = async (
    server: RunningServer,
    operation: string,
    expected: number,
    sample: Sample,
    options: { headers?: Record<string, string>; body?: string | Buffer; trickle?: boolean; onHeaders?: (status: number) => void } = {},
  ): Promise<Reply> => {
    const method = operation.split(' ')[0]!;
    const body = options.body ?? (sample.body === undefined ? undefined : JSON.stringify(sample.body));
    const headers = { ...(sample.body === undefined ? {} : JSON_BODY), ...sample.headers, ...options.headers };
    const reply = await send(server.url, method, sample.path, { ...options, headers, body });
    const problems = await checker.problems(operation, reply);
    if (reply.status !== expected)
      problems.unshift(`expected ${expected}, got ${reply.status}: ${reply.body.toString('utf8').slice(0, 200)}`);
    if (problems.length > 0) failures.push(`${operation} (${method} ${sample.path}): ${problems.join('; ')}`);
    seen.add(`${operation} ${reply.status}`);
    return reply;
  };
  /** Fails with every problem collected since the last check. */
  const expectConforming = () => {
    const found = failures;
    failures = [];
    expect(found).toEqual([]);
  };
  const json = (reply: Reply) => JSON.parse(reply.body.toString('utf8'));
  const nonGet = () => checker.operations.filter((operation) => !operation.startsWith('GET '));

  beforeAll(async () => {
    webRoot = await mkdtemp(join(tmpdir(), 'autochat-web-'));
    await mkdir(join(webRoot, 'assets'));
    await writeFile(
      join(webRoot, 'index.html'),
      '<!doctype html><title>autochat</title><script type="module" src="/assets/app.js"></script>',
    );
    await writeFile(join(webRoot, 'assets', 'app.js'), 'document.title = "autochat";');
    await writeFile(join(webRoot, 'assets', 'app.css'), 'body { margin: 0 }');
    await writeFile(join(webRoot, 'favicon.svg'), '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 1 1"/>');
    [upstream, postgres] = await Promise.all([startFakeUpstream(), startThrowawayPostgres()]);
    upstream.setDefault({ steps: [{ text: 'Held ' }, { gate: 'held' }, { text: 'answer.' }], finishReason: 'stop' });
    const outageDatabase = await postgres.createDatabase('conformance');
    // Each starts from the build's snapshot (catalog loaded): an empty embedded database without one
    // would be made from nothing (initdb), three times slower.
    [local, jwt, held, outage] = await Promise.all([
      startTestServer({ dataDir: 'memory://', mcp: createMcpEndpoint, webRoot, limits: { maxMessageChars: MAX_MESSAGE_CHARS } }),
      startTestServer({
        dataDir: 'memory://',
        mcp: createMcpEndpoint,
        webRoot: false,
        authJwtSecret: SECRET,
        limits: { requestsPerMinute: 2, dailyTokens: 1, bodyTimeoutMs: 1500 },
      }),
      startTestServer(upstreamOptions(upstream.url, { dataDir: 'memory://', toolApproval: { required: ['find_agent'] } })),
      startTestServer({ dataDir: 'memory://', seedCatalog: false, databaseUrl: outageDatabase }),
    ]);
    checker = responseChecker((await (await fetch(`${local.url}/openapi.json`)).json()) as OpenApiDocument);
  }, 120_000);

  beforeEach(() => {
    failures = [];
  });

  afterAll(async () => {
    upstream?.release('held');
    await postgres?.start().catch(() => {});
    await Promise.all([local, jwt, held, outage].map((server) => server?.close()));
    await upstream?.close();
    await postgres?.destroy();
    if (webRoot) await rm(webRoot, { recursive: true, force: true });
  });

  it('describes every route the servers register, and the test has a request for every operation', async () => {
    expect(undocumentedRoutes(local.app.routes, checker.document)).toEqual([]);
    const jwtDocument = (await (await fetch(`${jwt.url}/openapi.json`)).json()) as OpenApiDocument;
    expect(undocumentedRoutes(jwt.app.routes, jwtDocument)).toEqual([]);
    // The check finds what is missing: a route nobody described, under a known prefix or not.
    const extra = new Hono().get('/api/secret', (c) => c.text('')).post('/api/chat/sessions/:id/archive', (c) => c.text(''));
    expect(undocumentedRoutes([...local.app.routes, ...extra.routes], checker.document)).toEqual([
      'GET /api/secret',
      'POST /api/chat/sessions/:id/archive',
    ]);
    expect(Object.keys(samples(UNKNOWN)).sort()).toEqual([...checker.operations].sort());
    // Security as each server enforces it: a token in JWT mode, none needed in local mode, never on public routes.
    for (const operation of checker.operations) {
      const [method, path] = operation.split(' ') as [string, string];
      const security = (document: OpenApiDocument) => document.paths[path]![method.toLowerCase()]!.security;
      const isPublic = (security(checker.document) as unknown[]).length === 0;
      expect(security(checker.document), operation).toEqual(isPublic ? [] : [{ bearer: [] }, {}]);
      expect(security(jwtDocument), operation).toEqual(isPublic ? [] : [{ bearer: [] }]);
    }
  });

  it('answers every operation on its happy path as documented (local mode, demo model)', async () => {
    const { 'GET /api/chat/sessions': list } = samples(UNKNOWN);
    for (const operation of ['GET /healthz', 'GET /readyz', 'GET /metrics', 'GET /openapi.json', 'GET /api/info']) {
      await call(local, operation, 200, samples(UNKNOWN)[operation]!);
    }
    const session = json(await call(local, 'POST /api/chat/sessions', 201, { path: '/api/chat/sessions' })).sessionId as string;
    await call(local, 'POST /api/chat/sessions', 201, { path: '/api/chat/sessions', body: {} });
    const s = samples(session);
    await call(local, 'POST /api/chat/sessions/{id}/stream', 200, s['POST /api/chat/sessions/{id}/stream']!);
    await call(local, 'POST /api/chat/sessions/{id}/stream', 200, {
      ...s['POST /api/chat/sessions/{id}/stream']!,
      body: { message: "Find me an agent for 'moneny printing agent'" },
    });
    await call(local, 'GET /api/chat/sessions', 200, list!);
    const stored = json(await call(local, 'GET /api/chat/sessions/{id}', 200, s['GET /api/chat/sessions/{id}']!));
    const answer = (stored.messages as { id: string; role: string }[]).find((message) => message.role === 'assistant')!.id;
    const feedback = { path: `/api/chat/sessions/${session}/messages/${answer}/feedback` };
    await call(local, 'PUT /api/chat/sessions/{id}/active-leaf', 200, {
      ...s['PUT /api/chat/sessions/{id}/active-leaf']!,
      body: { messageId: answer },
    });
    await call(local, 'GET /api/chat/sessions/{id}/stream', 204, s['GET /api/chat/sessions/{id}/stream']!);
    await call(local, 'POST /api/chat/sessions/{id}/stop', 200, s['POST /api/chat/sessions/{id}/stop']!);
    await call(local, 'PUT /api/chat/sessions/{id}/messages/{messageId}/feedback', 200, {
      ...feedback,
      body: { rating: 'down', comment: 'Too long.' },
    });
    for (const format of ['', '?format=md', '?format=json']) {
      await call(local, 'GET /api/chat/sessions/{id}/export', 200, { path: `/api/chat/sessions/${session}/export${format}` });
    }
    await call(local, 'POST /api/chat', 200, { path: '/api/chat', body: useChatBody('conformance-chat', 'Hello!') });
    await call(local, 'GET /api/chat/{id}/stream', 204, { path: '/api/chat/conformance-chat/stream' });
    await call(local, 'GET /api/usage', 200, s['GET /api/usage']!);
    await call(local, 'GET /api/store/agents', 200, s['GET /api/store/agents']!);
    await call(local, 'POST /api/library', 201, s['POST /api/library']!);
    await call(local, 'GET /api/library', 200, s['GET /api/library']!);
    await call(local, 'GET /api/store/agents/{slug}/setup', 200, s['GET /api/store/agents/{slug}/setup']!);
    const execution = json(await call(local, 'POST /api/executions', 202, s['POST /api/executions']!)).executionId as string;
    const e = samples(session, execution);
    expect(
      (await call(local, 'GET /api/executions/{id}/stream', 200, e['GET /api/executions/{id}/stream']!)).body.toString('utf8'),
    ).toContain('"type":"finish"');
    expect(json(await call(local, 'GET /api/executions/{id}', 200, e['GET /api/executions/{id}']!)).status).toBe('finished');
    expect(json(await call(local, 'POST /api/executions/{id}/stop', 200, e['POST /api/executions/{id}/stop']!))).toEqual({
      stopped: false,
    });
    await call(local, 'GET /api/executions', 200, e['GET /api/executions']!);
    // The export holds a session with messages, usage of every kind seen, feedback and a library entry.
    expect(json(await call(local, 'GET /api/me/export', 200, s['GET /api/me/export']!)).feedback).toHaveLength(1);
    await call(local, 'DELETE /api/chat/sessions/{id}/messages/{messageId}/feedback', 204, feedback);
    await call(local, 'DELETE /api/library/{slug}', 204, s['DELETE /api/library/{slug}']!);
    const mcp = s['POST /mcp']!;
    await call(local, 'POST /mcp', 200, mcp);
    await call(local, 'POST /mcp', 200, {
      ...mcp,
      body: { jsonrpc: '2.0', id: 'find', method: 'tools/call', params: { name: 'find_agent', arguments: { query: 'moneny printing' } } },
    });
    await call(local, 'POST /mcp', 200, {
      ...mcp,
      body: [
        { jsonrpc: '2.0', id: 1, method: 'tools/list' },
        { jsonrpc: '2.0', id: 2, method: 'tools/call', params: { name: 'nope', arguments: {} } },
      ],
    });
    await call(local, 'POST /mcp', 202, { ...mcp, body: { jsonrpc: '2.0', method: 'notifications/initialized' } });
    await call(local, 'GET /', 200, s['GET /']!);
    await call(local, 'GET /s/{id}', 200, s['GET /s/{id}']!);
    await call(local, 'GET /assets/{file}', 200, s['GET /assets/{file}']!);
    await call(local, 'GET /assets/{file}', 200, { path: '/assets/app.css' });
    await call(local, 'GET /favicon.ico', 200, s['GET /favicon.ico']!);
    await call(local, 'DELETE /api/chat/sessions/{id}', 204, s['DELETE /api/chat/sessions/{id}']!);
    await call(local, 'DELETE /api/me', 204, s['DELETE /api/me']!);
    expectConforming();
  });

  it('refuses bad input with the documented 400, 404, 405, 406, 413 and 415 (local mode)', async () => {
    const session = json(await call(local, 'POST /api/chat/sessions', 201, { path: '/api/chat/sessions' })).sessionId as string;
    const s = samples(session);
    const bad = samples('not-a-uuid');
    const unknown = samples(UNKNOWN);
    const badRequests: [string, Sample][] = [
      ['POST /api/chat/sessions', { path: '/api/chat/sessions', body: { foo: 1 } }],
      ['GET /api/chat/sessions', { path: '/api/chat/sessions?limit=0' }],
      ['GET /api/chat/sessions/{id}', bad['GET /api/chat/sessions/{id}']!],
      ['DELETE /api/chat/sessions/{id}', bad['DELETE /api/chat/sessions/{id}']!],
      ['POST /api/chat/sessions/{id}/stream', { ...s['POST /api/chat/sessions/{id}/stream']!, body: { message: 'Hello', extra: true } }],
      ['GET /api/chat/sessions/{id}/stream', bad['GET /api/chat/sessions/{id}/stream']!],
      ['POST /api/chat/sessions/{id}/stop', bad['POST /api/chat/sessions/{id}/stop']!],
      ['PUT /api/chat/sessions/{id}/active-leaf', { ...s['PUT /api/chat/sessions/{id}/active-leaf']!, body: { messageId: 'not an id' } }],
      [
        'PUT /api/chat/sessions/{id}/messages/{messageId}/feedback',
        { ...s['PUT /api/chat/sessions/{id}/messages/{messageId}/feedback']!, body: { rating: 'meh' } },
      ],
      [
        'DELETE /api/chat/sessions/{id}/messages/{messageId}/feedback',
        { path: `/api/chat/sessions/${session}/messages/not%20an%20id/feedback` },
      ],
      ['GET /api/chat/sessions/{id}/export', { path: `/api/chat/sessions/${session}/export?format=pdf` }],
      [
        'POST /api/chat/sessions/{id}/approvals/{approvalId}',
        { ...s['POST /api/chat/sessions/{id}/approvals/{approvalId}']!, body: { approved: 'yes' } },
      ],
      ['POST /api/chat', { path: '/api/chat', body: { messages: [] } }],
      ['GET /api/chat/{id}/stream', { path: `/api/chat/${'x'.repeat(201)}/stream` }],
      ['GET /api/store/agents', { path: '/api/store/agents?limit=1000' }],
      ['POST /api/library', { path: '/api/library', body: {} }],
      ['POST /api/executions', { path: '/api/executions', body: { slug: 'money-printing-agent', inputs: {} } }],
      ['GET /api/executions', { path: '/api/executions?limit=0' }],
      ['GET /api/executions/{id}', bad['GET /api/executions/{id}']!],
      ['GET /api/executions/{id}/stream', bad['GET /api/executions/{id}/stream']!],
      ['POST /api/executions/{id}/stop', bad['POST /api/executions/{id}/stop']!],
      ['GET /api/store/agents/{slug}/setup', { path: '/api/store/agents/Not_A_Slug/setup' }],
      ['DELETE /api/library/{slug}', { path: '/api/library/Not_A_Slug' }],
      ['POST /mcp', { ...s['POST /mcp']!, body: undefined }],
      ['POST /mcp', { ...s['POST /mcp']!, body: { not: 'json-rpc' } }],
      ['GET /assets/{file}', { path: '/assets/%c0%ae' }],
    ];
    for (const [operation, sample] of badRequests) {
      const options = operation === 'POST /mcp' && sample.body === undefined ? { body: '{not json', headers: MCP_HEADERS } : {};
      await call(local, operation, 400, sample, options);
    }
    const notFound: [string, Sample][] = [
      ['GET /api/chat/sessions/{id}', unknown['GET /api/chat/sessions/{id}']!],
      ['DELETE /api/chat/sessions/{id}', unknown['DELETE /api/chat/sessions/{id}']!],
      ['POST /api/chat/sessions/{id}/stream', unknown['POST /api/chat/sessions/{id}/stream']!],
      ['GET /api/chat/sessions/{id}/stream', unknown['GET /api/chat/sessions/{id}/stream']!],
      ['POST /api/chat/sessions/{id}/stop', unknown['POST /api/chat/sessions/{id}/stop']!],
      ['PUT /api/chat/sessions/{id}/active-leaf', unknown['PUT /api/chat/sessions/{id}/active-leaf']!],
      ['PUT /api/chat/sessions/{id}/messages/{messageId}/feedback', s['PUT /api/chat/sessions/{id}/messages/{messageId}/feedback']!],
      [
        'DELETE /api/chat/sessions/{id}/messages/{messageId}/feedback',
        unknown['DELETE /api/chat/sessions/{id}/messages/{messageId}/feedback']!,
      ],
      ['GET /api/chat/sessions/{id}/export', unknown['GET /api/chat/sessions/{id}/export']!],
      ['POST /api/chat/sessions/{id}/approvals/{approvalId}', s['POST /api/chat/sessions/{id}/approvals/{approvalId}']!],
      ['GET /api/chat/{id}/stream', { path: '/api/chat/never-sent/stream' }],
      ['POST /api/library', { path: '/api/library', body: { slug: 'no-such-agent' } }],
      ['DELETE /api/library/{slug}', { path: '/api/library/no-such-agent' }],
      ['POST /api/executions', { path: '/api/executions', body: { slug: 'no-such-agent', inputs: {} } }],
      ['GET /api/executions/{id}', unknown['GET /api/executions/{id}']!],
      ['GET /api/executions/{id}/stream', unknown['GET /api/executions/{id}/stream']!],
      ['POST /api/executions/{id}/stop', unknown['POST /api/executions/{id}/stop']!],
      ['GET /api/store/agents/{slug}/setup', { path: '/api/store/agents/no-such-agent/setup' }],
      ['GET /assets/{file}', { path: '/assets/..%2fpackage.json' }],
    ];
    for (const [operation, sample] of notFound) await call(local, operation, 404, sample);
    for (const operation of ['GET /mcp', 'DELETE /mcp']) {
      expect((await call(local, operation, 405, s[operation]!)).headers.allow).toBe('POST');
    }
    await call(local, 'POST /mcp', 406, { ...s['POST /mcp']!, headers: JSON_BODY });
    const tooLong = 'x'.repeat(MAX_MESSAGE_CHARS + 1);
    await call(local, 'POST /api/chat/sessions/{id}/stream', 413, {
      ...s['POST /api/chat/sessions/{id}/stream']!,
      body: { message: tooLong },
    });
    await call(local, 'POST /api/chat', 413, { path: '/api/chat', body: useChatBody('too-long', tooLong) });
    await call(local, 'POST /mcp', 413, {
      ...s['POST /mcp']!,
      body: Array.from({ length: 11 }, (_, id) => ({ jsonrpc: '2.0', id, method: 'tools/list' })),
    });
    // Every operation that takes a body: one over the size limit (413), one that is not JSON (415).
    const huge = JSON.stringify({ padding: 'x'.repeat(70 * 1024) });
    for (const operation of nonGet()) {
      await call(local, operation, 413, s[operation]!, { body: huge, headers: JSON_BODY });
      await call(local, operation, 415, s[operation]!, { body: 'hello', headers: { 'content-type': 'text/plain' } });
    }
    expectConforming();
  });

  it('answers 403 to every operation addressed to a name that is not loopback (local mode)', async () => {
    const s = samples(UNKNOWN);
    for (const operation of checker.operations)
      await call(local, operation, 403, s[operation]!, { headers: { host: 'rebound.evil.example' } });
    expectConforming();
  });

  it('asks for a token on every operation that needs one, and on no other (JWT mode)', async () => {
    const s = samples(UNKNOWN);
    for (const operation of checker.operations) {
      const [method, path] = operation.split(' ') as [string, string];
      if ((checker.document.paths[path]![method.toLowerCase()]!.security as unknown[]).length > 0) {
        const reply = await call(jwt, operation, 401, s[operation]!);
        expect(reply.headers['www-authenticate'], operation).toBe('Bearer realm="autochat"');
      }
    }
    for (const operation of ['GET /healthz', 'GET /readyz', 'GET /metrics', 'GET /openapi.json', 'GET /api/info'])
      await call(jwt, operation, 200, s[operation]!);
    // No web build here: the page says so (503), there are no files (404) and no icon (204).
    await call(jwt, 'GET /', 503, s['GET /']!);
    await call(jwt, 'GET /s/{id}', 503, s['GET /s/{id}']!);
    await call(jwt, 'GET /assets/{file}', 404, s['GET /assets/{file}']!);
    await call(jwt, 'GET /favicon.ico', 204, s['GET /favicon.ico']!);
    // Another user's session, named by its UUID in the useChat body: 404, as for every session route.
    const alice = json(await call(jwt, 'POST /api/chat/sessions', 201, s['POST /api/chat/sessions']!, { headers: bearer('alice') }))
      .sessionId as string;
    await call(jwt, 'POST /api/chat', 404, { path: '/api/chat', body: useChatBody(alice, 'Hello!') }, { headers: bearer('mallory') });
    expectConforming();
  });

  it('cuts off a body that stalls with 408 on every operation that takes one', async () => {
    const s = samples(UNKNOWN);
    await Promise.all(
      nonGet().map((operation) =>
        call(jwt, operation, 408, s[operation]!, { body: JSON.stringify({ padding: 'x'.repeat(64) }), headers: JSON_BODY, trickle: true }),
      ),
    );
    expectConforming();
  });

  it('refuses stream requests over the token budget or the rate limit with 429 and Retry-After', async () => {
    const spender = { headers: bearer('spender') };
    const session = json(await call(jwt, 'POST /api/chat/sessions', 201, { path: '/api/chat/sessions' }, spender)).sessionId as string;
    const s = samples(session);
    // The first answer spends the budget of one token; the second request is over it, the third over the rate.
    await call(jwt, 'POST /api/chat/sessions/{id}/stream', 200, s['POST /api/chat/sessions/{id}/stream']!, spender);
    const codes = [];
    codes.push(
      json(await call(jwt, 'POST /api/chat/sessions/{id}/stream', 429, s['POST /api/chat/sessions/{id}/stream']!, spender)).error.code,
    );
    codes.push(
      json(await call(jwt, 'POST /api/chat/sessions/{id}/stream', 429, s['POST /api/chat/sessions/{id}/stream']!, spender)).error.code,
    );
    codes.push(json(await call(jwt, 'POST /api/chat', 429, s['POST /api/chat']!, spender)).error.code);
    codes.push(json(await call(jwt, 'POST /api/executions', 429, s['POST /api/executions']!, spender)).error.code);
    expect(codes).toEqual(['usage_limit_exceeded', 'rate_limited', 'rate_limited', 'rate_limited']);
    expectConforming();
  });

  it('answers 409 to a message while a run is active, resumes the active run, and stops it', async () => {
    const session = json(await call(held, 'POST /api/chat/sessions', 201, { path: '/api/chat/sessions' })).sessionId as string;
    const s = samples(session);
    const streaming = call(held, 'POST /api/chat/sessions/{id}/stream', 200, s['POST /api/chat/sessions/{id}/stream']!);
    await upstream.reached('held');
    await call(held, 'POST /api/chat/sessions/{id}/stream', 409, s['POST /api/chat/sessions/{id}/stream']!);
    await call(held, 'POST /api/chat', 409, s['POST /api/chat']!);
    // Versions cannot be switched while an answer is being generated.
    const question = (
      json(await call(held, 'GET /api/chat/sessions/{id}', 200, s['GET /api/chat/sessions/{id}']!)).messages as { id: string }[]
    )[0]!.id;
    await call(held, 'PUT /api/chat/sessions/{id}/active-leaf', 409, {
      ...s['PUT /api/chat/sessions/{id}/active-leaf']!,
      body: { messageId: question },
    });
    // Both resume routes attach (their status is in) before the run is stopped, then read to its end.
    const attached: Promise<number>[] = [];
    const resumes = ['GET /api/chat/sessions/{id}/stream', 'GET /api/chat/{id}/stream'].map((operation) => {
      let status!: (value: number) => void;
      attached.push(new Promise((resolve) => (status = resolve)));
      return call(held, operation, 200, s[operation]!, { onHeaders: status });
    });
    expect(await Promise.all(attached)).toEqual([200, 200]);
    expect(json(await call(held, 'POST /api/chat/sessions/{id}/stop', 200, s['POST /api/chat/sessions/{id}/stop']!))).toEqual({
      stopped: true,
    });
    for (const reply of await Promise.all([streaming, ...resumes])) expect(reply.body.toString('utf8')).toContain('"type":"abort"');
    expectConforming();
  });

  it('answers a tool approval as JSON, or with the answer going on as a stream (Accept: text/event-stream)', async () => {
    for (const accept of ['application/json', 'text/event-stream']) {
      const session = json(await call(held, 'POST /api/chat/sessions', 201, { path: '/api/chat/sessions' })).sessionId as string;
      const s = samples(session);
      upstream.enqueue(callTool('find_agent', { query: 'money' }), say('Nothing found.'));
      const asked = await call(held, 'POST /api/chat/sessions/{id}/stream', 200, {
        ...s['POST /api/chat/sessions/{id}/stream']!,
        body: { message: 'Find a money agent' },
      });
      const approvalId = /"approvalId":"([^"]+)"/.exec(asked.body.toString('utf8'))![1]!;
      const reply = await call(
        held,
        'POST /api/chat/sessions/{id}/approvals/{approvalId}',
        200,
        { path: `/api/chat/sessions/${session}/approvals/${approvalId}`, body: { approved: true } },
        { headers: { accept } },
      );
      if (accept === 'application/json') expect(json(reply)).toMatchObject({ approvalId, approved: true, resumed: true });
      else expect(reply.body.toString('utf8')).toMatch(/tool-output-available[\s\S]*found\./);
    }
    expectConforming();
  });

  it('answers 503 with Retry-After on every operation that needs the database while it does not answer', async () => {
    const session = json(await call(outage, 'POST /api/chat/sessions', 201, { path: '/api/chat/sessions' })).sessionId as string;
    const s = samples(session);
    await postgres.kill();
    for (const operation of checker.operations) {
      const isWeb = ['GET /', 'GET /s/{id}'].includes(operation);
      if (!checker.statuses(operation).includes(503) || isWeb || operation.includes('/mcp')) continue;
      await call(outage, operation, 503, s[operation]!);
    }
    expectConforming();
  });

  it('has exercised every status the document gives every operation', () => {
    const documented = checker.operations.flatMap((operation) => checker.statuses(operation).map((status) => `${operation} ${status}`));
    const missing = documented.filter((outcome) => !seen.has(outcome) && !(Number(outcome.split(' ').pop()) in NOT_PRODUCIBLE));
    expect(missing).toEqual([]);
    const exercised = documented.filter((outcome) => seen.has(outcome)).length;
    console.info(
      `OpenAPI conformance: ${checker.operations.length} operations, ${documented.length} documented statuses, ${exercised} exercised (not: ${Object.values(NOT_PRODUCIBLE).join('; ')})`,
    );
  });
});
