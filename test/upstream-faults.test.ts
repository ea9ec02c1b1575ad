/**
 * The fault table: what the client sees and what is stored when the upstream misbehaves — rate
 * limits, server errors, a connection reset, an error chunk, a malformed chunk, a truncated stream,
 * silence — and when tools fail. Never a hung stream, never a silently truncated answer.
 */
import { createServer } from 'node:net';
import { Writable } from 'node:stream';
import { tool, type UIMessageChunk } from 'ai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { createChatService } from '../src/index.js';
import { startFakeUpstream, say, callTool, type FakeUpstream, type Script } from './support/fake-upstream.js';
import { upstreamOptions } from './support/test-service.js';
import { createLogger } from '../src/logger.js';

/** A port on this machine where nothing listens. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

type Chat = Awaited<ReturnType<typeof createChatService>>;

async function turn(chat: Chat, message = 'Hello') {
  const session = await chat.createChatSession('u');
  const chunks: UIMessageChunk[] = [];
  for await (const chunk of chat.streamChatCompletion(session.sessionId, message, { userId: 'u' })) chunks.push(chunk);
  const stored = (await chat.getChatSession(session.sessionId))!;
  const types = chunks.map((chunk) => chunk.type);
  const errorText = (chunks.find((chunk) => chunk.type === 'error') as { errorText?: string } | undefined)?.errorText;
  const text = chunks.map((chunk) => (chunk.type === 'text-delta' ? chunk.delta : '')).join('');
  const storedText = stored.messages[1]?.parts.map((part) => (part.type === 'text' ? part.text : '')).join('') ?? '';
  return { chunks, types, errorText, text, stored, storedText };
}

const words = (count: number) => Array.from({ length: count }, (_, index) => ({ text: `w${index} ` }));

describe('upstream faults', () => {
  let upstream: FakeUpstream;
  let chat: Chat;
  let retrying: Chat;

  beforeAll(async () => {
    upstream = await startFakeUpstream();
    const flaky = tool({
      description: 'Always fails',
      inputSchema: z.object({ x: z.string() }),
      execute: async (): Promise<string> => {
        throw new Error('the flaky service is down');
      },
    });
    chat = await createChatService(
      upstreamOptions(upstream.url, { dataDir: 'memory://', llm: { timeoutMs: 700, maxToolSteps: 3 }, extraTools: { flaky } }),
    );
    retrying = await createChatService(upstreamOptions(upstream.url, { dataDir: 'memory://', llm: { maxRetries: 2 } }));
  });
  afterAll(async () => {
    await chat?.close();
    await retrying?.close();
    await upstream?.close();
  });

  it('429 with Retry-After: waits as told, retries, and answers', async () => {
    const before = upstream.requests.filter((request) => request.body.stream === true).length;
    upstream.enqueue({ status: 429, headers: { 'retry-after': '1' } }, say('recovered after the rate limit'));
    const started = Date.now();
    const result = await turn(retrying);
    expect(Date.now() - started).toBeGreaterThanOrEqual(900);
    expect(result.types).not.toContain('error');
    expect(result.text).toBe('recovered after the rate limit');
    expect(upstream.requests.filter((request) => request.body.stream === true).length - before).toBe(2);
  });

  it('500 once: retried, answered', async () => {
    upstream.enqueue({ status: 500 }, say('fine now'));
    const result = await turn(retrying);
    expect(result.types).not.toContain('error');
    expect(result.storedText).toBe('fine now');
  });

  it('500 always: error event then finish, the user message kept, run failed', async () => {
    upstream.enqueue({ status: 500 }, { status: 500 }, { status: 500 });
    const result = await turn(retrying);
    expect(result.types.slice(-2)).toEqual(['error', 'finish']);
    expect(result.errorText).toMatch(/unavailable/i);
    expect(result.stored.messages.map((message) => message.role)).toEqual(['user']);
    expect(result.stored.lastRunStatus).toBe('failed');
  });

  it('500 always costs nothing: the provider refused before answering, so no tokens are charged', async () => {
    upstream.enqueue({ status: 500 }, { status: 500 }, { status: 500 });
    const result = await turn(retrying);
    expect(result.stored.lastRunStatus).toBe('failed');
    expect(result.stored.usage).toEqual([]);
  });

  it('an unreachable provider: says so for an operator, logs the cause and host, charges nothing', async () => {
    const lines: string[] = [];
    const logger = createLogger('warn', new Writable({ write: (chunk, _encoding, done) => (lines.push(String(chunk)), done()) }));
    const closed = await closedPort();
    const offline = await createChatService(upstreamOptions(`http://127.0.0.1:${closed}/v1`, { dataDir: 'memory://', logger }));
    try {
      const result = await turn(offline);
      expect(result.types.slice(-2)).toEqual(['error', 'finish']);
      expect(result.errorText).toBe(
        "The model provider could not be reached (nothing answers at its address). An operator needs to check LLM_BASE_URL and this server's network.",
      );
      expect(result.stored.usage).toEqual([]);
      const failed = lines.map((line) => JSON.parse(line)).find((line) => line.msg === 'run failed');
      expect(failed).toMatchObject({ kind: 'unreachable', err: { rootCause: 'ECONNREFUSED', host: '127.0.0.1' } });
    } finally {
      await offline.close();
    }
  });

  const midStream: [string, Script, RegExp][] = [
    ['connection reset mid-stream', { steps: [...words(5), { reset: true, delayMs: 20 }] }, /connection .* lost|ended before/i],
    ['error chunk mid-stream', { steps: [...words(5), { errorChunk: 'upstream exploded', delayMs: 10 }] }, /./],
    ['malformed chunk mid-stream', { steps: [...words(5), { raw: '{"choices": [ this is not json', delayMs: 10 }] }, /malformed/],
    ['stream that ends without a finish reason', { steps: words(5), truncate: true }, /ended before the answer was complete|incomplete/],
    ['silence mid-stream (timeout)', { steps: [...words(5), { hang: true }] }, /stopped responding/],
  ];

  it.each(midStream)('%s: the partial answer is shown and stored, then error, then finish', async (_name, script, message) => {
    upstream.enqueue(script);
    const result = await turn(chat);
    expect(result.text.startsWith('w0 w1 w2 w3 w4')).toBe(true);
    expect(result.types).toContain('error');
    expect(result.types.at(-1)).toBe('finish');
    expect(result.errorText).toMatch(message);
    expect(result.errorText).not.toMatch(/test-key|127\.0\.0\.1|\n\s+at /);
    expect(result.storedText.startsWith('w0 w1 w2 w3 w4')).toBe(true);
    expect(result.stored.lastRunStatus).toBe('failed');
    expect(result.stored.usage.length).toBeGreaterThan(0);
    expect(result.stored.status).toBe('idle');
  });

  it('silence before the first token: the call is abandoned with an error, the upstream socket closed', async () => {
    upstream.enqueue({ steps: [{ hang: true }] });
    const result = await turn(chat);
    expect(result.types.slice(-2)).toEqual(['error', 'finish']);
    expect(result.errorText).toMatch(/stopped responding/);
    const closed = await upstream.waitForEarlyClose();
    expect(closed.closedEarly).toBe(true);
  });

  it('a tool that throws becomes tool-output-error; the model sees it and the answer goes on', async () => {
    upstream.enqueue(callTool('flaky', { x: 'a' }), say('The flaky tool failed, sorry.'));
    const result = await turn(chat);
    const failed = result.chunks.find((chunk) => chunk.type === 'tool-output-error') as { errorText: string } | undefined;
    expect(failed?.errorText).toContain('the flaky service is down');
    expect(result.text).toBe('The flaky tool failed, sorry.');
    expect(result.types.at(-1)).toBe('finish');
    expect(result.types).not.toContain('error');
    const toolMessage = upstream.requests
      .filter((request) => request.body.stream === true)
      .at(-1)!
      .body.messages.find((entry) => entry.role === 'tool');
    expect(JSON.stringify(toolMessage)).toContain('the flaky service is down');
    expect(
      result.stored.messages[1]!.parts.some((part) => part.type === 'tool-flaky' && (part as { state: string }).state === 'output-error'),
    ).toBe(true);
    expect(result.stored.lastRunStatus).toBe('finished');
  });

  it('an unknown tool or invalid tool input from the model: reported on the tool, the answer goes on', async () => {
    upstream.enqueue(callTool('no_such_tool', { a: 1 }), say('Let me answer without it.'));
    const unknown = await turn(chat);
    expect(unknown.types).toContain('tool-input-error');
    expect(unknown.text).toBe('Let me answer without it.');
    expect(unknown.types.at(-1)).toBe('finish');
    expect(unknown.stored.lastRunStatus).toBe('finished');

    upstream.enqueue(callTool('find_agent', { query: 42 }), say('I will search differently.'));
    const invalid = await turn(chat);
    expect(invalid.types).toContain('tool-input-error');
    expect(invalid.text).toBe('I will search differently.');
  });

  it('bounds tool rounds per run', async () => {
    const chatCalls = () => upstream.requests.filter((request) => request.body.stream === true).length;
    const before = chatCalls();
    upstream.enqueue(...Array.from({ length: 3 }, () => callTool('find_agent', { query: 'seo' })), say('never reached'));
    const result = await turn(chat);
    expect(chatCalls() - before).toBe(3);
    expect(result.types.at(-1)).toBe('finish');
    upstream.setDefault((await import('./support/fake-upstream.js')).toolAwareScript);
  });
});
