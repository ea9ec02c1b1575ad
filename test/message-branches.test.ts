/**
 * History as a tree (migration 0011): edits and regenerated answers are stored as siblings, a session
 * reads (and the model sees) only its active path, switching versions moves the active leaf, and
 * stored chains from before the migration read as one path — on PGlite and on PostgreSQL.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import type { UIMessageChunk } from 'ai';
import { sql } from 'drizzle-orm';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createChatService } from '../src/index.js';
import type { ChatService } from '../src/chat/chat-service.js';
import { createContentCipher } from '../src/store/content-cipher.js';
import { openDatabase } from '../src/store/database.js';
import { RunsRepository } from '../src/store/runs-repository.js';
import { SessionsRepository } from '../src/store/sessions-repository.js';
import { migrations, statementsOf } from '../src/store/migrations/index.js';
import { databaseTargets, TEST_DATABASE_URL } from './support/databases.js';
import { startFakeUpstream, say, type FakeUpstream } from './support/fake-upstream.js';
import { upstreamOptions } from './support/test-service.js';

async function drain(chat: ChatService, runId: string): Promise<UIMessageChunk[]> {
  const chunks: UIMessageChunk[] = [];
  for await (const chunk of chat.readRun(runId)) chunks.push(chunk);
  return chunks;
}

const textOf = (message: { parts: object[] }) =>
  message.parts.map((part) => ('text' in part && typeof part.text === 'string' ? part.text : '')).join('');
/** What the upstream was shown in its last request: role and text of each message. */
const shown = (upstream: FakeUpstream) =>
  upstream.requests
    .at(-1)!
    .body.messages.filter((message) => message.role !== 'system')
    .map(
      (message) =>
        `${message.role}:${typeof message.content === 'string' ? message.content : JSON.stringify(message.content).replace(/.*"text":"([^"]*)".*/, '$1')}`,
    );

