/**
 * Tool approvals through the library API, on PGlite and on PostgreSQL: a call that needs approval
 * pauses the run (nothing of the tool runs), the session shows the request, an approval runs the
 * tool and the answer goes on as the same message, a denial is shown to the model, an unanswered
 * request expires and ends the run, and every upstream call is charged once.
 */
import { tool, type UIMessageChunk } from 'ai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { createChatService, type ChatRuntime as ChatService } from '../src/chat/chat-service.js';
import { databaseTargets } from './support/databases.js';
import { callTool, say, startFakeUpstream, type FakeUpstream } from './support/fake-upstream.js';
import { upstreamOptions } from './support/test-service.js';
import { waitUntil } from './support/wait-until.js';

async function collect<T = UIMessageChunk>(events: AsyncIterable<T>): Promise<T[]> {
  const chunks: T[] = [];
  for await (const chunk of events) chunks.push(chunk);
  return chunks;
}
const textOf = (chunks: UIMessageChunk[]) => chunks.map((chunk) => (chunk.type === 'text-delta' ? chunk.delta : '')).join('');

describe.each(databaseTargets)('tool approvals on $name', (target) => {
  let upstream: FakeUpstream;
  let chat: ChatService;
  let drop: () => Promise<void>;
  const shouted: string[] = [];

  beforeAll(async () => {
    upstream = await startFakeUpstream();
    const created = await target.create();
    drop = created.drop;
    const shout = tool({
      description: 'Shouts the text back',
      inputSchema: z.object({ text: z.string() }),
      execute: async ({ text }) => {
        shouted.push(text);
        return text.toUpperCase();
      },
    });
    chat = await createChatService(
      upstreamOptions(upstream.url, {
        databaseUrl: created.databaseUrl,
        dataDir: created.dataDir,
        extraTools: { shout },
        toolApproval: { required: ['shout'], timeoutMs: 60_000 },
        runLeaseMs: 1000,
      }),
    );
  });
  afterAll(async () => {
    await chat?.close();
    await upstream?.close();
    await drop?.();
  });

  /** The answers' upstream calls (titles are asked for without streaming). */
  const streamed = () => upstream.requests.filter((request) => request.body.stream === true);

  async function askToShout(text: string) {
    const session = await chat.createChatSession('u');
    upstream.enqueue(callTool('shout', { text }, `call_${text}`));
    const chunks = await collect(chat.streamChatCompletion(session.sessionId, `Shout ${text}`, { userId: 'u' }));
    const request = chunks.find((chunk) => chunk.type === 'tool-approval-request') as Extract<
      UIMessageChunk,
      { type: 'tool-approval-request' }
    >;
    return { sessionId: session.sessionId, chunks, request };
  }

  it('pauses before the tool runs, shows the request in the session, and goes on with the result once approved', async () => {
    const before = streamed().length;
    const { sessionId, chunks, request } = await askToShout('hi');
    expect(chunks.map((chunk) => chunk.type)).toEqual(
      expect.arrayContaining(['start', 'tool-input-available', 'tool-approval-request', 'finish-step', 'finish']),
    );
    expect(request).toMatchObject({ toolCallId: 'call_hi', approvalId: expect.any(String) });
    expect(chunks.at(-1)).toMatchObject({ type: 'finish', finishReason: 'tool-calls' });
    expect(chunks.map((chunk) => chunk.type)).not.toContain('tool-output-available');
    expect(shouted).not.toContain('hi');

    // After a reload: the answer as it stands, with what it asks.
    const waiting = (await chat.getChatSession(sessionId, 'u'))!;
    expect(waiting.status).toBe('running');
    expect(waiting.pendingApprovals).toEqual([
      { approvalId: request.approvalId, toolCallId: 'call_hi', toolName: 'shout', input: { text: 'hi' }, expiresAt: expect.any(String) },
    ]);
    const answerId = (chunks[0] as { messageId: string }).messageId;
    expect(waiting.messages.at(-1)).toMatchObject({
      id: answerId,
      role: 'assistant',
      parts: expect.arrayContaining([
        expect.objectContaining({ type: 'tool-shout', state: 'approval-requested', approval: { id: request.approvalId } }),
      ]),
    });
    // While it waits, the chat takes no other message, and nothing streams.
    await expect(chat.startRun(sessionId, 'hello?', { userId: 'u' })).rejects.toMatchObject({ code: 'run_in_progress' });
    expect(await chat.activeLogId(sessionId, 'u')).toBeNull();
    // Someone else's session: not found.
    await expect(chat.answerApproval(sessionId, 'intruder', request.approvalId, { approved: true })).rejects.toMatchObject({
      code: 'not_found',
    });

    upstream.enqueue(say('Shouted it.'));
    const answered = await chat.answerApproval(sessionId, 'u', request.approvalId, { approved: true });
    expect(answered.resumed).toBeDefined();
    const continued = await collect(chat.readRun(answered.resumed!));
    expect(continued[0]).toMatchObject({ type: 'start', messageId: answerId });
    expect(continued).toContainEqual({ type: 'tool-output-available', toolCallId: 'call_hi', output: 'HI' });
    expect(textOf(continued)).toBe('Shouted it.');
    expect(continued.at(-1)).toMatchObject({ type: 'finish' });
    expect(shouted.filter((text) => text === 'hi')).toHaveLength(1);
    // The model was shown the tool's result.
    expect(JSON.stringify(streamed().at(-1)!.body.messages.at(-1))).toContain('HI');
    expect(streamed().length - before).toBe(2);

    const stored = (await chat.getChatSession(sessionId, 'u'))!;
    expect(stored).toMatchObject({ status: 'idle', lastRunStatus: 'finished' });
    expect(stored.pendingApprovals).toBeUndefined();
    expect(stored.messages).toHaveLength(2);
    expect(stored.messages[1]).toMatchObject({ id: answerId, role: 'assistant' });
    expect(stored.messages[1]!.parts).toContainEqual(
      expect.objectContaining({
        type: 'tool-shout',
        state: 'output-available',
        output: 'HI',
        approval: { id: request.approvalId, approved: true },
      }),
    );
    // Two upstream calls, two usage rows: the one before the pause and the one after.
    expect(stored.usage.filter((entry) => entry.kind === 'chat')).toHaveLength(2);
    expect(stored.messages[1]!.metadata?.usage?.totalTokens).toBe(30 + 12 + 20 + 2);
    // A second answer changes nothing.
    const again = await chat.answerApproval(sessionId, 'u', request.approvalId, { approved: false });
    expect(again).toMatchObject({ resumed: undefined, approval: { approved: true } });
  });

  it('shows a denial to the model as a denied tool result, with the reason, and the answer goes on', async () => {
    const { sessionId, request } = await askToShout('secret');
    upstream.enqueue(say('Understood, I will not.'));
    const answered = await chat.answerApproval(sessionId, 'u', request.approvalId, { approved: false, reason: 'too loud' });
    const continued = await collect(chat.readRun(answered.resumed!));
    expect(continued).toContainEqual({ type: 'tool-output-denied', toolCallId: 'call_secret' });
    expect(textOf(continued)).toBe('Understood, I will not.');
    expect(shouted).not.toContain('secret');
    const shown = JSON.stringify(streamed().at(-1)!.body.messages.at(-1));
    expect(shown).toContain('did not allow');
    expect(shown).toContain('too loud');
    const stored = (await chat.getChatSession(sessionId, 'u'))!;
    expect(stored.messages[1]!.parts).toContainEqual(
      expect.objectContaining({
        type: 'tool-shout',
        state: 'output-denied',
        approval: { id: request.approvalId, approved: false, reason: 'too loud' },
      }),
    );
    expect(stored.status).toBe('idle');
  });

  it('ends a waiting run when it is stopped, its call not run, and the chat goes on', async () => {
    const { sessionId } = await askToShout('stopme');
    expect(await chat.stopRun(sessionId, 'u')).toBe(true);
    const stored = (await chat.getChatSession(sessionId, 'u'))!;
    expect(stored).toMatchObject({ status: 'idle', lastRunStatus: 'stopped' });
    expect(stored.messages[1]!.parts).toContainEqual(expect.objectContaining({ type: 'tool-shout', state: 'output-denied' }));
    expect(shouted).not.toContain('stopme');
    upstream.enqueue(say('Hello again.'));
    const next = await collect(chat.streamChatCompletion(sessionId, 'hello', { userId: 'u' }));
    expect(textOf(next)).toBe('Hello again.');
  });
});

