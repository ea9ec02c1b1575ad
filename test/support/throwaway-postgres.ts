/**
 * A private PostgreSQL server for fault tests: a cluster made with `initdb` in a temporary directory
 * (as `nobody` when the tests run as root, since PostgreSQL refuses to run as root), listening on a
 * free port of 127.0.0.1. The test stops it, kills it with SIGKILL (the postmaster and every backend,
 * like a machine losing power) and starts it again on the same data directory and port. Never the
 * shared server other tests use.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { chown, mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { freePort } from './free-port.js';
import { waitUntil } from './wait-until.js';

const BIN = process.env.POSTGRES_BIN_DIR ?? '/usr/lib/postgresql/15/bin';
const NOBODY = 65_534;

export type ThrowawayPostgres = {
  /** The server's URL for database `name` (default `postgres`). */
  url(name?: string): string;
  port: number;
  /** Creates an empty database and returns its URL. */
  createDatabase(name: string): Promise<string>;
  running(): boolean;
  start(): Promise<void>;
  /** A clean, fast shutdown (SIGINT to the postmaster). */
  stop(): Promise<void>;
  /** SIGKILL to the postmaster and all its backends at once. */
  kill(): Promise<void>;
  /** Stops it for good and removes its directory. */
  destroy(): Promise<void>;
};

export async function startThrowawayPostgres(): Promise<ThrowawayPostgres> {
  const root = await mkdtemp(join(tmpdir(), 'autochat-pg-'));
  const dataDir = join(root, 'data');
  const socketDir = join(root, 'socket');
  await mkdir(dataDir);
  await mkdir(socketDir);
  const asRoot = process.getuid?.() === 0;
  const owner = asRoot ? { uid: NOBODY, gid: NOBODY } : {};
  if (asRoot) {
    for (const path of [root, dataDir, socketDir]) await chown(path, NOBODY, NOBODY);
  }
  await runToEnd(
    join(BIN, 'initdb'),
    ['-D', dataDir, '-U', 'postgres', '--auth=trust', '-E', 'UTF8', '--no-sync', '--no-instructions'],
    owner,
  );
  const port = await freePort();
  let child: ChildProcess | undefined;
  let exited: Promise<void> = Promise.resolve();

  const url = (name = 'postgres') => `postgres://postgres@127.0.0.1:${port}/${name}`;

  const start = async () => {
    if (child) return;
    const started = spawn(
      join(BIN, 'postgres'),
      [
        '-D',
        dataDir,
        '-p',
        String(port),
        '-k',
        socketDir,
        '-c',
        'listen_addresses=127.0.0.1',
        '-c',
        'fsync=off',
        '-c',
        'max_connections=60',
      ],
      // Its own process group, so that a kill reaches every backend, as a power cut would.
      { ...owner, detached: true, stdio: ['ignore', 'ignore', 'pipe'] },
    );
    child = started;
    exited = new Promise((resolve) => started.once('exit', () => resolve()));
    started.once('exit', () => {
      if (child === started) child = undefined;
    });
    let log = '';
    started.stderr!.on('data', (data: Buffer) => {
      log = (log + data.toString()).slice(-4000);
    });
    await waitUntil(async () => {
      if (child !== started) throw new Error(`postgres exited at start: ${log}`);
      const client = new pg.Client({ connectionString: url(), connectionTimeoutMillis: 1000 });
      try {
        await client.connect();
        // Ours, not another server that took the port while ours was down.
        const { rows } = await client.query<{ data_directory: string }>('show data_directory');
        return rows[0]!.data_directory === dataDir;
      } catch {
        return false;
      } finally {
        await client.end().catch(() => {});
      }
    }, 30_000);
  };

  const signal = async (name: NodeJS.Signals, group: boolean) => {
    const current = child;
    if (!current?.pid) return;
    try {
      process.kill(group ? -current.pid : current.pid, name);
    } catch {
      // already gone
    }
    await exited;
    if (group) {
      // Backends notice a dead postmaster on their own; wait until none holds the data directory.
      await waitUntil(async () => !(await groupAlive(current.pid!)), 10_000);
    }
  };

  await start();
  return {
    url,
    port,
    async createDatabase(name) {
      const admin = new pg.Client({ connectionString: url() });
      await admin.connect();
      try {
        await admin.query(`create database ${name}`);
      } finally {
        await admin.end();
      }
      return url(name);
    },
    running: () => child !== undefined,
    start,
    stop: () => signal('SIGINT', false),
    async kill() {
      // A kill that finds nothing to kill would let a test of an outage pass against a live server.
      if (!child) throw new Error('the throwaway PostgreSQL was not running when the test killed it');
      await signal('SIGKILL', true);
    },
    async destroy() {
      await signal('SIGKILL', true);
      await rm(root, { recursive: true, force: true });
    },
  };
}

function runToEnd(command: string, args: string[], options: { uid?: number; gid?: number }): Promise<void> {
  return new Promise((resolve, reject) => {
    const process = spawn(command, args, { ...options, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    process.stderr!.on('data', (data: Buffer) => {
      stderr += data.toString();
    });
    process.once('error', reject);
    process.once('exit', (code) => (code === 0 ? resolve() : reject(new Error(`${command} exited with ${code}: ${stderr}`))));
  });
}

async function groupAlive(pgid: number): Promise<boolean> {
  try {
    process.kill(-pgid, 0);
    return true;
  } catch {
    return false;
  }
}
