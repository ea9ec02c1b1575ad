/**
 * Starts the embedded database's thread for a DATA_DIR (from the build's snapshot when the directory
 * is new) — on demand, or ahead of time: `autochat serve` starts it before loading the rest of the
 * server, so that opening the database and loading the code overlap.
 */
import { mkdir } from 'node:fs/promises';
import { lockDataDir, type DataDirLock } from './data-dir-lock.js';
import { usableSnapshot } from './embedded-snapshot.js';
import { migrations } from './migrations/index.js';
import { PgliteThread } from './pglite-thread.js';
import { SHIPPED_CATALOG } from './shipped-catalog.js';

/** The database's thread, and the lock that keeps every other process off its files (none in memory). */
type Started = Awaited<ReturnType<typeof PgliteThread.start>> & { lock?: DataDirLock };

/** How alike (0–1) a query and an agent's text must be for a typo-tolerant match to count. */
export const TRIGRAM_THRESHOLD = 0.3;

const early = new Map<string, Promise<Started>>();

/** The PostgreSQL data directory under DATA_DIR; undefined keeps the database in memory. */
const pgdataOf = (dataDir: string) => (dataDir === 'memory://' ? undefined : `${dataDir.replace(/\/$/, '')}/pgdata`);

/** Where a database starts from: the build's snapshot (or one in `snapshotDir`) holds the shipped catalog. */
export type StartingPoint = { snapshotDir?: string; shippedCatalog?: boolean };

async function start(dataDir: string, from: StartingPoint): Promise<Started> {
  const pgdata = pgdataOf(dataDir);
  if (pgdata) await mkdir(dataDir, { recursive: true });
  // Before PGlite touches the files (or a snapshot is unpacked): a second process must not even open
  // them. Taken here, so that the database begun early is locked too.
  const lock = pgdata ? await lockDataDir(dataDir) : undefined;
  try {
    const started = await PgliteThread.start({
      pgdata,
      snapshot: await usableSnapshot(migrations, {
        directory: from.snapshotDir,
        catalogFile: from.shippedCatalog === false ? undefined : SHIPPED_CATALOG,
      }),
      setup: `set pg_trgm.word_similarity_threshold = ${TRIGRAM_THRESHOLD}; set pg_trgm.similarity_threshold = ${TRIGRAM_THRESHOLD};`,
    });
    return Object.assign(started, { lock });
  } catch (error) {
    await lock?.release();
    throw error;
  }
}

/**
 * Begins opening the embedded database of `dataDir` now; the next `openEmbedded` of it takes it over.
 * An idle database thread does not keep the process alive, so a program that stops before taking
 * it over still exits.
 */
export function openEmbeddedEarly(dataDir: string): void {
  if (early.has(dataDir)) return;
  const starting = start(dataDir, {});
  starting.catch(() => undefined); // reported to whoever takes it over
  early.set(dataDir, starting);
}

/** The embedded database of `dataDir` on its thread: the one begun early, or a new one. */
export async function openEmbedded(dataDir: string, from: StartingPoint = {}): Promise<Started> {
  const begun = from.snapshotDir === undefined && from.shippedCatalog !== false ? early.get(dataDir) : undefined;
  if (!begun) return start(dataDir, from);
  early.delete(dataDir);
  return begun;
}
