/**
 * One agent execution, from start to end: the chat's run machinery pointed at an agent. The model is
 * called with the agent's instructions as the system prompt and the person's inputs as the one user
 * message, with the agent's own tools, a step limit and a time limit (src/chat/generation.ts). Every
 * UI-stream chunk goes to the execution's event log, its lease is renewed (with a checkpoint and what
 * it has spent) by a `LeaseKeeper`, and it ends once, storing its output and one usage row per
 * upstream call together — through the run settler, which keeps the end durably while the database
 * is away and stores it when it answers (src/chat/run-settler.ts). Never throws.
 */
import type { LanguageModelV3 } from '@ai-sdk/provider';
import { convertToModelMessages, type FinishReason, type ModelMessage, type ToolSet, type UIMessageChunk } from 'ai';
import type { Logger } from 'pino';
import { AnswerBuilder } from '../chat/answer-builder.js';
import { CallTracker } from '../chat/call-tracker.js';
import { generate, stepUsage } from '../chat/generation.js';
import type { LeaseKeeper } from '../chat/lease-keeper.js';
import { continuationPrompt, type RunContinuation } from '../chat/run-continuation.js';
import type { RunSettler } from '../chat/run-settler.js';
import type { TokenUsage } from '../chat/types.js';
import { describeUpstreamError } from '../llm/describe-upstream-error.js';
import type { ExecutionEndRecord } from '../store/end-record.js';
import type { ExecutionEndStatus, ExecutionsRepository } from '../store/executions-repository.js';
import type { RunProgress } from '../store/run-progress.js';
import type { NewUsage } from '../store/runs-repository.js';
import type { RunEventLog } from '../streams/run-event-log.js';
import { createSerialAppender } from '../streams/serial-appender.js';
import { errorSummary } from '../logger.js';

export type ExecutionRunDeps = {
  executions: ExecutionsRepository;
  settler: RunSettler;
  eventLog: RunEventLog;
  leases: LeaseKeeper;
  log: Logger;
  maxRetries: number;
  maxSteps: number;
  timeoutMs: number;
};

export type ExecutionRunInput = {
  executionId: string;
  userId: string;
  /** The execution's key in the event log (see `executionLogKey`). */
  logKey: string;
  model: LanguageModelV3;
  modelId: string;
  /** The agent's instructions. */
  system: string;
  /** The person's inputs as the model reads them. */
  prompt: string;
  tools: ToolSet;
  stopSignal: AbortSignal;
  /** Set when this continues an execution whose instance died (src/chat/run-continuation.ts). */
  continuation?: RunContinuation;
};

/** The abort reason of a stop because this process shuts down: the execution ends `interrupted`. */
export const SHUTDOWN = 'shutdown';

/** An execution's event log lives beside the chat runs' logs under its own keys. */
export const executionLogKey = (executionId: string) => `execution:${executionId}`;

/** What the stream and the stored execution say when the time limit cut an execution short. */
export const timeLimitMessage = (timeoutMs: number) =>
  `The agent did not finish within its time limit of ${Math.round(timeoutMs / 1000)} s. What it wrote so far is kept.`;

