/**
 * A private PostgreSQL server for fault tests: a cluster made with `initdb` in a temporary directory
 * (as `nobody` when the tests run as root, since PostgreSQL refuses to run as root), listening on a
 * free port of 127.0.0.1. The test stops it, kills it with SIGKILL (the postmaster and every backend,
 * like a machine losing power) and starts it again on the same data directory and port. Never the
 * shared server other tests use.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { chown, mkdir, mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
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

  const signal = async (name: NodeJS.Signals, everyProcess: boolean) => {
    const current = child;
    if (!current?.pid) return;
    // Each backend makes itself a process group leader (setsid), so a signal to the postmaster's
    // group does not reach them: they are found as the postmaster's descendants, and all signalled
    // at once. Otherwise a backend lives on for a moment and may still answer on an open connection.
    const targets = everyProcess ? [current.pid, ...(await descendantsOf(current.pid))] : [current.pid];
    for (const pid of targets) {
      try {
        process.kill(pid, name);
      } catch {
        // already gone
      }
    }
    await exited;
    await waitUntil(async () => !(await anyAlive(targets)), 10_000);
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

/** Every process below `pid` (from /proc: the parent of each process is field 4 of its stat). */
async function descendantsOf(pid: number): Promise<number[]> {
  const parents = new Map<number, number[]>();
  for (const entry of await readdir('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const stat = await readFile(`/proc/${entry}/stat`, 'utf8').catch(() => '');
    const parent = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
    if (parent) parents.set(parent, [...(parents.get(parent) ?? []), Number(entry)]);
  }
  const found: number[] = [];
  for (let queue = [pid]; queue.length > 0; ) {
    const children = parents.get(queue.shift()!) ?? [];
    found.push(...children);
    queue.push(...children);
  }
  return found;
}

/** Whether any of the processes still runs (a zombie left for its new parent to reap does not). */
async function anyAlive(pids: number[]): Promise<boolean> {
  for (const pid of pids) {
    const stat = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => '');
    if (stat && stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z') return true;
  }
  return false;
}
