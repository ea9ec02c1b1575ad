import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../logger.js';
import { createContentCipher } from '../store/content-cipher.js';
import { openDatabase, type Database } from '../store/database.js';
import { RunsRepository } from '../store/runs-repository.js';
import { SessionsRepository } from '../store/sessions-repository.js';
import { createLeaseKeeper } from './lease-keeper.js';

describe('lease keeper', () => {
  let database: Database;
  let sessions: SessionsRepository;
  let runs: RunsRepository;
  beforeAll(async () => {
    database = await openDatabase({ dataDir: 'memory://' });
    const cipher = createContentCipher();
    sessions = new SessionsRepository(database.db, cipher);
    runs = new RunsRepository(database.db, sessions, cipher);
  });
  afterAll(async () => database?.close());

  const begin = async (owner: string) => {
    const sessionId = randomUUID();
    const runId = randomUUID();
    await sessions.create(sessionId, 'u');
    await runs.begin({ sessionId, userId: 'u', runId, owner, leaseMs: 600, userMessage: { id: randomUUID(), role: 'user', parts: [{ type: 'text', text: 'hi' }] } });
    return { sessionId, runId };
  };

  it('renews every run of the owner in one statement, saves changed checkpoints and progress, and reports lost leases', async () => {
    const owned = await Promise.all([begin('me'), begin('me'), begin('me')]);
    const lost: string[] = [];
    const keeper = createLeaseKeeper({ runs, owner: 'me', leaseMs: 600, checkpoints: true, log: createLogger('silent') });
    for (const run of owned) {
      keeper.track(
        run.runId,
        () => ({
          answer: { id: 'a', role: 'assistant', parts: [{ type: 'text', text: `partial ${run.runId}` }] },
          progress: { promptEstimate: 40, model: 'm', usage: [{ kind: 'chat', model: 'm', promptTokens: 40, completionTokens: 5, totalTokens: 45 }], calling: true, pendingChars: 12 },
        }),
        () => lost.push(run.runId),
      );
    }
    // Another instance ends one run (as a sweeper would after a lost lease).
    await runs.end(owned[0]!.runId, owned[0]!.sessionId, 'u', { status: 'interrupted', usage: [] });
    const before = database.statementCount();
    await expect.poll(() => lost.length, { interval: 20, timeout: 5000 }).toBe(1);
    // One statement per tick for all three runs (per-run renewals would need three).
    expect(database.statementCount() - before).toBeLessThanOrEqual(2);
    expect(lost).toEqual([owned[0]!.runId]);
    expect((await runs.checkpoint(owned[1]!.runId))?.parts).toEqual([{ type: 'text', text: `partial ${owned[1]!.runId}` }]);
    // What the run has spent so far is saved with the lease, for whoever has to close it.
    expect((await runs.running(owned[1]!.runId))?.progress).toMatchObject({ promptEstimate: 40, calling: true, pendingChars: 12, usage: [{ totalTokens: 45 }] });
    // Still alive past the original 600 ms lease: renewed, so not expired.
    await new Promise((resolve) => setTimeout(resolve, 400));
    expect((await runs.expired()).map((run) => run.runId)).not.toContain(owned[1]!.runId);
    keeper.stop();
  });
});
