import type { LanguageModelV3, LanguageModelV3CallOptions, LanguageModelV3StreamPart } from '@ai-sdk/provider';
import { APICallError, tool, type UIMessageChunk } from 'ai';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { generate, type GenerationInput, type StepResult } from './generation.js';

const usage = {
  inputTokens: { total: 10, noCache: 10, cacheRead: undefined, cacheWrite: undefined },
  outputTokens: { total: 3, text: 3, reasoning: undefined },
};
const finish = (unified: 'stop' | 'tool-calls'): LanguageModelV3StreamPart => ({
  type: 'finish',
  usage,
  finishReason: { unified, raw: unified },
});
const say = (text: string): LanguageModelV3StreamPart[] => [
  { type: 'text-start', id: 't' },
  { type: 'text-delta', id: 't', delta: text },
  { type: 'text-end', id: 't' },
  finish('stop'),
];
const call = (name: string, input: string, id = `call-${name}`): LanguageModelV3StreamPart[] => [
  { type: 'tool-input-start', id, toolName: name },
  { type: 'tool-input-delta', id, delta: input },
  { type: 'tool-input-end', id },
  { type: 'tool-call', toolCallId: id, toolName: name, input },
  finish('tool-calls'),
];

type Reply = LanguageModelV3StreamPart[] | Error | (() => ReadableStream<LanguageModelV3StreamPart>);

/** A provider that plays one reply per call and records the prompts it was given. */
function scriptedModel(replies: Reply[]) {
  const calls: LanguageModelV3CallOptions[] = [];
  const model: LanguageModelV3 = {
    specificationVersion: 'v3',
    provider: 'test',
    modelId: 'scripted',
    supportedUrls: {},
    doGenerate: () => Promise.reject(new Error('not used')),
    async doStream(options) {
      calls.push(structuredClone({ ...options, abortSignal: undefined }));
      const reply = replies.shift();
      if (!reply) throw new Error('no reply scripted');
      if (reply instanceof Error) throw reply;
      if (typeof reply === 'function') return { stream: reply() };
      return {
        stream: new ReadableStream({ start: (controller) => (reply.forEach((part) => controller.enqueue(part)), controller.close()) }),
      };
    },
  };
  return { model, calls };
}

const lookup = tool({
  description: 'Looks a word up.',
  inputSchema: z.object({ word: z.string() }),
  execute: async ({ word }) => ({ word, meaning: `the meaning of ${word}` }),
});

async function run(replies: Reply[], overrides: Partial<GenerationInput> = {}) {
  const { model, calls } = scriptedModel(replies);
  const chunks: UIMessageChunk[] = [];
  const steps: StepResult[] = [];
  let result: unknown;
  try {
    result = await generate({
      model,
      system: 'be brief',
      messages: [{ role: 'user', content: 'hello' }],
      tools: { lookup },
      maxSteps: 3,
      maxRetries: 0,
      signal: new AbortController().signal,
      emit: (chunk) => chunks.push(chunk),
      onStep: (step) => steps.push(step),
      ...overrides,
    });
  } catch (error) {
    result = error;
  }
  return { result, chunks, types: chunks.map((chunk) => chunk.type), steps, calls };
}

