/**
 * HTTPS: with TLS files configured, the server speaks TLS only (HTTP/1.1 and HTTP/2), streams a chat
 * over it with HSTS, and refuses plain HTTP on the same port. The certificate is made by the test.
 */
import { execFileSync } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { request as httpRequest } from 'node:http';
import { connect as http2Connect } from 'node:http2';
import { request as httpsRequest } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningServer } from '../src/http/server.js';
import { say, startFakeUpstream, type Script } from './support/fake-upstream.js';
import { spawnServer } from './support/server-processes.js';
import { startTestServer } from './support/test-service.js';
import { parseSseText, textOf, typesOf } from './support/ui-stream.js';

let openssl = true;
try {
  execFileSync('openssl', ['version']);
} catch {
  openssl = false;
  console.warn('openssl is not installed: the HTTPS tests are skipped (CI installs it).');
}

type Reply = { status: number; headers: Record<string, string | string[] | undefined>; body: string };

function httpsCall(url: string, ca: Buffer, method: string, body?: string): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const request = httpsRequest(url, { method, ca, headers: body ? { 'content-type': 'application/json' } : {} }, (response) => {
      let text = '';
      response.setEncoding('utf8');
      response.on('data', (chunk: string) => (text += chunk));
      response.on('end', () => resolve({ status: response.statusCode ?? 0, headers: response.headers, body: text }));
    });
    request.on('error', reject);
    request.end(body);
  });
}

