/**
 * Keeps a call within the model's context window. When the history would take more than its share of
 * the window, the older turns are condensed into a summary that is stored with the session and
 * extended incrementally later (never recomputed from scratch each call); the recent turns go as
 * they are. The full history stays stored and visible — only what the model is shown is condensed.
 */
import { convertToModelMessages, generateText, type LanguageModel, type ModelMessage, type ToolSet } from 'ai';
import { costFrom } from '../llm/upstream-cost.js';
import type { NewUsage } from '../store/runs-repository.js';
import { toUsage } from '../usage/call-usage.js';
import type { StoredSummary } from '../store/records.js';
import type { ChatMessage } from './types.js';

export type { StoredSummary } from '../store/records.js';

export type ContextWindowPolicy = {
  windowTokens: number;
  model: LanguageModel;
  modelId: string;
  maxRetries: number;
};

export type FitInput = {
  history: ChatMessage[];
  tools: ToolSet;
  summary?: StoredSummary;
  saveSummary: (summary: StoredSummary) => Promise<void>;
  onUsage: (usage: NewUsage) => void;
  signal?: AbortSignal;
};

/** Share of the window the history may take; the rest is for the system prompt, tools and answer. */
const HISTORY_SHARE = 0.6;
/** When condensing, the recent turns kept verbatim may take this share of the history budget. */
const RECENT_SHARE = 0.5;

export const estimateTokens = (value: unknown) => Math.ceil(JSON.stringify(value).length / 4);

/** The messages to show the model, and an estimate of their size in tokens. */
export type FittedHistory = { messages: ModelMessage[]; tokens: number };

export async function fitToContextWindow(policy: ContextWindowPolicy, input: FitInput): Promise<FittedHistory> {
  const budget = Math.floor(policy.windowTokens * HISTORY_SHARE);
  const convert = (messages: ChatMessage[]) => convertToModelMessages(messages, { tools: input.tools, ignoreIncompleteToolCalls: true });

  const full = await convert(input.history);
  const fullTokens = estimateTokens(full);
  if (fullTokens <= budget) return { messages: full, tokens: fullTokens };

  // Keep the most recent messages that fit, starting at a user turn so tool calls stay with results.
  let kept = 0;
  let size = 0;
  for (let index = input.history.length - 1; index >= 0; index--) {
    size += estimateTokens(input.history[index]);
    if (size > budget * RECENT_SHARE && kept > 0) break;
    kept++;
  }
  let cut = input.history.length - kept;
  while (cut < input.history.length - 1 && input.history[cut]!.role !== 'user') cut++;
  if (cut <= 0) return { messages: full, tokens: fullTokens };

  let summary = input.summary && input.summary.throughSeq < cut ? input.summary : undefined;
  if (!summary || summary.throughSeq < cut - 1) {
    const from = summary ? summary.throughSeq + 1 : 0;
    summary = { text: await summarise(policy, summary?.text, input.history.slice(from, cut), input), throughSeq: cut - 1 };
    await input.saveSummary(summary);
  }

  const recent = await convert(input.history.slice(cut));
  const messages: ModelMessage[] = [
    { role: 'user', content: `Summary of the earlier part of this conversation:\n${summary.text}` },
    { role: 'assistant', content: 'Understood; I will continue from there.' },
    ...recent,
  ];
  return { messages, tokens: estimateTokens(messages) };
}

async function summarise(
  policy: ContextWindowPolicy,
  previous: string | undefined,
  messages: ChatMessage[],
  input: FitInput,
): Promise<string> {
  const transcript = messages
    .map((message) => {
      const text = message.parts
        .map((part) => (part.type === 'text' ? part.text : 'toolCallId' in part ? `[used ${part.type.replace(/^tool-/, '')}]` : ''))
        .filter(Boolean)
        .join(' ');
      return `${message.role}: ${text}`;
    })
    .join('\n');
  const maxChars = Math.floor(policy.windowTokens * HISTORY_SHARE * 2);
  const result = await generateText({
    model: policy.model,
    maxRetries: policy.maxRetries,
    abortSignal: input.signal,
    system:
      'Condense conversations faithfully. Keep names, numbers, decisions, agent slugs and open questions. Reply with the summary only.',
    prompt: `${previous ? `Summary so far:\n${previous}\n\n` : ''}Conversation to add:\n${transcript.slice(-maxChars)}`,
  });
  input.onUsage(toUsage(result.usage, policy.modelId, 0, 'summary', costFrom(result.providerMetadata)));
  return result.text.trim() || (previous ?? '');
}
