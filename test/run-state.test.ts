/**
 * The session and run state machine: every legal transition, every illegal one refused by the service
 * and by the database itself, a stop racing a finish, and a crashed owner's run → interrupted.
 */
import { randomUUID } from 'node:crypto';
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RunStateError } from '../src/chat/run-state.js';
import { createContentCipher } from '../src/store/content-cipher.js';
import { openDatabase, type Database } from '../src/store/database.js';
import { RunsRepository } from '../src/store/runs-repository.js';
import { runStatuses } from '../src/store/schema.js';
import { SessionsRepository } from '../src/store/sessions-repository.js';
import { createChatService } from '../src/chat/chat-service.js';
import { databaseTargets } from './support/databases.js';
import { startFakeUpstream, say, type FakeUpstream } from './support/fake-upstream.js';
import { upstreamOptions } from './support/test-service.js';
import { waitUntil } from './support/wait-until.js';

const userMessage = () => ({ id: randomUUID(), role: 'user' as const, parts: [{ type: 'text' as const, text: 'hi' }] });

describe.each(databaseTargets)('run state machine on $name', (target) => {
  let database: Database;
  let drop: () => Promise<void>;
  let sessions: SessionsRepository;
  let runs: RunsRepository;

  beforeAll(async () => {
    const created = await target.create();
    drop = created.drop;
    database = await openDatabase({ databaseUrl: created.databaseUrl, dataDir: created.dataDir });
    const cipher = createContentCipher();
    sessions = new SessionsRepository(database.db, cipher);
    runs = new RunsRepository(database.db, sessions, cipher);
  });
  afterAll(async () => {
    await database?.close();
    await drop?.();
  });

  const begin = async (leaseMs = 60_000) => {
    const sessionId = randomUUID();
    const runId = randomUUID();
    await sessions.create(sessionId, 'u');
    await runs.begin({ sessionId, userId: 'u', runId, owner: 'test', leaseMs, userMessage: userMessage() });
    return { sessionId, runId };
  };

  it.each(['finished', 'failed', 'stopped', 'interrupted'] as const)(
    'running → %s frees the session and records the outcome',
    async (outcome) => {
      const { sessionId, runId } = await begin();
      expect((await sessions.summary(sessionId))!.status).toBe('running');
      await runs.end(runId, sessionId, 'u', { status: outcome, reason: 'test', usage: [] });
      expect(await sessions.summary(sessionId)).toMatchObject({ status: 'idle', lastRunStatus: outcome });
      expect(await runs.status(runId)).toMatchObject({ status: outcome, reason: 'test' });
    },
  );

  it('refuses to start a second run on a running session (run_in_progress)', async () => {
    const { sessionId } = await begin();
    await expect(
      runs.begin({ sessionId, userId: 'u', runId: randomUUID(), owner: 'test', leaseMs: 1000, userMessage: userMessage() }),
    ).rejects.toMatchObject({ code: 'run_in_progress' });
    expect(await sessions.messages(sessionId)).toHaveLength(1);
  });

  it('lets two sessions racing to store the same message id both have it: ids belong to their session', async () => {
    const id = `raced-${randomUUID()}`;
    const sessionIds = [randomUUID(), randomUUID()];
    for (const sessionId of sessionIds) await sessions.create(sessionId, 'u');
    // On PostgreSQL both statements run at once (two pooled connections, opened beforehand); on
    // PGlite they run one after the other. Neither meets the other's key.
    await Promise.all([database.rows(sql`select pg_sleep(0.05)`), database.rows(sql`select pg_sleep(0.05)`)]);
    const attempts = await Promise.allSettled(
      sessionIds.map((sessionId) =>
        runs.begin({ sessionId, userId: 'u', runId: randomUUID(), owner: 'test', leaseMs: 60_000, userMessage: { ...userMessage(), id } }),
      ),
    );
    expect(attempts.map((attempt) => attempt.status)).toEqual(['fulfilled', 'fulfilled']);
    for (const sessionId of sessionIds) expect((await sessions.messages(sessionId)).map((message) => message.id)).toEqual([id]);
  });

  it('refuses to end a run twice, with a typed error, storing nothing the second time', async () => {
    const { sessionId, runId } = await begin();
    await runs.end(runId, sessionId, 'u', { status: 'stopped', usage: [] });
    const second = runs.end(runId, sessionId, 'u', {
      status: 'finished',
      message: { id: randomUUID(), role: 'assistant', parts: [{ type: 'text', text: 'late' }] },
      usage: [{ kind: 'chat', model: 'm', promptTokens: 1, completionTokens: 1, totalTokens: 2 }],
    });
    await expect(second).rejects.toSatisfy(
      (error) => RunStateError.isInstance(error) && error.from === 'stopped' && error.to === 'finished',
    );
    expect(await sessions.messages(sessionId)).toHaveLength(1);
    expect(await sessions.usage(sessionId)).toHaveLength(0);
    expect((await runs.status(runId))!.status).toBe('stopped');
  });

  it('lets an ended run go nowhere, whatever a statement tries: the database refuses every other status', async () => {
    for (const from of ['finished', 'failed', 'stopped', 'interrupted'] as const) {
      const { sessionId, runId } = await begin();
      await runs.end(runId, sessionId, 'u', { status: from, usage: [] });
      for (const to of runStatuses.filter((status) => status !== from)) {
        await expect(
          database.db.execute(sql`update chat_runs set status = ${to} where id = ${runId}`),
          `${from} → ${to}`,
        ).rejects.toThrow();
      }
      expect(await runs.status(runId)).toMatchObject({ status: from });
    }
  });

  it('is guarded by the database itself: ended runs cannot change, sessions cannot be running without a run', async () => {
    const { sessionId, runId } = await begin();
    await runs.end(runId, sessionId, 'u', { status: 'finished', usage: [] });
    await expect(database.db.execute(sql`update chat_runs set status = 'running', ended_at = null where id = ${runId}`)).rejects.toThrow();
    await expect(database.db.execute(sql`update chat_runs set status = 'failed' where id = ${runId}`)).rejects.toThrow();
    await expect(database.db.execute(sql`update chat_sessions set status = 'running' where id = ${sessionId}`)).rejects.toThrow();
    await expect(database.db.execute(sql`update chat_runs set status = 'bogus' where id = ${runId}`)).rejects.toThrow();
  });

  it('lets a run wait for tool approvals and leave that state only to run again or to end unanswered (migration 0012)', async () => {
    const { runId } = await begin();
    await database.db.execute(sql`update chat_runs set status = 'awaiting-approval' where id = ${runId}`);
    // Waiting is not an end: no end time, and it cannot finish or fail without running again.
    await expect(
      database.db.execute(sql`update chat_runs set status = 'finished', ended_at = now() where id = ${runId}`),
    ).rejects.toThrow();
    await expect(
      database.db.execute(sql`update chat_runs set status = 'awaiting-approval', ended_at = now() where id = ${runId}`),
    ).rejects.toThrow();
    await database.db.execute(sql`update chat_runs set status = 'running' where id = ${runId}`);
    await database.db.execute(sql`update chat_runs set status = 'awaiting-approval' where id = ${runId}`);
    await database.db.execute(sql`update chat_runs set status = 'stopped', ended_at = now() where id = ${runId}`);
    await expect(
      database.db.execute(sql`update chat_runs set status = 'awaiting-approval', ended_at = null where id = ${runId}`),
    ).rejects.toThrow();
  });

  it('crash → interrupted: a run whose lease expired is found and closed once, even by two sweepers', async () => {
    const { sessionId, runId } = await begin(1);
    // The 1 ms lease runs out by the database's clock: waited for, not slept on.
    await waitUntil(async () => (await runs.expired()).some((run) => run.runId === runId), 10_000, 5);
    const attempts = await Promise.allSettled([
      runs.end(runId, sessionId, 'u', { status: 'interrupted', reason: 'owner stopped responding', usage: [] }),
      runs.end(runId, sessionId, 'u', { status: 'interrupted', reason: 'owner stopped responding', usage: [] }),
    ]);
    expect(attempts.filter((attempt) => attempt.status === 'fulfilled')).toHaveLength(1);
    expect(await sessions.summary(sessionId)).toMatchObject({ status: 'idle', lastRunStatus: 'interrupted' });
  });
});

