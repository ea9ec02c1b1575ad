/**
 * The embedded database's snapshot: a new data directory starts from it with every migration it was
 * made from and the catalog it was made with; migrations added since are applied on top; a changed
 * migration or catalog, or a service that loads no catalog, makes it unusable; an existing directory
 * is opened as it is.
 */
import { copyFile, mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readCatalogFile } from './catalog.js';
import { openDatabase, queryRows } from './database.js';
import { makeSnapshot, usableSnapshot } from './embedded-snapshot.js';
import { migrations } from './migrations/index.js';
import { SHIPPED_CATALOG } from './shipped-catalog.js';

describe('embedded database snapshot', () => {
  let directory: string;
  let catalogFile: string;
  /** A snapshot made before the last migration existed, as after a later migration is added. */
  const older = migrations.slice(0, -1);

  beforeAll(async () => {
    directory = await mkdtemp(join(tmpdir(), 'autochat-snapshot-'));
    catalogFile = join(directory, 'agents.json');
    await copyFile(SHIPPED_CATALOG, catalogFile);
    await makeSnapshot(older, { directory, catalogFile });
  });
  afterAll(async () => {
    await rm(directory, { recursive: true, force: true });
  });

  it('is usable by code that has the same migrations, or more, with the same catalog', async () => {
    expect(await usableSnapshot(older, { directory, catalogFile })).toMatch(/embedded-snapshot\.tar\.gz$/);
    expect(await usableSnapshot(migrations, { directory, catalogFile })).toMatch(/embedded-snapshot\.tar\.gz$/);
  });

  it('is not used once a migration it was made from changed or is gone, once the catalog changed, or without a catalog', async () => {
    const changed = older.map((migration, index) => (index === 1 ? { ...migration, sql: `${migration.sql}\n-- changed` } : migration));
    expect(await usableSnapshot(changed, { directory, catalogFile })).toBeUndefined();
    expect(await usableSnapshot(older.slice(1), { directory, catalogFile })).toBeUndefined();
    expect(await usableSnapshot(migrations, { directory: join(directory, 'nowhere'), catalogFile })).toBeUndefined();
    expect(await usableSnapshot(migrations, { directory })).toBeUndefined();
    const otherCatalog = join(directory, 'other.json');
    await writeFile(otherCatalog, '[]');
    expect(await usableSnapshot(migrations, { directory, catalogFile: otherCatalog })).toBeUndefined();
  });

  it('starts a new data directory with every migration (those added since applied on top) and the catalog, and reopens it as it is', async () => {
    const dataDir = join(directory, 'data');
    const database = await openDatabase({ dataDir, snapshotDir: directory });
    try {
      expect(database.fromSnapshot).toBe(true);
      const applied = await queryRows<{ id: string }>(database.db, sql`select id from autochat_migrations order by id`);
      expect(applied.map((row) => row.id)).toEqual(migrations.map((migration) => migration.id));
      const [agents] = await queryRows<{ n: number }>(database.db, sql`select count(*)::int as n from agents`);
      expect(agents!.n).toBe((await readCatalogFile(SHIPPED_CATALOG)).agents.length);
      await database.rows(sql`insert into chat_sessions (id, user_id) values ('00000000-0000-4000-8000-000000000001', 'kept')`);
    } finally {
      await database.close();
    }
    const reopened = await openDatabase({ dataDir, snapshotDir: directory });
    try {
      expect(reopened.fromSnapshot).toBe(false);
      const rows = await queryRows<{ user_id: string }>(reopened.db, sql`select user_id from chat_sessions`);
      expect(rows).toEqual([{ user_id: 'kept' }]);
    } finally {
      await reopened.close();
    }
  });

  it('starts over when an earlier start was stopped while unpacking it, and never unpacks over files it did not make', async () => {
    const dataDir = join(directory, 'interrupted');
    await mkdir(join(dataDir, 'pgdata.unpacking-99999-0', 'base'), { recursive: true });
    await writeFile(join(dataDir, 'pgdata.unpacking-99999-0', 'PG_VERSION'), '18');
    const database = await openDatabase({ dataDir, snapshotDir: directory });
    try {
      expect(database.fromSnapshot).toBe(true);
      // The database, and the lock that keeps other processes off it while it is open.
      expect(await readdir(dataDir)).toEqual(['autochat.lock', 'pgdata']);
    } finally {
      await database.close();
    }
    const occupied = join(directory, 'occupied');
    await mkdir(join(occupied, 'pgdata'), { recursive: true });
    await writeFile(join(occupied, 'pgdata', 'notes.txt'), 'not a database');
    await expect(openDatabase({ dataDir: occupied, snapshotDir: directory })).rejects.toThrow();
    expect(await readFile(join(occupied, 'pgdata', 'notes.txt'), 'utf8')).toBe('not a database');
  });

  it('is not used for a database that is to start without the shipped catalog', async () => {
    const database = await openDatabase({ dataDir: 'memory://', snapshotDir: directory, shippedCatalog: false });
    try {
      expect(database.fromSnapshot).toBe(false);
      const [agents] = await queryRows<{ n: number }>(database.db, sql`select count(*)::int as n from agents`);
      expect(agents!.n).toBe(0);
    } finally {
      await database.close();
    }
  });
});
