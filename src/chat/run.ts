/**
 * One run: one generation of an answer, owned by the service rather than by any request. It calls
 * the model with the session's history and tools, appends every UI-stream chunk to the run's event
 * log, and when it ends — finished, failed or stopped — stores the answer (partial if cut short) and
 * the usage of every upstream call in one statement, then closes the log.
 */
import type { FinishReason, ToolSet, UIMessageChunk } from 'ai';
import type { Logger } from 'pino';
import { describeUpstreamError } from '../llm/describe-upstream-error.js';
import { costFrom } from '../llm/upstream-cost.js';
import { toUsage } from '../usage/call-usage.js';
import type { LanguageModels } from '../llm/language-models.js';
import type { RunsRepository, NewUsage } from '../store/runs-repository.js';
import type { RunEventLog } from '../streams/run-event-log.js';
import { AnswerBuilder } from './answer-builder.js';
import { generate } from './generation.js';
import type { LeaseKeeper } from './lease-keeper.js';
import { RunStateError } from './run-state.js';
import { fitToContextWindow, type ContextWindowPolicy, type StoredSummary } from './context-window.js';
import type { ChatMessage, RunOutcome, TokenUsage } from './types.js';

export const SYSTEM_PROMPT = `You are the copilot of an AI agent platform. You help people find, understand and use agents from the platform's agent store.
- To find agents, call find_agent with a short query in the user's words; then recommend the best matches by name, saying briefly why each fits.
- Use get_agent_details for one agent's details, add_agent_to_library only when the user asks to add an agent, and find_library_agent to search the agents they already have.
- Be concise and concrete. Use Markdown for lists and emphasis. Never invent agents that a tool did not return.`;

export type RunDeps = {
  runs: RunsRepository;
  eventLog: RunEventLog;
  models: LanguageModels;
  contextWindow: ContextWindowPolicy;
  log: Logger;
  leases: LeaseKeeper;
  maxRetries: number;
  maxToolSteps: number;
  onUsage?: (usage: NewUsage[], userId: string) => void;
  onEnded?: (outcome: RunOutcome, runId: string) => void;
};

export type RunInput = {
  runId: string;
  sessionId: string;
  userId: string;
  messageId: string;
  /** The session's history up to and including the message to answer. */
  history: ChatMessage[];
  tools: ToolSet;
  summary?: StoredSummary;
  saveSummary: (summary: StoredSummary) => Promise<void>;
  /** Aborted when the caller wants the run stopped (a stop request, or the library's signal). */
  stopSignal: AbortSignal;
  /** Called once, with the run's first output after `start` (its first token, tool call or error). */
  onFirstOutput?: (first: UIMessageChunk) => void;
};

