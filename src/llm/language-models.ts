/**
 * Picks the models: the OpenAI-compatible upstream (OpenRouter by default) when a key is set, the
 * offline demo model otherwise.
 */
import { createOpenAICompatible } from '@ai-sdk/openai-compatible';
import type { LanguageModelV3 } from '@ai-sdk/provider';
import type { Config } from '../config.js';
import { createDemoModel, DEMO_MODEL_ID } from './demo-model.js';
import { createUpstreamFetch } from './upstream-fetch.js';
import { upstreamCostExtractor } from './upstream-cost.js';

export type LanguageModels = {
  chat: LanguageModelV3;
  title: LanguageModelV3;
  chatModelId: string;
  titleModelId: string;
  demo: boolean;
  /** The chat model by another id (an agent that names its model); the demo model when no key is set. */
  modelFor(modelId: string): LanguageModelV3;
};

export function createLanguageModels(config: Config, options: { fetch?: typeof fetch; demoDelayMs?: number } = {}): LanguageModels {
  if (!config.llm.apiKey) {
    const demo = createDemoModel({ delayMs: options.demoDelayMs });
    return { chat: demo, title: demo, chatModelId: DEMO_MODEL_ID, titleModelId: DEMO_MODEL_ID, demo: true, modelFor: () => demo };
  }
  const provider = createOpenAICompatible({
    name: 'upstream',
    baseURL: config.llm.baseUrl,
    apiKey: config.llm.apiKey,
    includeUsage: true,
    fetch: options.fetch ?? createUpstreamFetch(config.llm.timeoutMs),
    headers: { 'X-Title': 'autochat' },
    metadataExtractor: upstreamCostExtractor,
    // OpenRouter reports each call's cost when asked; other OpenAI-compatible servers may refuse
    // unknown fields, so they are not asked.
    ...(new URL(config.llm.baseUrl).hostname.endsWith('openrouter.ai')
      ? { transformRequestBody: (body: Record<string, unknown>) => ({ ...body, usage: { include: true } }) }
      : {}),
  });
  return {
    chat: provider.chatModel(config.llm.chatModel),
    title: provider.chatModel(config.llm.titleModel),
    chatModelId: config.llm.chatModel,
    titleModelId: config.llm.titleModel,
    demo: false,
    modelFor: (modelId) => provider.chatModel(modelId),
  };
}
