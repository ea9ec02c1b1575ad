/**
 * The terminal clients keep reading an answer when their connection drops before its end (a proxy
 * or load balancer that closed it, an instance that stopped): they attach again with GET …/stream,
 * as useChat's resume does, and print each part of the answer once. A TCP proxy between the client
 * and a real server cuts the first stream connection once the answer has begun; the answer goes on
 * on the server meanwhile.
 */
import { connect, createServer, type Server, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningServer } from '../src/http/server.js';
import { runCli } from './support/cli-process.js';
import { say, startFakeUpstream, type FakeUpstream } from './support/fake-upstream.js';
import { startTestServer, upstreamOptions } from './support/test-service.js';

const WORDS = Array.from({ length: 24 }, (_, index) => `word${index}`);
const ANSWER = `${WORDS.join(' ')}.`;

type CuttingProxy = {
  url: string;
  /** The requests that went through, by their first line (`POST /api/… HTTP/1.1`). */
  requests: string[];
  /** How many stream connections were cut. */
  cuts: number;
  /** Cuts the next connection whose request line matches, once its response carried a text delta. */
  cutNext(requestLine: RegExp): void;
  close(): Promise<void>;
};

async function startCuttingProxy(target: URL): Promise<CuttingProxy> {
  let pending: RegExp | undefined;
  const sockets = new Set<Socket>();
  const proxy: CuttingProxy = {
    url: '',
    requests: [],
    cuts: 0,
    cutNext: (requestLine) => {
      pending = requestLine;
    },
    close: async () => {
      for (const socket of sockets) socket.destroy();
      await new Promise((resolve) => server.close(resolve));
    },
  };
  const server: Server = createServer((client) => {
    const upstream = connect(Number(target.port), target.hostname);
    sockets.add(client).add(upstream);
    let cutThis = false;
    client.on('data', (bytes: Buffer) => {
      const line = bytes.toString('latin1').split('\r\n')[0]!;
      if (/^[A-Z]+ \S+ HTTP\/1\.1$/.test(line)) {
        proxy.requests.push(line.replace(/ HTTP\/1\.1$/, ''));
        if (pending?.test(line)) {
          pending = undefined;
          cutThis = true;
        }
      }
      upstream.write(bytes);
    });
    upstream.on('data', (bytes: Buffer) => {
      client.write(bytes);
      if (cutThis && bytes.toString('utf8').includes('"type":"text-delta"')) {
        proxy.cuts++;
        client.destroy();
        upstream.destroy();
      }
    });
    const close = () => {
      client.destroy();
      upstream.destroy();
    };
    for (const socket of [client, upstream]) socket.on('close', close).on('error', close);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  proxy.url = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
  return proxy;
}

describe('the terminal clients re-attach to an answer whose connection dropped', () => {
  let upstream: FakeUpstream;
  let server: RunningServer;
  let proxy: CuttingProxy;

  beforeAll(async () => {
    upstream = await startFakeUpstream();
    server = await startTestServer(upstreamOptions(upstream.url, { dataDir: 'memory://' }));
    proxy = await startCuttingProxy(new URL(server.url));
  });
  afterAll(async () => {
    await proxy?.close();
    await server?.close();
    await upstream?.close();
  });

  it('autochat chat -m prints the whole answer once and exits 0', async () => {
    upstream.enqueue(say(ANSWER, 40));
    proxy.cutNext(/^POST \/api\/chat\/sessions\/[^/]+\/stream /);
    const chat = await runCli(['chat', '-m', 'Count for me', '--url', proxy.url], {});
    expect(proxy.cuts).toBe(1);
    expect(proxy.requests.filter((line) => /^GET \/api\/chat\/sessions\/[^/]+\/stream$/.test(line)).length).toBeGreaterThan(0);
    expect(chat.stderr).not.toContain('closed before the answer was finished');
    for (const word of WORDS) expect(chat.stdout.split(`${word} `).length + chat.stdout.split(`${word}.`).length - 2, word).toBe(1);
    expect(chat.stdout).toContain(ANSWER);
    expect(chat.code).toBe(0);
  });

  it('autochat run prints the whole output of the execution once and exits 0', async () => {
    upstream.enqueue(say(ANSWER, 40));
    proxy.cutNext(/^GET \/api\/executions\/[^/]+\/stream /);
    const run = await runCli(
      ['run', 'money-printing-agent', '--input', 'skills=woodwork', '-i', 'startupBudget=250', '--url', proxy.url],
      {},
    );
    expect(proxy.cuts).toBe(2);
    expect(run.stdout).toBe(`${ANSWER}\n`);
    expect(run.code).toBe(0);
  });
});
