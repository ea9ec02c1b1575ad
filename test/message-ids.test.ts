/**
 * Client message ids belong to their session (migration 0008): another user reusing an id learns
 * nothing, unrelated sessions never collide, a session still refuses its own used ids and retries
 * them as before — and a database from before the change keeps its messages. On PGlite and on
 * PostgreSQL when TEST_DATABASE_URL is set.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import { pg_trgm } from '@electric-sql/pglite/contrib/pg_trgm';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signJwt } from '../src/http/middleware/jwt.js';
import type { RunningServer } from '../src/http/server.js';
import { migrations, statementsOf } from '../src/store/migrations/index.js';
import { createChatService } from '../src/index.js';
import { databaseTargets, TEST_DATABASE_URL } from './support/databases.js';
import { testOptions, startTestServer } from './support/test-service.js';
import { readSse, typesOf } from './support/ui-stream.js';

const SECRET = 'message-ids-secret';

describe.each(databaseTargets)('message ids on $name', (target) => {
  let database: Awaited<ReturnType<typeof target.create>>;
  let server: RunningServer;
  const headers = (user: string) => ({
    'content-type': 'application/json',
    authorization: `Bearer ${signJwt({ sub: user, exp: Math.floor(Date.now() / 1000) + 600 }, SECRET)}`,
  });
  const newSession = async (user: string) =>
    (await (await server.app.request('/api/chat/sessions', { method: 'POST', headers: headers(user) })).json()).sessionId as string;
  const send = (user: string, sessionId: string, messageId: string) =>
    server.app.request(`/api/chat/sessions/${sessionId}/stream`, {
      method: 'POST',
      headers: headers(user),
      body: JSON.stringify({ message: 'Hello', messageId }),
    });
  const messagesOf = async (user: string, sessionId: string) =>
    (
      (await (await server.app.request(`/api/chat/sessions/${sessionId}`, { headers: headers(user) })).json()).messages as {
        id: string;
        role: string;
      }[]
    ).map((message) => `${message.role}:${message.role === 'user' ? message.id : '…'}`);

  beforeAll(async () => {
    database = await target.create();
    server = await startTestServer({ databaseUrl: database.databaseUrl, dataDir: database.dataDir, authJwtSecret: SECRET });
  });
  afterAll(async () => {
    await server?.close();
    await database?.drop();
  });

  it('lets another user use an id someone already used: no 400 that would tell them so', async () => {
    const alices = await newSession('alice');
    const answered = await send('alice', alices, 'shared-id-1');
    expect(answered.status).toBe(200);
    expect(typesOf((await readSse(answered)).chunks)).toContain('finish');

    const bobs = await newSession('bob');
    const response = await send('bob', bobs, 'shared-id-1');
    expect(response.status, await response.clone().text()).toBe(200);
    expect(typesOf((await readSse(response)).chunks)).toContain('finish');
    expect(await messagesOf('alice', alices)).toEqual(['user:shared-id-1', 'assistant:…']);
    expect(await messagesOf('bob', bobs)).toEqual(['user:shared-id-1', 'assistant:…']);
  });

  it('keeps unrelated sessions of one user apart, and still refuses an id reused within its session', async () => {
    const first = await newSession('carol');
    const second = await newSession('carol');
    for (const sessionId of [first, second]) {
      const response = await send('carol', sessionId, 'm-1');
      expect(response.status).toBe(200);
      await readSse(response);
    }
    const reused = await send('carol', first, 'm-1');
    expect(reused.status).toBe(400);
    expect((await reused.json()).error.message).toMatch(/already used/);
    expect(await messagesOf('carol', first)).toEqual(['user:m-1', 'assistant:…']);
  });

  it('upserts a library session whose message ids another session has', async () => {
    const chat = server.chat;
    const one = await chat.createChatSession('dave');
    const two = await chat.createChatSession('dave');
    const message = { id: 'same-everywhere', role: 'user' as const, parts: [{ type: 'text' as const, text: 'hi' }] };
    await chat.upsertChatSession({ ...one, messages: [message] });
    const saved = await chat.upsertChatSession({ ...two, messages: [message] });
    expect(saved.messages.map((entry) => entry.id)).toEqual(['same-everywhere']);
    expect((await chat.getChatSession(one.sessionId))!.messages.map((entry) => entry.id)).toEqual(['same-everywhere']);
  });
});

/** A database at migration 0005 with one answered exchange, as an earlier version left it. */
async function seedBeforeChange(run: (sql: string) => Promise<void>): Promise<void> {
  await run('create table autochat_migrations (id text primary key, applied_at timestamptz not null default now())');
  for (const migration of migrations.filter((entry) => entry.id < '0006')) {
    for (const statement of statementsOf(migration.sql)) await run(statement);
    await run(`insert into autochat_migrations (id) values ('${migration.id}')`);
  }
  await run(`insert into chat_sessions (id, user_id) values ('00000000-0000-4000-8000-000000000001', 'erin')`);
  await run(`insert into chat_messages (id, session_id, seq, role, parts) values
    ('old-1', '00000000-0000-4000-8000-000000000001', 0, 'user', '[{"type":"text","text":"before"}]'),
    ('old-2', '00000000-0000-4000-8000-000000000001', 1, 'assistant', '[{"type":"text","text":"answer"}]')`);
}

describe('migration 0008 on a database from before it', () => {
  const cleanups: (() => Promise<unknown>)[] = [];
  afterAll(async () => {
    for (const cleanup of cleanups.reverse()) await cleanup();
  });

  const expectKept = async (options: { dataDir: string; databaseUrl?: string }) => {
    const chat = await createChatService(testOptions({ ...options, seedCatalog: false }));
    cleanups.push(() => chat.close());
    const session = await chat.getChatSession('00000000-0000-4000-8000-000000000001', 'erin');
    expect(session!.messages.map((message) => message.id)).toEqual(['old-1', 'old-2']);
    const elsewhere = await chat.createChatSession('erin');
    await chat.upsertChatSession({ ...elsewhere, messages: [{ id: 'old-1', role: 'user', parts: [{ type: 'text', text: 'again' }] }] });
    expect((await chat.getChatSession(elsewhere.sessionId))!.messages.map((message) => message.id)).toEqual(['old-1']);
  };

  // Two embedded databases made from nothing (initdb in WebAssembly) and migrated: CPU-bound work
  // that took over 60 s on a 2-core machine running `stress --cpu 2` and other suites beside it.
  it('keeps every message on PGlite', { timeout: 180_000 }, async () => {
    const dataDir = await mkdtemp(join(tmpdir(), 'autochat-0008-'));
    cleanups.push(() => rm(dataDir, { recursive: true, force: true }));
    const client = await PGlite.create({ dataDir: `${dataDir}/pgdata`, extensions: { pg_trgm } });
    await seedBeforeChange(async (sql) => void (await client.exec(sql)));
    await client.close();
    await expectKept({ dataDir });
  });

  it.skipIf(!TEST_DATABASE_URL)('keeps every message on PostgreSQL', async () => {
    const database = await databaseTargets.find((entry) => entry.name === 'postgres')!.create();
    cleanups.push(() => database.drop());
    const client = new pg.Client({ connectionString: database.databaseUrl });
    await client.connect();
    await seedBeforeChange(async (sql) => void (await client.query(sql)));
    await client.end();
    await expectKept(database);
  });
});
