/**
 * The two reference scenarios against the real OpenRouter, only when OPEN_ROUTER_API_KEY is set
 * (never in CI, which has no internet). Skipped with a printed reason otherwise.
 */
import type { UIMessageChunk } from 'ai';
import { describe, expect, it } from 'vitest';
import { createChatService } from '../src/index.js';
import { testOptions } from './support/test-service.js';

const key = process.env.OPEN_ROUTER_API_KEY || process.env.OPENROUTER_API_KEY;
if (!key) console.warn('OPEN_ROUTER_API_KEY is not set: the live OpenRouter tests are skipped.');

describe.runIf(Boolean(key))('live OpenRouter', () => {
  const collect = async (events: AsyncIterable<UIMessageChunk>) => {
    const chunks: UIMessageChunk[] = [];
    for await (const chunk of events) chunks.push(chunk);
    return chunks;
  };

  it('answers a greeting and finds agents with the tool', async () => {
    const chat = await createChatService(testOptions({ dataDir: 'memory://', llm: { apiKey: key, maxRetries: 2 } }));
    try {
      const session = await chat.createChatSession('live');
      const greeting = await collect(chat.streamChatCompletion(session.sessionId, 'Hello, how are you?', { userId: 'live' }));
      expect(greeting.map((chunk) => chunk.type)).not.toContain('error');
      expect(greeting.some((chunk) => chunk.type === 'text-delta' && chunk.delta.length > 0)).toBe(true);
      const found = await collect(
        chat.streamChatCompletion(
          session.sessionId,
          "Please find me an agent that can help me with my business. Use the query 'moneny printing agent'",
          { userId: 'live' },
        ),
      );
      expect(found.some((chunk) => chunk.type === 'tool-output-available')).toBe(true);
      expect((await chat.getChatSession(session.sessionId))!.usage.length).toBeGreaterThan(0);
    } finally {
      await chat.close();
    }
  }, 120_000);
});
