import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DataDirInUseError, LOCK_FILE, lockDataDir, type LockHolder } from './data-dir-lock.js';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'autochat-lock-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

const record = (holder: Partial<LockHolder>) =>
  `${JSON.stringify({ pid: 1, host: hostname(), startedAt: '2026-01-01T00:00:00.000Z', token: 'old', ...holder })}\n`;

/** A process that exists while the test needs it: `sleep` until killed. */
function sleeper() {
  const child = spawn('sleep', ['60'], { stdio: 'ignore' });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  return { pid: child.pid!, kill: async () => (child.kill('SIGKILL'), await exited) };
}

/** The error `lockDataDir` refuses with (the test fails if it takes the lock instead). */
async function refusal(path: string): Promise<Error> {
  const lock = await lockDataDir(path).catch((error: unknown) => error as Error);
  if (lock instanceof Error) return lock;
  await lock.release();
  throw new Error('the lock was taken, not refused');
}

function startTicks(pid: number): string {
  const text = readFileSync(`/proc/${pid}/stat`, 'utf8');
  return text.slice(text.lastIndexOf(')') + 2).split(' ')[19]!;
}

describe('the DATA_DIR lock', () => {
  it('is held by one opener at a time, names its holder, and is free again once released', async () => {
    const lock = await lockDataDir(dir);
    const stored = JSON.parse(await readFile(join(dir, LOCK_FILE), 'utf8')) as LockHolder;
    expect(stored).toMatchObject({ pid: process.pid, host: hostname() });

    const refused = await lockDataDir(dir).catch((error: unknown) => error);
    expect(DataDirInUseError.isInstance(refused)).toBe(true);
    expect((refused as Error).message).toContain(`DATA_DIR ${dir}`);
    expect((refused as Error).message).toContain(`pid ${process.pid}`);

    await lock.release();
    expect(await readdir(dir)).toEqual([]);
    await (await lockDataDir(dir)).release();
  });

  it('refuses while the holder runs, and takes over once it died (kill -9)', async () => {
    const holder = sleeper();
    await writeFile(
      join(dir, LOCK_FILE),
      record({ pid: holder.pid, startTicks: startTicks(holder.pid), startedAt: '2026-02-03T04:05:06.000Z' }),
    );
    const refused = await refusal(dir);
    expect(refused).toBeInstanceOf(DataDirInUseError);
    expect(refused.message).toBe(
      `DATA_DIR ${dir} is in use by another autochat process (pid ${holder.pid} on host ${hostname()}, started 2026-02-03T04:05:06.000Z). ` +
        'The embedded database serves one process at a time: stop that process first (to run several instances, use DATABASE_URL with PostgreSQL).',
    );

    await holder.kill();
    const lock = await lockDataDir(dir);
    expect(JSON.parse(await readFile(join(dir, LOCK_FILE), 'utf8')).pid).toBe(process.pid);
    await lock.release();
  });

  it('treats a live pid with another start time as reused (the holder died and the pid went to someone else)', async () => {
    const stranger = sleeper();
    try {
      await writeFile(join(dir, LOCK_FILE), record({ pid: stranger.pid, startTicks: '1' }));
      const lock = await lockDataDir(dir);
      await lock.release();
    } finally {
      await stranger.kill();
    }
  });

  it('treats its own pid in a record it did not write as a previous life of this process (a container’s pid 1)', async () => {
    await writeFile(join(dir, LOCK_FILE), record({ pid: process.pid, token: 'from-before-the-restart' }));
    await (await lockDataDir(dir)).release();
  });

  it('treats a record from before a reboot as stale', async () => {
    const holder = sleeper();
    try {
      await writeFile(join(dir, LOCK_FILE), record({ pid: holder.pid, bootId: 'another-boot' }));
      await (await lockDataDir(dir)).release();
    } finally {
      await holder.kill();
    }
  });

  it('refuses a lock held on another host, and says which file to delete if that host is gone', async () => {
    await writeFile(join(dir, LOCK_FILE), record({ host: 'other-machine', pid: 4242 }));
    const refused = await refusal(dir);
    expect(refused.message).toMatch(/another host \(pid 4242 on host other-machine, started 2026-01-01T00:00:00.000Z\)/);
    expect(refused.message).toContain(`delete ${join(dir, LOCK_FILE)}`);
  });

  it('takes over an unreadable record (a lock file damaged by a crash of the machine)', async () => {
    await writeFile(join(dir, LOCK_FILE), '');
    await (await lockDataDir(dir)).release();
  });

  it('lets exactly one of several processes racing for a stale lock win; the others name the winner', async () => {
    const dead = sleeper();
    const deadTicks = startTicks(dead.pid);
    await dead.kill();
    await writeFile(join(dir, LOCK_FILE), record({ pid: dead.pid, startTicks: deadTicks }));

    const entry = fileURLToPath(new URL('./data-dir-lock.ts', import.meta.url));
    const script = join(dir, '..', `${dir.split('/').pop()}-racer.mjs`);
    await writeFile(
      script,
      `import { lockDataDir } from ${JSON.stringify(entry)};
       import { createInterface } from 'node:readline';
       const lines = createInterface({ input: process.stdin });
       const next = () => new Promise((resolve) => lines.once('line', resolve));
       console.log('ready');
       await next();
       try { await lockDataDir(process.argv[2]); console.log(JSON.stringify({ won: process.pid })); }
       catch (error) { console.log(JSON.stringify({ lost: error.message })); }
       await next();
       process.exit(0);`,
    );
    const racers = Array.from({ length: 6 }, () => {
      const child = spawn(process.execPath, ['--import', 'tsx', script, dir], { stdio: ['pipe', 'pipe', 'inherit'] });
      const lines = createInterface({ input: child.stdout! });
      const output: string[] = [];
      const waiters: (() => void)[] = [];
      lines.on('line', (line) => {
        output.push(line);
        waiters.splice(0).forEach((wake) => wake());
      });
      const lineCount = (count: number) =>
        new Promise<void>((resolve) => {
          const check = () => (output.length >= count ? resolve() : waiters.push(check));
          check();
        });
      const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
      return { child, output, lineCount, exited };
    });
    try {
      await Promise.all(racers.map((racer) => racer.lineCount(1)));
      for (const racer of racers) racer.child.stdin!.write('go\n');
      await Promise.all(racers.map((racer) => racer.lineCount(2)));
      const results = racers.map((racer) => JSON.parse(racer.output[1]!) as { won?: number; lost?: string });
      const winners = results.filter((result) => result.won);
      expect(winners).toHaveLength(1);
      for (const result of results.filter((entry) => entry.lost)) {
        expect(result.lost).toContain(`pid ${winners[0]!.won}`);
      }
      expect(JSON.parse(await readFile(join(dir, LOCK_FILE), 'utf8')).pid).toBe(winners[0]!.won);
      expect((await readdir(dir)).sort()).toEqual([LOCK_FILE]);
    } finally {
      for (const racer of racers) racer.child.stdin!.end('exit\n');
      await Promise.all(racers.map((racer) => racer.exited));
      await rm(script, { force: true });
    }
  });
});
