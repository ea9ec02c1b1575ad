/**
 * Beginning a run has two statements (docs/architecture.md, "One definition per shape"): the SQL
 * function `autochat_admit_run` for a new message, and the CTE of `claimStored` for one that may be
 * stored already. The CTE also takes new messages; this test begins the same new message both ways,
 * in twin sessions, and wants the same rows and the same history back.
 */
import { randomUUID } from 'node:crypto';
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createContentCipher } from '../src/store/content-cipher.js';
import { openDatabase, type Database } from '../src/store/database.js';
import { RunsRepository } from '../src/store/runs-repository.js';
import { SessionsRepository } from '../src/store/sessions-repository.js';
import { databaseTargets } from './support/databases.js';

describe.each(databaseTargets)('the two ways of beginning a run on $name', (target) => {
  let database: Database;
  let drop: () => Promise<void>;
  let sessions: SessionsRepository;
  let runs: RunsRepository;

  beforeAll(async () => {
    const created = await target.create();
    drop = created.drop;
    database = await openDatabase({ databaseUrl: created.databaseUrl, dataDir: created.dataDir, shippedCatalog: false });
    const cipher = createContentCipher();
    sessions = new SessionsRepository(database.db, cipher);
    runs = new RunsRepository(database.db, sessions, cipher);
  });
  afterAll(async () => {
    await database?.close();
    await drop?.();
  });

  /** A session holding u1 → a1 → u2 → a2, its leaf a2. */
  async function session(): Promise<string> {
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
    return sessionId;
  }

  /** What beginning wrote and read, without the ids and times that differ between the twins. */
  async function state(sessionId: string, runId: string, row: unknown) {
    const [run] = await database.rows(sql`
      select status, user_id, owner, reserved_tokens, previous_leaf_id, lease_expires_at > now() as leased
      from chat_runs where id = ${runId}`);
    const messages = await database.rows(sql`
      select id, seq, role, parent_id, run_id = ${runId} as by_run from chat_messages where session_id = ${sessionId} order by seq`);
    const [claimed] = await database.rows(sql`
      select status, active_run_id = ${runId} as by_run, active_leaf_id from chat_sessions where id = ${sessionId}`);
    // The function also answers the budget check (none here), which the CTE leaves to its caller.
    const {
      history,
      refused: _r,
      daily_used: _d,
      weekly_used: _w,
      reserved: _v,
      ...read
    } = row as { history: string } & Record<string, unknown>;
    const path = (JSON.parse(history) as [string, string][]).map(([id, role]) => [id, role]);
    return { run, messages, claimed, read, path };
  }

  for (const [name, parentId] of [
    ['continuing the active path', undefined],
    ['editing: a sibling of u2', 'a1'],
    ['starting a new first message', null],
  ] as const) {
    it(`writes and reads the same, ${name}`, async () => {
      const results = [];
      for (const retry of [false, true]) {
        const sessionId = await session();
        const runId = randomUUID();
        const input: Parameters<RunsRepository['begin']>[0] = {
          sessionId,
          userId: 'eve',
          runId,
          owner: 'test',
          leaseMs: 60_000,
          userMessage: { id: 'u3', role: 'user', parts: [{ type: 'text', text: 'u3' }] },
          parentId,
        };
        // Each statement on its own, as `begin` would use it for a new message and for a retry.
        // biome-ignore lint/complexity/useLiteralKeys: `claim` is private; only the bracket reaches it.
        const row = await runs['claim'](input, retry);
        expect(row, `claimed with retry ${retry}`).toBeDefined();
        results.push(await state(sessionId, runId, row));
      }
      expect(results[0]!.messages.at(-1)).toMatchObject({ id: 'u3', by_run: true });
      expect(results[1]).toEqual(results[0]);
    });
  }
});
