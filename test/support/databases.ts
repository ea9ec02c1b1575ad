/**
 * The databases every database test runs against: embedded PGlite always, and the real PostgreSQL
 * server named by TEST_DATABASE_URL when it is set (CI sets it). Each test gets a fresh database.
 */
import { randomBytes } from 'node:crypto';
import pg from 'pg';

export type DatabaseTarget = {
  name: 'pglite' | 'postgres';
  /** Creates a fresh, empty database and returns the options that select it, and how to drop it. */
  create(): Promise<{ databaseUrl?: string; dataDir: string; drop(): Promise<void> }>;
};

export const TEST_DATABASE_URL = process.env.TEST_DATABASE_URL || undefined;
export const TEST_REDIS_URL = process.env.TEST_REDIS_URL || undefined;

const pglite: DatabaseTarget = {
  name: 'pglite',
  async create() {
    return { dataDir: 'memory://', drop: async () => {} };
  },
};

const postgres: DatabaseTarget = {
  name: 'postgres',
  async create() {
    const name = `autochat_test_${randomBytes(6).toString('hex')}`;
    const admin = new pg.Client({ connectionString: TEST_DATABASE_URL });
    await admin.connect();
    await admin.query(`create database ${name}`);
    await admin.end();
    const url = new URL(TEST_DATABASE_URL!);
    url.pathname = `/${name}`;
    return {
      databaseUrl: url.toString(),
      dataDir: 'memory://',
      async drop() {
        const client = new pg.Client({ connectionString: TEST_DATABASE_URL });
        await client.connect();
        await client.query(`drop database if exists ${name} with (force)`);
        await client.end();
      },
    };
  },
};

export const databaseTargets: DatabaseTarget[] = TEST_DATABASE_URL ? [pglite, postgres] : [pglite];

if (!TEST_DATABASE_URL) {
  console.warn('TEST_DATABASE_URL is not set: database tests run on embedded PGlite only (CI sets it to test PostgreSQL too).');
}
