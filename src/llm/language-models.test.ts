import { streamText } from 'ai';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../config.js';
import { createLanguageModels } from './language-models.js';

/** A fetch that records request bodies and answers with a one-word stream priced by the upstream. */
function recordingFetch(bodies: Record<string, unknown>[]): typeof fetch {
  return async (_input, init) => {
    bodies.push(JSON.parse(String(init?.body)));
    const chunk = (value: unknown) => `data: ${JSON.stringify(value)}\n\n`;
    const text =
      chunk({
        id: 'c',
        object: 'chat.completion.chunk',
        created: 1,
        model: 'm',
        choices: [{ index: 0, delta: { content: 'hi' }, finish_reason: null }],
      }) +
      chunk({
        id: 'c',
        object: 'chat.completion.chunk',
        created: 1,
        model: 'm',
        choices: [{ index: 0, delta: {}, finish_reason: 'stop' }],
      }) +
      chunk({
        id: 'c',
        object: 'chat.completion.chunk',
        created: 1,
        model: 'm',
        choices: [],
        usage: { prompt_tokens: 5, completion_tokens: 1, total_tokens: 6, cost: 0.0004 },
      }) +
      'data: [DONE]\n\n';
    return new Response(text, { headers: { 'content-type': 'text/event-stream' } });
  };
}

describe('language models', () => {
  it('asks OpenRouter for usage accounting and reads the cost it reports', async () => {
    const bodies: Record<string, unknown>[] = [];
    const models = createLanguageModels(loadConfig({ OPEN_ROUTER_API_KEY: 'k' }), { fetch: recordingFetch(bodies) });
    const result = streamText({ model: models.chat, prompt: 'hello' });
    await result.consumeStream();
    expect(bodies[0]).toMatchObject({ stream: true, stream_options: { include_usage: true }, usage: { include: true } });
    expect((await result.providerMetadata)?.upstream).toEqual({ costUsd: 0.0004 });
    expect(models.demo).toBe(false);
  });

  it('sends no OpenRouter-only fields to other OpenAI-compatible servers', async () => {
    const bodies: Record<string, unknown>[] = [];
    const models = createLanguageModels(loadConfig({ OPEN_ROUTER_API_KEY: 'k', LLM_BASE_URL: 'https://llm.internal.example/v1' }), {
      fetch: recordingFetch(bodies),
    });
    await streamText({ model: models.chat, prompt: 'hello' }).consumeStream();
    expect(bodies[0]).not.toHaveProperty('usage');
  });

  it('uses the offline demo model when no key is set', () => {
    expect(createLanguageModels(loadConfig({})).demo).toBe(true);
  });
});
