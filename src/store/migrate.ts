/** Applies the schema migrations that a database has not had yet, the same on PGlite and PostgreSQL. */
import { sql } from 'drizzle-orm';
import type { PgDatabase, PgQueryResultHKT } from 'drizzle-orm/pg-core';
import { migrations as all, statementsOf, type Migration } from './migrations/index.js';
import type { schema } from './schema.js';

export type Db = PgDatabase<PgQueryResultHKT, typeof schema>;

const MIGRATION_LOCK = 7_301_992_001;

/** Applies pending migrations under an advisory lock, so instances starting together do not race. */
export async function migrate(db: Db, migrations: Migration[] = all): Promise<void> {
  await db.transaction(async (tx) => {
    await tx.execute(sql`select pg_advisory_xact_lock(${MIGRATION_LOCK})`);
    await tx.execute(sql`create table if not exists autochat_migrations (
      id text primary key, applied_at timestamptz not null default now())`);
    const applied = (await tx.execute(sql`select id from autochat_migrations`)) as unknown as { rows: { id: string }[] };
    const done = new Set(applied.rows.map((row) => row.id));
    for (const migration of migrations) {
      if (done.has(migration.id)) continue;
      // Prepared statements take one command each, so a migration runs statement by statement.
      for (const statement of statementsOf(migration.sql)) {
        await tx.execute(sql.raw(statement));
      }
      await tx.execute(sql`insert into autochat_migrations (id) values (${migration.id})`);
    }
  });
}
