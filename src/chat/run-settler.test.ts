import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startThrowawayPostgres, type ThrowawayPostgres } from '../../test/support/throwaway-postgres.js';
import { waitUntil } from '../../test/support/wait-until.js';
import { createLogger } from '../logger.js';
import { createContentCipher } from '../store/content-cipher.js';
import { openDatabase, type Database } from '../store/database.js';
import type { ExecutionEndRecord, RunEndRecord } from '../store/end-record.js';
import { ExecutionsRepository } from '../store/executions-repository.js';
import { RunsRepository } from '../store/runs-repository.js';
import { SessionsRepository } from '../store/sessions-repository.js';
import { openSpillJournal } from '../store/spill-journal.js';
import { createRunSettler } from './run-settler.js';

describe('run settler (against a PostgreSQL server the test stops and starts)', () => {
  let postgres: ThrowawayPostgres;
  let database: Database;
  let sessions: SessionsRepository;
  let runs: RunsRepository;
  let executions: ExecutionsRepository;
  let directory: string;
  const log = createLogger('silent');

  beforeAll(async () => {
    postgres = await startThrowawayPostgres();
    database = await openDatabase({ databaseUrl: await postgres.createDatabase('settler'), dataDir: 'memory://' });
    const cipher = createContentCipher();
    sessions = new SessionsRepository(database.db, cipher);
    runs = new RunsRepository(database.db, sessions, cipher);
    executions = new ExecutionsRepository(database.db, cipher);
    directory = await mkdtemp(join(tmpdir(), 'autochat-settler-'));
  });
  afterAll(async () => {
    await postgres?.start().catch(() => {});
    await database?.close();
    await postgres?.destroy();
    await rm(directory, { recursive: true, force: true });
  });

  const endOfNewRun = async (): Promise<RunEndRecord> => {
    const sessionId = randomUUID();
    const runId = randomUUID();
    await sessions.create(sessionId, 'u');
    await runs.begin({
      sessionId,
      userId: 'u',
      runId,
      owner: 'me',
      leaseMs: 60_000,
      userMessage: { id: randomUUID(), role: 'user', parts: [{ type: 'text', text: 'hi' }] },
    });
    return {
      runId,
      sessionId,
      userId: 'u',
      status: 'finished',
      message: { id: randomUUID(), role: 'assistant', parts: [{ type: 'text', text: 'the whole answer' }] },
      usage: [{ kind: 'chat', model: 'm', promptTokens: 20, completionTokens: 4, totalTokens: 24 }],
      endedAt: new Date().toISOString(),
    };
  };

  it('holds an end through an outage of any length, retrying, and stores it once when the database returns', async () => {
    const record = await endOfNewRun();
    const place = await openSpillJournal(join(directory, 'a.journal'), { cipher: createContentCipher(), maxBytes: 1 << 20 });
    let failures = 0;
    const stored: string[] = [];
    // Short waits stand in for time: at the default ceiling (30 s between attempts) the 60 failed
    // attempts below are half an hour of outage, and nothing the settler holds has any expiry.
    const settler = createRunSettler({
      runs,
      executions,
      place,
      log,
      maxBytes: 1 << 20,
      baseDelayMs: 2,
      maxDelayMs: 10,
      onRetryFailed: () => failures++,
      onStored: (entry) => stored.push(entry.runId),
    });
    await postgres.kill();
    expect(await settler.save(record)).toBe('pending');
    expect(await place.get(record.runId)).toEqual(record);
    await waitUntil(() => failures >= 60, 30_000);
    expect(settler.stats().count).toBe(1);
    expect(settler.stats().bytes).toBeGreaterThan(0);
    expect(await place.get(record.runId)).toEqual(record);
    expect(stored).toEqual([]);

    await postgres.start();
    await waitUntil(() => stored.length === 1, 30_000);
    expect(settler.stats()).toEqual({ count: 0, bytes: 0 });
    expect(await place.get(record.runId)).toBeUndefined();
    expect(await runs.status(record.runId)).toMatchObject({ status: 'finished' });
    expect((await sessions.messages(record.sessionId)).map((message) => message.parts)).toEqual([
      [{ type: 'text', text: 'hi' }],
      [{ type: 'text', text: 'the whole answer' }],
    ]);

    // Another instance holding the same record (adopted from its journal) stores nothing twice.
    const other = createRunSettler({
      runs,
      executions,
      place: await openSpillJournal(join(directory, 'b.journal'), { cipher: createContentCipher(), maxBytes: 1 << 20 }),
      log,
      maxBytes: 1 << 20,
    });
    expect(await other.settle(record)).toBe('ended-elsewhere');
    expect(await sessions.usage(record.sessionId)).toHaveLength(1);
    await Promise.all([settler.close(), other.close()]);
  });

  it('past its bound keeps an end in memory only (and says so), and still stores it', async () => {
    const record = await endOfNewRun();
    const place = await openSpillJournal(join(directory, 'c.journal'), { cipher: createContentCipher(), maxBytes: 1 << 20 });
    let overflows = 0;
    const settler = createRunSettler({
      runs,
      executions,
      place,
      log,
      maxBytes: 100,
      baseDelayMs: 5,
      maxDelayMs: 20,
      onOverflow: () => overflows++,
    });
    await postgres.kill();
    expect(await settler.save(record)).toBe('pending');
    expect(overflows).toBe(1);
    expect(await place.get(record.runId)).toBeUndefined();
    expect(settler.stats().count).toBe(1);
    await postgres.start();
    await waitUntil(() => settler.stats().count === 0, 30_000);
    expect(await runs.status(record.runId)).toMatchObject({ status: 'finished' });
    await settler.close();
  });
  it("keeps an agent execution's end through an outage, and stores its output and usage once when the database returns", async () => {
    const executionId = randomUUID();
    await executions.start({
      executionId,
      userId: 'u',
      slug: 'an-agent',
      agentName: 'An agent',
      inputs: { topic: 'launch' },
      owner: 'me',
      leaseMs: 60_000,
      maxLive: 10,
    });
    expect(await executions.markRunning(executionId)).toBe(true);
    const record: ExecutionEndRecord = {
      kind: 'execution',
      runId: executionId,
      userId: 'u',
      status: 'finished',
      message: { id: executionId, role: 'assistant', parts: [{ type: 'text', text: 'the whole output' }] },
      usage: [{ kind: 'execution', model: 'm', promptTokens: 30, completionTokens: 12, totalTokens: 42 }],
      endedAt: new Date().toISOString(),
    };
    const journal = join(directory, 'd.journal');
    const place = await openSpillJournal(journal, { cipher: createContentCipher(), maxBytes: 1 << 20 });
    const stored: string[] = [];
    const settler = createRunSettler({
      runs,
      executions,
      place,
      log,
      maxBytes: 1 << 20,
      baseDelayMs: 2,
      maxDelayMs: 10,
      onStored: (entry) => stored.push(entry.runId),
    });
    await postgres.kill();
    expect(await settler.save(record)).toBe('pending');
    expect(await place.get(executionId)).toEqual(record);
    // This process stops before the database returns: the next one finds the record in the journal.
    await settler.close();
    const reopened = await openSpillJournal(journal, { cipher: createContentCipher(), maxBytes: 1 << 20 });
    const leftBehind = await reopened.load();
    expect(leftBehind).toEqual([record]);
    const next = createRunSettler({
      runs,
      executions,
      place: reopened,
      log,
      maxBytes: 1 << 20,
      baseDelayMs: 2,
      maxDelayMs: 10,
      onStored: (entry) => stored.push(entry.runId),
    });
    next.adopt(leftBehind);
    await postgres.start();
    await waitUntil(() => stored.length === 1, 30_000);
    const execution = await executions.get(executionId, 'u');
    expect(execution).toMatchObject({ status: 'finished', output: record.message, usage: { totalTokens: 42 } });
    expect(await reopened.get(executionId)).toBeUndefined();
    // Stored once: the same record again (another instance held it too) stores nothing.
    expect(await next.settle(record)).toBe('ended-elsewhere');
    expect((await executions.get(executionId, 'u'))!.usage).toEqual({ promptTokens: 30, completionTokens: 12, totalTokens: 42 });
    await next.close();
  });
});
