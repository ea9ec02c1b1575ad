/**
 * A new embedded database starts from a snapshot instead of PostgreSQL's initdb (which takes
 * seconds): a data directory made at build time (`npm run build`) with every migration of that
 * build applied and nothing else — no agents, no users. Its manifest names the PGlite version and
 * each migration with a hash of its SQL, so a snapshot is used only by the code it was made for; any
 * migration added since is applied on top as usual, and one that changed makes it unusable (a fresh
 * directory then takes the slow way).
 */
import { createHash } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { migrate, type Db } from './migrate.js';
import type { Migration } from './migrations/index.js';

/** Where `npm run build` writes the snapshot; the same path whether this runs from src/ or dist/. */
export const SNAPSHOT_DIR = fileURLToPath(new URL('../../dist/store/', import.meta.url));
const files = (directory: string) => ({ tarball: join(directory, 'embedded-snapshot.tar.gz'), manifest: join(directory, 'embedded-snapshot.json') });

export type SnapshotManifest = { pglite: string; migrations: { id: string; sha256: string }[] };

export function manifestOf(migrations: Migration[], pglite: string): SnapshotManifest {
  return { pglite, migrations: migrations.map((migration) => ({ id: migration.id, sha256: sha256(migration.sql) })) };
}

/** The installed PGlite's version: a snapshot is only read by the PGlite that wrote it. */
export async function pgliteVersion(): Promise<string> {
  const entry = createRequire(import.meta.url).resolve('@electric-sql/pglite');
  let directory = dirname(entry);
  while (!directory.endsWith('pglite') && dirname(directory) !== directory) directory = dirname(directory);
  return (JSON.parse(await readFile(join(directory, 'package.json'), 'utf8')) as { version: string }).version;
}

/**
 * The snapshot file, if there is one made by this PGlite from migrations that are, in order, the
 * first of `migrations` unchanged; else undefined.
 */
export async function usableSnapshot(migrations: Migration[], directory = SNAPSHOT_DIR): Promise<string | undefined> {
  const { tarball, manifest: manifestFile } = files(directory);
  let manifest: SnapshotManifest;
  try {
    manifest = JSON.parse(await readFile(manifestFile, 'utf8')) as SnapshotManifest;
  } catch {
    return undefined;
  }
  if (manifest.pglite !== (await pgliteVersion())) return undefined;
  const current = manifestOf(migrations, manifest.pglite).migrations;
  const matches = manifest.migrations.every((made, index) => current[index]?.id === made.id && current[index]?.sha256 === made.sha256);
  return matches ? tarball : undefined;
}

/**
 * Makes a snapshot of an empty database with `migrations` applied (a gzipped `dumpDataDir` tarball)
 * and writes it with its manifest into `directory`; returns the tarball's path.
 */
export async function makeSnapshot(migrations: Migration[], directory = SNAPSHOT_DIR): Promise<string> {
  const [{ PGlite }, { pg_trgm }, { drizzle }] = await Promise.all([
    import('@electric-sql/pglite'),
    import('@electric-sql/pglite/contrib/pg_trgm'),
    import('drizzle-orm/pglite'),
  ]);
  const client = await PGlite.create({ extensions: { pg_trgm } });
  try {
    await migrate(drizzle({ client }) as unknown as Db, migrations);
    const { tarball, manifest } = files(directory);
    await writeFile(tarball, Buffer.from(await (await client.dumpDataDir('gzip')).arrayBuffer()));
    await writeFile(manifest, `${JSON.stringify(manifestOf(migrations, await pgliteVersion()), null, 2)}\n`);
    return tarball;
  } finally {
    await client.close();
  }
}

const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');
