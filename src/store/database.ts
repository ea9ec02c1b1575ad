/**
 * Opens the database: embedded PGlite under DATA_DIR by default (on a thread of its own, started from
 * the build's snapshot when the directory is new), a PostgreSQL server when a URL is given. Both get
 * the same migrations and are used through the same drizzle query builder. The embedded one is locked
 * to this process for as long as it is open (see data-dir-lock.ts).
 */
import type { PGlite } from '@electric-sql/pglite';
import { sql, type SQL } from 'drizzle-orm';
import { drizzle as drizzlePglite } from 'drizzle-orm/pglite';
import { drizzle as drizzlePostgres } from 'drizzle-orm/node-postgres';
import { PgDialect } from 'drizzle-orm/pg-core';
import pg from 'pg';
import { markOutage } from '../service-outage.js';
import { openEmbedded, TRIGRAM_THRESHOLD } from './embedded-database.js';
import { migrate, type Db } from './migrate.js';
import type { PgliteClient } from './pglite-thread.js';
import { schema } from './schema.js';

export type { Db } from './migrate.js';

export type Database = {
  db: Db;
  /**
   * The same database for bulk and batch work (exports, store searches from the API and MCP): on
   * PGlite its statements wait while a turn's are due; on PostgreSQL it is `db`.
   */
  background: Db;
  kind: 'pglite' | 'postgres';
  /** True when a new embedded database was started from the build's snapshot. */
  fromSnapshot: boolean;
  /** Runs raw SQL and returns its rows. */
  rows<T>(query: SQL): Promise<T[]>;
  ping(): Promise<boolean>;
  close(): Promise<void>;
  /** Counts statements sent, for tests that check how much work an operation does. */
  statementCount(): number;
};

export type DatabaseOptions = {
  databaseUrl?: string;
  dataDir: string;
  poolSize?: number;
  /** Where the embedded database's snapshot is (default: the build's, in dist/). */
  snapshotDir?: string;
  /**
   * Whether a new database is to hold the shipped catalog from the start (default true): a new
   * embedded one then starts from the snapshot, which holds it. Without, the caller loads its own.
   */
  shippedCatalog?: boolean;
};

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
 * for its own value parsers on every call, which costs PGlite more than a simple statement itself
 * (figures in BENCHMARKS.md, "Figures once kept in code comments"). Rows then carry the drivers' own
 * types (timestamps as `Date`).
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
    const marked = (callback: (error: Error | null) => void) => (error: Error | null) =>
      callback(error ? markOutage(error, 'database') : null);
    Object.assign(this, {
      connect: (callback?: (error: Error | null) => void) =>
        callback
          ? connect(marked(callback))
          : new Promise<void>((resolve, reject) => connect(marked((error) => (error ? reject(error) : resolve())))),
    });
  }
}

export async function openDatabase(options: DatabaseOptions): Promise<Database> {
  let statements = 0;
  const logger = { logQuery: () => void statements++ };
  let db: Db;
  let background: Db;
  let kind: Database['kind'];
  let fromSnapshot = false;
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
    background = db;
    kind = 'postgres';
    closeClient = () => pool.end();
  } else {
    // Locked to this process while it is open (see embedded-database.ts and data-dir-lock.ts).
    const started = await openEmbedded(options.dataDir, { snapshotDir: options.snapshotDir, shippedCatalog: options.shippedCatalog });
    const { thread, lock } = started;
    fromSnapshot = started.fromSnapshot;
    const onThread = (client: PgliteClient) => {
      const viewed = drizzlePglite({ client: client as unknown as PGlite, schema, logger }) as unknown as Db;
      drivers.set(viewed, { query: (text, params) => client.query(text, params), counted: logger.logQuery });
      return viewed;
    };
    db = onThread(thread.client('interactive'));
    background = onThread(thread.client('background'));
    kind = 'pglite';
    closeClient = async () => {
      try {
        await thread.close();
      } finally {
        await lock?.release();
      }
    };
  }

  try {
    await migrate(db);
  } catch (error) {
    await closeClient();
    throw options.databaseUrl ? describeConnectionFailure(error, options.databaseUrl) : error;
  }

  return {
    db,
    background,
    kind,
    fromSnapshot,
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
  return new Error(
    `Could not connect to PostgreSQL at DATABASE_URL (${where}): ${reason}. Check that the server runs and that DATABASE_URL is right.`,
    { cause: error },
  );
}
