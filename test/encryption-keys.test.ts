/**
 * A wrong ENCRYPTION_KEY stops the start: autochat checks the configured keys against the key checks
 * stored in the database, refuses with a sentence naming ENCRYPTION_KEY / ENCRYPTION_KEYS_PREVIOUS,
 * and writes nothing; rotation, a first key on a plain database, stopping encryption and a database
 * encrypted before key checks existed all still start. And a request that fails after it claimed a
 * session leaves no claimed session, no run and no stored message behind.
 */
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sql } from 'drizzle-orm';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createChatService, type ChatServiceOptions } from '../src/index.js';
import { openDatabase } from '../src/store/database.js';
import { databaseTargets, type DatabaseTarget } from './support/databases.js';
import { serveCli } from './support/cli-process.js';
import { testOptions } from './support/test-service.js';

const newKey = () => randomBytes(32).toString('base64');
const idOf = (key: string) => createHash('sha256').update(Buffer.from(key, 'base64')).digest('hex').slice(0, 8);

/** A database that outlives the services opened on it: a directory for PGlite, a fresh one on PostgreSQL. */
async function durableDatabase(target: DatabaseTarget) {
  const created = await target.create();
  const dir = target.name === 'pglite' ? await mkdtemp(join(tmpdir(), 'autochat-keys-')) : undefined;
  const location = { databaseUrl: created.databaseUrl, dataDir: dir ?? created.dataDir };
  return {
    location,
    /** Raw SQL on the database (for PGlite while no service has it open). */
    async query<T>(text: string): Promise<T[]> {
      const database = await openDatabase(location);
      try {
        return await database.rows<T>(sql.raw(text));
      } finally {
        await database.close();
      }
    },
    async drop() {
      await created.drop();
      if (dir) await rm(dir, { recursive: true, force: true });
    },
  };
}