describe('generate', () => {
  it('streams a text answer as UI chunks and reports the call', async () => {
    const { result, types, steps, calls } = await run([say('Hi there')]);
    expect(result).toBe('stop');
    expect(types).toEqual(['start-step', 'text-start', 'text-delta', 'text-end', 'finish-step']);
    expect(steps).toMatchObject([{ finishReason: 'stop', reasonGiven: true }]);
    expect(calls[0]!.prompt).toEqual([
      { role: 'system', content: 'be brief' },
      { role: 'user', content: [{ type: 'text', text: 'hello' }] },
    ]);
    expect(calls[0]!.tools).toMatchObject([{ type: 'function', name: 'lookup', inputSchema: { type: 'object' } }]);
  });

  it('runs a tool call and shows the model its result in the next call', async () => {
    const { types, chunks, calls } = await run([call('lookup', '{"word":"wombat"}'), say('A marsupial.')]);
    expect(types).toEqual([
      'start-step',
      'tool-input-start',
      'tool-input-delta',
      'tool-input-available',
      'tool-output-available',
      'finish-step',
      'start-step',
      'text-start',
      'text-delta',
      'text-end',
      'finish-step',
    ]);
    expect(chunks.find((chunk) => chunk.type === 'tool-output-available')).toMatchObject({ output: { meaning: 'the meaning of wombat' } });
    expect(calls[1]!.prompt.slice(-2)).toEqual([
      { role: 'assistant', content: [{ type: 'tool-call', toolCallId: 'call-lookup', toolName: 'lookup', input: { word: 'wombat' } }] },
      {
        role: 'tool',
        content: [
          {
            type: 'tool-result',
            toolCallId: 'call-lookup',
            toolName: 'lookup',
            output: { type: 'json', value: { word: 'wombat', meaning: 'the meaning of wombat' } },
          },
        ],
      },
    ]);
  });

  it('reports an unknown tool and invalid input on the call, and the model sees why', async () => {
    const { types, calls } = await run([call('nope', '{}'), call('lookup', '{"word": 42}'), say('Sorry.')]);
    expect(types.filter((type) => type === 'tool-input-error')).toHaveLength(2);
    expect(types.at(-2)).toBe('text-end');
    const results = calls.slice(1).map((options) => options.prompt.at(-1));
    expect(JSON.stringify(results[0])).toMatch(/error-text.*unavailable tool 'nope'/);
    expect(JSON.stringify(results[1])).toMatch(/error-text.*Invalid input for tool lookup/);
  });

  it('stops calling the model after maxSteps, even if it keeps calling tools', async () => {
    const { calls, result } = await run([call('lookup', '{"word":"a"}', 'c1'), call('lookup', '{"word":"b"}', 'c2')], { maxSteps: 2 });
    expect(calls).toHaveLength(2);
    expect(result).toBe('tool-calls');
  });

  it('retries a retryable failure before the response, waiting as Retry-After asks; gives up on the others', async () => {
    const limited = new APICallError({
      message: 'slow down',
      url: 'u',
      requestBodyValues: {},
      statusCode: 429,
      responseHeaders: { 'retry-after-ms': '30' },
      isRetryable: true,
    });
    const started = Date.now();
    const retried = await run([limited, say('ok')], { maxRetries: 2 });
    expect(retried.result).toBe('stop');
    expect(Date.now() - started).toBeGreaterThanOrEqual(25);
    expect(retried.calls).toHaveLength(2);

    const refused = new APICallError({ message: 'bad key', url: 'u', requestBodyValues: {}, statusCode: 401, isRetryable: false });
    const failed = await run([refused, say('never')], { maxRetries: 2 });
    expect(failed.calls).toHaveLength(1);
    expect(APICallError.isInstance(failed.result) || (failed.result as { lastError?: unknown }).lastError === refused).toBe(true);
  });

  it('ends the step and throws when the stream breaks; a tool still running reports nothing afterwards', async () => {
    let release!: () => void;
    const slow = tool({ inputSchema: z.object({}), execute: () => new Promise<string>((resolve) => (release = () => resolve('late'))) });
    const broken = () =>
      new ReadableStream<LanguageModelV3StreamPart>({
        start(controller) {
          for (const part of call('slow', '{}').slice(0, 4)) controller.enqueue(part);
          setTimeout(() => controller.error(Object.assign(new Error('socket closed'), { code: 'ECONNRESET' })), 20);
        },
      });
    const { result, chunks } = await run([broken], { tools: { slow } });
    expect((result as Error).message).toBe('socket closed');
    release();
    await new Promise((resolve) => setTimeout(resolve, 10));
    const types = chunks.map((chunk) => chunk.type);
    expect(types).toContain('tool-input-available');
    expect(types).not.toContain('tool-output-available');
  });
});
