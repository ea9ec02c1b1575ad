/**
 * Starts runs in this process: a run answering a new message or regenerating an answer (validated,
 * rate-limited, admitted by the budget, claimed in one statement), a run resumed after its tool
 * approvals were answered, and a run taken over from an instance that stopped. Each is registered in
 * `ActiveRuns` until it ends; a run whose code throws is ended as failed.
 */
import { randomUUID } from 'node:crypto';
import type { UIMessageChunk } from 'ai';
import { ChatError, notFound } from '../errors.js';
import { errorSummary } from '../logger.js';
import type { ResumedRun } from '../store/approvals-repository.js';
import type { BegunRun } from '../store/runs-repository.js';
import { COMPLETION_RESERVE_TOKENS } from '../usage/token-budget.js';
import type { ActiveRuns } from './active-runs.js';
import { runRefusalError } from './run-refusal-words.js';
import { RunRefusal } from './run-state.js';
import type { ContinuedRun } from './run-takeover.js';
import { executeRun, type RunDeps, SYSTEM_PROMPT } from './run.js';
import type { ServiceWiring } from './service-wiring.js';
import { isUuid, ownedSession } from './session-owner.js';
import { firstExchangeTitle, type SessionTitles } from './session-titles.js';
import type { StartingTurns } from './starting-turns.js';
import { logIdOf, resumptionOf } from './tool-approvals.js';
import type { ChatMessage, RunOutcome, RunResult } from './types.js';

/** A request for a run answering a new message. */
export type RunRequest = {
  userId: string;
  messageId?: string;
  /**
   * Where the new message goes in the session's tree: undefined continues the active path, null
   * starts a new first message, an id branches from that message (an edit). An id not in the
   * session is refused with `invalid_request`.
   */
  parentId?: string | null;
  /** The ids of the messages the client shows before the new one (a useChat body), oldest first. */
  shownIds?: string[];
};
type StartInput = RunRequest & { regenerate?: boolean };
export type StartedRun = { runId: string; sessionId: string; messageId: string };

export type StreamOptions = {
  userId?: string;
  signal?: AbortSignal;
  /** Where the message goes in the session's tree: see `RunRequest.parentId`. */
  parentId?: string | null;
};

export type RunStarts = ReturnType<typeof createRunStarts>;

