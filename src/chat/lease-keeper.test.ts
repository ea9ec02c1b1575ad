import { randomUUID } from 'node:crypto';
import { sql } from 'drizzle-orm';
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
    await runs.begin({
      sessionId,
      userId: 'u',
      runId,
      owner,
      leaseMs: 600,
      userMessage: { id: randomUUID(), role: 'user', parts: [{ type: 'text', text: 'hi' }] },
    });
    return { sessionId, runId };
  };

  it('renews every run of the owner in one statement, saves changed checkpoints and progress, and reports lost leases', async () => {
    const owned = await Promise.all([begin('me'), begin('me'), begin('me')]);
    const lost: string[] = [];
    // Ticks come when the test says so (flush), not from a timer racing the assertions.
    let scheduled: number | undefined;
    const keeper = createLeaseKeeper({
      runs,
      owner: 'me',
      leaseMs: 600,
      checkpoints: true,
      log: createLogger('silent'),
      schedule: (_tick, everyMs) => {
        scheduled = everyMs;
        return () => {};
      },
    });
    expect(scheduled).toBe(200);
    for (const run of owned) {
      keeper.track(
        run.runId,
        () => ({
          answer: { id: 'a', role: 'assistant', parts: [{ type: 'text', text: `partial ${run.runId}` }] },
          progress: {
            promptEstimate: 40,
            model: 'm',
            usage: [{ kind: 'chat', model: 'm', promptTokens: 40, completionTokens: 5, totalTokens: 45 }],
            calling: true,
            pendingChars: 12,
          },
        }),
        () => lost.push(run.runId),
      );
    }
    const expiry = async (runId: string) =>
      (
        await database.rows<{ at: string }>(
          sql`select (extract(epoch from lease_expires_at) * 1000)::text as at from chat_runs where id = ${runId}`,
        )
      )[0]!.at;
    const leaseBefore = await expiry(owned[1]!.runId);
    // Another instance ends one run (as a sweeper would after a lost lease).
    await runs.end(owned[0]!.runId, owned[0]!.sessionId, 'u', { status: 'interrupted', usage: [] });
    const before = database.statementCount();
    await keeper.flush();
    // One statement for all three runs (per-run renewals would need three).
    expect(database.statementCount() - before).toBe(1);
    expect(lost).toEqual([owned[0]!.runId]);
    expect((await runs.checkpoint(owned[1]!.runId))?.parts).toEqual([{ type: 'text', text: `partial ${owned[1]!.runId}` }]);
    // What the run has spent so far is saved with the lease, for whoever has to close it.
    expect((await runs.running(owned[1]!.runId))?.progress).toMatchObject({
      promptEstimate: 40,
      calling: true,
      pendingChars: 12,
      usage: [{ totalTokens: 45 }],
    });
    // Renewed: the lease now ends later than it did, by the database's clock.
    expect(Number(await expiry(owned[1]!.runId))).toBeGreaterThan(Number(leaseBefore));
    // Nothing changed since: the next renewal saves no checkpoint or progress again, and loses no run.
    await keeper.flush();
    expect(lost).toEqual([owned[0]!.runId]);
    keeper.stop();
    // A stopped keeper renews nothing.
    const stopped = database.statementCount();
    await keeper.flush();
    expect(database.statementCount()).toBe(stopped);
  });

  it('renews on its own timer when none is injected, and stops with it', async () => {
    const run = await begin('timer');
    const keeper = createLeaseKeeper({ runs, owner: 'timer', leaseMs: 600, checkpoints: false, log: createLogger('silent') });
    const lost: string[] = [];
    keeper.track(
      run.runId,
      () => ({ answer: { id: 'a', role: 'assistant', parts: [] } }),
      () => lost.push(run.runId),
    );
    await runs.end(run.runId, run.sessionId, 'u', { status: 'interrupted', usage: [] });
    // The first tick after the run was closed elsewhere reports it lost; waited for, however late it comes.
    await expect.poll(() => lost, { interval: 20, timeout: 10_000 }).toEqual([run.runId]);
    keeper.stop();
  });
});
