import { safeValidateTypes } from '@ai-sdk/provider-utils';
import { convertToModelMessages, readUIMessageStream, tool, uiMessageChunkSchema, type UIMessage, type UIMessageChunk } from 'ai';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { CONTINUE_INSTRUCTION, continuationPrompt, createContinuation, INTERRUPTED_ACTION, LoggedAnswer } from './run-continuation.js';
import type { ChatMessage } from './types.js';

/** What a reader that re-attaches gets: the logged chunks, then the continuation's. */
async function readerView(logged: UIMessageChunk[], continued: UIMessageChunk[]) {
  const all = [...logged, ...continued];
  for (const chunk of all)
    expect((await safeValidateTypes({ value: chunk, schema: uiMessageChunkSchema })).success, JSON.stringify(chunk)).toBe(true);
  let last: UIMessage | undefined;
  const stream = new ReadableStream<UIMessageChunk>({
    start(controller) {
      for (const chunk of all) controller.enqueue(chunk);
      controller.close();
    },
  });
  for await (const message of readUIMessageStream({
    stream,
    onError: (error) => {
      throw error;
    },
  }))
    last = message;
  return { all, message: last! };
}

function loggedOf(chunks: UIMessageChunk[]) {
  const logged = new LoggedAnswer();
  for (const chunk of chunks) logged.apply(chunk);
  return logged;
}

/** Runs a resumption as executeRun does: settle, then every generated chunk through stitch. */
async function continueWith(logged: LoggedAnswer, generated: UIMessageChunk[], tools = {}) {
  const resumption = createContinuation(logged, { count: 1, usage: [], tools });
  const out: UIMessageChunk[] = [];
  const emit = (chunk: UIMessageChunk) => {
    resumption.answer?.apply(chunk);
    out.push(chunk);
  };
  await resumption.settle(emit, new AbortController().signal);
  for (const chunk of generated) for (const piece of resumption.stitch(chunk)) emit(piece);
  return { out, resumption };
}

const cutMidText: UIMessageChunk[] = [
  { type: 'start', messageId: 'answer-1' },
  { type: 'start-step' },
  { type: 'text-start', id: 'txt-0' },
  { type: 'text-delta', id: 'txt-0', delta: 'The three best agents are Money ' },
];

