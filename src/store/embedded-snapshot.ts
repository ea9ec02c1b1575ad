/**
 * A new embedded database starts from a snapshot instead of PostgreSQL's initdb (which takes
 * seconds) and the loading of the shipped catalog (most of a second more): a data directory made at
 * build time (`npm run build`) with every migration of that build applied and the shipped catalog
 * loaded — no users, no sessions — and kept small (see `makeSnapshot`). Its manifest names the
 * PGlite version, each migration with a hash of its SQL, and a hash of the catalog file, so a
 * snapshot is used only by the code and catalog it was made from: any migration added since is
 * applied on top as usual; a migration or a catalog that changed makes it unusable (a new directory
 * then takes the slow way), as does a service that does not load the catalog.
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
const files = (directory: string) => ({
  tarball: join(directory, 'embedded-snapshot.tar.gz'),
  manifest: join(directory, 'embedded-snapshot.json'),
});

export type SnapshotManifest = { pglite: string; migrations: { id: string; sha256: string }[]; catalog: string };

async function manifestOf(migrations: Migration[], catalogFile: string): Promise<SnapshotManifest> {
  return {
    pglite: await pgliteVersion(),
    migrations: migrations.map((migration) => ({ id: migration.id, sha256: sha256(migration.sql) })),
    catalog: sha256(await readFile(catalogFile, 'utf8')),
  };
}

/** The installed PGlite's version: a snapshot is only read by the PGlite that wrote it. */
async function pgliteVersion(): Promise<string> {
  const entry = createRequire(import.meta.url).resolve('@electric-sql/pglite');
  let directory = dirname(entry);
  while (!directory.endsWith('pglite') && dirname(directory) !== directory) directory = dirname(directory);
  return (JSON.parse(await readFile(join(directory, 'package.json'), 'utf8')) as { version: string }).version;
}

/**
 * The snapshot file, if there is one made by this PGlite, from migrations that are, in order, the
 * first of `migrations` unchanged, and from the catalog file `catalogFile` as it is now; else
 * undefined. Without a catalog (a service that does not load one) there is none.
 */
export async function usableSnapshot(
  migrations: Migration[],
  options: { directory?: string; catalogFile?: string } = {},
): Promise<string | undefined> {
  if (!options.catalogFile) return undefined;
  const { tarball, manifest: manifestFile } = files(options.directory ?? SNAPSHOT_DIR);
  let made: SnapshotManifest;
  try {
    made = JSON.parse(await readFile(manifestFile, 'utf8')) as SnapshotManifest;
  } catch {
    return undefined;
  }
  const current = await manifestOf(migrations, options.catalogFile).catch(() => undefined);
  if (!current || made.pglite !== current.pglite || made.catalog !== current.catalog) return undefined;
  const matches = made.migrations.every(
    (migration, index) => current.migrations[index]?.id === migration.id && current.migrations[index]?.sha256 === migration.sha256,
  );
  return matches ? tarball : undefined;
}

/**
 * Makes a snapshot of a database with `migrations` applied and the agents of `catalogFile` loaded (a
 * gzipped `dumpDataDir` tarball), and writes it with its manifest into `directory`; returns the
 * tarball's path.
 */
export async function makeSnapshot(migrations: Migration[], options: { directory?: string; catalogFile: string }): Promise<string> {
  const { catalogFile } = options;
  const [{ PGlite }, { pg_trgm }, { drizzle }, { AgentsRepository }, { readCatalogFile }] = await Promise.all([
    import('@electric-sql/pglite'),
    import('@electric-sql/pglite/contrib/pg_trgm'),
    import('drizzle-orm/pglite'),
    import('./agents-repository.js'),
    import('./catalog.js'),
  ]);
  // Small, so that a new directory has little to unpack and write: WAL segments of 1 MB instead of
  // 16, and no template databases (autochat never creates a database).
  const client = await PGlite.create({ extensions: { pg_trgm }, initDbStartParams: ['--wal-segsize=1'] });
  try {
    await client.exec(`update pg_database set datistemplate = false where datname in ('template0', 'template1')`);
    await client.exec('drop database template0');
    await client.exec('drop database template1');
    const db = drizzle({ client }) as unknown as Db;
    await migrate(db, migrations);
    const catalog = await readCatalogFile(catalogFile);
    if (catalog.problems.length > 0)
      throw new Error(`The catalog ${catalogFile} has invalid entries: ${JSON.stringify(catalog.problems.slice(0, 3))}`);
    await new AgentsRepository(db).upsert(catalog.agents);
    await client.exec('checkpoint');
    const { tarball, manifest } = files(options.directory ?? SNAPSHOT_DIR);
    await writeFile(tarball, Buffer.from(await (await client.dumpDataDir('gzip')).arrayBuffer()));
    await writeFile(manifest, `${JSON.stringify(await manifestOf(migrations, catalogFile), null, 2)}\n`);
    return tarball;
  } finally {
    await client.close();
  }
}

const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');
