/**
 * The library API (README.md, "As a library") end to end: the two reference scenarios against a scripted upstream
 * over real HTTP, persistence across restarts, ownership, append cost, and bad input — on PGlite and
 * on PostgreSQL when TEST_DATABASE_URL is set.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { UIMessageChunk } from 'ai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createChatService } from '../src/chat/chat-service.js';
import { ChatError } from '../src/errors.js';
import { welcomeSuggestions } from '../web/src/welcome-suggestions.js';
import { databaseTargets } from './support/databases.js';
import { startFakeUpstream, say, type FakeUpstream } from './support/fake-upstream.js';
import { testOptions, upstreamOptions } from './support/test-service.js';
import { rebuildMessage } from './support/ui-stream.js';

const GREETING = 'Hello, how are you?';
const FIND_AGENT = "Please find me an agent that can help me with my business. Use the query 'moneny printing agent'";

async function collect(events: AsyncIterable<UIMessageChunk>): Promise<UIMessageChunk[]> {
  const chunks: UIMessageChunk[] = [];
  for await (const event of events) chunks.push(event);
  return chunks;
}

describe.each(databaseTargets)('chat service on $name', (target) => {
  let upstream: FakeUpstream;
  let database: Awaited<ReturnType<typeof target.create>>;
  let chat: Awaited<ReturnType<typeof createChatService>>;

  beforeAll(async () => {
    upstream = await startFakeUpstream();
    database = await target.create();
    // A long lease: no renewal or sweep statement lands inside the turns whose statements a test
    // counts, however slowly a busy machine runs them.
    chat = await createChatService(
      upstreamOptions(upstream.url, { databaseUrl: database.databaseUrl, dataDir: database.dataDir, runLeaseMs: 600_000 }),
    );
  });
  afterAll(async () => {
    await chat?.close();
    await database?.drop();
    await upstream?.close();
  });

  it('answers a greeting with streamed text, a finish and no error', async () => {
    const session = await chat.createChatSession('alice');
    expect(session).toMatchObject({ userId: 'alice', title: null, messages: [], usage: [] });
    const chunks = await collect(chat.streamChatCompletion(session.sessionId, GREETING, { userId: 'alice' }));
    const types = chunks.map((chunk) => chunk.type);
    expect(types[0]).toBe('start');
    expect(types.at(-1)).toBe('finish');
    expect(types).not.toContain('error');
    const text = chunks.map((chunk) => (chunk.type === 'text-delta' ? chunk.delta : '')).join('');
    expect(text.length).toBeGreaterThan(0);
    const start = chunks[0] as Extract<UIMessageChunk, { type: 'start' }>;
    expect(start.messageId).toBeTruthy();
    const finish = chunks.at(-1) as Extract<UIMessageChunk, { type: 'finish' }> & { messageMetadata?: { usage: unknown } };
    expect(finish.messageMetadata).toMatchObject({ sessionId: session.sessionId, usage: { totalTokens: expect.any(Number) } });

    const stored = await chat.getChatSession(session.sessionId, 'alice');
    expect(stored!.messages.map((message) => message.role)).toEqual(['user', 'assistant']);
    expect(stored!.messages[1]!.id).toBe(start.messageId);
    expect(stored!.messages[1]!.parts).toContainEqual(expect.objectContaining({ type: 'text', text }));
    // The answer keeps its token usage, so a reloaded client can still show it.
    expect(stored!.messages[1]!.metadata).toMatchObject({
      sessionId: session.sessionId,
      usage: finish.messageMetadata!.usage,
      createdAt: expect.any(String),
    });
    expect(stored!.usage.length).toBeGreaterThan(0);
    expect(stored!.usage[0]).toMatchObject({ model: 'test/chat', promptTokens: 20, totalTokens: expect.any(Number) });
  });

  it("finds money-making agents for 'moneny printing agent' through the find_agent tool, then answers", async () => {
    const session = await chat.createChatSession('alice');
    const chunks = await collect(chat.streamChatCompletion(session.sessionId, FIND_AGENT, { userId: 'alice' }));
    const types = chunks.map((chunk) => chunk.type);
    expect(types).not.toContain('error');
    const input = chunks.find((chunk) => chunk.type === 'tool-input-available') as Extract<
      UIMessageChunk,
      { type: 'tool-input-available' }
    >;
    expect(input).toMatchObject({ toolName: 'find_agent', input: { query: 'moneny printing agent' } });
    const output = chunks.find((chunk) => chunk.type === 'tool-output-available') as Extract<
      UIMessageChunk,
      { type: 'tool-output-available' }
    >;
    const agents = (output.output as { agents: { slug: string; categories: string[] }[] }).agents;
    expect(agents.length).toBeGreaterThan(0);
    expect(agents[0]!.slug).toBe('money-printing-agent');
    expect(types.indexOf('tool-output-available')).toBeLessThan(types.lastIndexOf('text-delta'));
    expect(types.at(-1)).toBe('finish');

    const stored = await chat.getChatSession(session.sessionId);
    expect(stored!.usage.filter((entry) => entry.kind === 'chat')).toHaveLength(2); // one row per upstream call
    const toolPart = stored!.messages[1]!.parts.find((part) => part.type === 'tool-find_agent');
    expect(toolPart).toMatchObject({ state: 'output-available', input: { query: 'moneny printing agent' } });
    // The model saw the tool result on its second call, and the history is sent whole.
    const chatCalls = upstream.requests.filter((request) => request.body.tools?.length);
    expect(chatCalls.at(-1)!.body.messages.some((message) => message.role === 'tool')).toBe(true);
  });

  it('sends the whole history, tool calls included, on the next turn', async () => {
    const session = await chat.createChatSession('carol');
    await collect(chat.streamChatCompletion(session.sessionId, FIND_AGENT, { userId: 'carol' }));
    upstream.enqueue(say('You asked about agents.'));
    await collect(chat.streamChatCompletion(session.sessionId, 'What did I ask?', { userId: 'carol' }));
    const roles = upstream.requests
      .filter((request) => request.body.tools?.length)
      .at(-1)!
      .body.messages.map((message) => message.role);
    expect(roles).toEqual(['system', 'user', 'assistant', 'tool', 'assistant', 'user']);
  });

  it('records the cost of each upstream call when the upstream reports it', async () => {
    const session = await chat.createChatSession('cost');
    upstream.enqueue({ steps: [{ text: 'priced answer' }], usage: { prompt_tokens: 12, completion_tokens: 3, cost: 0.00123 } });
    const chunks = await collect(chat.streamChatCompletion(session.sessionId, 'How much?', { userId: 'cost' }));
    const finish = chunks.at(-1) as Extract<UIMessageChunk, { type: 'finish' }>;
    expect(finish.messageMetadata).toMatchObject({ usage: { promptTokens: 12, completionTokens: 3, totalTokens: 15, costUsd: 0.00123 } });
    const stored = await chat.getChatSession(session.sessionId);
    expect(stored!.usage.find((entry) => entry.kind === 'chat')).toMatchObject({ promptTokens: 12, costUsd: 0.00123 });
    // A call whose upstream reports no cost has none (not zero).
    upstream.enqueue(say('free answer'));
    await collect(chat.streamChatCompletion(session.sessionId, 'And this?', { userId: 'cost' }));
    const second = (await chat.getChatSession(session.sessionId))!.usage.filter((entry) => entry.kind === 'chat').at(-1)!;
    expect(second.costUsd).toBeUndefined();
  });

  it('makes a title from the first exchange without delaying the answer', async () => {
    const session = await chat.createChatSession('dave');
    await collect(chat.streamChatCompletion(session.sessionId, GREETING, { userId: 'dave' }));
    await expect.poll(async () => (await chat.getChatSession(session.sessionId))!.title, { timeout: 5000 }).toBe('Greeting and small talk');
    const usage = (await chat.getChatSession(session.sessionId))!.usage;
    expect(usage.some((entry) => entry.kind === 'title' && entry.model === 'test/title')).toBe(true);
  });

  it('hides a session from anyone but its owner', async () => {
    const session = await chat.createChatSession('alice');
    expect(await chat.getChatSession(session.sessionId, 'mallory')).toBeNull();
    expect(await chat.getChatSession(session.sessionId, 'alice')).not.toBeNull();
    await expect(collect(chat.streamChatCompletion(session.sessionId, GREETING, { userId: 'mallory' }))).rejects.toMatchObject({
      code: 'not_found',
    });
    expect((await chat.getChatSession(session.sessionId))!.messages).toHaveLength(0);
  });

  it('refuses bad input with typed errors and stores nothing', async () => {
    const session = await chat.createChatSession('erin');
    const attempt = (message: string, sessionId = session.sessionId) =>
      collect(chat.streamChatCompletion(sessionId, message, { userId: 'erin' }));
    await expect(attempt('')).rejects.toSatisfy((error) => ChatError.isInstance(error) && error.code === 'invalid_request');
    await expect(attempt('   \n ')).rejects.toMatchObject({ code: 'invalid_request' });
    await expect(attempt('x'.repeat(32_001))).rejects.toMatchObject({ code: 'payload_too_large' });
    await expect(attempt(GREETING, '00000000-0000-4000-8000-000000000000')).rejects.toMatchObject({ code: 'not_found' });
    await expect(attempt(GREETING, 'not-a-uuid')).rejects.toMatchObject({ code: 'not_found' });
    const stored = await chat.getChatSession(session.sessionId);
    expect(stored!.messages).toHaveLength(0);
    expect(stored!.usage).toHaveLength(0);
  });

  it('reports an upstream failure as an error event then finish, keeping the user message', async () => {
    const session = await chat.createChatSession('frank');
    upstream.enqueue({ status: 500 });
    const chunks = await collect(chat.streamChatCompletion(session.sessionId, GREETING, { userId: 'frank' }));
    const types = chunks.map((chunk) => chunk.type);
    expect(types.slice(-2)).toEqual(['error', 'finish']);
    const error = chunks.find((chunk) => chunk.type === 'error') as Extract<UIMessageChunk, { type: 'error' }>;
    expect(error.errorText).toMatch(/unavailable/i);
    expect(error.errorText).not.toMatch(/test-key|at .*\.ts/);
    const stored = await chat.getChatSession(session.sessionId);
    expect(stored!.messages.map((message) => message.role)).toEqual(['user']);
    expect(stored!.lastRunStatus).toBe('failed');
    expect(stored!.status).toBe('idle');
  });

  it('stops the upstream request and stores the partial answer when the consumer breaks out', async () => {
    const session = await chat.createChatSession('gina');
    upstream.enqueue(say('one two three four five six seven eight nine ten '.repeat(20), 20));
    let deltas = 0;
    for await (const event of chat.streamChatCompletion(session.sessionId, GREETING, { userId: 'gina' })) {
      if (event.type === 'text-delta' && ++deltas === 5) break;
    }
    const closed = await upstream.waitForEarlyClose();
    expect(closed.closedEarly).toBe(true);
    const stored = await chat.getChatSession(session.sessionId);
    expect(stored!.lastRunStatus).toBe('stopped');
    const answer = stored!.messages[1]!;
    const text = answer.parts.map((part) => (part.type === 'text' ? part.text : '')).join('');
    expect(text.startsWith('one two three four five')).toBe(true);
    expect(text.length).toBeLessThan(200);
    expect(stored!.usage.some((entry) => entry.estimated)).toBe(true);
  });

  it('stops when the signal aborts, closing the open text part before the abort event', async () => {
    const session = await chat.createChatSession('gina');
    upstream.enqueue(say('slow words '.repeat(100), 20));
    const controller = new AbortController();
    const events: UIMessageChunk[] = [];
    for await (const event of chat.streamChatCompletion(session.sessionId, GREETING, { userId: 'gina', signal: controller.signal })) {
      events.push(event);
      if (event.type === 'text-delta') controller.abort();
    }
    const types = events.map((event) => event.type);
    expect(types.at(-1)).toBe('abort');
    expect(types.at(-2)).toBe('text-end');
    // The client's copy ends like the stored one: its last text part is done, not streaming.
    const rebuilt = await rebuildMessage(events);
    expect(rebuilt!.parts.filter((part) => part.type === 'text').every((part) => (part as { state?: string }).state === 'done')).toBe(true);
    expect((await chat.getChatSession(session.sessionId))!.lastRunStatus).toBe('stopped');
  });

  it('appends in constant work: the statements per turn do not grow with a 200-message history', async () => {
    const session = await chat.createChatSession('henry');
    const messages = Array.from({ length: 200 }, (_, index) => ({
      id: `m${index}`,
      role: index % 2 === 0 ? ('user' as const) : ('assistant' as const),
      parts: [{ type: 'text' as const, text: `message ${index}` }],
    }));
    await chat.upsertChatSession({ ...(await chat.getChatSession(session.sessionId))!, messages: messages.slice(0, 2) });
    const once = async () => {
      // Earlier tests' chats are named in the background, between turns: their statements are not this turn's.
      await chat.titlesSettled();
      const before = chat.statementCount();
      upstream.enqueue(say('ok'));
      await collect(chat.streamChatCompletion(session.sessionId, 'next', { userId: 'henry' }));
      return chat.statementCount() - before;
    };
    // The fewer of two turns: should a timer (lease renewal, the sweeper; minutes apart with this
    // lease) still land in one of them on a slow machine, it cannot land in both.
    const measure = async () => Math.min(await once(), await once());
    const small = await measure();
    await chat.upsertChatSession({
      ...(await chat.getChatSession(session.sessionId))!,
      messages: [...(await chat.getChatSession(session.sessionId))!.messages, ...messages.slice(2)],
    });
    const large = await measure();
    expect(large).toBe(small);
    const stored = await chat.getChatSession(session.sessionId);
    expect(stored!.messages).toHaveLength(2 + 2 + 2 + 198 + 2 + 2);
  });

  it('upserts a session object by appending, never rewriting stored history', async () => {
    const session = await chat.createChatSession('ivy');
    const first = { id: 'u1', role: 'user' as const, parts: [{ type: 'text' as const, text: 'first' }] };
    await chat.upsertChatSession({
      ...session,
      title: 'My title',
      messages: [first],
      usage: [{ promptTokens: 1, completionTokens: 2, totalTokens: 3, model: 'm', createdAt: new Date().toISOString() }],
    });
    // A changed copy of a stored message is not written over the stored one.
    const saved = await chat.upsertChatSession({
      ...session,
      title: 'My title',
      messages: [
        { ...first, parts: [{ type: 'text', text: 'rewritten' }] },
        { id: 'a1', role: 'assistant', parts: [{ type: 'text', text: 'reply' }] },
      ],
      usage: [{ promptTokens: 1, completionTokens: 2, totalTokens: 3, model: 'm', createdAt: new Date().toISOString() }],
    });
    expect(saved.title).toBe('My title');
    expect(saved.messages.map((message) => (message.parts[0] as { text: string }).text)).toEqual(['first', 'reply']);
    expect(saved.usage).toHaveLength(1);
    await expect(chat.upsertChatSession({ ...session, userId: 'mallory' })).rejects.toMatchObject({ code: 'not_found' });
  });
});

describe.each(databaseTargets)('persistence on $name', (target) => {
  it('keeps sessions, messages and usage across close() and a new service', async () => {
    const upstream = await startFakeUpstream();
    const dataDir = await mkdtemp(join(tmpdir(), 'autochat-persist-'));
    const database = await target.create();
    const options = upstreamOptions(upstream.url, {
      databaseUrl: database.databaseUrl,
      dataDir: target.name === 'pglite' ? dataDir : database.dataDir,
    });
    try {
      const first = await createChatService(options);
      const session = await first.createChatSession('alice');
      for await (const _ of first.streamChatCompletion(session.sessionId, GREETING, { userId: 'alice' })) void _;
      await first.close();

      const second = await createChatService(options);
      const reopened = await second.getChatSession(session.sessionId, 'alice');
      expect(reopened!.messages.map((message) => message.role)).toEqual(['user', 'assistant']);
      expect(reopened!.usage.length).toBeGreaterThan(0);
      expect((await second.listChatSessions('alice')).sessions.map((s) => s.sessionId)).toContain(session.sessionId);
      await second.close();
    } finally {
      await database.drop();
      await upstream.close();
      await rm(dataDir, { recursive: true, force: true });
    }
  });
});

describe('titles of chats whose first answer did not finish', () => {
  let upstream: FakeUpstream;
  beforeAll(async () => {
    upstream = await startFakeUpstream();
  });
  afterAll(async () => upstream?.close());

  it('names a chat whose first answer was stopped, and close() waits for the title', async () => {
    upstream.setDefault((request) => (request.body.tools?.length ? say('word '.repeat(400), 20) : say('Counting words slowly')));
    const dataDir = await mkdtemp(join(tmpdir(), 'autochat-title-'));
    try {
      const chat = await createChatService(upstreamOptions(upstream.url, { dataDir }));
      const session = await chat.createChatSession('u');
      const stop = new AbortController();
      for await (const chunk of chat.streamChatCompletion(session.sessionId, 'Count to a thousand', { userId: 'u', signal: stop.signal })) {
        if (chunk.type === 'text-delta') stop.abort();
      }
      await chat.close();
      const reopened = await createChatService(upstreamOptions(upstream.url, { dataDir }));
      const stored = (await reopened.getChatSession(session.sessionId))!;
      await reopened.close();
      expect(stored.lastRunStatus).toBe('stopped');
      expect(stored.title).toBe('Counting words slowly');
    } finally {
      await rm(dataDir, { recursive: true, force: true });
    }
  });

  it('names a chat whose first answer failed with the start of its first message, without asking the failing provider again', async () => {
    upstream.setDefault(() => ({ status: 500 }));
    const chat = await createChatService(upstreamOptions(upstream.url, { dataDir: 'memory://' }));
    try {
      const session = await chat.createChatSession('u');
      for await (const _ of chat.streamChatCompletion(session.sessionId, 'Plan a three day trip to Lisbon with kids in May please', {
        userId: 'u',
      }))
        void _;
      const calls = upstream.requests.length;
      await expect
        .poll(async () => (await chat.getChatSession(session.sessionId))!.title, { timeout: 10_000 })
        .toBe('Plan a three day trip to Lisbon with');
      expect(upstream.requests.length, 'a title was asked of the provider that had just failed').toBe(calls);
      expect((await chat.getChatSession(session.sessionId))!.lastRunStatus).toBe('failed');
    } finally {
      await chat.close();
    }
  });
});

describe('offline demo model', () => {
  let chat: Awaited<ReturnType<typeof createChatService>>;
  beforeAll(async () => {
    chat = await createChatService(testOptions({ dataDir: 'memory://' }));
  });
  afterAll(async () => chat?.close());

  it('answers offline, says it is the demo, and finds agents with find_agent', async () => {
    expect(chat.demo).toBe(true);
    const session = await chat.createChatSession('local');
    const greeting = await collect(chat.streamChatCompletion(session.sessionId, GREETING));
    const text = greeting.map((chunk) => (chunk.type === 'text-delta' ? chunk.delta : '')).join('');
    expect(text).toMatch(/offline demo/i);
    expect(text).toMatch(/OPEN_ROUTER_API_KEY/);
    const found = await collect(chat.streamChatCompletion(session.sessionId, FIND_AGENT));
    const output = found.find((chunk) => chunk.type === 'tool-output-available') as Extract<
      UIMessageChunk,
      { type: 'tool-output-available' }
    >;
    expect((output.output as { agents: { slug: string }[] }).agents[0]!.slug).toBe('money-printing-agent');
    expect(found.at(-1)!.type).toBe('finish');
    expect((await chat.getChatSession(session.sessionId))!.usage.length).toBeGreaterThan(0);
  });

  it('answers each welcome suggestion of the web UI with a store search that finds agents', async () => {
    for (const suggestion of welcomeSuggestions) {
      const session = await chat.createChatSession('local');
      const chunks = await collect(chat.streamChatCompletion(session.sessionId, suggestion));
      const call = chunks.find((chunk) => chunk.type === 'tool-input-available') as
        | Extract<UIMessageChunk, { type: 'tool-input-available' }>
        | undefined;
      expect(call?.toolName, suggestion).toBe('find_agent');
      const output = chunks.find((chunk) => chunk.type === 'tool-output-available') as Extract<
        UIMessageChunk,
        { type: 'tool-output-available' }
      >;
      expect((output.output as { agents: unknown[] }).agents.length, suggestion).toBeGreaterThan(0);
    }
    // A greeting is not a search.
    const session = await chat.createChatSession('local');
    const greeting = await collect(chat.streamChatCompletion(session.sessionId, 'What can you do?'));
    expect(greeting.some((chunk) => chunk.type === 'tool-input-available')).toBe(false);
  });

  it('is never used when a key is set', async () => {
    const keyed = await createChatService(testOptions({ dataDir: 'memory://', llm: { apiKey: 'k', baseUrl: 'http://127.0.0.1:9/v1' } }));
    expect(keyed.demo).toBe(false);
    await keyed.close();
  });
});