/** Runs to the end; never throws (every failure becomes an `error` event and a stored outcome). */
export async function executeRun(deps: RunDeps, input: RunInput): Promise<RunOutcome> {
  const { runId, sessionId, userId } = input;
  const log = deps.log.child({ runId, sessionId, userId });
  const answer = new AnswerBuilder(input.messageId);
  const usage: NewUsage[] = [];
  const abort = new AbortController();
  let stopRequested = false;
  let leaseLost = false;
  let failure: string | undefined;
  let promptEstimate = 0;

  const stop = () => {
    stopRequested = true;
    abort.abort(new Error('stopped'));
  };
  if (input.stopSignal.aborted) stop();
  input.stopSignal.addEventListener('abort', stop, { once: true });
  const unsubscribeStop = deps.eventLog.onStop(runId, stop);

  const untrackLease = deps.leases.track(
    runId,
    () => answer.message(),
    () => {
      leaseLost = true;
      abort.abort(new Error('lease lost'));
    },
  );

  // Appends are issued in order without waiting for each one (the log keeps call order); the run
  // waits for all of them before it declares the log complete.
  let pendingAppends: Promise<void> = Promise.resolve();
  let answering = false;
  const emit = (chunk: UIMessageChunk) => {
    if (!answering && chunk.type !== 'start' && chunk.type !== 'start-step') {
      answering = true;
      input.onFirstOutput?.(chunk);
    }
    answer.apply(chunk);
    const appended = deps.eventLog.append(runId, chunk);
    pendingAppends = pendingAppends.then(
      () => appended,
      () => appended,
    );
    pendingAppends.catch((error: unknown) => log.error({ err: errorSummary(error) }, 'event log append failed'));
  };

  let finishReason: FinishReason | undefined;
  let brokenStep = false;
  let sawError = false;

  try {
    const fitted = await fitToContextWindow(deps.contextWindow, {
      history: input.history,
      tools: input.tools,
      summary: input.summary,
      saveSummary: input.saveSummary,
      onUsage: (entry) => usage.push(entry),
      signal: abort.signal,
    });
    promptEstimate = fitted.tokens + Math.ceil(SYSTEM_PROMPT.length / 4);

    emit({ type: 'start', messageId: input.messageId, messageMetadata: { sessionId } });
    finishReason = await generate({
      model: deps.models.chat,
      system: SYSTEM_PROMPT,
      messages: fitted.messages,
      tools: input.tools,
      maxSteps: deps.maxToolSteps,
      maxRetries: deps.maxRetries,
      signal: abort.signal,
      emit,
      onStep: (step) => {
        const { inputTokens, outputTokens } = step.usage;
        usage.push(
          toUsage(
            { inputTokens: inputTokens.total, outputTokens: outputTokens.total },
            step.modelId || deps.models.chatModelId,
            promptEstimate,
            'chat',
            costFrom(step.providerMetadata),
          ),
        );
        // An upstream stream that simply ends (a connection reset after the first byte) yields a step
        // with no finish reason of its own: that answer is truncated, and must be reported as such.
        if (!step.reasonGiven) brokenStep = true;
      },
    });
  } catch (error) {
    if (!abort.signal.aborted) {
      sawError = true;
      const described = describeUpstreamError(error);
      failure = described.kind;
      log.warn({ err: errorSummary(error), kind: described.kind }, 'run failed');
      emit({ type: 'error', errorText: described.message });
    }
  } finally {
    untrackLease();
    input.stopSignal.removeEventListener('abort', stop);
    unsubscribeStop();
  }

  if (!stopRequested && !sawError && brokenStep) {
    sawError = true;
    failure = 'broken';
    emit({ type: 'error', errorText: 'The connection to the model provider ended before the answer was complete. Please try again.' });
  }

  // A call cut short reports no usage; estimate it so that budgets still count it.
  if (answer.unaccountedChars > 0 || (usage.length === 0 && (stopRequested || sawError))) {
    const completion = Math.ceil(answer.unaccountedChars / 4);
    usage.push({
      kind: 'chat',
      model: deps.models.chatModelId,
      promptTokens: promptEstimate,
      completionTokens: completion,
      totalTokens: promptEstimate + completion,
      estimated: true,
    });
  }

  const outcome: RunOutcome = stopRequested || leaseLost ? (leaseLost ? 'interrupted' : 'stopped') : sawError ? 'failed' : 'finished';
  const reason = stopRequested ? 'stop requested' : leaseLost ? 'lease lost' : sawError ? (failure ?? 'error') : undefined;

  let stored = false;
  try {
    const message = { ...answer.message(), metadata: { sessionId, usage: totalsOf(usage) } };
    await deps.runs.end(runId, sessionId, userId, { status: outcome, reason, message, usage });
    stored = true;
  } catch (error) {
    if (RunStateError.isInstance(error)) {
      log.warn({ from: error.from, to: error.to }, 'run had already ended elsewhere, or its session was deleted: nothing stored');
    } else {
      log.error({ err: errorSummary(error) }, 'storing the answer failed');
      if (outcome === 'finished') emit({ type: 'error', errorText: 'The answer was generated but could not be saved. Please try again.' });
    }
  }

  // The closing event goes out only after the answer is stored, so a client that sees it and reloads
  // finds the answer in the history.
  if (outcome === 'stopped' || outcome === 'interrupted') {
    emit({ type: 'abort' });
  } else {
    emit({
      type: 'finish',
      ...(outcome === 'finished' && finishReason ? { finishReason } : {}),
      messageMetadata: { sessionId, usage: totalsOf(usage) },
    });
  }
  await pendingAppends.catch(() => {});
  await deps.eventLog.end(runId).catch((error: unknown) => log.error({ err: errorSummary(error) }, 'closing the event log failed'));

  if (stored) deps.onUsage?.(usage, userId);
  deps.onEnded?.(outcome, runId);
  log.info({ from: 'running', to: outcome, reason, upstreamCalls: usage.length }, 'run ended');
  return outcome;
}

export function totalsOf(usage: NewUsage[]): TokenUsage {
  const chat = usage.filter((entry) => entry.kind === 'chat');
  const totals: TokenUsage = { promptTokens: 0, completionTokens: 0, totalTokens: 0 };
  let cost: number | undefined;
  for (const entry of chat) {
    totals.promptTokens += entry.promptTokens;
    totals.completionTokens += entry.completionTokens;
    totals.totalTokens += entry.totalTokens;
    if (entry.costUsd !== undefined) cost = (cost ?? 0) + entry.costUsd;
  }
  return cost === undefined ? totals : { ...totals, costUsd: cost };
}

/** What may be logged of an error: its kind and status, never its message body or a stack. */
export function errorSummary(error: unknown): Record<string, unknown> {
  if (!(error instanceof Error)) return { type: typeof error };
  const status = (error as { statusCode?: number }).statusCode;
  const code = (error as { code?: string }).code;
  return { type: error.name, ...(status ? { status } : {}), ...(code ? { code } : {}) };
}