describe('stop racing finish', () => {
  let upstream: FakeUpstream;
  let chat: Awaited<ReturnType<typeof createChatService>>;
  beforeAll(async () => {
    upstream = await startFakeUpstream();
    chat = await createChatService(upstreamOptions(upstream.url, { dataDir: 'memory://' }));
  });
  afterAll(async () => {
    await chat?.close();
    await upstream?.close();
  });

  it('ends with exactly one outcome and one stored answer, whichever wins, and the stored answer agrees with it', async () => {
    for (let attempt = 0; attempt < 8; attempt++) {
      const session = await chat.createChatSession('u');
      upstream.enqueue(say('quick answer', attempt % 4));
      const run = await chat.startRun(session.sessionId, 'Hello', { userId: 'u' });
      const done = chat.waitForRun(run.runId);
      // Varies which side wins the race; nothing waits on it.
      await new Promise((resolve) => setTimeout(resolve, attempt * 2));
      const [stopAccepted, outcome] = await Promise.all([chat.stopRun(session.sessionId, 'u').catch(() => false), done]);
      const stored = (await chat.getChatSession(session.sessionId))!;
      expect(stored.status).toBe('idle');
      expect(['finished', 'stopped']).toContain(outcome);
      expect(stored.lastRunStatus).toBe(outcome);
      // A stop that found no running answer cannot have stopped it.
      expect(stopAccepted || outcome === 'finished').toBe(true);
      expect(stored.messages[0]!.role).toBe('user');
      const answers = stored.messages.filter((message) => message.role === 'assistant');
      expect(answers.length).toBeLessThanOrEqual(1);
      const text = answers
        .flatMap((message) => message.parts)
        .map((part) => (part.type === 'text' ? part.text : ''))
        .join('');
      // A finished answer is whole; a stopped one is what had arrived of it.
      if (outcome === 'finished') expect(text).toBe('quick answer');
      else expect('quick answer'.startsWith(text)).toBe(true);
    }
  });
});
