/**
 * What a scenario runs against: the scripted upstream, autochat in one of its set-ups (PGlite or
 * PostgreSQL, in-memory or Redis event log) and the bare AI SDK baseline, each as its own process;
 * plus throwaway PostgreSQL databases and PGlite directories that are removed afterwards.
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import pg from 'pg';
import { benchFile, spawnServer, type ServerProcess } from './processes.js';
import { benchScripts } from './scripts.js';

/** Where PostgreSQL and Redis are: BENCH_* first, then the test suite's variables, then the local defaults. */
export const POSTGRES_URL = process.env.BENCH_DATABASE_URL || process.env.TEST_DATABASE_URL || 'postgres://postgres@127.0.0.1:5432/test';
export const REDIS_URL = process.env.BENCH_REDIS_URL || process.env.TEST_REDIS_URL || 'redis://127.0.0.1:6379';

export type Availability = { postgres: boolean; redis: boolean };

export async function probeServices(): Promise<Availability> {
  const postgres = await (async () => {
    const client = new pg.Client({ connectionString: POSTGRES_URL, connectionTimeoutMillis: 2000 });
    try {
      await client.connect();
      await client.query('select 1');
      return true;
    } catch {
      return false;
    } finally {
      await client.end().catch(() => {});
    }
  })();
  const redis = await (async () => {
    const client = new Redis(REDIS_URL, { lazyConnect: true, connectTimeout: 2000, maxRetriesPerRequest: 0, retryStrategy: () => null });
    client.on('error', () => {});
    try {
      await client.connect();
      return (await client.ping()) === 'PONG';
    } catch {
      return false;
    } finally {
      client.disconnect();
    }
  })();
  return { postgres, redis };
}

export type Throwaway = { url: string; drop(): Promise<void> };

/** A new, empty PostgreSQL database on the bench server, dropped by `drop()`. */
export async function throwawayDatabase(): Promise<Throwaway> {
  const name = `autochat_bench_${randomBytes(5).toString('hex')}`;
  const admin = new pg.Client({ connectionString: POSTGRES_URL });
  await admin.connect();
  await admin.query(`create database ${name}`);
  await admin.end();
  const url = new URL(POSTGRES_URL);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    async drop() {
      const client = new pg.Client({ connectionString: POSTGRES_URL });
      await client.connect();
      await client.query(`drop database if exists ${name} with (force)`);
      await client.end();
    },
  };
}

/** A fresh directory for an embedded PGlite database, removed by `drop()`. */
export async function throwawayDataDir(): Promise<{ dir: string; drop(): Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), 'autochat-bench-'));
  return { dir, drop: () => rm(dir, { recursive: true, force: true }) };
}

export function startUpstream(): Promise<ServerProcess> {
  return spawnServer('upstream', benchFile('servers/upstream-server.ts'), { env: { BENCH_SCRIPTS: JSON.stringify(benchScripts) } });
}

export function startBaseline(upstreamUrl: string, nodeArgs: string[] = []): Promise<ServerProcess> {
  return spawnServer('ai-sdk baseline', benchFile('baseline/ai-sdk-server.ts'), {
    env: { LLM_BASE_URL: upstreamUrl, PORT: '0', HOST: '127.0.0.1' },
    nodeArgs,
  });
}

export type AutochatSetup = { database: 'pglite' | 'postgres'; eventLog: 'memory' | 'redis' };

export const setupName = (setup: AutochatSetup) => `${setup.database === 'pglite' ? 'PGlite' : 'PostgreSQL'} + ${setup.eventLog}`;

export type AutochatTarget = { server: ServerProcess; close(): Promise<void> };

/**
 * Starts autochat against the upstream with budgets and rate limits off (they would only measure
 * themselves), logging at `info` as in production. `shared` lets a second instance join the same
 * database (PostgreSQL only).
 */
export async function startAutochat(
  upstreamUrl: string,
  setup: AutochatSetup,
  options: { nodeArgs?: string[]; shared?: { databaseUrl: string }; env?: Record<string, string> } = {},
): Promise<AutochatTarget & { databaseUrl?: string }> {
  const cleanups: (() => Promise<void>)[] = [];
  const env: Record<string, string> = {
    PORT: '0',
    HOST: '127.0.0.1',
    LLM_BASE_URL: upstreamUrl,
    OPEN_ROUTER_API_KEY: 'bench',
    CHAT_MODEL: 'bench/chat',
    TITLE_MODEL: 'bench/title',
    LLM_MAX_RETRIES: '0',
    DAILY_TOKEN_LIMIT: '0',
    WEEKLY_TOKEN_LIMIT: '0',
    RATE_LIMIT_PER_MINUTE: '0',
    LOG_LEVEL: process.env.BENCH_LOG_LEVEL ?? 'info',
    ...options.env,
  };
  let databaseUrl: string | undefined;
  if (setup.database === 'postgres') {
    if (options.shared) databaseUrl = options.shared.databaseUrl;
    else {
      const database = await throwawayDatabase();
      cleanups.push(() => database.drop());
      databaseUrl = database.url;
    }
    env.DATABASE_URL = databaseUrl;
  } else if (!env.DATA_DIR) {
    const data = await throwawayDataDir();
    cleanups.push(() => data.drop());
    env.DATA_DIR = data.dir;
  }
  if (setup.eventLog === 'redis') env.REDIS_URL = REDIS_URL;
  let server: ServerProcess;
  try {
    server = await spawnServer(`autochat (${setupName(setup)})`, benchFile('servers/autochat-server.ts'), {
      env,
      nodeArgs: options.nodeArgs,
    });
  } catch (error) {
    for (const cleanup of cleanups.reverse()) await cleanup().catch(() => {});
    throw error;
  }
  return {
    server,
    databaseUrl,
    async close() {
      await server.stop();
      for (const cleanup of cleanups.reverse()) await cleanup().catch(() => {});
    },
  };
}
