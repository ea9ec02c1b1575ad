/**
 * A private `redis-server` for fault tests, on a free port of 127.0.0.1, that the test kills and
 * starts again on the same port. Without `persist` it keeps nothing across a restart (like the shared
 * server: "Redis lost everything"); with it, an append-only file in its own directory brings the data
 * back ("Redis came back with its data"). Never the shared server other tests use.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { freePort } from './free-port.js';
import { waitUntil } from './wait-until.js';

export type ThrowawayRedis = {
  url: string;
  port: number;
  running(): boolean;
  start(): Promise<void>;
  /** SIGKILL: whatever was not persisted is gone. */
  kill(): Promise<void>;
  /** A client for looking inside (TTLs, keys); closed by `destroy`. */
  client(): Redis;
  destroy(): Promise<void>;
};

export async function startThrowawayRedis(options: { persist?: boolean } = {}): Promise<ThrowawayRedis> {
  const dir = await mkdtemp(join(tmpdir(), 'autochat-redis-'));
  const port = await freePort();
  const url = `redis://127.0.0.1:${port}`;
  let child: ChildProcess | undefined;
  let exited: Promise<void> = Promise.resolve();
  const clients: Redis[] = [];

  const ping = async () => {
    const probe = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
    probe.on('error', () => {});
    try {
      await probe.connect();
      return (await probe.ping()) === 'PONG';
    } catch {
      return false;
    } finally {
      probe.disconnect();
    }
  };

  const start = async () => {
    if (child) return;
    const args = ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--dir', dir, '--protected-mode', 'no'];
    args.push('--appendonly', options.persist ? 'yes' : 'no');
    if (options.persist) args.push('--appendfsync', 'always');
    const started = spawn('redis-server', args, { stdio: 'ignore' });
    child = started;
    exited = new Promise((resolve) => started.once('exit', () => resolve()));
    started.once('exit', () => {
      if (child === started) child = undefined;
    });
    await waitUntil(async () => {
      if (child !== started) throw new Error('redis-server exited at start');
      return ping();
    }, 15_000);
  };

  const kill = async () => {
    if (!child) return;
    child.kill('SIGKILL');
    await exited;
  };

  await start();
  return {
    url,
    port,
    running: () => child !== undefined,
    start,
    kill,
    client() {
      const client = new Redis(url, { maxRetriesPerRequest: 2 });
      client.on('error', () => {});
      clients.push(client);
      return client;
    },
    async destroy() {
      for (const client of clients) client.disconnect();
      await kill();
      await rm(dir, { recursive: true, force: true });
    },
  };
}
