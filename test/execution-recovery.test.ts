/**
 * Executions left running by a dead process (no shared event log: one instance, memory mode) are
 * closed as the service starts — `interrupted`, with the output of their last checkpoint, the calls
 * they completed charged as measured and the one in flight estimated — on both databases.
 */
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sql } from 'drizzle-orm';
import { describe, expect, it } from 'vitest';
import { createChatService } from '../src/chat/chat-service.js';
import { createContentCipher } from '../src/store/content-cipher.js';
import { openDatabase } from '../src/store/database.js';
import { ExecutionsRepository } from '../src/store/executions-repository.js';
import { databaseTargets } from './support/databases.js';
import { testOptions } from './support/test-service.js';
import { waitUntil } from './support/wait-until.js';

describe.each(databaseTargets)('executions of a dead process on $name', (target) => {
  it('are closed at start as interrupted, keeping their checkpoint and charging every call', async () => {
    const created = await target.create();
    const dataDir = target.name === 'pglite' ? await mkdtemp(join(tmpdir(), 'autochat-exec-recovery-')) : created.dataDir;
    const options = { databaseUrl: created.databaseUrl, dataDir };
    try {
      const database = await openDatabase(options);
      const executions = new ExecutionsRepository(database.db, createContentCipher());
      const executionId = randomUUID();
      await executions.start({
        executionId,
        userId: 'u',
        slug: 'money-printing-agent',
        agentName: 'Money Printing Agent',
        inputs: { skills: 'x' },
        owner: 'dead',
        leaseMs: 60_000,
        maxLive: 3,
      });
      expect(await executions.markRunning(executionId)).toBe(true);
      await executions.renewAll('dead', 60_000, [
        {
          runId: executionId,
          checkpoint: { id: executionId, role: 'assistant', parts: [{ type: 'text', text: 'Half a plan' }] },
          progress: {
            promptEstimate: 100,
            model: 'test/chat',
            usage: [{ kind: 'execution', model: 'test/chat', promptTokens: 80, completionTokens: 20, totalTokens: 100 }],
            calling: true,
            pendingChars: 40,
          },
        },
      ]);
      // Its owner died: the lease ran out.
      await database.db.execute(sql`update agent_executions set lease_expires_at = now() - interval '1 second'`);
      await database.close();

      const chat = await createChatService(testOptions(options));
      try {
        await waitUntil(async () => (await chat.executions.get(executionId, 'u')).status !== 'running', 20_000);
        const execution = await chat.executions.get(executionId, 'u');
        expect(execution.status).toBe('interrupted');
        expect(execution.error).toContain('stopped unexpectedly');
        expect(execution.output?.parts).toEqual([{ type: 'text', text: 'Half a plan' }]);
        // 100 measured, then the call in flight: 100 prompt tokens as estimated + 40 characters / 4.
        expect(execution.usage).toEqual({ promptTokens: 180, completionTokens: 30, totalTokens: 210 });
      } finally {
        await chat.close();
      }

      // The state machine is the database's: an ended execution can never be live again.
      const again = await openDatabase(options);
      try {
        await expect(again.db.execute(sql`update agent_executions set status = 'running' where id = ${executionId}`)).rejects.toThrow();
      } finally {
        await again.close();
      }
    } finally {
      await created.drop();
      if (target.name === 'pglite') await rm(dataDir, { recursive: true, force: true });
    }
  });
});