export async function executeAgentRun(deps: ExecutionRunDeps, input: ExecutionRunInput): Promise<ExecutionEndStatus> {
  const { executionId, logKey } = input;
  const log = deps.log.child({ executionId, userId: input.userId });
  const { continuation } = input;
  const answer = continuation?.answer ?? new AnswerBuilder(executionId);
  // What earlier owners spent is charged with this end, once.
  const usage: NewUsage[] = [...(continuation?.usage ?? [])];
  const abort = new AbortController();
  let stopRequested = false;
  let leaseLost = false;
  let timedOut = false;
  let failure: { reason: string; message: string } | undefined;
  const calls = new CallTracker();
  const promptEstimate = Math.ceil((input.system.length + input.prompt.length) / 4) + 200 * Object.keys(input.tools).length;
  const progress = (): RunProgress => ({
    promptEstimate,
    model: input.modelId,
    usage,
    calling: calls.calling,
    pendingChars: answer.unaccountedChars,
  });

  let shuttingDown = false;
  const stop = () => {
    if (input.stopSignal.reason === SHUTDOWN) shuttingDown = true;
    stopRequested = true;
    abort.abort(new Error('stopped'));
  };
  if (input.stopSignal.aborted) stop();
  input.stopSignal.addEventListener('abort', stop, { once: true });
  const unsubscribeStop = deps.eventLog.onStop(logKey, stop);
  const untrackLease = deps.leases.track(
    executionId,
    () => ({ answer: answer.message(), progress: progress() }),
    () => {
      leaseLost = true;
      abort.abort(new Error('lease lost'));
    },
  );
  const timer = setTimeout(() => {
    timedOut = true;
    abort.abort(new Error('time limit'));
  }, deps.timeoutMs);

  const appends = createSerialAppender(deps.eventLog, logKey, (error) =>
    log.error({ err: errorSummary(error) }, 'event log append failed'),
  );
  const emitOne = (chunk: UIMessageChunk) => {
    answer.apply(chunk);
    if (calls.observe(chunk)) deps.leases.flush();
    appends.append(chunk);
  };
  // A continuation's chunks are joined onto the logged output (one start, one text part that goes on).
  const emit = (chunk: UIMessageChunk) => {
    for (const piece of continuation ? continuation.stitch(chunk) : [chunk]) emitOne(piece);
  };
  const continued = continuation ? { continuations: continuation.count } : {};

  let finishReason: FinishReason | undefined;
  let responded = false;
  let brokenStep = false;
  let began = false;
  if (!continuation?.answer) emit({ type: 'start', messageId: executionId, messageMetadata: { executionId } });
  try {
    if (stopRequested) {
      // Stopped while queued: it ends without calling the model (queued → stopped), and costs nothing.
    } else if (!continuation && !(await deps.executions.markRunning(executionId))) {
      // Closed by a sweep before it began: whoever ended it stored its end.
      stopRequested = true;
    } else {
      log.info({ from: continuation ? 'running' : 'queued', to: 'running', ...continued }, 'execution started');
      let system = input.system;
      let messages: ModelMessage[] = [{ role: 'user', content: input.prompt }];
      if (continuation) {
        await continuation.settle(emitOne, abort.signal);
        // The model is shown the output so far and asked to go on from there.
        const request = { id: `${executionId}-inputs`, role: 'user' as const, parts: [{ type: 'text' as const, text: input.prompt }] };
        const prompt = continuationPrompt(input.system, [request], answer.message());
        system = prompt.system;
        messages = await convertToModelMessages(prompt.history, { tools: input.tools, ignoreIncompleteToolCalls: true });
      }
      calls.calling = true;
      began = true;
      // Saved at once, not at the first renewal: an owner killed before then is still charged for the
      // call (executions have no stored history to estimate it from, as chat runs do).
      void deps.leases.flush();
      finishReason = await generate({
        model: input.model,
        system,
        messages,
        tools: input.tools,
        maxSteps: deps.maxSteps,
        maxRetries: deps.maxRetries,
        signal: abort.signal,
        emit,
        onResponse: () => {
          responded = true;
        },
        onStep: (step) => {
          usage.push(stepUsage(step, input.modelId, promptEstimate, 'execution'));
          calls.calling = false;
          if (!step.reasonGiven) brokenStep = true;
        },
      });
    }
  } catch (error) {
    for (const chunk of answer.closingChunks()) emit(chunk);
    if (timedOut) {
      failure = { reason: 'time limit', message: timeLimitMessage(deps.timeoutMs) };
    } else if (!abort.signal.aborted) {
      const described = describeUpstreamError(error);
      failure = { reason: described.kind, message: described.message };
      log.warn({ err: errorSummary(error), kind: described.kind }, 'execution failed');
    }
    if (failure) emit({ type: 'error', errorText: failure.message });
  } finally {
    clearTimeout(timer);
    untrackLease();
    input.stopSignal.removeEventListener('abort', stop);
    unsubscribeStop();
  }
  for (const chunk of answer.closingChunks()) emit(chunk);
  if (!failure && !stopRequested && !leaseLost && brokenStep) {
    failure = {
      reason: 'broken',
      message: 'The connection to the model provider ended before the answer was complete. Please run the agent again.',
    };
    emit({ type: 'error', errorText: failure.message });
  }

  // A call cut short reported no usage: estimated, so that budgets still count it (as for chat runs).
  // A stop may have reached the provider, so it is charged; a failure before any response was not billed.
  if (
    began &&
    (answer.unaccountedChars > 0 || (usage.length === 0 && (stopRequested || leaseLost || timedOut || (failure && responded))))
  ) {
    const completion = Math.ceil(answer.unaccountedChars / 4);
    usage.push({
      kind: 'execution',
      model: input.modelId,
      promptTokens: promptEstimate,
      completionTokens: completion,
      totalTokens: promptEstimate + completion,
      estimated: true,
    });
  }

  const status: ExecutionEndStatus =
    leaseLost || shuttingDown ? 'interrupted' : failure ? 'failed' : stopRequested ? 'stopped' : 'finished';
  const end: ExecutionEndRecord = {
    kind: 'execution',
    runId: executionId,
    userId: input.userId,
    status,
    reason: leaseLost
      ? 'lease lost'
      : shuttingDown
        ? 'server shut down'
        : failure
          ? failure.reason
          : stopRequested
            ? 'stop requested'
            : undefined,
    error: shuttingDown
      ? 'The server shut down while the agent was running. What it wrote so far has been kept; please run it again.'
      : failure?.message,
    message: continuation ? { ...answer.message(), metadata: { continuations: continuation.count } } : answer.message(),
    usage,
    endedAt: new Date().toISOString(),
  };
  // Stored now, or kept durably (Redis or the local journal) and stored when the database answers;
  // the settler reports the usage once stored. Whoever took the lease ends it otherwise.
  const saved = leaseLost ? 'ended-elsewhere' : await deps.settler.save(end);

  if (status === 'stopped' || status === 'interrupted') emit({ type: 'abort' });
  else
    emit({
      type: 'finish',
      ...(status === 'finished' && finishReason ? { finishReason } : {}),
      messageMetadata: { executionId, usage: totalsOf(usage), ...continued },
    });
  await appends.settled();
  await deps.eventLog.end(logKey).catch((error: unknown) => log.error({ err: errorSummary(error) }, 'closing the event log failed'));
  log.info({ from: 'running', to: status, reason: end.reason, upstreamCalls: usage.length, saved }, 'execution ended');
  return status;
}

/** Token totals of an execution's usage rows. */
export function totalsOf(usage: NewUsage[]): TokenUsage {
  const totals: TokenUsage = { promptTokens: 0, completionTokens: 0, totalTokens: 0 };
  let cost: number | undefined;
  for (const entry of usage) {
    totals.promptTokens += entry.promptTokens;
    totals.completionTokens += entry.completionTokens;
    totals.totalTokens += entry.totalTokens;
    if (entry.costUsd !== undefined) cost = (cost ?? 0) + entry.costUsd;
  }
  return cost === undefined ? totals : { ...totals, costUsd: cost };
}
