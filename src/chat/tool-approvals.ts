/**
 * Tool approvals as the run sees them: a run whose model calls a tool that needs approval pauses
 * (`awaiting-approval`, holding no process) after telling its readers with `tool-approval-request`;
 * the user's answers — from `useChat`'s `addToolApprovalResponse`, or from
 * `POST /api/chat/sessions/{id}/approvals/{approvalId}` — are rows, and once every asked-about call is
 * answered, the instance that takes the last answer resumes the run: approved calls run, denied ones
 * are shown to the model as denied, and the answer goes on as the same message. A request nobody
 * answers expires; the run then ends, its calls denied. See docs/architecture.md, "Tool approvals".
 */
import type { UIMessageChunk } from 'ai';
import type { Logger } from 'pino';
import { ChatError, notFound } from '../errors.js';
import type { ApprovalsRepository, ResumedRun, ToolApproval } from '../store/approvals-repository.js';
import type { RunsRepository } from '../store/runs-repository.js';
import { RunStateError } from './run-state.js';
import { AnswerBuilder } from './answer-builder.js';
import { executeToolCall, type GenerationInput } from './generation.js';
import type { RunDeps, RunPauseInput } from './run.js';
import type { ChatMessage, TokenUsage } from './types.js';

/** What a resumed run continues from. */
export type RunResumption = { answer: ChatMessage; approvals: ToolApproval[]; priorUsage?: TokenUsage };

type Part = ChatMessage['parts'][number];

/** How long a fully answered run may wait for the instance that took its last answer to resume it. */
const ORPHAN_GRACE_MS = 5000;

/** The event log of a run's current part: the run id, then one new log per resume. */
export const logIdOf = (runId: string, resumes: number) => (resumes === 0 ? runId : `${runId}.${resumes}`);

/** The resumption of a claimed run: its answer so far, the answers, and what it spent before. */
export function resumptionOf(resumed: ResumedRun): RunResumption {
  return { answer: resumed.answer, approvals: resumed.approvals, priorUsage: resumed.answer.metadata?.usage };
}

/** Runs the approved calls of a resumed run and reports the denied ones, as chunks of the same answer. */
export async function runAnsweredCalls(
  resume: RunResumption,
  answer: AnswerBuilder,
  input: Pick<GenerationInput, 'tools' | 'signal' | 'emit'>,
): Promise<void> {
  for (const approval of resume.approvals) {
    const { toolCallId, toolName } = approval;
    answer.answerApproval(toolCallId, { id: approval.approvalId, approved: approval.approved === true, reason: approval.reason });
    if (approval.approved === true) await executeToolCall(input, { toolCallId, toolName, input: approval.input });
    else input.emit({ type: 'tool-output-denied', toolCallId });
  }
}

/**
 * The history as the model is shown it: a denied call is a tool result saying so (with the user's
 * reason), approval bookkeeping is left out, and calls still waiting are not shown.
 */
export function modelViewOf(history: ChatMessage[]): ChatMessage[] {
  return history.map((message) => {
    if (!message.parts.some((part) => 'approval' in part || (part as { state?: string }).state === 'output-denied')) return message;
    const parts: Part[] = [];
    for (const part of message.parts) {
      if (!('toolCallId' in part)) {
        parts.push(part);
        continue;
      }
      const { approval, ...rest } = part as Part & { approval?: { reason?: string }; state?: string };
      if (rest.state === 'output-denied') {
        const reason = approval?.reason ? ` The user said: ${approval.reason}` : '';
        parts.push({
          ...rest,
          state: 'output-error',
          errorText: `The user did not allow this tool call, so it did not run.${reason}`,
        } as Part);
      } else if (rest.state === 'output-available' || rest.state === 'output-error') {
        parts.push(rest as Part);
      }
    }
    return { ...message, parts };
  });
}

/** Pauses through `deps.pause`; false (logged) when the pause could not be stored. */
export async function pauseRun(deps: RunDeps, log: Logger, pause: RunPauseInput): Promise<boolean> {
  try {
    return (await deps.pause?.(pause)) ?? false;
  } catch (error) {
    log.error({ err: { type: (error as Error)?.name } }, 'pausing the run for tool approval failed');
    return false;
  }
}

/** The answer of a run that ends without resuming: every call not run is shown as not run. */
export function endedAnswer(resumed: ResumedRun): ChatMessage {
  const answer = AnswerBuilder.continuing(resumed.answer);
  for (const approval of resumed.approvals) {
    answer.answerApproval(approval.toolCallId, { id: approval.approvalId, approved: approval.approved === true, reason: approval.reason });
    const chunk: UIMessageChunk =
      approval.approved === true
        ? { type: 'tool-output-error', toolCallId: approval.toolCallId, errorText: 'The answer ended before this tool call ran.' }
        : { type: 'tool-output-denied', toolCallId: approval.toolCallId };
    answer.apply(chunk);
  }
  return { ...answer.message(), metadata: resumed.answer.metadata };
}

/** The waiting part of a session, as GET session shows it. */
export type PendingApproval = Pick<ToolApproval, 'approvalId' | 'toolCallId' | 'toolName' | 'input' | 'expiresAt'> & { approved?: boolean };

export type ApprovalDesk = ReturnType<typeof createApprovalDesk>;

/**
 * The service's side of approvals: records answers, resumes a run once all its calls are answered
 * (through `launch`, which executes it on this instance), ends runs that wait in vain.
 */