describe.runIf(openssl)('HTTPS', () => {
  let dir: string;
  let server: RunningServer;
  let ca: Buffer;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'autochat-tls-'));
    execFileSync(
      'openssl',
      [
        'req',
        '-x509',
        '-newkey',
        'ec',
        '-pkeyopt',
        'ec_paramgen_curve:prime256v1',
        '-nodes',
        '-days',
        '1',
        '-subj',
        '/CN=127.0.0.1',
        '-addext',
        'subjectAltName=IP:127.0.0.1,DNS:localhost',
        '-keyout',
        join(dir, 'key.pem'),
        '-out',
        join(dir, 'cert.pem'),
      ],
      { stdio: 'ignore' },
    );
    ca = await readFile(join(dir, 'cert.pem'));
    server = await startTestServer({ dataDir: 'memory://', tls: { certFile: join(dir, 'cert.pem'), keyFile: join(dir, 'key.pem') } });
  });
  afterAll(async () => {
    await server?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('serves HTTPS with HSTS and streams a chat over HTTP/1.1', async () => {
    expect(server.url).toMatch(/^https:\/\//);
    const created = await httpsCall(`${server.url}/api/chat/sessions`, ca, 'POST');
    expect(created.status).toBe(201);
    expect(created.headers['strict-transport-security']).toMatch(/max-age=\d+/);
    const sessionId = JSON.parse(created.body).sessionId;
    const streamed = await httpsCall(
      `${server.url}/api/chat/sessions/${sessionId}/stream`,
      ca,
      'POST',
      JSON.stringify({ message: 'Hello' }),
    );
    expect(streamed.status).toBe(200);
    expect(streamed.headers['content-type']).toBe('text/event-stream');
    const stream = await parseSseText(streamed.body);
    expect(stream.invalid).toEqual([]);
    expect(typesOf(stream.chunks).at(-1)).toBe('finish');
    expect(textOf(stream.chunks)).toMatch(/demo/i);
  });

  it('streams over HTTP/2', async () => {
    const client = http2Connect(server.url, { ca });
    try {
      const reply = await new Promise<{ status: number; body: string }>((resolve, reject) => {
        const request = client.request({ ':method': 'GET', ':path': '/healthz' });
        let body = '';
        let status = 0;
        request.on('response', (headers) => (status = Number(headers[':status'])));
        request.setEncoding('utf8');
        request.on('data', (chunk: string) => (body += chunk));
        request.on('end', () => resolve({ status, body }));
        request.on('error', reject);
        request.end();
      });
      expect(reply.status).toBe(200);
      expect(JSON.parse(reply.body)).toEqual({ status: 'ok' });
    } finally {
      client.close();
    }
  });

  /** One turn through a spawned autochat whose model answers over HTTPS, with the given extra settings. */
  async function turnOverTlsUpstream(env: Record<string, string>, script?: Script) {
    const upstream = await startFakeUpstream({ tls: { key: await readFile(join(dir, 'key.pem')), cert: ca } });
    if (script) upstream.setDefault(script);
    const autochat = await spawnServer({ DATA_DIR: 'memory://', OPEN_ROUTER_API_KEY: 'test-key', LLM_BASE_URL: upstream.url, ...env });
    try {
      const created = await (await fetch(`${autochat.url}/api/chat/sessions`, { method: 'POST' })).json();
      const response = await fetch(`${autochat.url}/api/chat/sessions/${created.sessionId}/stream`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ message: 'Hello' }),
      });
      const { chunks } = await parseSseText(await response.text());
      return { chunks, upstream };
    } finally {
      await autochat.stop();
      await upstream.close();
    }
  }

  it('reaches an upstream model over HTTPS, trusting a private CA given by NODE_EXTRA_CA_CERTS', async () => {
    const { chunks, upstream } = await turnOverTlsUpstream(
      { NODE_EXTRA_CA_CERTS: join(dir, 'cert.pem') },
      say('Hello over TLS, one word at a time.'),
    );
    expect(upstream.url).toMatch(/^https:\/\//);
    expect(typesOf(chunks)).not.toContain('error');
    expect(textOf(chunks)).toBe('Hello over TLS, one word at a time.');
    expect(upstream.requests.some((request) => request.body.stream === true)).toBe(true);
  });

  it('says plainly, at once and without retrying, when the upstream certificate is not trusted', async () => {
    const { chunks, upstream } = await turnOverTlsUpstream({ LLM_MAX_RETRIES: '2' });
    expect(typesOf(chunks).slice(-2)).toEqual(['error', 'finish']);
    const error = chunks.find((chunk) => chunk.type === 'error') as { errorText: string };
    expect(error.errorText).toMatch(/certificate is not trusted/);
    // One attempt: with LLM_MAX_RETRIES=2 a retried failure would have made three.
    expect(upstream.handshakeFailures()).toBe(1);
  });

  it('cuts off an HTTP/2 request body that trickles in with 408 in the error shape, and the connection serves on', async () => {
    const slow = await startTestServer({
      dataDir: 'memory://',
      tls: { certFile: join(dir, 'cert.pem'), keyFile: join(dir, 'key.pem') },
      limits: { headersTimeoutMs: 400, bodyTimeoutMs: 600 },
    });
    const client = http2Connect(slow.url, { ca });
    try {
      const body = JSON.stringify({ slug: 'money-printing-agent' });
      const started = Date.now();
      const reply = await new Promise<{ status: number; body: string }>((resolve, reject) => {
        const request = client.request({
          ':method': 'POST',
          ':path': '/api/library',
          'content-type': 'application/json',
          'content-length': String(body.length),
        });
        let text = '';
        let status = 0;
        let index = 0;
        const timer = setInterval(() => {
          if (request.closed || index >= body.length) return clearInterval(timer);
          request.write(body[index++]!);
        }, 100);
        request.on('response', (headers) => (status = Number(headers[':status'])));
        request.setEncoding('utf8');
        request.on('data', (chunk: string) => (text += chunk));
        request.on('close', () => {
          clearInterval(timer);
          resolve({ status, body: text });
        });
        request.on('error', reject);
      });
      expect(reply.status).toBe(408);
      expect(JSON.parse(reply.body).error).toMatchObject({ code: 'request_timeout', message: expect.stringMatching(/600 ms/) });
      expect(Date.now() - started).toBeGreaterThanOrEqual(550);
      expect(await slow.chat.agents.library('local')).toEqual([]);
      // The connection itself lives on: another request on it is answered.
      const health = await new Promise<number>((resolve, reject) => {
        const request = client.request({ ':method': 'GET', ':path': '/healthz' });
        let status = 0;
        request.on('response', (headers) => (status = Number(headers[':status'])));
        request.on('end', () => resolve(status));
        request.on('error', reject);
        request.resume();
        request.end();
      });
      expect(health).toBe(200);
    } finally {
      client.close();
      await slow.close();
    }
  });

  it('refuses plain HTTP on the TLS port', async () => {
    const outcome = await new Promise<string>((resolve) => {
      const request = httpRequest(`${server.url.replace('https:', 'http:')}/healthz`, (response) =>
        resolve(`status ${response.statusCode}`),
      );
      request.on('error', (error) => resolve(`error ${(error as NodeJS.ErrnoException).code ?? error.message}`));
      request.setTimeout(5000, () => request.destroy(new Error('timeout')));
      request.end();
    });
    expect(outcome).toMatch(/^error /);
  });
});
