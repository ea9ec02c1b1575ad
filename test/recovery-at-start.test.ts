/**
 * Recovery at start: runs left running by a dead process are closed as the service starts — charged
 * for the call they had in flight — and a run that cannot be closed is logged with its cause (not
 * swallowed), stays running to be tried again, and holds up neither the others nor the start.
 */
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { sql } from 'drizzle-orm';
import { describe, expect, it } from 'vitest';
import { createChatService } from '../src/index.js';
import { createLogger } from '../src/logger.js';
import { createContentCipher } from '../src/store/content-cipher.js';
import { openDatabase } from '../src/store/database.js';
import { RunsRepository } from '../src/store/runs-repository.js';
import { SessionsRepository } from '../src/store/sessions-repository.js';
import { databaseTargets } from './support/databases.js';
import { testOptions } from './support/test-service.js';

describe.each(databaseTargets)('recovery at start on $name', (target) => {
  // On PGlite: a database on disk made from nothing, then opened twice — CPU-bound work that took over
  // 60 s on a 2-core machine running `stress --cpu 2` and other suites beside it.
  it('closes and charges the runs of a dead process, and logs one it cannot close with its cause', { timeout: 180_000 }, async () => {
    const created = await target.create();
    // PGlite must outlive the first handle: on disk, not in memory.
    const dataDir = target.name === 'pglite' ? await mkdtemp(join(tmpdir(), 'autochat-recovery-')) : created.dataDir;
    const options = { databaseUrl: created.databaseUrl, dataDir };
    const lines: string[] = [];
    try {
      // A dead process's two runs: expired leases, one with a readable checkpoint and its progress,
      // one whose checkpoint was sealed with a key this server does not have.
      const database = await openDatabase(options);
      const cipher = createContentCipher();
      const sessions = new SessionsRepository(database.db, cipher);
      const runs = new RunsRepository(database.db, sessions, cipher);
      const begin = async () => {
        const sessionId = randomUUID();
        const runId = randomUUID();
        await sessions.create(sessionId, 'u');
        await runs.begin({
          sessionId,
          userId: 'u',
          runId,
          owner: 'dead',
          leaseMs: 60_000,
          userMessage: { id: randomUUID(), role: 'user', parts: [{ type: 'text', text: 'hi' }] },
        });
        return { sessionId, runId };
      };
      const readable = await begin();
      const sealed = await begin();
      await runs.renewAll('dead', 60_000, [
        {
          runId: readable.runId,
          checkpoint: { id: 'answer', role: 'assistant', parts: [{ type: 'text', text: 'Half an answer' }] },
          progress: { promptEstimate: 50, model: 'test/chat', usage: [], calling: true, pendingChars: 14 },
        },
      ]);
      await database.db.execute(sql`update chat_runs set checkpoint = 'enc1:0badc0de:AAAA' where id = ${sealed.runId}`);
      await database.db.execute(sql`update chat_runs set lease_expires_at = now() - interval '1 second'`);
      await database.close();

      const logger = createLogger('info', new Writable({ write: (chunk, _encoding, done) => (lines.push(String(chunk)), done()) }));
      const chat = await createChatService(testOptions({ ...options, logger }));
      try {
        const recovered = (await chat.getChatSession(readable.sessionId))!;
        expect(recovered).toMatchObject({ status: 'idle', lastRunStatus: 'interrupted' });
        expect(recovered.messages[1]!.parts).toEqual([{ type: 'text', text: 'Half an answer' }]);
        // The call it had in flight is charged (estimated): prompt as estimated, 14 characters written.
        expect(recovered.usage).toEqual([
          expect.objectContaining({ promptTokens: 50, completionTokens: 4, totalTokens: 54, estimated: true }),
        ]);

        // The other stays running (its partial answer is not thrown away) and the log says why.
        expect((await chat.getChatSession(sealed.sessionId))!.status).toBe('running');
        const failure = lines.map((line) => JSON.parse(line)).find((entry) => entry.msg?.startsWith('closing an interrupted run failed'));
        expect(failure).toMatchObject({
          level: 'error',
          runId: sealed.runId,
          err: { code: 'checkpoint_unreadable', cause: { type: 'Error' } },
        });
      } finally {
        await chat.close();
      }
    } finally {
      await created.drop();
      if (target.name === 'pglite') await rm(dataDir, { recursive: true, force: true });
    }
  });
});
