/**
 * The stream route over a real port, read with the AI SDK's own client code: every chunk must pass
 * `uiMessageChunkSchema`, the message must rebuild with `readUIMessageStream`, and the stream must end
 * with `[DONE]`.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningServer } from '../../src/http/server.js';
import { startFakeUpstream, say, type FakeUpstream } from '../support/fake-upstream.js';
import { startTestServer, upstreamOptions } from '../support/test-service.js';
import { readSse, rebuildMessage, textOf, typesOf } from '../support/ui-stream.js';

const GREETING = 'Hello, how are you?';
const FIND_AGENT = "Please find me an agent that can help me with my business. Use the query 'moneny printing agent'";

describe('POST /api/chat/sessions/{id}/stream', () => {
  let server: RunningServer;
  let upstream: FakeUpstream;
  const newSession = async () => (await (await fetch(`${server.url}/api/chat/sessions`, { method: 'POST' })).json()).sessionId as string;
  const send = (sessionId: string, body: unknown) =>
    fetch(`${server.url}/api/chat/sessions/${sessionId}/stream`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });

  beforeAll(async () => {
    upstream = await startFakeUpstream();
    server = await startTestServer(upstreamOptions(upstream.url, { dataDir: 'memory://' }));
  });
  afterAll(async () => {
    await server?.close();
    await upstream?.close();
  });

  it('streams a greeting in the UI message stream protocol v1', async () => {
    const response = await send(await newSession(), { message: GREETING });
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('text/event-stream');
    expect(response.headers.get('x-vercel-ai-ui-message-stream')).toBe('v1');
    expect(response.headers.get('cache-control')).toBe('no-cache');
    const stream = await readSse(response);
    expect(stream.invalid).toEqual([]);
    expect(stream.endedWithDone).toBe(true);
    expect(
      stream.raw
        .split('\n\n')
        .filter(Boolean)
        .every((frame) => frame.startsWith('data: ') || frame.startsWith(': ')),
    ).toBe(true);
    const types = typesOf(stream.chunks);
    expect(types[0]).toBe('start');
    expect(types.at(-1)).toBe('finish');
    expect(types).not.toContain('error');
    expect(textOf(stream.chunks)).toContain('Hello! I am doing well');
    const message = await rebuildMessage(stream.chunks);
    expect(message?.role).toBe('assistant');
    expect(message?.parts.some((part) => part.type === 'text' && part.text.includes('doing well'))).toBe(true);
    expect(message?.metadata).toMatchObject({ usage: { totalTokens: expect.any(Number) } });
  });

  it('finds agents through the tool and records usage', async () => {
    const sessionId = await newSession();
    const stream = await readSse(await send(sessionId, { message: FIND_AGENT }));
    expect(stream.invalid).toEqual([]);
    const types = typesOf(stream.chunks);
    expect(types).toEqual(
      expect.arrayContaining(['tool-input-start', 'tool-input-available', 'tool-output-available', 'text-delta', 'finish']),
    );
    expect(types.indexOf('tool-input-start')).toBeLessThan(types.indexOf('tool-input-available'));
    expect(types.indexOf('tool-input-available')).toBeLessThan(types.indexOf('tool-output-available'));
    const message = await rebuildMessage(stream.chunks);
    const tool = message?.parts.find((part) => part.type === 'tool-find_agent') as {
      state: string;
      output: { agents: { slug: string }[] };
    };
    expect(tool.state).toBe('output-available');
    expect(tool.output.agents[0]!.slug).toBe('money-printing-agent');
    const session = await (await fetch(`${server.url}/api/chat/sessions/${sessionId}`)).json();
    expect(session.usage.length).toBeGreaterThanOrEqual(2);
    expect(session.messages).toHaveLength(2);
  });

  it('accepts the AI SDK useChat default body and answers its last user message', async () => {
    const sessionId = await newSession();
    const body = {
      id: sessionId,
      trigger: 'submit-message',
      messageId: undefined,
      messages: [{ id: 'client-msg-1', role: 'user', parts: [{ type: 'text', text: GREETING }] }],
    };
    const stream = await readSse(await send(sessionId, body));
    expect(typesOf(stream.chunks).at(-1)).toBe('finish');
    const session = await (await fetch(`${server.url}/api/chat/sessions/${sessionId}`)).json();
    expect(session.messages[0]).toMatchObject({ id: 'client-msg-1', role: 'user', parts: [{ type: 'text', text: GREETING }] });
  });

  it('keeps the run going when the client disconnects, and stores the answer', async () => {
    const sessionId = await newSession();
    upstream.enqueue(say('alpha beta gamma delta '.repeat(10), 15));
    const controller = new AbortController();
    const response = await fetch(`${server.url}/api/chat/sessions/${sessionId}/stream`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ message: GREETING }),
      signal: controller.signal,
    });
    const reader = response.body!.getReader();
    await reader.read();
    controller.abort();
    await expect
      .poll(async () => (await (await fetch(`${server.url}/api/chat/sessions/${sessionId}`)).json()).lastRunStatus, { timeout: 10_000 })
      .toBe('finished');
    const session = await (await fetch(`${server.url}/api/chat/sessions/${sessionId}`)).json();
    const text = session.messages[1].parts.map((part: { text?: string }) => part.text ?? '').join('');
    expect(text).toBe('alpha beta gamma delta '.repeat(10));
    expect((await fetch(`${server.url}/healthz`)).status).toBe(200);
  });

  it('retries an unanswered message by its id without storing it twice; refuses the id once answered, in its session only', async () => {
    const sessionId = await newSession();
    upstream.enqueue({ status: 500 });
    const failed = await readSse(await send(sessionId, { message: GREETING, messageId: 'retry-me-1' }));
    expect(typesOf(failed.chunks)).toContain('error');
    const retried = await readSse(await send(sessionId, { message: GREETING, messageId: 'retry-me-1' }));
    expect(typesOf(retried.chunks)).not.toContain('error');
    const session = await (await fetch(`${server.url}/api/chat/sessions/${sessionId}`)).json();
    expect(session.messages.map((message: { id: string; role: string }) => `${message.role}:${message.id}`)).toEqual([
      'user:retry-me-1',
      expect.stringMatching(/^assistant:/),
    ]);
    // Once answered, the id cannot be used again in this session; another session has ids of its own.
    const again = await send(sessionId, { message: GREETING, messageId: 'retry-me-1' });
    expect(again.status).toBe(400);
    const elsewhere = await send(await newSession(), { message: GREETING, messageId: 'retry-me-1' });
    expect(elsewhere.status).toBe(200);
    expect(typesOf((await readSse(elsewhere)).chunks)).not.toContain('error');
  });

  it('retries a message whose answer was cut short: the partial stays stored as an earlier version, the model sees the question afresh', async () => {
    const sessionId = await newSession();
    upstream.enqueue({ steps: [{ text: 'half an ' }, { text: 'answer', delayMs: 10 }, { reset: true, delayMs: 30 }] });
    const failed = await readSse(await send(sessionId, { message: GREETING, messageId: 'retry-me-2' }));
    expect(typesOf(failed.chunks)).toContain('error');
    upstream.enqueue(say('A whole answer this time.'));
    const retried = await readSse(await send(sessionId, { message: GREETING, messageId: 'retry-me-2' }));
    expect(typesOf(retried.chunks)).not.toContain('error');
    const sent = upstream.requests.filter((request) => request.body.stream === true).at(-1)!.body.messages;
    expect(sent.map((message) => message.role)).toEqual(['system', 'user']);
    const session = await (await fetch(`${server.url}/api/chat/sessions/${sessionId}`)).json();
    const texts = session.messages.map(
      (message: { role: string; parts: { text?: string }[] }) => `${message.role}:${message.parts.map((part) => part.text ?? '').join('')}`,
    );
    // The session shows the new answer; the partial one is kept as its earlier version (a sibling).
    expect(texts).toEqual([`user:${GREETING}`, 'assistant:A whole answer this time.']);
    expect(session.messages[1].branch).toEqual({ index: 1, count: 2 });
    const versions = await (await fetch(`${server.url}/api/chat/sessions/${sessionId}/export?format=json`)).json();
    expect(
      versions.otherMessages.map((message: { parts: { text?: string }[] }) => message.parts.map((part) => part.text ?? '').join('')),
    ).toEqual(['half an answer']);
    expect((await send(sessionId, { message: GREETING, messageId: 'retry-me-2' })).status).toBe(400);
  });

  it('deletes a session during its run: the run stops, readers end, nothing is left behind', async () => {
    const sessionId = await newSession();
    upstream.enqueue(say('being deleted '.repeat(50), 20));
    const calls = upstream.requests.length;
    const response = await send(sessionId, { message: GREETING });
    const reading = readSse(response);
    // Mid-answer: the model has been called (and answers for a second).
    await expect.poll(() => upstream.requests.length).toBeGreaterThan(calls);
    expect((await fetch(`${server.url}/api/chat/sessions/${sessionId}`, { method: 'DELETE' })).status).toBe(204);
    const stream = await reading;
    expect(stream.endedWithDone).toBe(true);
    expect((await fetch(`${server.url}/api/chat/sessions/${sessionId}`)).status).toBe(404);
    await expect.poll(() => server.chat.activeRunCount()).toBe(0);
    expect((await fetch(`${server.url}/readyz`)).status).toBe(200);
  });

  it('answers 409 run_in_progress to a second stream on a busy session', async () => {
    const sessionId = await newSession();
    upstream.enqueue(say('slow '.repeat(30), 20));
    const first = await send(sessionId, { message: GREETING });
    const second = await send(sessionId, { message: 'again' });
    expect(second.status).toBe(409);
    expect((await second.json()).error.code).toBe('run_in_progress');
    await readSse(first);
  });
});
