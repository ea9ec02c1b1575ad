/**
 * `GET /api/me/export` at scale, on PGlite and on PostgreSQL: thousands of sessions (some made in the
 * same instant, one with hundreds of messages and usage rows) come back complete, in one valid JSON
 * document, read in batches rather than a query per session; and while the export is being read
 * from the database, `/healthz` is answered — asserted by the order of events (how far the export's
 * statements had got when /healthz answered), never by durations.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDatabase } from '../src/store/database.js';
import type { RunningServer } from '../src/http/server.js';
import { databaseTargets } from './support/databases.js';
import { startTestServer } from './support/test-service.js';

const SESSIONS = 3000;
const MESSAGES_PER_SESSION = 4;
/** One session with more messages and usage rows than one read of them takes. */
const LONG_MESSAGES = 450;
const LONG_USAGE = 1200;
const LONG_ID = '00000000-0000-4000-8000-00000000a11c';

type Exported = {
  userId: string;
  sessions: {
    sessionId: string;
    userId: string;
    title: string;
    messages: { id: string; role: string; parts: { text: string }[] }[];
    usage: unknown[];
  }[];
  usage: { sessionId: string | null; totalTokens: number }[];
  library: unknown[];
};

async function seed(location: { databaseUrl?: string; dataDir: string }): Promise<void> {
  const database = await openDatabase(location);
  try {
    const run = (statement: ReturnType<typeof sql>) => database.rows(statement);
    // The first 250 sessions share one creation instant: the export must page through ties too.
    await run(sql`insert into chat_sessions (id, user_id, title, created_at)
      select gen_random_uuid(), 'local', 'Chat ' || g,
        timestamptz '2026-01-01 00:00:00+00' + case when g <= 250 then interval '0' else g * interval '1 millisecond' + (g % 7) * interval '1 microsecond' end
      from generate_series(1, ${SESSIONS}) g`);
    await run(sql`insert into chat_sessions (id, user_id, title) values (${LONG_ID}, 'local', 'The long one')`);
    await run(
      sql`insert into chat_sessions (id, user_id, title) select gen_random_uuid(), 'someone-else', 'Not yours ' || g from generate_series(1, 5) g`,
    );
    await run(sql`insert into chat_messages (id, session_id, seq, role, parts)
      select 'm-' || s.id || '-' || m, s.id, m, case when m % 2 = 0 then 'user' else 'assistant' end,
        json_build_array(json_build_object('type', 'text', 'text', s.user_id || ' message ' || m || ' ' || repeat('x', 700)))::text
      from chat_sessions s cross join generate_series(0, ${MESSAGES_PER_SESSION - 1}) m where s.id <> ${LONG_ID}`);
    await run(sql`insert into chat_messages (id, session_id, seq, role, parts)
      select 'long-' || m, ${LONG_ID}, m, case when m % 2 = 0 then 'user' else 'assistant' end,
        json_build_array(json_build_object('type', 'text', 'text', 'long message ' || m))::text
      from generate_series(0, ${LONG_MESSAGES - 1}) m`);
    await run(sql`insert into usage_events (user_id, session_id, kind, model, prompt_tokens, completion_tokens, total_tokens)
      select s.user_id, s.id, 'chat', 'test/chat', 10, 5, 15 from chat_sessions s where s.id <> ${LONG_ID}`);
    await run(sql`insert into usage_events (user_id, session_id, kind, model, prompt_tokens, completion_tokens, total_tokens)
      select 'local', ${LONG_ID}, 'chat', 'test/chat', 1, 1, 2 from generate_series(1, ${LONG_USAGE})`);
    // Usage of sessions deleted since: kept, with no session.
    await run(sql`insert into usage_events (user_id, session_id, kind, model, prompt_tokens, completion_tokens, total_tokens)
      select 'local', null, 'title', 'test/title', 3, 3, 6 from generate_series(1, 3)`);
  } finally {
    await database.close();
  }
}

describe.each(databaseTargets)('export at scale on $name', (target) => {
  let server: RunningServer;
  let drop: () => Promise<void>;

  beforeAll(async () => {
    let location: { databaseUrl?: string; dataDir: string };
    if (target.name === 'pglite') {
      const dataDir = await mkdtemp(join(tmpdir(), 'autochat-export-'));
      location = { dataDir };
      drop = () => rm(dataDir, { recursive: true, force: true });
    } else {
      const database = await target.create();
      location = database;
      drop = database.drop;
    }
    await seed(location);
    server = await startTestServer(location);
  }, 300_000);
  afterAll(async () => {
    await server?.close();
    await drop?.();
  });

  it('streams every session, message and usage row as one valid document, read in batches, and /healthz is answered meanwhile', {
    timeout: 300_000,
  }, async () => {
    const before = server.chat.statementCount();
    const response = await fetch(`${server.url}/api/me/export`);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/^application\/json/);
    expect(response.headers.get('content-disposition')).toContain('autochat-export.json');
    const reader = response.body!.getReader();
    const chunks: Uint8Array[] = [];
    const first = await reader.read();
    chunks.push(first.value!);

    // The export has begun; /healthz does not wait for it.
    const health = await fetch(`${server.url}/healthz`);
    const readWhenHealthAnswered = server.chat.statementCount() - before;
    expect(health.status).toBe(200);

    for (let next = await reader.read(); !next.done; next = await reader.read()) chunks.push(next.value);
    const statements = server.chat.statementCount() - before;
    expect(readWhenHealthAnswered).toBeLessThan(statements);

    const exported = JSON.parse(Buffer.concat(chunks).toString('utf8')) as Exported;
    expect(exported.userId).toBe('local');
    expect(exported.sessions).toHaveLength(SESSIONS + 1);
    expect(new Set(exported.sessions.map((session) => session.sessionId)).size).toBe(SESSIONS + 1);
    expect(exported.sessions.every((session) => session.userId === 'local')).toBe(true);
    const long = exported.sessions.find((session) => session.sessionId === LONG_ID)!;
    expect(long.messages.map((message) => message.id)).toEqual(Array.from({ length: LONG_MESSAGES }, (_, index) => `long-${index}`));
    expect(long.usage).toHaveLength(LONG_USAGE);
    for (const session of exported.sessions.filter((session) => session.sessionId !== LONG_ID)) {
      expect(session.messages.map((message) => message.role)).toEqual(['user', 'assistant', 'user', 'assistant']);
      expect(session.messages[3]!.parts[0]!.text).toMatch(/^local message 3 x+$/);
      expect(session.usage).toHaveLength(1);
    }
    expect(exported.usage).toHaveLength(SESSIONS + LONG_USAGE + 3);
    expect(exported.usage.filter((entry) => entry.sessionId === null)).toHaveLength(3);
    expect(JSON.stringify(exported)).not.toContain('someone-else');
    expect(exported.library).toEqual([]);
    // Batches, not a query (or two) per session.
    expect(statements).toBeLessThan(SESSIONS / 10);
  });
});