describe('an approval nobody answers', () => {
  let upstream: FakeUpstream;
  let chat: ChatService;
  beforeAll(async () => {
    upstream = await startFakeUpstream();
    chat = await createChatService(
      upstreamOptions(upstream.url, {
        dataDir: 'memory://',
        extraTools: { shout: tool({ inputSchema: z.object({ text: z.string() }), execute: async ({ text }) => text.toUpperCase() }) },
        toolApproval: { required: ['shout'], timeoutMs: 300 },
        runLeaseMs: 500,
      }),
    );
  });
  afterAll(async () => {
    await chat?.close();
    await upstream?.close();
  });

  it('expires: the run ends, its call shown as denied, and a late answer changes nothing', async () => {
    const session = await chat.createChatSession('u');
    upstream.enqueue(callTool('shout', { text: 'late' }, 'call_late'));
    const chunks = await collect(chat.streamChatCompletion(session.sessionId, 'Shout late', { userId: 'u' }));
    const request = chunks.find((chunk) => chunk.type === 'tool-approval-request') as { approvalId: string };
    // The sweeper ends it (every RUN_LEASE_MS / 2).
    await waitUntil(async () => (await chat.getChatSession(session.sessionId, 'u'))!.status === 'idle', 10_000);
    const stored = (await chat.getChatSession(session.sessionId, 'u'))!;
    expect(stored.lastRunStatus).toBe('stopped');
    expect(stored.messages[1]!.parts).toContainEqual(
      expect.objectContaining({
        type: 'tool-shout',
        state: 'output-denied',
        approval: expect.objectContaining({ approved: false, reason: expect.stringContaining('expired') }),
      }),
    );
    expect(stored.usage.filter((entry) => entry.kind === 'chat')).toHaveLength(1);
    const late = await chat.answerApproval(session.sessionId, 'u', request.approvalId, { approved: true });
    expect(late.resumed).toBeUndefined();
    expect(upstream.requests.filter((request) => request.body.stream === true)).toHaveLength(1);
  });
});

