/**
 * Cross-site requests over real HTTP: a page of another site cannot change data (its `Origin` is
 * refused with 403), a body that is not `application/json` is refused with 415, and in local mode a
 * request addressed to any name but a loopback one (DNS rebinding) is refused with 403 — on the API
 * and on `/mcp` alike. Same-origin pages, listed CORS origins and clients without `Origin` still work.
 */
import { request as httpRequest } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signJwt } from '../../src/http/middleware/jwt.js';
import type { RunningServer } from '../../src/http/server.js';
import { createMcpEndpoint } from '../../src/mcp/mcp-http-endpoint.js';
import { startTestServer } from '../support/test-service.js';

type Reply = { status: number; headers: Record<string, string | string[] | undefined>; body: string };

/** One request with exactly these headers (fetch would not let a test set Host). */
function send(server: RunningServer, method: string, path: string, headers: Record<string, string>, body?: string): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const request = httpRequest(
      {
        host: '127.0.0.1',
        port: server.port,
        method,
        path,
        headers: { ...(body !== undefined ? { 'content-length': String(Buffer.byteLength(body)) } : {}), ...headers },
      },
      (response) => {
        const chunks: Buffer[] = [];
        response.on('data', (chunk: Buffer) => chunks.push(chunk));
        response.on('end', () =>
          resolve({ status: response.statusCode ?? 0, headers: response.headers, body: Buffer.concat(chunks).toString('utf8') }),
        );
      },
    );
    request.on('error', reject);
    request.end(body);
  });
}

const errorOf = (reply: Reply) => (JSON.parse(reply.body) as { error: { code: string; message: string; requestId: string } }).error;

function expectRefused(reply: Reply, status: number, code: string) {
  expect(reply.status, reply.body).toBe(status);
  const error = errorOf(reply);
  expect(error).toEqual({ code, message: expect.any(String), requestId: reply.headers['x-request-id'] });
  expect(error.message.length).toBeGreaterThan(20);
}

const JSON_TYPE = { 'content-type': 'application/json' };
const MCP_HEADERS = { 'content-type': 'application/json', accept: 'application/json, text/event-stream' };
const MCP_LIST = JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/list' });

