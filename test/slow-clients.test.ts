/**
 * Slow clients over a real socket (node:net), with short injected deadlines: headers or a body that
 * trickle in are cut off with 408 in the error shape and the connection closes; nothing is stored;
 * while an answer streaming for longer than both deadlines, and a keep-alive connection idle for
 * longer than them, are untouched.
 */
import { connect, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningServer } from '../src/http/server.js';
import { startTestServer } from './support/test-service.js';
import { readSse, typesOf } from './support/ui-stream.js';

const HEADERS_MS = 400;
const BODY_MS = 600;

type Raw = { socket: Socket; received: () => string; closed: Promise<number> };

/** A raw connection: everything the server sends is kept; `closed` gives the time it closed. */
function open(port: number): Promise<Raw> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    let text = '';
    socket.on('data', (chunk: Buffer) => (text += chunk.toString('utf8')));
    socket.on('error', () => {}); // a reset after the answer is a close like any other
    const closed = new Promise<number>((done) => socket.on('close', () => done(Date.now())));
    socket.once('connect', () => resolve({ socket, received: () => text, closed }));
    socket.once('error', reject);
  });
}

/** Writes one byte every `everyMs` until the socket closes. */
function trickle(socket: Socket, bytes: string, everyMs: number): void {
  let index = 0;
  const timer = setInterval(() => {
    if (socket.destroyed || socket.writableEnded || index >= bytes.length) {
      clearInterval(timer);
      return;
    }
    socket.write(bytes[index++]!);
  }, everyMs);
  socket.once('close', () => clearInterval(timer));
}

/** The status and JSON body of the one HTTP/1.1 response in `text`. */
function responseOf(text: string): {
  status: number;
  headers: string;
  body: { error: { code: string; message: string; requestId: string } };
} {
  const [head, body] = text.split('\r\n\r\n', 2) as [string, string];
  return { status: Number(/^HTTP\/1\.1 (\d{3})/.exec(head)?.[1]), headers: head.toLowerCase(), body: JSON.parse(body) };
}

describe('slow clients', () => {
  let server: RunningServer;
  beforeAll(async () => {
    // A word delay long enough for an answer to outlast both deadlines several times.
    server = await startTestServer({
      dataDir: 'memory://',
      demoDelayMs: 25,
      limits: { headersTimeoutMs: HEADERS_MS, bodyTimeoutMs: BODY_MS },
    });
  });
  afterAll(async () => server?.close());

  it('cuts off headers that trickle in with 408 in the error shape, and closes the connection', async () => {
    const raw = await open(server.port);
    const started = Date.now();
    raw.socket.write('POST /api/chat/sessions HTTP/1.1\r\n');
    trickle(raw.socket, `Host: 127.0.0.1:${server.port}\r\nX-Padding: ${'x'.repeat(200)}\r\n\r\n`, 50);
    const closedAt = await raw.closed;
    const response = responseOf(raw.received());
    expect(response.status).toBe(408);
    expect(response.headers).toContain('content-type: application/json');
    expect(response.body.error).toEqual({
      code: 'request_timeout',
      message: expect.stringContaining('did not arrive in time'),
      requestId: expect.any(String),
    });
    expect(closedAt - started).toBeGreaterThanOrEqual(HEADERS_MS - 50);
    expect(closedAt - started).toBeLessThan(HEADERS_MS + 5_000);
    expect((await server.chat.listChatSessions('local')).sessions).toEqual([]);
  });

  it('cuts off a body that trickles in (a byte every 100 ms) with 408 in the error shape, closes the connection and stores nothing', async () => {
    const raw = await open(server.port);
    const body = JSON.stringify({ slug: 'money-printing-agent' });
    const started = Date.now();
    raw.socket.write(
      `POST /api/library HTTP/1.1\r\nHost: 127.0.0.1:${server.port}\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n`,
    );
    trickle(raw.socket, body, 100);
    const closedAt = await raw.closed;
    const response = responseOf(raw.received());
    expect(response.status).toBe(408);
    expect(response.headers).toContain('connection: close');
    expect(response.body.error).toEqual({
      code: 'request_timeout',
      message: expect.stringMatching(/body did not arrive within 600 ms/),
      requestId: expect.any(String),
    });
    expect(closedAt - started).toBeGreaterThanOrEqual(BODY_MS - 50);
    expect(closedAt - started).toBeLessThan(BODY_MS + 5_000);
    expect(await server.chat.agents.library('local')).toEqual([]);
  });

  it('leaves an answer streaming for longer than both deadlines alone, and so a resumed stream', async () => {
    const sessionId = (await (await fetch(`${server.url}/api/chat/sessions`, { method: 'POST' })).json()).sessionId as string;
    const started = Date.now();
    const response = await fetch(`${server.url}/api/chat/sessions/${sessionId}/stream`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ message: 'Hello! Tell me what you can do.' }),
    });
    expect(response.status).toBe(200);
    const resumed = await fetch(`${server.url}/api/chat/sessions/${sessionId}/stream`);
    expect(resumed.status).toBe(200);
    const [stream, replay] = await Promise.all([readSse(response), readSse(resumed)]);
    expect(Date.now() - started).toBeGreaterThan(HEADERS_MS + BODY_MS);
    for (const read of [stream, replay]) {
      expect(read.endedWithDone).toBe(true);
      expect(typesOf(read.chunks)).toContain('finish');
      expect(typesOf(read.chunks)).not.toContain('error');
    }
  });

  it('keeps a keep-alive connection that idles for longer than the deadlines between requests', async () => {
    const raw = await open(server.port);
    const request = `GET /healthz HTTP/1.1\r\nHost: 127.0.0.1:${server.port}\r\n\r\n`;
    const answers = () => raw.received().match(/HTTP\/1\.1 \d{3}/g) ?? [];
    raw.socket.write(request);
    await expect.poll(answers).toEqual(['HTTP/1.1 200']);
    // The idle time is the input of this test, not a wait for something to happen.
    await new Promise((resolve) => setTimeout(resolve, 2 * (HEADERS_MS + BODY_MS)));
    raw.socket.write(request);
    await expect.poll(answers).toEqual(['HTTP/1.1 200', 'HTTP/1.1 200']);
    raw.socket.destroy();
  });
});
