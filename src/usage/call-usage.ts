/** The usage row of one upstream call, from the counts (and cost) the AI SDK reports for it. */
import type { LanguageModelUsage } from 'ai';
import type { NewUsage } from '../store/runs-repository.js';

/**
 * Counts the upstream did not report are estimated (`promptEstimate` for the prompt, nothing for the
 * completion) and the row is marked `estimated`, so that budgets still count a call cut short.
 */
export function toUsage(
  usage: Partial<Pick<LanguageModelUsage, 'inputTokens' | 'outputTokens' | 'totalTokens'>>,
  model: string,
  promptEstimate: number,
  kind: NewUsage['kind'] = 'chat',
  costUsd?: number,
): NewUsage {
  const reported = usage.inputTokens !== undefined || usage.outputTokens !== undefined;
  const promptTokens = usage.inputTokens ?? promptEstimate;
  const completionTokens = usage.outputTokens ?? 0;
  return {
    kind,
    model,
    promptTokens,
    completionTokens,
    totalTokens: usage.totalTokens ?? promptTokens + completionTokens,
    ...(costUsd === undefined ? {} : { costUsd }),
    ...(reported ? {} : { estimated: true }),
  };
}