describe.each(databaseTargets)('message branches on $name', (target) => {
  let upstream: FakeUpstream;
  let database: Awaited<ReturnType<typeof target.create>>;
  let chat: ChatService;

  beforeAll(async () => {
    upstream = await startFakeUpstream();
    database = await target.create();
    chat = await createChatService(
      upstreamOptions(upstream.url, { databaseUrl: database.databaseUrl, dataDir: database.dataDir, runLeaseMs: 600_000 }),
    );
  });
  afterAll(async () => {
    await chat?.close();
    await database?.drop();
    await upstream?.close();
  });

  async function ask(sessionId: string, text: string, answer: string, extra: { parentId?: string | null; messageId?: string } = {}) {
    upstream.enqueue(say(answer));
    const run = await chat.startRun(sessionId, text, { userId: 'bea', ...extra });
    await drain(chat, run.runId);
    return run;
  }

  it('regenerates an answer as a sibling, shows the active path, and switches back', async () => {
    const { sessionId } = await chat.createChatSession('bea');
    await ask(sessionId, 'first question', 'first answer', { messageId: 'q1' });
    const a1 = (await ask(sessionId, 'second question', 'second answer', { messageId: 'q2' })).messageId;

    upstream.enqueue(say('second answer, again'));
    const again = await chat.regenerateRun(sessionId, { userId: 'bea', messageId: a1 });
    await drain(chat, again.runId);
    // The model saw the path up to the question, not the earlier answer.
    expect(shown(upstream)).toEqual(['user:first question', 'assistant:first answer', 'user:second question']);

    let session = (await chat.getChatSession(sessionId, 'bea'))!;
    expect(session.messages.map(textOf)).toEqual(['first question', 'first answer', 'second question', 'second answer, again']);
    const last = session.messages.at(-1)!;
    expect(last).toMatchObject({ id: again.messageId, parentId: 'q2', siblingIds: [a1, again.messageId], branch: { index: 1, count: 2 } });
    expect(session.messages[0]).toMatchObject({ parentId: null, siblingIds: ['q1'], branch: { index: 0, count: 1 } });

    session = await chat.switchBranch(sessionId, 'bea', a1);
    expect(session.messages.map(textOf)).toEqual(['first question', 'first answer', 'second question', 'second answer']);
    expect(session.messages.at(-1)!.branch).toEqual({ index: 0, count: 2 });
    // Every answer was charged, the replaced one too: three chat calls.
    expect(session.usage.filter((entry) => entry.kind === 'chat')).toHaveLength(3);
  });

  it('edits a message as a new branch from its parent; the model sees only that path; a missing parent is refused', async () => {
    const { sessionId } = await chat.createChatSession('bea');
    await ask(sessionId, 'pick a colour', 'blue', { messageId: 'c1' });
    const answer = (await chat.getChatSession(sessionId, 'bea'))!.messages[1]!.id;
    await ask(sessionId, 'why blue?', 'because', { messageId: 'c2' });

    await ask(sessionId, 'why not red?', 'red works too', { messageId: 'c2-edit', parentId: answer });
    expect(shown(upstream)).toEqual(['user:pick a colour', 'assistant:blue', 'user:why not red?']);
    let session = (await chat.getChatSession(sessionId, 'bea'))!;
    expect(session.messages.map(textOf)).toEqual(['pick a colour', 'blue', 'why not red?', 'red works too']);
    expect(session.messages[2]).toMatchObject({ parentId: answer, siblingIds: ['c2', 'c2-edit'], branch: { index: 1, count: 2 } });

    // An edit of the first message: a new root.
    await ask(sessionId, 'pick a number', 'seven', { messageId: 'n1', parentId: null });
    expect(shown(upstream)).toEqual(['user:pick a number']);
    session = (await chat.getChatSession(sessionId, 'bea'))!;
    expect(session.messages.map(textOf)).toEqual(['pick a number', 'seven']);
    expect(session.messages[0]).toMatchObject({ parentId: null, siblingIds: ['c1', 'n1'], branch: { index: 1, count: 2 } });

    // Flipping to the first root picks the latest leaf under it: the edited branch.
    session = await chat.switchBranch(sessionId, 'bea', 'c1');
    expect(session.messages.map(textOf)).toEqual(['pick a colour', 'blue', 'why not red?', 'red works too']);

    await expect(chat.startRun(sessionId, 'hello', { userId: 'bea', parentId: 'nowhere' })).rejects.toMatchObject({
      code: 'invalid_request',
      message: expect.stringMatching(/branch from/),
    });
    await expect(chat.switchBranch(sessionId, 'bea', 'nowhere')).rejects.toMatchObject({ code: 'not_found' });
    await expect(chat.switchBranch(sessionId, 'someone-else', 'c1')).rejects.toMatchObject({ code: 'not_found' });
    await expect(chat.regenerateRun(sessionId, { userId: 'someone-else' })).rejects.toMatchObject({ code: 'not_found' });
    // Nothing of the refused requests was stored, and the path did not move.
    session = (await chat.getChatSession(sessionId, 'bea'))!;
    expect(session.messages.map(textOf)).toEqual(['pick a colour', 'blue', 'why not red?', 'red works too']);
    expect(session.status).toBe('idle');
  });

  it('a client showing an earlier state of the chat branches where it diverged', async () => {
    const { sessionId } = await chat.createChatSession('bea');
    await ask(sessionId, 'one', 'uno', { messageId: 'd1' });
    const uno = (await chat.getChatSession(sessionId, 'bea'))!.messages[1]!.id;
    await ask(sessionId, 'two', 'dos', { messageId: 'd2' });
    upstream.enqueue(say('tres'));
    const run = await chat.startRun(sessionId, 'three', { userId: 'bea', messageId: 'd3', shownIds: ['d1', uno, 'unstored-client-id'] });
    await drain(chat, run.runId);
    const session = (await chat.getChatSession(sessionId, 'bea'))!;
    expect(session.messages.map(textOf)).toEqual(['one', 'uno', 'three', 'tres']);
  });

  it('a regenerate is admitted by the token budget like any answer: over it, 429 and nothing moves', async () => {
    const limited = await createChatService(
      upstreamOptions(upstream.url, {
        databaseUrl: database.databaseUrl,
        dataDir: database.dataDir,
        runLeaseMs: 600_000,
        limits: { dailyTokens: 10 },
      }),
    );
    try {
      const { sessionId } = await limited.createChatSession('dee');
      upstream.enqueue(say('one answer, which spends the whole budget'));
      const first = await limited.startRun(sessionId, 'question', { userId: 'dee', messageId: 'g1' });
      for await (const _ of limited.readRun(first.runId)) void _;
      const before = (await limited.getChatSession(sessionId, 'dee'))!;
      await expect(limited.regenerateRun(sessionId, { userId: 'dee' })).rejects.toMatchObject({ code: 'usage_limit_exceeded' });
      const after = (await limited.getChatSession(sessionId, 'dee'))!;
      expect(after.messages).toEqual(before.messages);
      expect(after.status).toBe('idle');
    } finally {
      await limited.close();
    }
  });

  it('the library appends continue the active path, and the whole tree is exported', async () => {
    const { sessionId } = await chat.createChatSession('bea');
    await ask(sessionId, 'alpha', 'beta', { messageId: 'e1' });
    upstream.enqueue(say('gamma'));
    await drain(chat, (await chat.regenerateRun(sessionId, { userId: 'bea' })).runId);
    const session = (await chat.getChatSession(sessionId, 'bea'))!;
    session.messages.push({ id: 'e3', role: 'user', parts: [{ type: 'text', text: 'delta' }] });
    const saved = await chat.upsertChatSession(session);
    expect(saved.messages.map(textOf)).toEqual(['alpha', 'gamma', 'delta']);

    let exported = '';
    for await (const piece of chat.exportUser('bea')) exported += piece;
    const mine = (
      JSON.parse(exported) as {
        sessions: {
          sessionId: string;
          activeLeafId: string;
          messages: { id: string; parentId: string | null; parts: { text?: string }[] }[];
        }[];
      }
    ).sessions.find((entry) => entry.sessionId === sessionId)!;
    expect(mine.messages.map(textOf)).toEqual(['alpha', 'beta', 'gamma', 'delta']);
    expect(mine.messages.map((message) => message.parentId)).toEqual([null, 'e1', 'e1', saved.messages[1]!.id]);
    expect(mine.activeLeafId).toBe('e3');
  });
});