describe('stitching a continuation onto the logged answer', () => {
  it('goes on in the same text part and step: no second start, start-step or text-start', async () => {
    const generated: UIMessageChunk[] = [
      { type: 'start-step' },
      { type: 'text-start', id: 'txt-0' },
      { type: 'text-delta', id: 'txt-0', delta: 'Printer, Budget Buddy and Tax Helper.' },
      { type: 'text-end', id: 'txt-0' },
      { type: 'finish-step' },
    ];
    const { out, resumption } = await continueWith(loggedOf(cutMidText), generated);
    expect(out).toEqual([
      { type: 'text-delta', id: 'txt-0', delta: 'Printer, Budget Buddy and Tax Helper.' },
      { type: 'text-end', id: 'txt-0' },
      { type: 'finish-step' },
    ]);
    const finish: UIMessageChunk = { type: 'finish' };
    const { all, message } = await readerView(cutMidText, [...out, finish]);
    expect(all.filter((chunk) => chunk.type === 'start' || chunk.type === 'text-start' || chunk.type === 'start-step')).toHaveLength(3);
    expect(message.id).toBe('answer-1');
    expect(message.parts.filter((part) => part.type === 'text')).toEqual([
      { type: 'text', text: 'The three best agents are Money Printer, Budget Buddy and Tax Helper.', state: 'done' },
    ]);
    // The stored message is the same answer.
    expect(resumption.answer!.message().parts.filter((part) => part.type === 'text')).toEqual([
      { type: 'text', text: 'The three best agents are Money Printer, Budget Buddy and Tax Helper.', state: 'done' },
    ]);
  });

  it('maps the continuation text id onto the open part even when the provider numbers parts differently', async () => {
    const generated: UIMessageChunk[] = [
      { type: 'start-step' },
      { type: 'text-start', id: 'other' },
      { type: 'text-delta', id: 'other', delta: 'rest.' },
      { type: 'text-end', id: 'other' },
      { type: 'finish-step' },
    ];
    const { out } = await continueWith(loggedOf(cutMidText), generated);
    expect(out.map((chunk) => ('id' in chunk ? chunk.id : undefined)).filter(Boolean)).toEqual(['txt-0', 'txt-0']);
  });

  it('ends the open text first when the continuation starts with a tool call', async () => {
    const generated: UIMessageChunk[] = [
      { type: 'start-step' },
      { type: 'tool-input-start', toolCallId: 'c1', toolName: 'find_agent' },
      { type: 'tool-input-available', toolCallId: 'c1', toolName: 'find_agent', input: { query: 'money' } },
      { type: 'tool-output-available', toolCallId: 'c1', output: { agents: [] } },
      { type: 'finish-step' },
    ];
    const { out } = await continueWith(loggedOf(cutMidText), generated);
    expect(out[0]).toEqual({ type: 'text-end', id: 'txt-0' });
    expect(out[1]).toMatchObject({ type: 'tool-input-start' });
    await readerView(cutMidText, [...out, { type: 'finish' }]);
  });

  it('closes the open text if the continuation fails at once (one text-end, not two)', async () => {
    const logged = loggedOf(cutMidText);
    const resumption = createContinuation(logged, { count: 1, usage: [], tools: {} });
    await resumption.settle(() => {}, new AbortController().signal);
    // executeRun's catch emits the builder's closing chunks, then the error.
    const out = [...resumption.answer!.closingChunks(), { type: 'error', errorText: 'down' } as UIMessageChunk].flatMap((chunk) =>
      resumption.stitch(chunk),
    );
    expect(out).toEqual([
      { type: 'text-end', id: 'txt-0' },
      { type: 'error', errorText: 'down' },
    ]);
  });

  it('re-runs a read-only tool call that was in flight, reports an acting one as interrupted, and starts a new step', async () => {
    let added = 0;
    const tools = {
      find_agent: tool({
        inputSchema: z.object({ query: z.string() }),
        execute: async ({ query }) => ({ agents: [{ slug: `found-${query}` }] }),
      }),
      add_agent_to_library: tool({
        inputSchema: z.object({ slug: z.string() }),
        execute: async () => {
          added++;
          return { added: true };
        },
      }),
    };
    const logged: UIMessageChunk[] = [
      { type: 'start', messageId: 'answer-2' },
      { type: 'start-step' },
      { type: 'text-start', id: 't' },
      { type: 'text-delta', id: 't', delta: 'Let me look.' },
      { type: 'tool-input-start', toolCallId: 'read', toolName: 'find_agent' },
      { type: 'tool-input-available', toolCallId: 'read', toolName: 'find_agent', input: { query: 'tax' } },
      { type: 'tool-input-start', toolCallId: 'act', toolName: 'add_agent_to_library' },
      { type: 'tool-input-available', toolCallId: 'act', toolName: 'add_agent_to_library', input: { slug: 'tax-helper' } },
      { type: 'tool-input-start', toolCallId: 'half', toolName: 'find_agent' },
      { type: 'tool-input-delta', toolCallId: 'half', inputTextDelta: '{"que' },
    ];
    const generated: UIMessageChunk[] = [
      { type: 'start-step' },
      { type: 'text-start', id: 't' },
      { type: 'text-delta', id: 't', delta: 'I found Tax Helper.' },
      { type: 'text-end', id: 't' },
      { type: 'finish-step' },
    ];
    const { out, resumption } = await continueWith(loggedOf(logged), generated, tools);
    expect(added).toBe(0);
    expect(out.slice(0, 5)).toEqual([
      { type: 'text-end', id: 't' },
      {
        type: 'tool-input-error',
        toolCallId: 'half',
        toolName: 'find_agent',
        input: '{"que',
        errorText: expect.stringMatching(/interrupted/),
      },
      { type: 'tool-output-available', toolCallId: 'read', output: { agents: [{ slug: 'found-tax' }] } },
      { type: 'tool-output-error', toolCallId: 'act', errorText: INTERRUPTED_ACTION },
      { type: 'finish-step' },
    ]);
    expect(out[5]).toEqual({ type: 'start-step' });
    const { message } = await readerView(logged, [...out, { type: 'finish' }]);
    expect(message.parts.map((part) => part.type)).toEqual([
      'step-start',
      'text',
      'tool-find_agent',
      'tool-add_agent_to_library',
      'tool-find_agent',
      'step-start',
      'text',
    ]);
    // The model is shown the tool results and the interruption, then continues after them.
    const prompt = continuationPrompt(
      'system',
      [{ id: 'u', role: 'user', parts: [{ type: 'text', text: 'Find a tax agent' }] }],
      resumption.answer!.message(),
    );
    const modelMessages = await convertToModelMessages(prompt.history, { tools });
    expect(modelMessages.map((entry) => entry.role)).toEqual(['user', 'assistant', 'tool', 'assistant']);
    expect(JSON.stringify(modelMessages[2])).toContain('interrupted by a server restart');
  });
});

describe('the continuation prompt', () => {
  const history: ChatMessage[] = [{ id: 'u1', role: 'user', parts: [{ type: 'text', text: 'Which agents make money?' }] }];

  it('ends with the partial answer as a trailing assistant message, and tells the model to continue it', async () => {
    const partial: ChatMessage = {
      id: 'a1',
      role: 'assistant',
      parts: [{ type: 'step-start' }, { type: 'text', text: 'The three best agents are Money ', state: 'done' }],
    };
    const prompt = continuationPrompt('You are the copilot.', history, partial);
    expect(prompt.system).toBe(`You are the copilot.\n\n${CONTINUE_INSTRUCTION}`);
    const modelMessages = await convertToModelMessages(prompt.history);
    expect(modelMessages.at(-1)).toEqual({ role: 'assistant', content: [{ type: 'text', text: 'The three best agents are Money ' }] });
  });

  it('is the original request when nothing was written yet', () => {
    expect(continuationPrompt('sys', history, undefined)).toEqual({ system: 'sys', history });
    expect(continuationPrompt('sys', history, { id: 'a', role: 'assistant', parts: [] })).toEqual({ system: 'sys', history });
  });
});

describe('the logged answer', () => {
  it('knows when the log already ended (nothing to continue)', () => {
    expect(loggedOf([...cutMidText, { type: 'text-end', id: 'txt-0' }, { type: 'finish' }]).ended).toBe(true);
    expect(loggedOf(cutMidText).ended).toBe(false);
  });

  it('charges nothing twice: the rebuilt answer has no unaccounted characters once resumed', () => {
    const logged = loggedOf(cutMidText);
    expect(logged.builder!.unaccountedChars).toBeGreaterThan(0);
    createContinuation(logged, { count: 1, usage: [], tools: {} });
    expect(logged.builder!.unaccountedChars).toBe(0);
  });
});