describe.runIf(databaseTargets.some((target) => target.name === 'postgres'))(
  'tool approvals on PostgreSQL: at rest, and answered on an instance that died',
  () => {
    it("keeps the asked call's input and the reason encrypted when ENCRYPTION_KEY is set, and erases them with the user", async () => {
      const { randomBytes } = await import('node:crypto');
      const pg = (await import('pg')).default;
      const upstream = await startFakeUpstream();
      const created = await databaseTargets.find((target) => target.name === 'postgres')!.create();
      const chat = await createChatService(
        upstreamOptions(upstream.url, {
          databaseUrl: created.databaseUrl,
          dataDir: created.dataDir,
          encryptionKey: randomBytes(32).toString('base64'),
          extraTools: { shout: tool({ inputSchema: z.object({ text: z.string() }), execute: async ({ text }) => text.toUpperCase() }) },
          toolApproval: { required: ['shout'] },
        }),
      );
      const client = new pg.Client({ connectionString: created.databaseUrl });
      try {
        await client.connect();
        const session = await chat.createChatSession('secretive');
        upstream.enqueue(callTool('shout', { text: 'top secret plan' }, 'call_secret'));
        const chunks = await collect(chat.streamChatCompletion(session.sessionId, 'Shout it', { userId: 'secretive' }));
        const { approvalId } = chunks.find((chunk) => chunk.type === 'tool-approval-request') as { approvalId: string };
        await chat.answerApproval(session.sessionId, 'secretive', approvalId, { approved: false, reason: 'private reason' });
        await waitUntil(async () => (await chat.getChatSession(session.sessionId))!.status === 'idle', 10_000);
        const { rows } = await client.query('select input, reason from tool_approvals');
        expect(rows).toHaveLength(1);
        expect(rows[0].input).toMatch(/^enc1:/);
        expect(rows[0].reason).toMatch(/^enc1:/);
        expect(JSON.stringify(rows)).not.toMatch(/top secret|private reason/);
        // Readable to its owner, through the service.
        expect((await collect(chat.exportUser('secretive'))).join('')).toContain('private reason');

        await chat.eraseUser('secretive');
        expect((await client.query('select count(*)::int as n from tool_approvals')).rows[0].n).toBe(0);
      } finally {
        await client.end();
        await chat.close();
        await upstream.close();
        await created.drop();
      }
    });

    it('resumes an answered run that the instance taking its last answer never resumed (it died in between)', async () => {
      const pg = (await import('pg')).default;
      const upstream = await startFakeUpstream();
      const created = await databaseTargets.find((target) => target.name === 'postgres')!.create();
      const chat = await createChatService(
        upstreamOptions(upstream.url, {
          databaseUrl: created.databaseUrl,
          dataDir: created.dataDir,
          extraTools: { shout: tool({ inputSchema: z.object({ text: z.string() }), execute: async ({ text }) => text.toUpperCase() }) },
          toolApproval: { required: ['shout'] },
          runLeaseMs: 1000,
        }),
      );
      const client = new pg.Client({ connectionString: created.databaseUrl });
      try {
        await client.connect();
        const session = await chat.createChatSession('u');
        upstream.enqueue(callTool('shout', { text: 'orphan' }, 'call_orphan'), say('Shouted after all.'));
        await collect(chat.streamChatCompletion(session.sessionId, 'Shout orphan', { userId: 'u' }));
        // The answer was recorded, then its instance died before it resumed the run.
        await client.query(`update tool_approvals set approved = true, answered_at = now() - interval '10 seconds'`);
        await waitUntil(async () => (await chat.getChatSession(session.sessionId))!.status === 'idle', 15_000);
        const stored = (await chat.getChatSession(session.sessionId))!;
        expect(stored.lastRunStatus).toBe('finished');
        expect(stored.messages[1]!.parts).toContainEqual(expect.objectContaining({ state: 'output-available', output: 'ORPHAN' }));
        expect(stored.messages[1]!.parts).toContainEqual(expect.objectContaining({ type: 'text', text: 'Shouted after all.' }));
      } finally {
        await client.end();
        await chat.close();
        await upstream.close();
        await created.drop();
      }
    });
  },
);
