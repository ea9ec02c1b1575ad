/**
 * A chat's title is made off every turn's path: after the first exchange, the title model is called
 * only once no turn is waiting for its first token — here, another user's turn whose model is slow
 * to start — and the title and its usage row are then stored. Asserted by the order in which the
 * upstream sees the requests.
 */
import type { UIMessageChunk } from 'ai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createChatService, type ChatService } from '../src/chat/chat-service.js';
import { startFakeUpstream, say, type FakeUpstream } from './support/fake-upstream.js';
import { upstreamOptions } from './support/test-service.js';

const titleCalls = (upstream: FakeUpstream) => upstream.requests.filter((request) => request.body.stream !== true).length;

describe('session titles', () => {
  let upstream: FakeUpstream;
  let chat: ChatService;

  beforeAll(async () => {
    upstream = await startFakeUpstream();
    // However long the slow turn takes to start on a busy machine, the title waits for it.
    chat = await createChatService(upstreamOptions(upstream.url, { dataDir: 'memory://', titleWaitMs: 600_000 }));
  });
  afterAll(async () => {
    await chat?.close();
    await upstream?.close();
  });

  it("waits until no turn is waiting for its first token, then names the chat and records the call's usage", async () => {
    const slow = await chat.createChatSession('bob');
    const quick = await chat.createChatSession('alice');
    // Bob's model starts only when the test lets it; Alice's answers at once.
    let startBob!: () => void;
    const bobMayStart = new Promise<void>((resolve) => (startBob = resolve));
    upstream.enqueue({
      steps: [{ waitFor: () => bobMayStart }, { text: 'Thinking, ' }, { text: 'done.' }],
      finishReason: 'stop',
      usage: { prompt_tokens: 5, completion_tokens: 2 },
    });
    upstream.enqueue(say('Hello Alice!'));

    const bob = chat.streamChatCompletion(slow.sessionId, 'A hard question', { userId: 'bob' })[Symbol.asyncIterator]();
    const bobFirst = bob.next();
    await expect.poll(() => upstream.requests.length, { timeout: 30_000 }).toBe(1);
    for await (const _ of chat.streamChatCompletion(quick.sessionId, 'Hello, how are you?', { userId: 'alice' })) void _;

    // Alice's chat is done and wants a title, but Bob is waiting for his first token: the title model
    // is not called (given time to be, were it not waiting).
    for (const giveUp = Date.now() + 1500; titleCalls(upstream) === 0 && Date.now() < giveUp; )
      await new Promise((resolve) => setTimeout(resolve, 25));
    expect(titleCalls(upstream)).toBe(0);
    startBob();
    let bobSaw: IteratorResult<UIMessageChunk> = await bobFirst;
    while (!bobSaw.done && bobSaw.value.type !== 'text-delta') bobSaw = await bob.next();
    expect(bobSaw.done).toBe(false);
    while (!(await bob.next()).done);

    await expect.poll(async () => (await chat.getChatSession(quick.sessionId))!.title, { timeout: 30_000 }).toBe('Greeting and small talk');
    const usage = (await chat.getChatSession(quick.sessionId))!.usage;
    expect(usage.filter((entry) => entry.kind === 'title')).toEqual([
      expect.objectContaining({ model: 'test/title', totalTokens: expect.any(Number) }),
    ]);
    // Bob's chat gets its own title too, once it is over.
    await expect.poll(async () => (await chat.getChatSession(slow.sessionId))!.title, { timeout: 30_000 }).not.toBeNull();
  });
});
