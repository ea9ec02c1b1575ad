/**
 * Takes over a run whose owner is gone (killed: its lease expired) or left it (stopping, out of
 * grace: it released it), and has it continued here rather than closed as interrupted — when that
 * is possible: a shared event log (Redis) to continue, a real model to ask, the run continued fewer
 * than RUN_CONTINUE_MAX times, and its session still there. The claim is one conditional statement
 * (store/run-takeover.ts), so exactly one instance continues a run.
 */
import { randomUUID } from 'node:crypto';
import type { ToolSet } from 'ai';
import type { Logger } from 'pino';
import type { ExpiredRun, RunsRepository } from '../store/runs-repository.js';
import type { RunTakeovers } from '../store/run-takeover.js';
import type { SessionsRepository } from '../store/sessions-repository.js';
import type { RunEventLog } from '../streams/run-event-log.js';
import { interruptedRunUsage } from '../usage/interrupted-run-usage.js';
import type { StoredSummary } from './context-window.js';
import { createContinuation, LoggedAnswer, type RunContinuation } from './run-continuation.js';
import { logIdOf } from './tool-approvals.js';
import type { ChatMessage } from './types.js';

/** `continued`: it goes on here. `taken`: another instance took it first. `no`: close it as interrupted. */
export type TakeoverResult = 'continued' | 'taken' | 'no';

export type ContinuedRun = {
  runId: string;
  sessionId: string;
  userId: string;
  messageId: string;
  history: ChatMessage[];
  tools: ToolSet;
  summary?: StoredSummary;
  continuation: RunContinuation;
  /** The event log of the run's current part (a run that went on after tool approvals writes a new one per resume). */
  logId: string;
  /** The chat's title as stored (null until it has one): the first answer of a chat names it, wherever it ends. */
  title: string | null;
};

export type RunTakeoverDeps = {
  takeovers: RunTakeovers;
  runs: Pick<RunsRepository, 'running' | 'promptEstimate' | 'checkpoint'>;
  sessions: Pick<SessionsRepository, 'findRow' | 'activePath' | 'readSummary'>;
  eventLog: RunEventLog;
  owner: string;
  leaseMs: number;
  maxContinuations: number;
  /** False with the offline demo model: there is nothing to ask again. */
  modelAvailable: boolean;
  chatModelId: string;
  toolsFor: (userId: string) => ToolSet;
  /** Starts generating the continuation in this process. */
  launch: (run: ContinuedRun) => void;
  log: Logger;
};

export type RunTakeover = {
  /** Whether runs can be continued at all with this configuration. */
  readonly possible: boolean;
  tryContinue(run: ExpiredRun): Promise<TakeoverResult>;
};

export function createRunTakeover(deps: RunTakeoverDeps): RunTakeover {
  const possible = deps.eventLog.kind === 'redis' && deps.modelAvailable && deps.maxContinuations > 0;
  return {
    possible,
    async tryContinue(run) {
      if (!possible) return 'no';
      const claimed = await deps.takeovers.claim({
        runId: run.runId,
        previousOwner: run.owner,
        owner: deps.owner,
        leaseMs: deps.leaseMs,
        max: deps.maxContinuations,
      });
      if (!claimed) {
        // Another instance claimed it (its owner changed), or it was continued as often as allowed.
        const now = await deps.runs.running(run.runId);
        return !now || now.owner !== run.owner ? 'taken' : 'no';
      }
      // From here the run is ours (its lease renewed by the claim): continue it, or say it cannot be.
      // A run that went on after tool approvals: its current log holds what came after the pause,
      // and the answer it paused with is kept with the run (saved when it paused).
      const logId = logIdOf(run.runId, run.resumes ?? 0);
      const paused = run.resumes ? await deps.runs.checkpoint(run.runId) : undefined;
      const events = await deps.eventLog.adopt(logId);
      const row = await deps.sessions.findRow(run.sessionId);
      if (!events || !row || (run.resumes && !paused)) return 'no';
      const logged = new LoggedAnswer(paused);
      for (const event of events) logged.apply(event);
      // The model sees the active path, which ends with the question this run answers.
      const messages = await deps.sessions.activePath(run.sessionId);
      const lastUser = messages.findLastIndex((message) => message.role === 'user');
      if (lastUser < 0) return 'no';
      const usage = interruptedRunUsage({
        progress: claimed.progress,
        inFlightChars: logged.builder?.unaccountedChars,
        model: deps.chatModelId,
        fallbackPromptTokens: claimed.progress ? 0 : await deps.runs.promptEstimate(run.sessionId),
      });
      const tools = deps.toolsFor(run.userId);
      deps.log.warn(
        { runId: run.runId, sessionId: run.sessionId, userId: run.userId, previousOwner: run.owner, continuations: claimed.continuations },
        'continuing a run whose instance stopped',
      );
      deps.launch({
        runId: run.runId,
        sessionId: run.sessionId,
        userId: run.userId,
        messageId: logged.builder?.messageId ?? randomUUID(),
        // The answer continues the session's last user message; answers cut short before it (a
        // retried message) stay stored but are not shown to the model, as when the run began.
        history: messages.slice(0, lastUser + 1),
        tools,
        summary: deps.sessions.readSummary(row),
        continuation: createContinuation(logged, { count: claimed.continuations, usage, tools, priorUsage: paused?.metadata?.usage }),
        logId,
        title: row.title,
      });
      return 'continued';
    },
  };
}
