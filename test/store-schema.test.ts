/**
 * The drizzle schema (src/store/schema.ts) and the migrations' SQL describe the same tables twice:
 * the SQL creates them, drizzle types the queries. Neither is derived from the other (why:
 * docs/architecture.md, "One definition per shape"), so this test holds them together: after every
 * migration, each table and column drizzle knows exists with the type and nullability it says, and
 * the database has no other table or column than those, and the few named below that only raw SQL reads.
 */
import { getTableConfig, PgTable } from 'drizzle-orm/pg-core';
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDatabase, type Database } from '../src/store/database.js';
import * as schema from '../src/store/schema.js';
import { databaseTargets } from './support/databases.js';

type Column = { table: string; column: string; type: string; nullable: boolean };

/** drizzle's serial types are their integer types with a sequence default, as PostgreSQL reports them. */
const sqlType = (type: string) => ({ bigserial: 'bigint', serial: 'integer', smallserial: 'smallint' })[type] ?? type.replace(/,\s+/g, ',');

function drizzleColumns(): Column[] {
  const tables = (Object.values(schema) as unknown[]).filter((value): value is PgTable => value instanceof PgTable);
  return tables.flatMap((table) => {
    const config = getTableConfig(table);
    return config.columns.map((column) => ({
      table: config.name,
      column: column.name,
      type: sqlType(column.getSQLType()),
      nullable: !column.notNull,
    }));
  });
}

/**
 * Tables the migrations create that drizzle does not declare, because only raw SQL reads them: the
 * search vocabulary (migration 0002, agents-repository.ts). Naming them here keeps a new one from
 * slipping in unnoticed.
 */
const SQL_ONLY_TABLES = ['agent_words'];

const byName = (a: Column, b: Column) => `${a.table}.${a.column}`.localeCompare(`${b.table}.${b.column}`);

describe.each(databaseTargets)('the drizzle schema and the migrations on $name', (target) => {
  let database: Database;
  let drop: () => Promise<void>;

  beforeAll(async () => {
    const created = await target.create();
    drop = created.drop;
    database = await openDatabase({ databaseUrl: created.databaseUrl, dataDir: created.dataDir, shippedCatalog: false });
  });
  afterAll(async () => {
    await database?.close();
    await drop?.();
  });

  it('describe the same tables, with the same columns, types and nullability', async () => {
    const stored = await database.rows<{ table: string; column: string; type: string; nullable: boolean }>(sql`
      select c.relname as table, a.attname as column, format_type(a.atttypid, a.atttypmod) as type, not a.attnotnull as nullable
      from pg_attribute a
        join pg_class c on c.oid = a.attrelid
        join pg_namespace n on n.oid = c.relnamespace
      where n.nspname = current_schema() and c.relkind in ('r', 'p') and a.attnum > 0 and not a.attisdropped
        and c.relname <> 'autochat_migrations'`);
    expect(stored.filter((row) => SQL_ONLY_TABLES.includes(row.table)).length).toBeGreaterThan(0);
    const actual = stored
      .filter((row) => !SQL_ONLY_TABLES.includes(row.table))
      .map((row) => ({ ...row, type: sqlType(row.type) }))
      .sort(byName);
    const declared = drizzleColumns().sort(byName);
    expect(declared.length).toBeGreaterThan(50);
    expect(actual).toEqual(declared);
  });
});