describe.skipIf(!TEST_DATABASE_URL)('message branches with ENCRYPTION_KEY (PostgreSQL, to read the rows)', () => {
  it('seals every version, edits and regenerated answers alike, and reads them back', async () => {
    const upstream = await startFakeUpstream();
    const target = databaseTargets.find((candidate) => candidate.name === 'postgres')!;
    const database = await target.create();
    const chat = await createChatService(
      upstreamOptions(upstream.url, {
        databaseUrl: database.databaseUrl,
        dataDir: database.dataDir,
        encryptionKey: randomBytes(32).toString('base64'),
      }),
    );
    try {
      const { sessionId } = await chat.createChatSession('cy');
      upstream.enqueue(say('secret answer one'));
      await drain(chat, (await chat.startRun(sessionId, 'secret question', { userId: 'cy', messageId: 'k1' })).runId);
      upstream.enqueue(say('secret answer two'));
      await drain(chat, (await chat.regenerateRun(sessionId, { userId: 'cy' })).runId);
      upstream.enqueue(say('secret answer three'));
      await drain(chat, (await chat.startRun(sessionId, 'secret edit', { userId: 'cy', parentId: null })).runId);
      const client = new pg.Client({ connectionString: database.databaseUrl });
      await client.connect();
      const { rows } = await client.query<{ parts: string }>('select parts from chat_messages where session_id = $1', [sessionId]);
      await client.end();
      expect(rows).toHaveLength(5);
      for (const row of rows) {
        expect(row.parts.startsWith('enc1:')).toBe(true);
        expect(row.parts).not.toContain('secret');
      }
      const all = await chat.allMessages(sessionId, 'cy');
      expect(all.map(textOf)).toEqual(['secret question', 'secret answer one', 'secret answer two', 'secret edit', 'secret answer three']);
      expect((await chat.getChatSession(sessionId, 'cy'))!.messages.map(textOf)).toEqual(['secret edit', 'secret answer three']);
    } finally {
      await chat.close();
      await database.drop();
      await upstream.close();
    }
  });
});

