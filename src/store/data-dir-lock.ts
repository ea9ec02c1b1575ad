/**
 * The lock that gives one process at a time the embedded database under DATA_DIR. PGlite has no lock
 * of its own: two processes on one directory each see only their own writes, and one side's data is
 * lost when both stop. The lock is a file, `DATA_DIR/autochat.lock`, naming its holder (pid, host,
 * start time); a second process refuses to start with a sentence naming both.
 *
 * Creating the lock is atomic: the record is written whole to a private file, then hard-linked to the
 * lock's name, which fails if the name exists. A lock whose holder died (kill -9, power loss) is
 * stale: the pid is gone, or it now belongs to another process (its start time or the machine's boot
 * differ), or it is this very process's pid from an earlier life (a container's pid 1). Breaking a
 * stale lock is a claim of its own: only the process that creates `autochat.lock.break-<hash of the
 * stale record>` may remove that record, and it removes it only if it is still that record. So two
 * starters racing for one stale lock never both win, and a slow one never removes a fresh lock.
 */
import { createHash, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { link, mkdir, readFile, realpath, unlink, writeFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join, resolve } from 'node:path';
import { z } from 'zod';

const lockRecordSchema = z.object({
  pid: z.number().int().positive(),
  host: z.string(),
  startedAt: z.string(),
  /** The process's start time in clock ticks since boot (Linux), to tell a reused pid from its holder. */
  startTicks: z.string().optional(),
  bootId: z.string().optional(),
  token: z.string(),
});
export type LockHolder = z.infer<typeof lockRecordSchema>;

const marker = Symbol.for('autochat.data-dir-in-use');

/** Raised when another live process holds DATA_DIR; its message names the directory and the holder. */
export class DataDirInUseError extends Error {
  override readonly name = 'DataDirInUseError';
  readonly [marker] = true;
  constructor(
    readonly dataDir: string,
    readonly holder: LockHolder | undefined,
    readonly lockFile: string,
  ) {
    super(describeHolder(dataDir, holder, lockFile));
  }
  static isInstance(error: unknown): error is DataDirInUseError {
    return typeof error === 'object' && error !== null && marker in error;
  }
}

export type DataDirLock = { path: string; holder: LockHolder; release(): Promise<void> };

export const LOCK_FILE = 'autochat.lock';

/** Tokens of the locks this process holds, so a second open in the same process is refused too. */
const heldHere = new Set<string>();

/** Takes DATA_DIR for this process, or throws `DataDirInUseError` naming the live process that has it. */
export async function lockDataDir(dataDir: string): Promise<DataDirLock> {
  await mkdir(dataDir, { recursive: true });
  const directory = await realpath(resolve(dataDir));
  const path = join(directory, LOCK_FILE);
  const holder: LockHolder = {
    pid: process.pid,
    host: hostname(),
    startedAt: new Date(Date.now() - process.uptime() * 1000).toISOString(),
    startTicks: startTicksOf(process.pid),
    bootId: bootId(),
    token: randomBytes(12).toString('hex'),
  };
  const record = `${JSON.stringify(holder)}\n`;
  await claim(path, record, directory, 0);
  heldHere.add(holder.token);
  let released = false;
  return {
    path,
    holder,
    async release() {
      if (released) return;
      released = true;
      heldHere.delete(holder.token);
      // Only our own record is removed: if it is not ours any more, someone judged us dead and took it.
      const current = await readFile(path, 'utf8').catch(() => undefined);
      if (current === record) await unlink(path).catch(() => undefined);
    },
  };
}

const MAX_ATTEMPTS = 50;
/** Breaking a stale lock takes a lock of its own, which can be stale too; this far and no further. */
const MAX_DEPTH = 3;

async function claim(path: string, record: string, dataDir: string, depth: number): Promise<void> {
  let lastHolder: LockHolder | undefined;
  for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
    if (await createExclusively(path, record)) return;
    const raw = await readFile(path, 'utf8').catch((error: NodeJS.ErrnoException) => {
      if (error.code === 'ENOENT') return undefined; // released meanwhile: try again
      throw error;
    });
    if (raw === undefined) continue;
    const holder = parseRecord(raw);
    lastHolder = holder;
    if (holder && holderState(holder) !== 'dead') throw new DataDirInUseError(dataDir, holder, path);
    if (depth >= MAX_DEPTH) throw new DataDirInUseError(dataDir, holder, path);
    // Stale (its holder is dead, or the record is unreadable): break it under a claim of its own.
    const breakPath = `${path}.break-${createHash('sha256').update(raw).digest('hex').slice(0, 16)}`;
    try {
      await claim(breakPath, record, dataDir, depth + 1);
    } catch (error) {
      if (!DataDirInUseError.isInstance(error)) throw error;
      // Another starter is breaking this very lock right now; see what it leaves.
      await pause(20 + attempt * 10);
      continue;
    }
    try {
      const current = await readFile(path, 'utf8').catch(() => undefined);
      if (current === raw) await unlink(path).catch(() => undefined);
    } finally {
      await unlink(breakPath).catch(() => undefined);
    }
  }
  throw new DataDirInUseError(dataDir, lastHolder, path);
}

