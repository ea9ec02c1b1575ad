/**
 * The embedded database's snapshot: a new data directory starts from it with every migration it was
 * made from, migrations added since are applied on top, a changed migration makes it unusable, and an
 * existing directory is opened as it is.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDatabase, queryRows } from './database.js';
import { makeSnapshot, usableSnapshot } from './embedded-snapshot.js';
import { migrations } from './migrations/index.js';

describe('embedded database snapshot', () => {
  let directory: string;
  /** A snapshot made before the last migration existed, as after a later migration is added. */
  const older = migrations.slice(0, -1);

  beforeAll(async () => {
    directory = await mkdtemp(join(tmpdir(), 'autochat-snapshot-'));
    await makeSnapshot(older, join(directory));
  });
  afterAll(async () => {
    await rm(directory, { recursive: true, force: true });
  });

  it('is usable by code that has the same migrations, or more', async () => {
    expect(await usableSnapshot(older, directory)).toMatch(/embedded-snapshot\.tar\.gz$/);
    expect(await usableSnapshot(migrations, directory)).toMatch(/embedded-snapshot\.tar\.gz$/);
  });

  it('is not used once a migration it was made from changed, or is gone', async () => {
    const changed = older.map((migration, index) => (index === 1 ? { ...migration, sql: `${migration.sql}\n-- changed` } : migration));
    expect(await usableSnapshot(changed, directory)).toBeUndefined();
    expect(await usableSnapshot(older.slice(1), directory)).toBeUndefined();
    expect(await usableSnapshot(migrations, join(directory, 'nowhere'))).toBeUndefined();
  });

  it('starts a new data directory with every migration, the ones added since applied on top, and reopens it as it is', async () => {
    const dataDir = join(directory, 'data');
    const database = await openDatabase({ dataDir, snapshotDir: directory });
    try {
      expect(database.fromSnapshot).toBe(true);
      const applied = await queryRows<{ id: string }>(database.db, sql`select id from autochat_migrations order by id`);
      expect(applied.map((row) => row.id)).toEqual(migrations.map((migration) => migration.id));
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
});