describe.each(databaseTargets)('encryption keys checked at start on $name', (target) => {
  let db: Awaited<ReturnType<typeof durableDatabase>>;
  beforeEach(async () => {
    db = await durableDatabase(target);
  });
  afterEach(async () => {
    await db.drop();
  });

  const open = (options: ChatServiceOptions) => createChatService(testOptions({ ...db.location, ...options }));
  /** Starts, sends one message, closes; returns the session id. */
  async function chatOnce(options: ChatServiceOptions, text: string, sessionId?: string): Promise<string> {
    const chat = await open(options);
    try {
      const id = sessionId ?? (await chat.createChatSession('kim')).sessionId;
      for await (const _ of chat.streamChatCompletion(id, text, { userId: 'kim' })) void _;
      return id;
    } finally {
      await chat.close();
    }
  }
  const refusal = (options: ChatServiceOptions) =>
    open(options).then(
      async (chat) => {
        await chat.close();
        throw new Error('it started');
      },
      (error: Error) => error.message,
    );
  const sealedKeyIds = async () =>
    (
      await db.query<{ id: string }>(
        `select distinct split_part(parts, ':', 2) as id from chat_messages where parts like 'enc1:%' order by 1`,
      )
    ).map((row) => row.id);

  it('refuses another key or none, naming the variables and the key id, and writes nothing; rotation and stopping encryption start', async () => {
    const first = newKey();
    const second = newKey();
    const sessionId = await chatOnce({ encryptionKey: first }, 'sealed with the first key');
    const before = await db.query<{ n: number }>('select count(*)::int as n from chat_messages');

    const wrong = await refusal({ encryptionKey: second });
    expect(wrong).toContain(
      `The database holds content encrypted with key ${idOf(first)}, which is neither ENCRYPTION_KEY nor in ENCRYPTION_KEYS_PREVIOUS.`,
    );
    expect(wrong).toContain(`The configured keys have ids ${idOf(second)}.`);
    const none = await refusal({});
    expect(none).toMatch(/ENCRYPTION_KEY is not set: set it to the key that wrote the data/);
    const wrongPrevious = await refusal({ encryptionKey: second, previousEncryptionKeys: [newKey()] });
    expect(wrongPrevious).toContain(idOf(first));
    // Nothing was written by the refused starts: no key check for the wrong key, no rows.
    expect((await db.query<{ key_id: string }>('select key_id from autochat_key_checks')).map((row) => row.key_id)).toEqual([idOf(first)]);
    expect(await db.query<{ n: number }>('select count(*)::int as n from chat_messages')).toEqual(before);

    // Rotation: the new key writes, the old one still reads.
    await chatOnce({ encryptionKey: second, previousEncryptionKeys: [first] }, 'sealed with the second key', sessionId);
    expect(await sealedKeyIds()).toEqual([idOf(first), idOf(second)].sort());
    expect(await refusal({ encryptionKey: first })).toContain(`key ${idOf(second)}`);
    expect(await refusal({ encryptionKey: second })).toContain(`key ${idOf(first)}`);

    // Stopping encryption: no current key, both old ones kept for reading.
    const plain = await open({ previousEncryptionKeys: [first, second] });
    try {
      const texts = (await plain.getChatSession(sessionId))!.messages.map((message) => (message.parts[0] as { text?: string }).text);
      expect(texts).toContain('sealed with the first key');
      expect(texts).toContain('sealed with the second key');
    } finally {
      await plain.close();
    }
  });

  it('retires a key that nothing uses any more, and starts with a first key on a plain database', async () => {
    // A key checked in but never used to seal anything is not needed to start.
    const unused = newKey();
    const empty = await open({ encryptionKey: unused });
    await empty.close();
    expect((await db.query<{ key_id: string }>('select key_id from autochat_key_checks')).map((row) => row.key_id)).toEqual([idOf(unused)]);
    const sessionId = await chatOnce({}, 'written plain');
    expect(await db.query('select key_id from autochat_key_checks')).toEqual([]);

    const key = newKey();
    await chatOnce({ encryptionKey: key }, 'written sealed', sessionId);
    expect(await sealedKeyIds()).toEqual([idOf(key)]);
    expect((await db.query<{ key_id: string }>('select key_id from autochat_key_checks')).map((row) => row.key_id)).toEqual([idOf(key)]);
    const chat = await open({ encryptionKey: key });
    try {
      const texts = (await chat.getChatSession(sessionId))!.messages.map((message) => (message.parts[0] as { text?: string }).text);
      expect(texts).toContain('written plain');
      expect(texts).toContain('written sealed');
    } finally {
      await chat.close();
    }
  });

  it('checks a database encrypted before key checks existed against the data itself', async () => {
    const key = newKey();
    await chatOnce({ encryptionKey: key }, 'sealed before the upgrade');
    // What migration 0007 leaves for such a database: the key's id, found in the data, without a check.
    await db.query(`update autochat_key_checks set sealed_check = null`);
    expect(await refusal({ encryptionKey: newKey() })).toContain(`key ${idOf(key)}`);
    const chat = await open({ encryptionKey: key });
    await chat.close();
    const [row] = await db.query<{ sealed_check: string | null }>('select sealed_check from autochat_key_checks');
    expect(row!.sealed_check).toMatch(new RegExp(`^enc1:${idOf(key)}:`));
  });

  it('leaves no claimed session, run or message behind when a request fails after its claim', async () => {
    const key = newKey();
    const sessionId = await chatOnce({ encryptionKey: key }, 'hello');
    // A stored value that cannot be opened (damaged, or sealed by a key this process never had).
    await db.query(
      `insert into chat_messages (id, session_id, seq, role, parts) values ('${randomUUID()}', '${sessionId}', 99, 'assistant', 'enc1:${idOf(key)}:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA')`,
    );
    const before = await db.query<{ runs: number; messages: number }>(
      `select (select count(*) from chat_runs)::int as runs, (select count(*) from chat_messages)::int as messages`,
    );
    const chat = await open({ encryptionKey: key });
    try {
      await expect(chatOnceWith(chat, sessionId, 'this request fails')).rejects.toThrow();
      const [summary] = (await chat.listChatSessions('kim')).sessions;
      expect(summary).toMatchObject({ sessionId, status: 'idle' });
    } finally {
      await chat.close();
    }
    const after = await db.query<{ runs: number; messages: number }>(
      `select (select count(*) from chat_runs)::int as runs, (select count(*) from chat_messages)::int as messages`,
    );
    expect(after).toEqual(before);
    expect(await db.query(`select id from chat_sessions where status <> 'idle'`)).toEqual([]);
  });
});

async function chatOnceWith(chat: Awaited<ReturnType<typeof createChatService>>, sessionId: string, text: string) {
  for await (const _ of chat.streamChatCompletion(sessionId, text, { userId: 'kim' })) void _;
}

describe('autochat serve with the wrong ENCRYPTION_KEY', () => {
  it('exits with a sentence naming ENCRYPTION_KEY and ENCRYPTION_KEYS_PREVIOUS', async () => {
    const dataDir = await mkdtemp(join(tmpdir(), 'autochat-keys-serve-'));
    try {
      const key = newKey();
      const chat = await createChatService(testOptions({ dataDir, encryptionKey: key }));
      try {
        const session = await chat.createChatSession('local');
        for await (const _ of chat.streamChatCompletion(session.sessionId, 'hello', { userId: 'local' })) void _;
      } finally {
        await chat.close();
      }
      const refused = await serveCli({ DATA_DIR: dataDir, ENCRYPTION_KEY: newKey() }).then(
        async (server) => (await server.stop(), { code: 0, stderr: 'it started' }),
        (error: { code: number; stderr: string }) => error,
      );
      expect(refused.code).not.toBe(0);
      expect(refused.stderr).toMatch(
        /^autochat: The database holds content encrypted with key [0-9a-f]{8}, which is neither ENCRYPTION_KEY nor in ENCRYPTION_KEYS_PREVIOUS/m,
      );
      expect(refused.stderr).not.toMatch(/\n\s+at /); // a sentence, not a stack
    } finally {
      await rm(dataDir, { recursive: true, force: true });
    }
  });
});
