/**
 * One run: one generation of an answer, owned by the service rather than by any request. It calls
 * the model with the session's history and tools, appends every UI-stream chunk to the run's event
 * log, and when it ends — finished, failed or stopped — hands its end record (the answer, partial if
 * cut short, and the usage of every upstream call) to the settler, which stores it in one statement
 * or, if the database is away, keeps it durably and stores it later; then it closes the log.
 */
import type { FinishReason, ToolSet, UIMessageChunk } from 'ai';
import type { Logger } from 'pino';
import { describeUpstreamError } from '../llm/describe-upstream-error.js';
import type { LanguageModels } from '../llm/language-models.js';
import type { EndRecord } from '../store/end-record.js';
import type { RunProgress } from '../store/run-progress.js';
import type { NewUsage } from '../store/runs-repository.js';
import type { RunEventLog } from '../streams/run-event-log.js';
import { createSerialAppender } from '../streams/serial-appender.js';
import { AnswerBuilder } from './answer-builder.js';
import { generate, stepUsage, type ApprovalRequest } from './generation.js';
import type { LeaseKeeper } from './lease-keeper.js';
import { decideRunOutcome } from './run-outcome.js';
import type { RunSettler } from './run-settler.js';
import { CallTracker } from './call-tracker.js';
import { fitToContextWindow, type ContextWindowPolicy, type StoredSummary } from './context-window.js';
import { continuationPrompt, type RunContinuation } from './run-continuation.js';
import { modelViewOf, pauseRun, runAnsweredCalls, type RunResumption } from './tool-approvals.js';
import type { ChatMessage, RunOutcome, RunResult, TokenUsage } from './types.js';
import { errorSummary } from '../logger.js';

export const SYSTEM_PROMPT = `You are the copilot of an AI agent platform. You help people find, understand and use agents from the platform's agent store.
- To find agents, call find_agent with a short query in the user's words; then recommend the best matches by name, saying briefly why each fits.
- Use get_agent_details for one agent's details, add_agent_to_library only when the user asks to add an agent, and find_library_agent to search the agents they already have.
- To run an agent for the user, call get_required_setup_info, ask for any missing inputs, then run_agent; it returns at once with an execution id, and view_agent_output shows its status and output later.
- Be concise and concrete. Use Markdown for lists and emphasis. Never invent agents that a tool did not return.`;

/** What readers are told when the answer is complete but the database has not taken it yet. */
export const SAVE_PENDING_MESSAGE =
  'The answer is complete, but saving it is delayed: the database is not answering. It is kept safe and will be saved automatically as soon as the database is back; nothing needs to be sent again.';

/** The transient data chunk that carries SAVE_PENDING_MESSAGE (not part of the stored message). */
export const SAVE_PENDING_CHUNK = 'data-save-pending';

export type RunDeps = {
  settler: RunSettler;
  eventLog: RunEventLog;
  models: LanguageModels;
  contextWindow: ContextWindowPolicy;
  log: Logger;
  leases: LeaseKeeper;
  maxRetries: number;
  maxToolSteps: number;
  onEnded?: (outcome: RunOutcome, runId: string) => void;
  /** Pauses the run for tool approvals (src/chat/tool-approvals.ts); false when it could not. */
  pause?: (pause: RunPauseInput) => Promise<boolean>;
};

export type RunPauseInput = {
  runId: string;
  sessionId: string;
  userId: string;
  answer: ChatMessage;
  usage: NewUsage[];
  requests: ApprovalRequest[];
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
  /** Whether a call of this tool waits for the user's approval (the run then pauses). */
  needsApproval?: (toolName: string) => boolean;
  /** A run resumed after tool approvals: its answer so far and the answered calls (src/chat/tool-approvals.ts). */
  resume?: RunResumption;
  /** The event log this part of the run writes to (default: `runId`; a resumed run writes a new one). */
  logId?: string;
  /** Set when this run continues an answer another instance began (see run-continuation.ts). */
  continuation?: RunContinuation;
  /**
   * Aborted when this instance is stopping and hands the run on to another (its grace is over): the
   * generation stops where it is, nothing is closed or stored, and `handOff` releases the run.
   */
  handOffSignal?: AbortSignal;
  handOff?: (progress: RunProgress | undefined) => Promise<void>;
};

