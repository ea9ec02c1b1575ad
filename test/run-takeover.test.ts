/**
 * The claim that lets one instance continue a run whose owner is gone (store/run-takeover.ts): of
 * many instances claiming the same expired run at once exactly one wins; a run whose lease is still
 * alive, or that ended, or was continued RUN_CONTINUE_MAX times, is not claimed; a released run is
 * claimable at once, with the progress its owner saved. The same for agent executions
 * (`ExecutionsRepository.claim`).
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createContentCipher } from '../src/store/content-cipher.js';
import { openDatabase, type Database } from '../src/store/database.js';
import { ExecutionsRepository } from '../src/store/executions-repository.js';
import { RunTakeovers } from '../src/store/run-takeover.js';
import { RunsRepository } from '../src/store/runs-repository.js';
import { SessionsRepository } from '../src/store/sessions-repository.js';
import { databaseTargets } from './support/databases.js';

describe.each(databaseTargets)('taking over a run on $name', (target) => {
  let database: Database;
  let drop: () => Promise<void>;
  let sessions: SessionsRepository;
  let runs: RunsRepository;
  let takeovers: RunTakeovers;

  beforeAll(async () => {
    const created = await target.create();
    drop = created.drop;
    database = await openDatabase({ databaseUrl: created.databaseUrl, dataDir: created.dataDir });
    const cipher = createContentCipher();
    sessions = new SessionsRepository(database.db, cipher);
    runs = new RunsRepository(database.db, sessions, cipher);
    takeovers = new RunTakeovers(database.db);
  });
  afterAll(async () => {
    await database?.close();
    await drop?.();
  });

  const begin = async (leaseMs: number) => {
    const sessionId = randomUUID();
    const runId = randomUUID();
    await sessions.create(sessionId, 'u');
    await runs.begin({
      sessionId,
      userId: 'u',
      runId,
      owner: 'dead',
      leaseMs,
      userMessage: { id: randomUUID(), role: 'user', parts: [{ type: 'text', text: 'hi' }] },
    });
    return { sessionId, runId };
  };
  const expire = async () => new Promise((resolve) => setTimeout(resolve, 5));

  it('lets exactly one of ten instances claim an expired run, and counts the continuation', async () => {
    const { runId } = await begin(1);
    await expire();
    const claims = await Promise.all(
      Array.from({ length: 10 }, (_, index) =>
        takeovers.claim({ runId, previousOwner: 'dead', owner: `instance-${index}`, leaseMs: 60_000, max: 2 }),
      ),
    );
    const winners = claims.filter((claim) => claim !== undefined);
    expect(winners).toEqual([{ continuations: 1, progress: undefined }]);
    const owner = (await runs.status(runId))!.owner;
    expect(owner).toBe(`instance-${claims.findIndex((claim) => claim !== undefined)}`);
    expect(await takeovers.continuations(runId)).toBe(1);
    // Its lease was renewed by the claim: nobody else finds it expired.
    expect((await runs.expired()).map((run) => run.runId)).not.toContain(runId);
  });

  it('claims nothing while the lease lives, after the run ended, or once the limit is reached', async () => {
    const alive = await begin(60_000);
    expect(await takeovers.claim({ runId: alive.runId, previousOwner: 'dead', owner: 'b', leaseMs: 1, max: 2 })).toBeUndefined();

    const ended = await begin(1);
    await runs.end(ended.runId, ended.sessionId, 'u', { status: 'finished', usage: [] });
    expect(await takeovers.claim({ runId: ended.runId, previousOwner: 'dead', owner: 'b', leaseMs: 1, max: 2 })).toBeUndefined();

    const limited = await begin(1);
    await expire();
    expect(await takeovers.claim({ runId: limited.runId, previousOwner: 'dead', owner: 'b', leaseMs: 1, max: 2 })).toMatchObject({
      continuations: 1,
    });
    await expire();
    expect(await takeovers.claim({ runId: limited.runId, previousOwner: 'b', owner: 'c', leaseMs: 1, max: 2 })).toMatchObject({
      continuations: 2,
    });
    await expire();
    expect(await takeovers.claim({ runId: limited.runId, previousOwner: 'c', owner: 'd', leaseMs: 1, max: 2 })).toBeUndefined();
    expect((await runs.status(limited.runId))!.owner).toBe('c');
  });

  it('makes a released run claimable at once, with the progress its owner saved', async () => {
    const { runId } = await begin(60_000);
    expect(await takeovers.released(runId)).toBe(false);
    const progress = { promptEstimate: 40, model: 'm', usage: [], calling: true, pendingChars: 12 };
    expect(await takeovers.release(runId, 'someone-else', progress)).toBe(false);
    expect(await takeovers.release(runId, 'dead', progress)).toBe(true);
    expect(await takeovers.released(runId)).toBe(true);
    expect(await takeovers.claim({ runId, previousOwner: 'dead', owner: 'b', leaseMs: 60_000, max: 2 })).toEqual({
      continuations: 1,
      progress,
    });
    expect(await takeovers.released(runId)).toBe(false);
  });
});

describe.each(databaseTargets)('taking over an agent execution on $name', (target) => {
  let database: Database;
  let drop: () => Promise<void>;
  let executions: ExecutionsRepository;

  beforeAll(async () => {
    const created = await target.create();
    drop = created.drop;
    database = await openDatabase({ databaseUrl: created.databaseUrl, dataDir: created.dataDir });
    executions = new ExecutionsRepository(database.db, createContentCipher());
  });
  afterAll(async () => {
    await database?.close();
    await drop?.();
  });

  const running = async (leaseMs: number) => {
    const executionId = randomUUID();
    await executions.start({
      executionId,
      userId: 'u',
      slug: 'an-agent',
      agentName: 'An agent',
      inputs: { topic: 'launch' },
      owner: 'dead',
      leaseMs,
      maxLive: 100,
    });
    await executions.markRunning(executionId);
    return executionId;
  };
  const expire = async () => new Promise((resolve) => setTimeout(resolve, 5));

  it('lets exactly one of ten instances claim an expired execution, with its inputs, and counts the continuation', async () => {
    const executionId = await running(1);
    await expire();
    const claims = await Promise.all(
      Array.from({ length: 10 }, (_, index) =>
        executions.claim({ executionId, previousOwner: 'dead', owner: `instance-${index}`, leaseMs: 60_000, max: 2 }),
      ),
    );
    const winners = claims.filter((claim) => claim !== undefined);
    expect(winners).toEqual([{ continuations: 1, progress: undefined, slug: 'an-agent', inputs: { topic: 'launch' } }]);
    expect(await executions.liveOwner(executionId)).toBe(`instance-${claims.findIndex((claim) => claim !== undefined)}`);
    expect((await executions.expired()).map((expired) => expired.executionId)).not.toContain(executionId);
  });

  it('claims nothing while the lease lives, after it ended, or once RUN_CONTINUE_MAX is reached', async () => {
    const alive = await running(60_000);
    expect(await executions.claim({ executionId: alive, previousOwner: 'dead', owner: 'b', leaseMs: 1, max: 2 })).toBeUndefined();

    const ended = await running(1);
    await executions.end(ended, { status: 'finished', usage: [] });
    await expire();
    expect(await executions.claim({ executionId: ended, previousOwner: 'dead', owner: 'b', leaseMs: 1, max: 2 })).toBeUndefined();
    expect(await executions.liveOwner(ended)).toBeUndefined();

    const limited = await running(1);
    await expire();
    expect(await executions.claim({ executionId: limited, previousOwner: 'dead', owner: 'b', leaseMs: 1, max: 2 })).toMatchObject({
      continuations: 1,
    });
    await expire();
    expect(await executions.claim({ executionId: limited, previousOwner: 'b', owner: 'c', leaseMs: 1, max: 2 })).toMatchObject({
      continuations: 2,
    });
    await expire();
    expect(await executions.claim({ executionId: limited, previousOwner: 'c', owner: 'd', leaseMs: 1, max: 2 })).toBeUndefined();
    expect(await executions.liveOwner(limited)).toBe('c');
  });
});