describe('cross-site requests in local mode', () => {
  let server: RunningServer;
  let own: string;
  const host = () => ({ host: `127.0.0.1:${server.port}` });

  beforeAll(async () => {
    server = await startTestServer({ dataDir: 'memory://', mcp: createMcpEndpoint });
    own = `http://127.0.0.1:${server.port}`;
  });
  afterAll(async () => server?.close());

  const librarySlugs = async () => (await server.chat.agents.library('local')).map((entry) => entry.slug);
  const sessionCount = async () => (await server.chat.listChatSessions('local', { limit: 100 })).sessions.length;

  it('refuses a write from a page of another site (403), even as a simple text/plain request, and stores nothing', async () => {
    const sessionsBefore = await sessionCount();
    const evil = { ...host(), origin: 'http://evil.example' };
    expectRefused(
      await send(server, 'POST', '/api/library', { ...evil, 'content-type': 'text/plain' }, '{"slug":"money-printing-agent"}'),
      403,
      'forbidden',
    );
    expectRefused(
      await send(server, 'POST', '/api/library', { ...evil, ...JSON_TYPE }, '{"slug":"money-printing-agent"}'),
      403,
      'forbidden',
    );
    expectRefused(await send(server, 'POST', '/api/chat/sessions', evil), 403, 'forbidden');
    expectRefused(await send(server, 'DELETE', '/api/me', evil), 403, 'forbidden');
    expectRefused(await send(server, 'POST', '/api/chat/sessions', { ...host(), origin: 'null' }), 403, 'forbidden');
    // Same host name, another port: another origin.
    expectRefused(
      await send(server, 'POST', '/api/chat/sessions', { ...host(), origin: `http://127.0.0.1:${server.port + 1}` }),
      403,
      'forbidden',
    );
    expect(await librarySlugs()).toEqual([]);
    expect(await sessionCount()).toBe(sessionsBefore);
  });

  it('lets the same origin, and clients that send no Origin, write', async () => {
    expect((await send(server, 'POST', '/api/chat/sessions', { ...host(), origin: own })).status).toBe(201);
    expect(
      (await send(server, 'POST', '/api/chat/sessions', { host: `localhost:${server.port}`, origin: `http://localhost:${server.port}` }))
        .status,
    ).toBe(201);
    expect((await send(server, 'POST', '/api/chat/sessions', host())).status).toBe(201);
    // Reads are not writes: a cross-site GET cannot read the answer (CORS), and changes nothing.
    expect((await send(server, 'GET', '/api/library', { ...host(), origin: 'http://evil.example' })).status).toBe(200);
  });

  it('accepts only application/json bodies (415 otherwise), charset utf-8 included', async () => {
    const body = '{"slug":"money-printing-agent"}';
    for (const type of [
      'text/plain',
      'application/x-www-form-urlencoded',
      'multipart/form-data; boundary=x',
      'application/json; charset=latin1',
      'application/jsonx',
    ]) {
      expectRefused(await send(server, 'POST', '/api/library', { ...host(), 'content-type': type }, body), 415, 'unsupported_media_type');
    }
    expectRefused(await send(server, 'POST', '/api/library', host(), body), 415, 'unsupported_media_type');
    expect(await librarySlugs()).toEqual([]);
    expect(
      (await send(server, 'POST', '/api/library', { ...host(), 'content-type': 'application/json; charset=utf-8' }, body)).status,
    ).toBe(201);
    expect((await send(server, 'POST', '/api/library', { ...host(), 'content-type': 'Application/JSON' }, body)).status).toBe(201);
    // No body, no type needed.
    expect((await send(server, 'POST', '/api/chat/sessions', host())).status).toBe(201);
  });

  it('refuses requests addressed to a name that is not loopback (DNS rebinding), reads included', async () => {
    for (const name of [
      `evil.example:${server.port}`,
      'evil.example',
      `127.0.0.1.evil.example:${server.port}`,
      `localhost.evil.example:${server.port}`,
    ]) {
      expectRefused(await send(server, 'GET', '/api/chat/sessions', { host: name }), 403, 'forbidden');
      expectRefused(await send(server, 'GET', '/api/me/export', { host: name }), 403, 'forbidden');
      expectRefused(await send(server, 'POST', '/api/chat/sessions', { host: name, origin: `http://${name}` }), 403, 'forbidden');
    }
    for (const name of [
      `127.0.0.1:${server.port}`,
      `localhost:${server.port}`,
      `LOCALHOST:${server.port}`,
      `[::1]:${server.port}`,
      '127.0.0.1',
    ]) {
      expect((await send(server, 'GET', '/api/chat/sessions', { host: name })).status, name).toBe(200);
    }
  });

  it('applies the same rules to /mcp', async () => {
    expectRefused(
      await send(server, 'POST', '/mcp', { ...host(), ...MCP_HEADERS, origin: 'http://evil.example' }, MCP_LIST),
      403,
      'forbidden',
    );
    expectRefused(await send(server, 'POST', '/mcp', { host: `evil.example:${server.port}`, ...MCP_HEADERS }, MCP_LIST), 403, 'forbidden');
    expectRefused(
      await send(server, 'POST', '/mcp', { ...host(), ...MCP_HEADERS, 'content-type': 'text/plain' }, MCP_LIST),
      415,
      'unsupported_media_type',
    );
    const listed = await send(server, 'POST', '/mcp', { ...host(), ...MCP_HEADERS, origin: own }, MCP_LIST);
    expect(listed.status).toBe(200);
    expect(listed.body).toContain('find_agent');
  });
});

describe('cross-site requests with AUTH_JWT_SECRET and CORS_ORIGINS', () => {
  const secret = 'cross-site-secret';
  let server: RunningServer;
  const bearer = { authorization: `Bearer ${signJwt({ sub: 'alice', exp: Math.floor(Date.now() / 1000) + 600 }, secret)}` };

  beforeAll(async () => {
    server = await startTestServer({
      dataDir: 'memory://',
      authJwtSecret: secret,
      corsOrigins: ['https://app.example.com'],
      mcp: createMcpEndpoint,
    });
  });
  afterAll(async () => server?.close());

  it('refuses a foreign origin even with a valid token, and lets a listed origin write', async () => {
    const host = { host: 'chat.example.com' };
    expectRefused(
      await send(server, 'POST', '/api/chat/sessions', { ...host, ...bearer, origin: 'https://evil.example' }),
      403,
      'forbidden',
    );
    expectRefused(
      await send(server, 'POST', '/mcp', { ...host, ...bearer, ...MCP_HEADERS, origin: 'https://evil.example' }, MCP_LIST),
      403,
      'forbidden',
    );
    expect((await send(server, 'POST', '/api/chat/sessions', { ...host, ...bearer, origin: 'https://app.example.com' })).status).toBe(201);
    // Served under its public name (no loopback rule with a secret), behind a TLS-terminating proxy.
    expect((await send(server, 'POST', '/api/chat/sessions', { ...host, ...bearer, origin: 'https://chat.example.com' })).status).toBe(201);
    // A proxy that rewrites Host names the public host in X-Forwarded-Host.
    expect(
      (
        await send(server, 'POST', '/api/chat/sessions', {
          host: `127.0.0.1:${server.port}`,
          'x-forwarded-host': 'chat.example.com',
          ...bearer,
          origin: 'https://chat.example.com',
        })
      ).status,
    ).toBe(201);
    expect(
      (await send(server, 'POST', '/mcp', { ...host, ...bearer, ...MCP_HEADERS, origin: 'https://app.example.com' }, MCP_LIST)).status,
    ).toBe(200);
  });
});
