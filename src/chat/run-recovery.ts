/**
 * Recovery of runs whose owner is gone: the sweeper (every RUN_LEASE_MS / 2: expired tool approvals,
 * runs whose lease expired, agent executions), closing such a run — from its kept end record, by
 * continuing it here (run-takeover.ts), or as interrupted with the answer rebuilt from the shared
 * event log or its checkpoint — and ending a running run before its session is deleted.
 */
import { randomUUID } from 'node:crypto';
import { errorSummary } from '../logger.js';
import { outageOf } from '../service-outage.js';
import type { ExpiredRun } from '../store/runs-repository.js';
import { interruptedRunUsage } from '../usage/interrupted-run-usage.js';
import type { ActiveRuns } from './active-runs.js';
import { AnswerBuilder } from './answer-builder.js';
import { RunStateError } from './run-state.js';
import type { RunTakeover } from './run-takeover.js';
import { totalsOf } from './run.js';
import type { ServiceWiring } from './service-wiring.js';
import { type ApprovalDesk, logIdOf } from './tool-approvals.js';
import type { ChatMessage } from './types.js';

/** How long deleting a running session waits for the run's owner, on another instance, to stop and store it. */
const STOP_WAIT_MS = 5000;

export type RunRecovery = ReturnType<typeof createRunRecovery>;