/** Publishes `record` at `path` in one step, or returns false if `path` exists. */
async function createExclusively(path: string, record: string): Promise<boolean> {
  const draft = `${path}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`;
  await writeFile(draft, record, { flag: 'wx', mode: 0o644 });
  try {
    await link(draft, path);
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw error;
  } finally {
    await unlink(draft).catch(() => undefined);
  }
}

function parseRecord(raw: string): LockHolder | undefined {
  try {
    const parsed = lockRecordSchema.safeParse(JSON.parse(raw));
    return parsed.success ? parsed.data : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Whether the process a record names still runs: `elsewhere` when it ran on another host (nothing
 * here can tell, so it counts as alive).
 */
export function holderState(holder: LockHolder): 'alive' | 'dead' | 'elsewhere' {
  if (holder.host !== hostname()) return 'elsewhere';
  if (holder.pid === process.pid) return heldHere.has(holder.token) ? 'alive' : 'dead';
  const boot = bootId();
  if (holder.bootId && boot && holder.bootId !== boot) return 'dead';
  try {
    process.kill(holder.pid, 0);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ESRCH') return 'dead';
    // EPERM: it exists but belongs to another user; fall through to the start-time check.
  }
  const stat = procStat(holder.pid);
  if (stat?.state === 'Z' || stat?.state === 'X') return 'dead';
  if (holder.startTicks && stat && stat.startTicks !== holder.startTicks) return 'dead'; // the pid was reused
  return 'alive';
}

/** Fields of /proc/<pid>/stat (Linux): the state letter and the start time in ticks since boot. */
function procStat(pid: number): { state: string; startTicks: string } | undefined {
  try {
    const text = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name (field 2) is in parentheses and may hold spaces or parentheses itself.
    const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
    const state = fields[0];
    const startTicks = fields[19];
    return state && startTicks ? { state, startTicks } : undefined;
  } catch {
    return undefined;
  }
}

const startTicksOf = (pid: number) => procStat(pid)?.startTicks;

function bootId(): string | undefined {
  try {
    return readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim() || undefined;
  } catch {
    return undefined;
  }
}

function describeHolder(dataDir: string, holder: LockHolder | undefined, lockFile: string): string {
  const advice =
    'The embedded database serves one process at a time: stop that process first (to run several instances, use DATABASE_URL with PostgreSQL).';
  if (!holder) {
    return `DATA_DIR ${dataDir} is in use by another autochat process, which could not be identified. ${advice}`;
  }
  const who = `pid ${holder.pid} on host ${holder.host}, started ${holder.startedAt}`;
  if (holder.host !== hostname()) {
    return `DATA_DIR ${dataDir} is in use by an autochat process on another host (${who}). ${advice} If that host is gone for good, delete ${lockFile}.`;
  }
  if (holder.pid === process.pid) return `DATA_DIR ${dataDir} is already open in this process (${who}).`;
  return `DATA_DIR ${dataDir} is in use by another autochat process (${who}). ${advice}`;
}

const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