describe.each(databaseTargets.filter((target) => target.name === 'postgres'))('undoing a start on $name', (target) => {
  it('puts the active leaf back where it was, for an edit and for a regenerate', async () => {
    const created = await target.create();
    const database = await openDatabase({ databaseUrl: created.databaseUrl, dataDir: created.dataDir, shippedCatalog: false });
    try {
      const cipher = createContentCipher();
      const sessions = new SessionsRepository(database.db, cipher);
      const runs = new RunsRepository(database.db, sessions, cipher);
      const sessionId = randomUUID();
      await sessions.create(sessionId, 'eve');
      for (const [id, role] of [
        ['u1', 'user'],
        ['a1', 'assistant'],
        ['u2', 'user'],
        ['a2', 'assistant'],
      ] as const) {
        await sessions.append(sessionId, { id, role, parts: [{ type: 'text', text: id }] });
      }
      const leaf = async () => (await sessions.findRow(sessionId))!.activeLeafId;
      expect(await leaf()).toBe('a2');
      const begin = (runId: string, input: { id: string; parentId?: string | null; regenerate?: boolean }) =>
        runs.begin({
          sessionId,
          userId: 'eve',
          runId,
          owner: 'test',
          leaseMs: 60_000,
          userMessage: { id: input.id, role: 'user', parts: [{ type: 'text', text: 'edit' }] },
          parentId: input.parentId,
          regenerate: input.regenerate,
        });

      const edit = randomUUID();
      const begun = await begin(edit, { id: 'u2-edit', parentId: 'a1' });
      expect(begun.history.map((message) => message.id)).toEqual(['u1', 'a1', 'u2-edit']);
      expect(await leaf()).toBe('u2-edit');
      await runs.abandon(edit, sessionId, 'u2-edit');
      expect(await leaf()).toBe('a2');
      expect(await sessions.hasMessage(sessionId, 'u2-edit')).toBe(false);

      const again = randomUUID();
      expect((await begin(again, { id: 'u1', regenerate: true })).history.map((message) => message.id)).toEqual(['u1']);
      expect(await leaf()).toBe('u1');
      await runs.abandon(again, sessionId, undefined);
      expect(await leaf()).toBe('a2');
      expect((await sessions.activePath(sessionId)).map((message) => message.id)).toEqual(['u1', 'a1', 'u2', 'a2']);
    } finally {
      await database.close();
      await created.drop();
    }
  });
});

describe('migration 0011 on stored history', () => {
  it('makes an existing session one chain whose leaf is its latest message', async () => {
    // From the build's snapshot (every migration applied): the shipped catalog it holds is not in the way.
    const database = await openDatabase({ dataDir: 'memory://' });
    const run = async (text: string) => {
      for (const statement of statementsOf(text)) await database.rows(sql.raw(statement));
    };
    try {
      // The migrations already ran; redo 0011 on rows stored as 0010 left them.
      await run(`
        DROP TRIGGER chat_messages_parent ON chat_messages;
        DROP TRIGGER chat_messages_leaf ON chat_messages;
        DROP FUNCTION autochat_message_parent();
        DROP FUNCTION autochat_message_leaf();
        DROP FUNCTION autochat_path_json(uuid, text);
        DROP FUNCTION autochat_admit_run(text, uuid, text, uuid, text, interval, text, text, bigint, bigint, timestamptz, timestamptz, integer, integer, text);
        DROP FUNCTION autochat_begin_run(text, uuid, text, uuid, text, interval, text, text);
        DROP INDEX chat_messages_children;
        ALTER TABLE chat_messages DROP COLUMN parent_id;
        ALTER TABLE chat_sessions DROP COLUMN active_leaf_id;
        ALTER TABLE chat_sessions DROP COLUMN summary_through_id;
        ALTER TABLE chat_runs DROP COLUMN previous_leaf_id;`);
      for (const statement of statementsOf(migrations.find((m) => m.id === '0007-keys-and-budgets')!.sql).filter((s) =>
        /FUNCTION autochat_admit_run/.test(s),
      )) {
        await run(statement);
      }
      for (const statement of statementsOf(migrations.find((m) => m.id === '0008-session-message-ids')!.sql).filter((s) =>
        /FUNCTION autochat_begin_run/.test(s),
      )) {
        await run(statement.replace('CREATE OR REPLACE', 'CREATE'));
      }
      await run(`
        INSERT INTO chat_sessions (id, user_id) VALUES ('00000000-0000-4000-8000-000000000001', 'old');
        INSERT INTO chat_messages (id, session_id, seq, role, parts) VALUES
          ('m0', '00000000-0000-4000-8000-000000000001', 0, 'user', '[]'),
          ('m1', '00000000-0000-4000-8000-000000000001', 1, 'assistant', '[]'),
          ('m2', '00000000-0000-4000-8000-000000000001', 2, 'user', '[]')`);
      await run(migrations.find((m) => m.id === '0011-message-branches')!.sql);
      const rows = await database.rows<{ id: string; parent_id: string | null }>(
        sql.raw(`SELECT id, parent_id FROM chat_messages ORDER BY seq`),
      );
      expect(rows).toEqual([
        { id: 'm0', parent_id: null },
        { id: 'm1', parent_id: 'm0' },
        { id: 'm2', parent_id: 'm1' },
      ]);
      const [session] = await database.rows<{ active_leaf_id: string }>(sql.raw(`SELECT active_leaf_id FROM chat_sessions`));
      expect(session!.active_leaf_id).toBe('m2');
    } finally {
      await database.close();
    }
  });
});