export function createRunRecovery(deps: { wiring: ServiceWiring; active: ActiveRuns; desk: ApprovalDesk; takeover: RunTakeover }) {
  const { wiring, active, desk, takeover } = deps;
  const { log, owner, events, runs, eventLog, settler, presence, takeovers, models, executions } = wiring;
  let sweeper: NodeJS.Timeout | undefined;

  /**
   * Closes runs whose owner stopped renewing its lease (its process died, or lost the database for
   * longer than the lease). A run whose end record is kept (it ended while the database was away) is
   * stored from that record, as it ended; any other is closed as interrupted with the partial answer
   * (from the shared event log, or the last checkpoint) and charged for every call it made.
   */
  async function recoverInterruptedRuns(): Promise<number> {
    let recovered = 0;
    const expired = await runs.expired();
    // The database answers: whatever waits to be stored can be stored now.
    settler.retryNow();
    for (const run of expired) {
      if (active.has(run.runId)) continue;
      // Its owner is alive — the lease ran out while the database was away — and renews or ends it.
      // …unless it handed the run on as it stopped (released it), for another instance to continue.
      if (run.owner !== owner && (await presence.alive(run.owner)) && !(await takeovers.released(run.runId))) continue;
      try {
        if ((await closeOwnerlessRun(run, 'owner stopped responding', true)) !== 'ended-elsewhere') recovered++;
      } catch (error) {
        if (outageOf(error)) throw error; // the database went away: the next sweep tries again
        // One run that cannot be closed (e.g. its checkpoint is sealed with a key that is not
        // configured) must not hold up the others; it stays running, and is tried at every sweep.
        log.error(
          { runId: run.runId, sessionId: run.sessionId, err: errorSummary(error) },
          'closing an interrupted run failed; it is tried again at the next sweep',
        );
      }
    }
    return recovered;
  }

  /**
   * Ends a running run on behalf of its owner: from its kept end record if there is one, else as
   * interrupted with what is known. Exactly one party ends a run, so racing the owner or another
   * instance is safe. Throws while the database is away.
   */
  async function closeOwnerlessRun(
    run: ExpiredRun,
    reason: string,
    mayContinue = false,
  ): Promise<'stored' | 'interrupted' | 'continued' | 'ended-elsewhere'> {
    const record = await settler.find(run.runId);
    if (record) {
      const result = await settler.settle(record);
      if (result === 'stored')
        log.info({ runId: run.runId, sessionId: run.sessionId, to: record.status }, 'run stored from its kept end record');
      return result;
    }
    // Rather than cut the answer, continue it here (when possible: see run-takeover.ts).
    if (mayContinue && !active.closing) {
      const taken = await takeover.tryContinue(run);
      if (taken === 'continued') return 'continued';
      if (taken === 'taken') return 'ended-elsewhere';
    }
    const logId = logIdOf(run.runId, run.resumes ?? 0);
    const rebuilt = await rebuildFromLog(logId, run.resumes ? () => runs.checkpoint(run.runId) : undefined);
    const partial =
      rebuilt?.message() ??
      (await runs.checkpoint(run.runId).catch((error: unknown) => {
        if (outageOf(error)) throw error;
        // Not dropped: closing the run without it would lose the partial answer for good.
        throw Object.assign(new Error('The partial answer checkpointed with the run cannot be read.', { cause: error }), {
          code: 'checkpoint_unreadable',
        });
      }));
    // Without a shared log or saved progress, what the checkpoint holds is what the call in flight wrote.
    const checkpointChars = partial?.parts.reduce((sum, part) => sum + (part.type === 'text' ? part.text.length : 0), 0);
    const usage = interruptedRunUsage({
      progress: run.progress,
      inFlightChars: rebuilt?.unaccountedChars ?? (run.progress ? undefined : checkpointChars),
      model: models.chatModelId,
      fallbackPromptTokens: run.progress ? 0 : await runs.promptEstimate(run.sessionId),
    });
    const message = partial && { ...partial, metadata: { sessionId: run.sessionId, usage: totalsOf(usage) } };
    try {
      await runs.end(run.runId, run.sessionId, run.userId, { status: 'interrupted', reason, message, usage });
    } catch (error) {
      if (RunStateError.isInstance(error)) return 'ended-elsewhere'; // its owner or another instance closed it first
      throw error;
    }
    events.tokensUsed?.(usage);
    log.warn(
      { runId: run.runId, sessionId: run.sessionId, from: 'running', to: 'interrupted', reason, upstreamCalls: usage.length },
      'run interrupted',
    );
    if (await eventLog.exists(logId)) {
      await eventLog.append(logId, {
        type: 'error',
        errorText: 'The server generating this answer stopped unexpectedly. What was written so far has been saved; please try again.',
      });
      await eventLog.append(logId, { type: 'finish', messageMetadata: { sessionId: run.sessionId } });
      await eventLog.end(logId);
    }
    events.runEnded?.('interrupted');
    return 'interrupted';
  }

  /** The answer as the shared event log has it (every chunk), or undefined without one. */
  async function rebuildFromLog(runId: string, pausedAnswer?: () => Promise<ChatMessage | undefined>): Promise<AnswerBuilder | undefined> {
    if (eventLog.kind === 'memory' || !(await eventLog.exists(runId))) return undefined;
    // A run resumed after tool approvals goes on from the answer it paused with (kept with the run).
    const paused = await pausedAnswer?.();
    const reader = new AbortController();
    const timer = setTimeout(() => reader.abort(), 2000);
    let builder: AnswerBuilder | undefined;
    try {
      for await (const chunk of eventLog.read(runId, reader.signal)) {
        if (chunk.type === 'start')
          builder = paused ? AnswerBuilder.continuing(paused) : new AnswerBuilder(chunk.messageId ?? randomUUID());
        builder?.apply(chunk);
      }
    } finally {
      clearTimeout(timer);
    }
    return builder;
  }

  /**
   * Before a running session is deleted, its run is ended — stopped by its owner, wherever it runs,
   * or closed here if the owner does not answer — so that the answer's usage is recorded (usage rows
   * outlive the session; budgets stay honest).
   */
  async function endRunBeforeDelete(runId: string): Promise<void> {
    if (await desk.endWaiting(runId, 'session deleted')) return;
    const local = active.get(runId);
    if (local) {
      local.controller.abort();
      await local.done.catch(() => undefined);
    } else if (!settler.has(runId) && !(await settler.find(runId))) {
      await eventLog.requestStop(runId);
      // The owner ends the log after it stored the run: reading to the end waits for exactly that.
      const reader = new AbortController();
      const timer = setTimeout(() => reader.abort(), STOP_WAIT_MS);
      try {
        for await (const _event of eventLog.read(runId, reader.signal)) {
          // drained
        }
      } catch {
        // the log could not be read: the run is closed below if it is still running
      } finally {
        clearTimeout(timer);
      }
    }
    const still = await runs.running(runId);
    if (still) await closeOwnerlessRun(still, 'session deleted');
  }

  /**
   * Takes over the answers an earlier process kept (so that the sweep stores them as they ended
   * rather than as interrupted), starts the sweeper, and recovers once now. A failure here is not
   * fatal: the sweeper tries again every RUN_LEASE_MS / 2. But never silent.
   */
  async function start(): Promise<void> {
    settler.adopt(wiring.leftBehind);
    sweeper = setInterval(
      () => {
        desk
          .sweepExpired()
          .catch((error: unknown) =>
            log.warn({ err: errorSummary(error) }, 'ending expired tool approvals failed; the next sweep tries again'),
          );
        recoverInterruptedRuns().catch((error: unknown) => {
          const service = outageOf(error);
          if (service)
            log.warn({ err: errorSummary(error), service }, 'recovering interrupted runs failed: a backing service is not answering');
          else log.error({ err: errorSummary(error) }, 'recovering interrupted runs failed');
        });
        // Agent executions are swept in the same tick (src/executions/execution-service.ts).
        executions.recover().catch((error: unknown) => {
          log.warn({ err: errorSummary(error), service: outageOf(error) }, 'recovering interrupted executions failed');
        });
      },
      Math.max(250, Math.floor(wiring.config.runLeaseMs / 2)),
    );
    sweeper.unref();
    try {
      await recoverInterruptedRuns();
    } catch (error) {
      log.error(
        { err: errorSummary(error), service: outageOf(error) },
        'recovering interrupted runs at start failed; the sweeper will retry',
      );
    }
    try {
      await executions.recover();
    } catch (error) {
      log.error(
        { err: errorSummary(error), service: outageOf(error) },
        'recovering interrupted executions at start failed; the sweeper will retry',
      );
    }
  }

  return {
    recoverInterruptedRuns,
    endRunBeforeDelete,
    start,
    /** Stops the sweeper (at shutdown). */
    stop: () => clearInterval(sweeper),
  };
}
