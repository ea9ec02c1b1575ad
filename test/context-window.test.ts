/**
 * Long sessions: before a call would overflow the model's context window, older turns are condensed
 * into a stored summary that later calls reuse (extended only when more turns age out); the full
 * history stays stored and visible.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createChatService } from '../src/index.js';
import { startFakeUpstream, say, type FakeUpstream } from './support/fake-upstream.js';
import { upstreamOptions } from './support/test-service.js';

describe('context window', () => {
  let upstream: FakeUpstream;
  let chat: Awaited<ReturnType<typeof createChatService>>;
  beforeAll(async () => {
    upstream = await startFakeUpstream();
    upstream.setDefault((request) => (request.body.stream ? say('ok') : say('SUMMARY: the user talked about many long things.')));
    chat = await createChatService(upstreamOptions(upstream.url, { dataDir: 'memory://', llm: { contextWindowTokens: 2000 } }));
  });
  afterAll(async () => {
    await chat?.close();
    await upstream?.close();
  });

  const summaryCalls = () =>
    upstream.requests.filter((request) => request.body.stream !== true && JSON.stringify(request.body.messages).includes('Condense'));
  const lastChatCall = () => upstream.requests.filter((request) => request.body.stream === true).at(-1)!.body;

  it('condenses old turns into a stored summary, reuses it, and keeps the full history', async () => {
    const session = await chat.createChatSession('u');
    const long = (index: number) => `turn ${index}: ${'lorem ipsum dolor sit amet '.repeat(20)}`;
    const history = Array.from({ length: 20 }, (_, index) => ({
      id: `h${index}`,
      role: index % 2 === 0 ? ('user' as const) : ('assistant' as const),
      parts: [{ type: 'text' as const, text: long(index) }],
    }));
    await chat.upsertChatSession({ ...session, messages: history });

    for await (const _ of chat.streamChatCompletion(session.sessionId, 'What was turn 0 about?', { userId: 'u' })) void _;
    expect(summaryCalls()).toHaveLength(1);
    const sent = lastChatCall().messages;
    expect(JSON.stringify(sent[1])).toContain('SUMMARY: the user talked about many long things.');
    expect(JSON.stringify(sent)).not.toContain('turn 0:');
    expect(JSON.stringify(sent.at(-1))).toContain('What was turn 0 about?');
    expect(JSON.stringify(sent).length / 4).toBeLessThan(2000 * 0.6 + 200);

    // The next short turn reuses the stored summary instead of computing it again.
    for await (const _ of chat.streamChatCompletion(session.sessionId, 'And now?', { userId: 'u' })) void _;
    expect(summaryCalls()).toHaveLength(1);
    expect(JSON.stringify(lastChatCall().messages)).toContain('SUMMARY: the user talked about many long things.');

    const stored = await chat.getChatSession(session.sessionId);
    expect(stored!.messages).toHaveLength(20 + 4);
    expect(stored!.usage.some((entry) => entry.kind === 'summary')).toBe(true);
  });

  it('never shows the model a summary of another branch: a long branch from early on condenses its own path', async () => {
    const session = await chat.createChatSession('u');
    const long = (label: string, index: number) => ({
      id: `${label}${index}`,
      role: index % 2 === 0 ? ('user' as const) : ('assistant' as const),
      parts: [{ type: 'text' as const, text: `${label} turn ${index}: ${'lorem ipsum dolor sit amet '.repeat(20)}` }],
    });
    await chat.upsertChatSession({ ...session, messages: Array.from({ length: 20 }, (_, index) => long('a', index)) });
    // Numbered summaries, so the model's prompt tells which one it was shown.
    let summaries = 0;
    upstream.setDefault((request) =>
      request.body.stream ? say('ok') : say(summaries++ === 0 ? 'SUMMARY OF BRANCH A.' : 'SUMMARY OF BRANCH B.'),
    );
    for await (const _ of chat.streamChatCompletion(session.sessionId, 'Go on', { userId: 'u' })) void _;
    expect(JSON.stringify(lastChatCall().messages)).toContain('SUMMARY OF BRANCH A.');

    // Branch B leaves A after its fourth message and grows long: the stored summary covers A's turns.
    for await (const _ of chat.streamChatCompletion(session.sessionId, 'Another direction', { userId: 'u', parentId: 'a3' })) void _;
    const branched = (await chat.getChatSession(session.sessionId, 'u'))!;
    await chat.upsertChatSession({
      ...branched,
      messages: [...branched.messages, ...Array.from({ length: 20 }, (_, index) => long('b', index))],
    });
    for await (const _ of chat.streamChatCompletion(session.sessionId, 'And now?', { userId: 'u' })) void _;
    const sent = JSON.stringify(lastChatCall().messages);
    expect(sent).not.toContain('SUMMARY OF BRANCH A.');
    expect(sent).toContain('SUMMARY OF BRANCH B.');
    // B's summary was made from B's own turns, not by extending A's.
    const condensed = JSON.stringify(summaryCalls().at(-1)!.body.messages);
    expect(condensed).not.toContain('SUMMARY OF BRANCH A.');
    expect(condensed).not.toContain('a turn 10:');
    upstream.setDefault((request) => (request.body.stream ? say('ok') : say('SUMMARY: the user talked about many long things.')));
  });

  it('sends short histories whole', async () => {
    const session = await chat.createChatSession('u');
    const before = summaryCalls().length;
    for await (const _ of chat.streamChatCompletion(session.sessionId, 'Hi there', { userId: 'u' })) void _;
    expect(summaryCalls()).toHaveLength(before);
    expect(lastChatCall().messages.map((message) => message.role)).toEqual(['system', 'user']);
  });
});
