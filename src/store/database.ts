/**
 * Opens the database: embedded PGlite under DATA_DIR by default, a PostgreSQL server when a URL is
 * given. Both get the same migrations and are used through the same drizzle query builder. The
 * embedded one is locked to this process for as long as it is open (see data-dir-lock.ts).
 */
import { mkdir } from 'node:fs/promises';
import { PGlite } from '@electric-sql/pglite';
import { pg_trgm } from '@electric-sql/pglite/contrib/pg_trgm';
import { sql, type SQL } from 'drizzle-orm';
import { drizzle as drizzlePglite } from 'drizzle-orm/pglite';
import { drizzle as drizzlePostgres } from 'drizzle-orm/node-postgres';
import { PgDialect, type PgDatabase, type PgQueryResultHKT } from 'drizzle-orm/pg-core';
import pg from 'pg';
import { lockDataDir } from './data-dir-lock.js';
import { markOutage } from '../service-outage.js';
import { migrations, statementsOf } from './migrations/index.js';
import { schema } from './schema.js';

export type Db = PgDatabase<PgQueryResultHKT, typeof schema>;

export type Database = {
  db: Db;
  kind: 'pglite' | 'postgres';
  /** Runs raw SQL and returns its rows. */
  rows<T>(query: SQL): Promise<T[]>;
  ping(): Promise<boolean>;
  close(): Promise<void>;
  /** Counts statements sent, for tests that check how much work an operation does. */
  statementCount(): number;
};

export type DatabaseOptions = { databaseUrl?: string; dataDir: string; poolSize?: number };

/** The SQLSTATE of a database error, from the driver's error or from drizzle's wrapper of it. */
export function sqlStateOf(error: unknown): string | undefined {
  for (let current = error, depth = 0; current instanceof Error && depth < 3; current = current.cause, depth++) {
    const code = (current as { code?: unknown }).code;
    if (typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code)) return code;
  }
  return undefined;
}

type RawQuery = (text: string, params: unknown[]) => Promise<{ rows: unknown[] }>;

/** The driver of each database opened here, for raw SQL; transactions are not in it. */
const drivers = new WeakMap<object, { query: RawQuery; counted: () => void }>();
const dialect = new PgDialect();

/**
 * Runs raw SQL on `db` (or a transaction) and returns its rows, the same on PGlite and PostgreSQL.
 * Outside a transaction the statement goes straight to the driver: drizzle's `execute` asks PGlite
 * for its own value parsers on every call, which costs PGlite ≈ 70 µs a statement — more than a
 * simple statement itself. Rows then carry the drivers' own types (timestamps as `Date`).
 */
export async function queryRows<T>(db: Db, query: SQL): Promise<T[]> {
  const driver = drivers.get(db);
  if (!driver) return ((await db.execute(query)) as unknown as { rows: T[] }).rows;
  const { sql: text, params } = dialect.sqlToQuery(query);
  driver.counted();
  return (await driver.query(text, params)).rows as T[];
}

/**
 * The pool's client, whose failures to connect are marked as the database's (a refused connection
 * looks the same from any service), so that a request failing on them says which service is down.
 */
class DatabaseClient extends pg.Client {
  constructor(config?: string | pg.ClientConfig) {
    super(config);
    const connect = this.connect.bind(this) as unknown as (callback: (error: Error | null) => void) => void;
    const marked = (callback: (error: Error | null) => void) => (error: Error | null) => callback(error ? markOutage(error, 'database') : null);
    Object.assign(this, {
      connect: (callback?: (error: Error | null) => void) =>
        callback
          ? connect(marked(callback))
          : new Promise<void>((resolve, reject) => connect(marked((error) => (error ? reject(error) : resolve())))),
    });
  }
}

const MIGRATION_LOCK = 7_301_992_001;
/** How alike (0–1) a query and an agent's text must be for a typo-tolerant match to count. */
const TRIGRAM_THRESHOLD = 0.3;