export function createRunStarts(deps: {
  wiring: ServiceWiring;
  active: ActiveRuns;
  runDeps: RunDeps;
  titles: SessionTitles;
  turns: StartingTurns;
}) {
  const { wiring, active, runDeps, titles, turns } = deps;
  const { config, log, owner, events, sessions, runs, approvals, eventLog, settler, takeovers, budget, rateLimiter, needsApproval } =
    wiring;

  function validateMessage(message: unknown): string {
    if (typeof message !== 'string') throw new ChatError('invalid_request', 'The message must be a string of text.');
    if (message.trim().length === 0) throw new ChatError('invalid_request', 'The message is empty. Write something to send.');
    if (message.length > config.limits.maxMessageChars) {
      throw new ChatError(
        'payload_too_large',
        `The message is ${message.length.toLocaleString('en-US')} characters long; the limit is ${config.limits.maxMessageChars.toLocaleString('en-US')}.`,
      );
    }
    return message;
  }

  /**
   * Starts a run for a new user message: validates, checks limits and ownership, stores the message
   * and claims the session atomically, then generates in the background. Readers attach with `readRun`.
   */
  function startRun(sessionId: string, message: string, input: RunRequest): Promise<StartedRun> {
    return active.admit(() => startRunOnce(sessionId, message, input));
  }

  /**
   * Starts a run answering a stored user message again (regenerate): `messageId` names the answer
   * to replace (or the user message itself); without one, the answer at the session's active leaf.
   * The earlier answers stay stored as siblings of the new one.
   */
  function regenerateRun(sessionId: string, input: { userId: string; messageId?: string }): Promise<StartedRun> {
    return active.admit(() => startRunOnce(sessionId, undefined, { ...input, regenerate: true }));
  }

  async function startRunOnce(sessionId: string, message: string | undefined, input: StartInput): Promise<StartedRun> {
    // Every stream request counts against the rate limit, whatever becomes of it.
    await rateLimiter.take(input.userId);
    const text = input.regenerate ? '' : validateMessage(message);
    if (!isUuid(sessionId)) throw notFound();

    const runId = randomUUID();
    const answerId = randomUUID();
    const place = await placeOfRun(sessionId, input);
    const userMessage: ChatMessage = {
      id: place.questionId ?? (input.messageId && /^[\w-]{1,100}$/.test(input.messageId) ? input.messageId : randomUUID()),
      role: 'user',
      parts: [{ type: 'text', text }],
    };
    // The answer's reservation: the new message, the system prompt and a completion (the statement
    // adds its estimate of the stored history).
    const reserve = COMPLETION_RESERVE_TOKENS + Math.ceil((text.length + SYSTEM_PROMPT.length) / 4);
    const admission = budget.admission(input.userId, reserve, config.llm.contextWindowTokens);
    await eventLog.open(runId);
    let begun: BegunRun;
    try {
      // One statement: checks the budget and the owner, claims the session, reserves the answer's
      // estimate, stores the message, reads the history.
      begun = await runs.begin({
        sessionId,
        userId: input.userId,
        runId,
        owner,
        leaseMs: config.runLeaseMs,
        userMessage,
        admission,
        parentId: place.parentId,
        regenerate: input.regenerate,
      });
    } catch (error) {
      await eventLog.forget([runId]);
      if (RunRefusal.isInstance(error)) {
        const waiting = error.code === 'run_in_progress' && (await approvals.isWaiting(sessionId).catch(() => false));
        throw runRefusalError(error, waiting);
      }
      throw error;
    }
    const { retry } = begun;
    const userId = input.userId;
    const controller = new AbortController();
    const handOff = new AbortController();
    let done: Promise<RunResult>;
    try {
      // A retry answers the stored message afresh: the cut-short answers after it stay stored and
      // visible, but the model is not shown them.
      const history = retry ? begun.history.slice(0, begun.history.findIndex((entry) => entry.id === userMessage.id) + 1) : begun.history;
      const tools = wiring.toolsFor(userId);
      const title = firstExchangeTitle(titles, { sessionId, userId, title: begun.title, history });
      log.info({ runId, sessionId, userId, from: 'idle', to: 'running', retry }, 'run started');
      const answering = turns.begin();
      events.runStarted?.();
      done = executeRun(runDeps, {
        runId,
        sessionId,
        userId,
        messageId: answerId,
        history,
        tools,
        summary: begun.summary,
        saveSummary: (summary) => sessions.setSummary(sessionId, summary.text, summary.throughSeq, history[summary.throughSeq]?.id ?? null),
        stopSignal: controller.signal,
        needsApproval,
        handOffSignal: handOff.signal,
        handOff: async (progress) => void (await takeovers.release(runId, owner, progress)),
        onFirstOutput: (first) => {
          answering();
          title.onFirstOutput(first);
        },
      })
        .catch((error: unknown) => failUnexpectedly(runId, sessionId, userId, error))
        .then((outcome) => {
          title.onEnded(outcome, settler.has(runId));
          if (outcome === 'awaiting-approval') events.runPaused?.();
          return outcome;
        })
        .finally(() => {
          answering();
          active.delete(runId);
        });
    } catch (error) {
      // Nothing generates for this claim: undo it, so the failed request leaves no claimed session.
      await runs
        .abandon(runId, sessionId, retry ? undefined : userMessage.id)
        .catch((undo: unknown) =>
          log.error(
            { runId, sessionId, err: errorSummary(undo) },
            'undoing a failed start failed; the run is closed when its lease expires',
          ),
        );
      await eventLog.forget([runId]);
      throw error;
    }
    active.add(runId, { controller, done, handOff, continuations: 0 });
    return { runId, sessionId, messageId: answerId };
  }

  /**
   * Where a run's message goes in the session's tree: for a regenerate, the stored user message it
   * answers again; for a new message, its parent — as given, or the last of the messages the client
   * shows before it that is stored (so a client showing another branch, or an edited history,
   * branches where it diverged); undefined continues the active path.
   */
  async function placeOfRun(sessionId: string, input: StartInput): Promise<{ questionId?: string; parentId?: string | null }> {
    if (input.regenerate) {
      await ownedSession(sessions, sessionId, input.userId);
      const questionId = await sessions.questionOf(sessionId, input.messageId);
      if (!questionId) {
        throw new ChatError(
          'invalid_request',
          input.messageId
            ? 'That message is not an answer in this chat, so it cannot be regenerated.'
            : 'This chat has no answer to regenerate yet.',
        );
      }
      return { questionId };
    }
    if (input.parentId !== undefined || !input.shownIds?.length) return { parentId: input.parentId };
    const stored = await sessions.storedAmong(sessionId, input.shownIds);
    return { parentId: input.shownIds.findLast((id) => stored.has(id)) };
  }

  /**
   * Executes, here, a run claimed after its tool approvals were answered: the same answer goes on,
   * written to a new event log (returned) that readers of the session find.
   */
  async function launchResumed(resumed: ResumedRun): Promise<string> {
    const { runId, sessionId, userId } = resumed;
    const logId = logIdOf(runId, resumed.resumes);
    await eventLog.open(logId);
    const [row, history] = await Promise.all([sessions.findRow(sessionId), sessions.activePath(sessionId)]);
    const controller = new AbortController();
    const handOff = new AbortController();
    events.runStarted?.();
    const done = executeRun(runDeps, {
      runId,
      sessionId,
      userId,
      messageId: resumed.answer.id,
      history,
      tools: wiring.toolsFor(userId),
      summary: row ? sessions.readSummary(row) : undefined,
      saveSummary: (summary) => sessions.setSummary(sessionId, summary.text, summary.throughSeq, history[summary.throughSeq]?.id ?? null),
      stopSignal: controller.signal,
      needsApproval,
      resume: resumptionOf(resumed),
      logId,
      handOffSignal: handOff.signal,
      handOff: async (progress) => void (await takeovers.release(runId, owner, progress)),
    })
      .catch((error: unknown) => failUnexpectedly(runId, sessionId, userId, error, logId))
      .then((outcome) => {
        if (outcome === 'awaiting-approval') events.runPaused?.();
        return outcome;
      })
      .finally(() => active.delete(runId));
    active.add(runId, { controller, done, handOff, continuations: 0 });
    return logId;
  }

  /** Generates the rest of an answer another instance began (see run-takeover.ts). */
  function launchContinuation(run: ContinuedRun): void {
    // The first answer of a chat names it; its first owner may have died before the title was made.
    const title = firstExchangeTitle(titles, run);
    const controller = new AbortController();
    const handOff = new AbortController();
    events.runStarted?.();
    events.runContinued?.();
    const done = executeRun(runDeps, {
      ...run,
      saveSummary: (summary) =>
        sessions.setSummary(run.sessionId, summary.text, summary.throughSeq, run.history[summary.throughSeq]?.id ?? null),
      stopSignal: controller.signal,
      needsApproval,
      handOffSignal: handOff.signal,
      handOff: async (progress) => void (await takeovers.release(run.runId, owner, progress)),
    })
      .catch((error: unknown) => failUnexpectedly(run.runId, run.sessionId, run.userId, error, run.logId))
      .then((outcome) => {
        title.onEnded(outcome, settler.has(run.runId));
        return outcome;
      })
      .finally(() => active.delete(run.runId));
    active.add(run.runId, { controller, done, handOff, continuations: run.continuation.count });
  }

  /**
   * A run whose code threw instead of ending (it never should): it is ended as failed, so its session
   * is freed at once rather than when its lease expires, and its readers get an error and the end.
   */
  async function failUnexpectedly(runId: string, sessionId: string, userId: string, error: unknown, logId = runId): Promise<RunOutcome> {
    log.error({ runId, sessionId, err: errorSummary(error) }, 'run failed unexpectedly');
    await runs.end(runId, sessionId, userId, { status: 'failed', reason: 'internal', usage: [] }).catch(() => undefined);
    await eventLog
      .append(logId, { type: 'error', errorText: 'Something went wrong while generating this answer. Please try again.' })
      .catch(() => undefined);
    await eventLog.append(logId, { type: 'finish', messageMetadata: { sessionId } }).catch(() => undefined);
    await eventLog.end(logId).catch(() => undefined);
    events.runEnded?.('failed');
    return 'failed';
  }

  /**
   * Streams the answer to `message` as UI-stream events. Breaking out of the loop, or aborting
   * `signal`, stops the run: the upstream request is aborted and the partial answer stored.
   */
  async function* streamChatCompletion(sessionId: string, message: string, options: StreamOptions = {}): AsyncGenerator<UIMessageChunk> {
    const userId = options.userId ?? (await ownedSession(sessions, sessionId)).userId;
    const run = await startRun(sessionId, message, { userId, parentId: options.parentId });
    const stop = () => active.get(run.runId)?.controller.abort();
    if (options.signal?.aborted) stop();
    options.signal?.addEventListener('abort', stop, { once: true });
    let ended = false;
    try {
      for await (const event of eventLog.read(run.runId)) {
        if (event.type === 'finish' || event.type === 'abort') ended = true;
        yield event;
      }
    } finally {
      options.signal?.removeEventListener('abort', stop);
      if (!ended) stop();
      await active.get(run.runId)?.done;
    }
  }

  return { startRun, regenerateRun, launchResumed, launchContinuation, streamChatCompletion };
}