/** Runs to the end; never throws (every failure becomes an `error` event and a stored outcome). */
export async function executeRun(deps: RunDeps, input: RunInput): Promise<RunResult> {
  const { runId, sessionId, userId } = input;
  const logId = input.logId ?? runId;
  const log = deps.log.child({ runId, sessionId, userId });
  const answer =
    input.continuation?.answer ?? (input.resume ? AnswerBuilder.continuing(input.resume.answer) : new AnswerBuilder(input.messageId));
  let asked: ApprovalRequest[] | undefined;
  const usage: NewUsage[] = [...(input.continuation?.usage ?? [])];
  // What the answer spent before it paused for tool approvals: charged then, shown in its totals.
  const priorUsage = input.resume?.priorUsage ?? input.continuation?.priorUsage;
  const abort = new AbortController();
  let stopRequested = false;
  let leaseLost = false;
  let handedOff = false;
  let failure: string | undefined;
  let promptEstimate = 0;
  // Whether an upstream call may be running: it has cost something no usage row records yet.
  const calls = new CallTracker();
  let progressKnown = false;
  const progress = (): RunProgress | undefined =>
    progressKnown
      ? { promptEstimate, model: deps.models.chatModelId, usage, calling: calls.calling, pendingChars: answer.unaccountedChars }
      : undefined;

  const stop = () => {
    stopRequested = true;
    abort.abort(new Error('stopped'));
  };
  if (input.stopSignal.aborted) stop();
  input.stopSignal.addEventListener('abort', stop, { once: true });
  const handOff = () => {
    if (stopRequested) return;
    handedOff = true;
    abort.abort(new Error('handed off'));
  };
  input.handOffSignal?.addEventListener('abort', handOff, { once: true });
  const unsubscribeStop = deps.eventLog.onStop(runId, stop);

  const untrackLease = deps.leases.track(
    runId,
    () => ({ answer: answer.message(), progress: progress() }),
    () => {
      leaseLost = true;
      abort.abort(new Error('lease lost'));
    },
  );

  // Appends are issued in order without waiting for each one (the log keeps call order); the run
  // waits for all of them before it declares the log complete.
  const appends = createSerialAppender(deps.eventLog, logId, (error) => log.error({ err: errorSummary(error) }, 'event log append failed'));
  let answering = false;
  const emitOne = (chunk: UIMessageChunk) => {
    // Once handed on (or the lease is lost), the log is another instance's to write.
    if (handedOff || leaseLost) return;
    if (!answering && chunk.type !== 'start' && chunk.type !== 'start-step') {
      answering = true;
      input.onFirstOutput?.(chunk);
    }
    answer.apply(chunk);
    // A measured call is done and another begins: saved now rather than at the next renewal, so a
    // crash in between charges it as measured. (After the last call the run's end stores it.)
    if (calls.observe(chunk)) deps.leases.flush();
    appends.append(chunk);
  };
  // A continuation's chunks are joined onto the logged answer (one start, one text part that goes on).
  const emit = (chunk: UIMessageChunk) => {
    for (const piece of input.continuation ? input.continuation.stitch(chunk) : [chunk]) emitOne(piece);
  };

  let finishReason: FinishReason | undefined;
  /** Whether any upstream call got as far as a response: a call that never connected costs nothing. */
  let responded = false;
  let brokenStep = false;
  let sawError = false;

  try {
    let history = input.history;
    if (input.resume) {
      // The same message goes on: the client continues it (useChat after addToolApprovalResponse).
      emit({ type: 'start', messageId: answer.messageId, messageMetadata: { sessionId } });
      await runAnsweredCalls(input.resume, answer, { tools: input.tools, signal: abort.signal, emit });
      history = [...history, answer.message()];
    }
    if (input.continuation) await input.continuation.settle(emitOne, abort.signal);
    // A continuation shows the model the answer so far and asks it to go on from there.
    const prompt = input.continuation ? continuationPrompt(SYSTEM_PROMPT, history, answer.message()) : { system: SYSTEM_PROMPT, history };
    const fitted = await fitToContextWindow(deps.contextWindow, {
      history: modelViewOf(prompt.history),
      tools: input.tools,
      summary: input.summary,
      saveSummary: input.saveSummary,
      onUsage: (entry) => usage.push(entry),
      signal: abort.signal,
    });
    promptEstimate = fitted.tokens + Math.ceil(SYSTEM_PROMPT.length / 4);
    // From here the lease renewals save what the run spends (a run closed before the first renewal
    // is charged an estimate from the stored history).
    calls.calling = true;
    progressKnown = true;

    if (!input.resume && !input.continuation?.answer) emit({ type: 'start', messageId: answer.messageId, messageMetadata: { sessionId } });
    finishReason = await generate({
      model: deps.models.chat,
      system: prompt.system,
      messages: fitted.messages,
      tools: input.tools,
      maxSteps: deps.maxToolSteps,
      maxRetries: deps.maxRetries,
      signal: abort.signal,
      emit,
      onResponse: () => {
        responded = true;
      },
      needsApproval: input.needsApproval,
      onApprovalRequests: (requests) => {
        asked = requests;
      },
      onStep: (step) => {
        usage.push(stepUsage(step, deps.models.chatModelId, promptEstimate, 'chat'));
        calls.calling = false;
        // An upstream stream that simply ends (a connection reset after the first byte) yields a step
        // with no finish reason of its own: that answer is truncated, and must be reported as such.
        if (!step.reasonGiven) brokenStep = true;
      },
    });
  } catch (error) {
    for (const chunk of answer.closingChunks()) emit(chunk);
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
    input.handOffSignal?.removeEventListener('abort', handOff);
    unsubscribeStop();
  }

  if (handedOff || leaseLost) {
    // Another instance continues (or has closed) this run: it writes the log and stores the answer.
    // What this one spent goes with the run's progress, and is charged once, by whoever ends it.
    await appends.settled();
    // A Redis restart must not make this instance write its older copy of the log over the new owner's.
    deps.eventLog.disown(runId);
    if (handedOff) {
      await input
        .handOff?.(progress())
        .catch((error: unknown) =>
          log.warn({ err: errorSummary(error) }, 'releasing a handed-off run failed; it is taken over when its lease expires'),
        );
    }
    // A hand-on is not a failure: it is not counted as an interrupted run (this process is stopping).
    if (leaseLost) deps.onEnded?.('interrupted', runId);
    log.info({ from: 'running', to: handedOff ? 'handed off' : 'lease lost', upstreamCalls: usage.length }, 'run left to another instance');
    return 'interrupted';
  }

  // Whatever cut the answer short, its open text parts end before the closing events.
  for (const chunk of answer.closingChunks()) emit(chunk);

  if (!stopRequested && !sawError && brokenStep) {
    sawError = true;
    failure = 'broken';
    emit({ type: 'error', errorText: 'The connection to the model provider ended before the answer was complete. Please try again.' });
  }

  if (asked && !stopRequested && !leaseLost && !sawError && deps.pause) {
    const paused = await pauseRun(deps, log, {
      runId,
      sessionId,
      userId,
      answer: { ...answer.message({ waiting: true }), metadata: { sessionId, usage: totalsOf(usage, priorUsage) } },
      usage,
      requests: asked,
    });
    if (paused) {
      // Durable before it is said: a client that sees this `finish` finds the request after a reload.
      emit({
        type: 'finish',
        finishReason: 'tool-calls',
        messageMetadata: { sessionId, usage: totalsOf(usage, priorUsage), awaitingApproval: true },
      });
      await appends.settled();
      await deps.eventLog.end(logId).catch((error: unknown) => log.error({ err: errorSummary(error) }, 'closing the event log failed'));
      log.info(
        { from: 'running', to: 'awaiting-approval', approvals: asked.length, upstreamCalls: usage.length },
        'run waits for tool approval',
      );
      return 'awaiting-approval';
    }
    sawError = true;
    failure = 'approval not saved';
    emit({
      type: 'error',
      errorText: 'The answer needs your approval to use a tool, but the request could not be saved. Please try again.',
    });
  }

  // A call cut short reports no usage; estimate it so that budgets still count it. A failure before any
  // response (the provider unreachable, or refusing the request) was not billed, so costs nothing;
  // a stop may have reached the provider, so it is charged.
  if (answer.unaccountedChars > 0 || (usage.length === 0 && (stopRequested || leaseLost || (sawError && responded)))) {
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

  const { outcome, reason } = decideRunOutcome({ stopRequested, leaseLost, sawError, failure });

  const continued = input.continuation ? { continuations: input.continuation.count } : {};
  const record: EndRecord = {
    runId,
    sessionId,
    userId,
    status: outcome,
    reason,
    message: { ...answer.message(), metadata: { sessionId, usage: totalsOf(usage, priorUsage), ...continued } },
    usage,
    endedAt: new Date().toISOString(),
  };
  // Stored now, or kept durably (Redis or the local journal) and stored when the database answers.
  const saved = await deps.settler.save(record);
  if (saved === 'pending') emit({ type: SAVE_PENDING_CHUNK, data: { message: SAVE_PENDING_MESSAGE }, transient: true });
  const pending = saved === 'pending' ? { savePending: SAVE_PENDING_MESSAGE } : {};

  // The closing event goes out only after the answer is stored — or kept where it survives this
  // process and the outage — so a client that sees it never loses the answer.
  if (outcome === 'stopped' || outcome === 'interrupted') {
    emit({ type: 'abort' });
  } else {
    emit({
      type: 'finish',
      ...(outcome === 'finished' && finishReason ? { finishReason } : {}),
      messageMetadata: { sessionId, usage: totalsOf(usage, priorUsage), ...continued, ...pending },
    });
  }
  await appends.settled();
  await deps.eventLog.end(logId).catch((error: unknown) => log.error({ err: errorSummary(error) }, 'closing the event log failed'));

  deps.onEnded?.(outcome, runId);
  log.info({ from: 'running', to: outcome, reason, upstreamCalls: usage.length, saved }, 'run ended');
  return outcome;
}

/** The tokens of a run's chat calls; `before`: what it spent before it paused for approvals. */
export function totalsOf(usage: NewUsage[], before?: TokenUsage): TokenUsage {
  const chat = usage.filter((entry) => entry.kind === 'chat');
  const totals: TokenUsage = {
    promptTokens: before?.promptTokens ?? 0,
    completionTokens: before?.completionTokens ?? 0,
    totalTokens: before?.totalTokens ?? 0,
  };
  let cost: number | undefined = before?.costUsd;
  for (const entry of chat) {
    totals.promptTokens += entry.promptTokens;
    totals.completionTokens += entry.completionTokens;
    totals.totalTokens += entry.totalTokens;
    if (entry.costUsd !== undefined) cost = (cost ?? 0) + entry.costUsd;
  }
  return cost === undefined ? totals : { ...totals, costUsd: cost };
}