export async function openDatabase(options: DatabaseOptions): Promise<Database> {
  let statements = 0;
  const logger = { logQuery: () => void statements++ };
  let db: Db;
  let kind: Database['kind'];
  let closeClient: () => Promise<void>;

  if (options.databaseUrl) {
    const pool = new pg.Pool({
      connectionString: options.databaseUrl,
      max: options.poolSize ?? 10,
      // A server that does not answer (down, unreachable) fails a request in seconds (503) rather than holding it.
      connectionTimeoutMillis: 5000,
      Client: DatabaseClient,
      options: `-c pg_trgm.word_similarity_threshold=${TRIGRAM_THRESHOLD} -c pg_trgm.similarity_threshold=${TRIGRAM_THRESHOLD}`,
    });
    // An idle client that loses its connection must not crash the process; the pool replaces it.
    pool.on('error', () => {});
    db = drizzlePostgres({ client: pool, schema, logger }) as unknown as Db;
    drivers.set(db, { query: (text, params) => pool.query(text, params), counted: logger.logQuery });
    kind = 'postgres';
    closeClient = () => pool.end();
  } else {
    const inMemory = options.dataDir === 'memory://';
    const dataDir = inMemory ? undefined : `${options.dataDir.replace(/\/$/, '')}/pgdata`;
    // Before PGlite touches the files: a second process must not even open them.
    const lock = inMemory ? undefined : await lockDataDir(options.dataDir);
    let client: PGlite;
    try {
      if (dataDir) await mkdir(dataDir, { recursive: true });
      client = await PGlite.create({ dataDir, extensions: { pg_trgm } });
    } catch (error) {
      await lock?.release();
      throw error;
    }
    db = drizzlePglite({ client, schema, logger }) as unknown as Db;
    drivers.set(db, { query: (text, params) => client.query(text, params), counted: logger.logQuery });
    kind = 'pglite';
    closeClient = async () => {
      try {
        await client.close();
      } finally {
        await lock?.release();
      }
    };
    await client.exec(`set pg_trgm.word_similarity_threshold = ${TRIGRAM_THRESHOLD};
      set pg_trgm.similarity_threshold = ${TRIGRAM_THRESHOLD};`);
  }

  try {
    await migrate(db);
  } catch (error) {
    await closeClient();
    throw options.databaseUrl ? describeConnectionFailure(error, options.databaseUrl) : error;
  }

  return {
    db,
    kind,
    rows: (query) => queryRows(db, query),
    async ping() {
      try {
        await db.execute(sql`select 1`);
        return true;
      } catch {
        return false;
      }
    },
    close: closeClient,
    statementCount: () => statements,
  };
}

const CONNECTION_FAILURES: Record<string, string> = {
  ECONNREFUSED: 'nothing answers there',
  ENOTFOUND: 'that host name does not resolve',
  EAI_AGAIN: 'that host name could not be resolved right now',
  ETIMEDOUT: 'the connection timed out',
  EHOSTUNREACH: 'that host is unreachable',
  '28P01': 'the password was refused',
  '28000': 'the server refused this user',
  '3D000': 'that database does not exist',
};

/**
 * A failure to reach the PostgreSQL server of `DATABASE_URL`, said so that the operator knows which
 * setting to check: the variable, the server (never the password) and the reason.
 */
export function describeConnectionFailure(error: unknown, databaseUrl: string): Error {
  const code = (error as { code?: string }).code ?? (error as { cause?: { code?: string } }).cause?.code;
  const reason = code ? CONNECTION_FAILURES[code] : undefined;
  if (!reason) return error instanceof Error ? error : new Error(String(error));
  let where = 'the server it names';
  try {
    const url = new URL(databaseUrl);
    where = `${url.hostname}:${url.port || '5432'}${url.pathname.length > 1 ? url.pathname : ''}`;
  } catch {
    // keep the generic wording
  }
  return new Error(`Could not connect to PostgreSQL at DATABASE_URL (${where}): ${reason}. Check that the server runs and that DATABASE_URL is right.`, { cause: error });
}

/** Applies pending migrations under an advisory lock, so instances starting together do not race. */
async function migrate(db: Db): Promise<void> {
  await db.transaction(async (tx) => {
    await tx.execute(sql`select pg_advisory_xact_lock(${MIGRATION_LOCK})`);
    await tx.execute(sql`create table if not exists autochat_migrations (
      id text primary key, applied_at timestamptz not null default now())`);
    const applied = await queryRows<{ id: string }>(tx as unknown as Db, sql`select id from autochat_migrations`);
    const done = new Set(applied.map((row) => row.id));
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