export function createApprovalDesk(deps: {
  approvals: ApprovalsRepository;
  runs: RunsRepository;
  owner: string;
  leaseMs: number;
  log: Logger;
  /** Starts executing a claimed run here; returns the id of the event log it writes. */
  launch: (resumed: ResumedRun) => Promise<string>;
  onEnded?: (runId: string) => void;
}) {
  const { approvals, runs, log } = deps;

  /** Claims the run if every call is answered and resumes it here; its new log id, or undefined. */
  async function resumeIfAnswered(runId: string): Promise<string | undefined> {
    const resumed = await approvals.claim(runId, deps.owner, deps.leaseMs);
    if (!resumed) return undefined;
    log.info(
      { runId, sessionId: resumed.sessionId, from: 'awaiting-approval', to: 'running', resumes: resumed.resumes },
      'run resumed after tool approval',
    );
    return deps.launch(resumed);
  }

  return {
    /**
     * Records one answer. Returns the approval as stored and, when it was the last one wanted, the
     * log of the resumed run. A second answer to the same call changes nothing.
     */
    async answer(sessionId: string, userId: string, approvalId: string, approved: boolean, reason?: string) {
      const result = await approvals.answer({ approvalId, sessionId, userId, approved, reason });
      if (result.kind === 'missing') throw notFound('Approval');
      if (result.kind === 'settled') return { approval: result.approval, runId: result.runId, resumed: undefined };
      log.info({ runId: result.runId, sessionId, approved }, 'tool approval answered');
      const resumed = result.unanswered === 0 ? await resumeIfAnswered(result.runId) : undefined;
      return { approval: result.approval, runId: result.runId, resumed };
    },

    /**
     * The answers carried by a `useChat` request (`addToolApprovalResponse`): the tool parts in state
     * `approval-responded` of its assistant messages. Returns the log of the resumed run, or
     * undefined when the body carries no answer. Throws `invalid_request` when answers remain open.
     */
    async answerFromMessages(sessionId: string, userId: string, messages: { role: string; parts: Record<string, unknown>[] }[]) {
      const given = messages
        .filter((message) => message.role === 'assistant')
        .flatMap((message) => message.parts)
        .filter((part) => part.state === 'approval-responded' && typeof part.approval === 'object' && part.approval !== null)
        .map((part) => part.approval as { id?: unknown; approved?: unknown; reason?: unknown })
        .filter((approval) => typeof approval.id === 'string' && typeof approval.approved === 'boolean');
      if (given.length === 0) return undefined;
      let runId: string | undefined;
      for (const approval of given) {
        const reason = typeof approval.reason === 'string' ? approval.reason.slice(0, 2000) : undefined;
        const result = await approvals.answer({
          approvalId: approval.id as string,
          sessionId,
          userId,
          approved: approval.approved as boolean,
          reason,
        });
        if (result.kind !== 'missing') runId = result.runId;
      }
      if (!runId) throw notFound('Approval');
      const resumed = await resumeIfAnswered(runId);
      if (resumed) return resumed;
      const waiting = await approvals.waiting(sessionId);
      if (waiting?.runId === runId)
        throw new ChatError('invalid_request', 'Some tool calls of this answer still wait for your approval. Answer each of them.');
      throw new ChatError('run_in_progress', 'These tool calls were answered already, and the answer has moved on.', {
        retryAfterSeconds: 1,
      });
    },

    /**
     * Ends a waiting run without resuming it — stopped, expired or its session deleted — its calls
     * not run. False when the run does not wait (any more).
     */
    async endWaiting(runId: string, reason: string, status: 'stopped' | 'interrupted' = 'stopped'): Promise<boolean> {
      const resumed = await approvals.claim(runId, deps.owner, deps.leaseMs, reason);
      if (!resumed) return false;
      try {
        await runs.end(runId, resumed.sessionId, resumed.userId, { status, reason, message: endedAnswer(resumed), usage: [] });
      } catch (error) {
        if (RunStateError.isInstance(error)) return true;
        throw error;
      }
      log.info({ runId, sessionId: resumed.sessionId, from: 'awaiting-approval', to: status, reason }, 'waiting run ended');
      deps.onEnded?.(runId);
      return true;
    },

    /**
     * Ends the runs whose approvals expired unanswered, and resumes answered ones that the instance
     * taking their last answer did not (called by the sweeper).
     */
    async sweepExpired(): Promise<number> {
      for (const runId of await approvals.answeredButWaiting(ORPHAN_GRACE_MS)) await resumeIfAnswered(runId);
      let ended = 0;
      for (const runId of await approvals.expired()) {
        if (await this.endWaiting(runId, 'The approval request expired before it was answered.')) ended++;
      }
      return ended;
    },

    /** The answer waiting for approval in a session, with what it asks. */
    async waiting(sessionId: string): Promise<{ answer: ChatMessage; pending: PendingApproval[] } | undefined> {
      const found = await approvals.waiting(sessionId);
      if (!found) return undefined;
      const pending = found.approvals.map(({ approvalId, toolCallId, toolName, input, expiresAt, approved }) => ({
        approvalId,
        toolCallId,
        toolName,
        input,
        expiresAt,
        ...(approved === undefined ? {} : { approved }),
      }));
      return { answer: found.answer, pending };
    },
  };
}
