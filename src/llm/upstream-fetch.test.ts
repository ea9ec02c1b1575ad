import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createUpstreamFetch, UpstreamTimeoutError } from './upstream-fetch.js';

type Handler = (req: IncomingMessage, res: ServerResponse, body: string) => void;

describe('upstream fetch (node:http behind the Fetch API)', () => {
  let handler: Handler = (_req, res) => res.end();
  let url = '';
  const sockets = new Set<Socket>();
  const server = createServer(async (req, res) => {
    let body = '';
    for await (const chunk of req) body += String(chunk);
    handler(req, res, body);
  });
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  beforeAll(async () => {
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    for (const socket of sockets) socket.destroy();
    await new Promise((resolve) => server.close(resolve));
  });

  it('sends method, headers and body, and returns status, headers and the streamed body', async () => {
    handler = (req, res, body) => {
      res.writeHead(429, {
        'retry-after': '3',
        'x-seen': `${req.method} ${req.headers['x-api-key']} ${req.headers['content-length']} ${body}`,
      });
      res.write('part one, ');
      setTimeout(() => res.end('part two'), 20);
    };
    const response = await createUpstreamFetch(1000)(`${url}/v1/chat`, { method: 'POST', headers: { 'X-Api-Key': 'k' }, body: '{"a":1}' });
    expect(response.status).toBe(429);
    expect(response.ok).toBe(false);
    expect(response.headers.get('retry-after')).toBe('3');
    expect(response.headers.get('x-seen')).toBe('POST k 7 {"a":1}');
    expect(await response.text()).toBe('part one, part two');
  });

  it('rejects like fetch when it cannot connect, so the AI SDK treats it as a retryable network error', async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const { port } = closed.address() as AddressInfo;
    await new Promise((resolve) => closed.close(resolve));
    const error = await createUpstreamFetch(1000)(`http://127.0.0.1:${port}/`, { method: 'POST', body: '{}' }).catch(
      (caught: unknown) => caught,
    );
    expect(error).toBeInstanceOf(TypeError);
    expect((error as TypeError).message).toBe('fetch failed');
    expect(((error as TypeError).cause as { code?: string }).code).toBe('ECONNREFUSED');
  });

  it('gives up with UpstreamTimeoutError when no headers come, and when the body falls silent', async () => {
    handler = () => {}; // never answers
    await expect(createUpstreamFetch(150)(url, { method: 'POST', body: '{}' })).rejects.toBeInstanceOf(UpstreamTimeoutError);

    handler = (_req, res) => {
      res.writeHead(200);
      res.write('first bytes');
    };
    const response = await createUpstreamFetch(150)(url, { method: 'POST', body: '{}' });
    const reader = response.body!.getReader();
    expect(new TextDecoder().decode((await reader.read()).value)).toBe('first bytes');
    await expect(reader.read()).rejects.toBeInstanceOf(UpstreamTimeoutError);
  });

  it('rejects with the abort reason, and errors the body when the caller aborts mid-stream', async () => {
    handler = () => {};
    const before = new AbortController();
    const pending = createUpstreamFetch(5000)(url, { method: 'POST', body: '{}', signal: before.signal });
    before.abort(new Error('stopped by the user'));
    await expect(pending).rejects.toThrow('stopped by the user');

    handler = (_req, res) => {
      res.writeHead(200);
      res.write('some');
    };
    const during = new AbortController();
    const response = await createUpstreamFetch(5000)(url, { method: 'POST', body: '{}', signal: during.signal });
    const reader = response.body!.getReader();
    await reader.read();
    during.abort(new Error('stopped mid-stream'));
    await expect(reader.read()).rejects.toThrow('stopped mid-stream');
  });

  it('reports a connection lost mid-body as a reset, not as a complete answer', async () => {
    handler = (_req, res) => {
      res.writeHead(200);
      res.write('half an answer');
      setTimeout(() => res.socket?.destroy(), 20);
    };
    const response = await createUpstreamFetch(5000)(url, { method: 'POST', body: '{}' });
    const error = await response.text().catch((caught: unknown) => caught);
    expect((error as { code?: string }).code).toBe('ECONNRESET');
  });

  it('sends a request again when its kept-alive connection turns out closed, and only then', async () => {
    // A provider that closes a kept-alive connection as the next request arrives on it, the way an
    // idle connection closed by its keep-alive timeout meets a request sent in the same moment.
    const served = new WeakMap<Socket, number>();
    let connections = 0;
    let requests = 0;
    const provider = createServer((req, res) => {
      requests++;
      const count = (served.get(req.socket) ?? 0) + 1;
      served.set(req.socket, count);
      if (count > 1) req.socket.destroy();
      else res.end('answered');
    });
    provider.on('connection', () => connections++);
    await new Promise<void>((resolve) => provider.listen(0, '127.0.0.1', resolve));
    const address = `http://127.0.0.1:${(provider.address() as AddressInfo).port}/`;
    const upstreamFetch = createUpstreamFetch(5000);
    try {
      expect(await (await upstreamFetch(address, { method: 'POST', body: '{}' })).text()).toBe('answered');
      // The second request goes out on the kept-alive connection, is cut, and is sent on a new one.
      expect(await (await upstreamFetch(address, { method: 'POST', body: '{}' })).text()).toBe('answered');
      expect({ connections, requests }).toEqual({ connections: 2, requests: 3 });
    } finally {
      await new Promise((resolve) => provider.close(resolve));
      provider.closeAllConnections();
    }

    // A new connection cut without an answer is a real failure: reported, not sent again.
    const failing = createServer((req) => req.socket.destroy());
    let tries = 0;
    failing.on('request', () => tries++);
    await new Promise<void>((resolve) => failing.listen(0, '127.0.0.1', resolve));
    try {
      const error = await upstreamFetch(`http://127.0.0.1:${(failing.address() as AddressInfo).port}/`, {
        method: 'POST',
        body: '{}',
      }).catch((caught: unknown) => caught);
      expect(error).toBeInstanceOf(TypeError);
      expect((error as TypeError).message).toBe('fetch failed');
      expect(tries).toBe(1);
    } finally {
      await new Promise((resolve) => failing.close(resolve));
    }
  });
});
