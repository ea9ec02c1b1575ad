/**
 * The calls on a user's sessions: create, open, read, list, save (upsert), delete, branches, feedback,
 * tool-approval answers, the active run (find it, stop it), and a user's usage, export and erasure.
 * Every call checks that the user owns the session (another user's is `not_found`).
 */
import { randomUUID } from 'node:crypto';
import { ChatError, notFound } from '../errors.js';
import type { Feedback, FeedbackRating } from '../store/feedback-repository.js';
import { ApprovalsRepository } from '../store/approvals-repository.js';
import { ExecutionsRepository } from '../store/executions-repository.js';
import type { SessionCursor } from '../store/sessions-repository.js';
import { userExportJson } from '../store/user-export.js';
import { type BudgetStatus, startOfUtcWeek } from '../usage/token-budget.js';
import type { ActiveRuns } from './active-runs.js';
import type { RunRecovery } from './run-recovery.js';
import type { ServiceWiring } from './service-wiring.js';
import { isUuid, ownedSession } from './session-owner.js';
import { type ApprovalDesk, logIdOf } from './tool-approvals.js';
import type { ChatSession, SessionMessage } from './types.js';
import { userIdProblem } from './user-id.js';

export type SessionApi = ReturnType<typeof createSessionApi>;

export function createSessionApi(deps: { wiring: ServiceWiring; active: ActiveRuns; desk: ApprovalDesk; recovery: RunRecovery }) {
  const { wiring, active, desk, recovery } = deps;
  const { database, cipher, events, sessions, backgroundSessions, runs, feedback, agents, eventLog, budget, rateLimiter, executions } =
    wiring;
  const owned = (sessionId: string, userId?: string) => ownedSession(sessions, sessionId, userId);

  async function getChatSession(sessionId: string, userId?: string): Promise<ChatSession | null> {
    if (!isUuid(sessionId)) return null;
    const [session, given] = await Promise.all([sessions.load(sessionId), feedback.ofSession(sessionId)]);
    if (!session || (userId !== undefined && session.userId !== userId)) return null;
    for (const message of session.messages) {
      const entry = given.get(message.id);
      if (entry) message.metadata = { ...message.metadata, feedback: entry };
    }
    // An answer waiting for tool approvals is shown as it stands, with what it asks.
    const waiting = session.status === 'running' ? await desk.waiting(sessionId) : undefined;
    if (waiting) {
      session.messages.push(waiting.answer);
      session.pendingApprovals = waiting.pending;
    }
    return session;
  }

  /** The active run of a session the user owns, or null. */
  async function activeRunId(sessionId: string, userId: string): Promise<string | null> {
    const row = await owned(sessionId, userId);
    return row.status === 'running' ? row.activeRunId : null;
  }

  return {
    async createChatSession(userId: string): Promise<ChatSession> {
      const problem = userIdProblem(userId);
      if (problem) throw new ChatError('invalid_request', `The user id cannot name a user: ${problem}.`);
      const summary = await sessions.create(randomUUID(), userId);
      return { ...summary, messages: [], usage: [] };
    },

    getChatSession,

    /** Every message of the user's session on every branch, in the order stored, each with its parent. */
    async allMessages(sessionId: string, userId: string): Promise<SessionMessage[]> {
      await owned(sessionId, userId);
      return sessions.messages(sessionId);
    },

    /**
     * The user's session with this id, created (empty) if no session has it. Returns true when it was
     * created now. Throws `not_found` when the id is another user's session.
     */
    async openChatSession(sessionId: string, userId: string): Promise<boolean> {
      if (!isUuid(sessionId)) throw notFound();
      const created = await sessions.createIfAbsent(sessionId, userId);
      if (!created) await owned(sessionId, userId);
      return created;
    },

    async listChatSessions(userId: string, page: { limit?: number; cursor?: SessionCursor } = {}) {
      const limit = Math.min(Math.max(page.limit ?? 20, 1), 100);
      return sessions.list(userId, limit, page.cursor);
    },

    async deleteChatSession(sessionId: string, userId: string): Promise<void> {
      const row = await owned(sessionId, userId);
      if (row.status === 'running' && row.activeRunId) {
        await recovery.endRunBeforeDelete(row.activeRunId);
        await eventLog.forget([row.activeRunId]);
      }
      await sessions.delete(sessionId);
    },

    /**
     * Records the session owner's feedback on one of its answers (replacing any earlier feedback).
     * Throws `not_found` for another user's session or a message that is not an answer in it.
     */
    async setFeedback(
      sessionId: string,
      userId: string,
      messageId: string,
      given: { rating: FeedbackRating; comment?: string },
    ): Promise<Feedback> {
      await owned(sessionId, userId);
      const stored = await feedback.set(sessionId, userId, messageId, given.rating, given.comment?.trim() || undefined);
      if (!stored) throw notFound('Answer');
      events.feedbackGiven?.(given.rating);
      return stored;
    },

    /** Withdraws feedback; false when there was none. */
    async clearFeedback(sessionId: string, userId: string, messageId: string): Promise<boolean> {
      await owned(sessionId, userId);
      return feedback.clear(sessionId, messageId);
    },

    /**
     * Saves a session object: creates it if new, sets its title, and appends the messages and usage
     * entries it has beyond what is stored. Stored history is never rewritten.
     */
    async upsertChatSession(session: ChatSession): Promise<ChatSession> {
      if (!session || !isUuid(session.sessionId) || typeof session.userId !== 'string' || !session.userId) {
        throw new ChatError('invalid_request', 'A session needs a sessionId (UUID) and a userId.');
      }
      const existing = await sessions.findRow(session.sessionId);
      if (existing && existing.userId !== session.userId) throw notFound();
      if (!existing) await sessions.create(session.sessionId, session.userId, session.title ?? null);
      else if (session.title && session.title !== sessions.toSummary(existing).title)
        await sessions.setTitle(session.sessionId, session.title);
      const storedIds = await sessions.messageIds(session.sessionId);
      for (const message of session.messages ?? []) {
        if (!storedIds.has(message.id)) await sessions.append(session.sessionId, message);
      }
      const storedUsage = existing ? (await sessions.usage(session.sessionId)).length : 0;
      const newUsage = (session.usage ?? []).slice(storedUsage);
      if (newUsage.length > 0) {
        await sessions.addUsage(
          session.userId,
          session.sessionId,
          newUsage.map((entry) => ({ ...entry, kind: entry.kind ?? 'chat' })),
        );
      }
      return (await getChatSession(session.sessionId))!;
    },

    /**
     * Makes the latest leaf under `messageId` the session's active leaf (flips to that version of the
     * conversation) and returns the session as it now reads. `not_found` for another user's session
     * or a message not in it; `run_in_progress` while an answer is being generated.
     */
    async switchBranch(sessionId: string, userId: string, messageId: string): Promise<ChatSession> {
      if (!isUuid(sessionId)) throw notFound();
      const outcome = await sessions.switchLeaf(sessionId, userId, messageId);
      if (outcome === 'no_session') throw notFound();
      if (outcome === 'no_message') throw notFound('Message');
      if (outcome === 'running') {
        throw new ChatError(
          'run_in_progress',
          'An answer is being generated in this chat. Wait for it, or stop it, before switching versions.',
          { retryAfterSeconds: 1 },
        );
      }
      return (await getChatSession(sessionId, userId))!;
    },

    activeRunId,

    /**
     * The event log of the session's active run as readers follow it (a resumed run writes a new one),
     * or null when nothing runs — also while the run waits for tool approvals.
     */
    async activeLogId(sessionId: string, userId: string): Promise<string | null> {
      const runId = await activeRunId(sessionId, userId);
      if (!runId) return null;
      const run = await runs.status(runId);
      if (run?.status !== 'running') return null;
      return logIdOf(runId, run.resumes);
    },

    /** Asks the session's active run to stop, wherever it runs. */
    async stopRun(sessionId: string, userId: string): Promise<boolean> {
      const runId = await activeRunId(sessionId, userId);
      if (!runId) return false;
      const local = active.get(runId);
      if (local) local.controller.abort();
      // A run waiting for tool approvals runs nowhere: it is ended here, its calls not run.
      else if (!(await desk.endWaiting(runId, 'stop requested'))) await eventLog.requestStop(runId);
      return true;
    },

    /**
     * Records the user's answer to a tool call waiting for approval; when it was the last one the run
     * waited for, the run resumes here and `resumed` names the event log to read.
     */
    async answerApproval(sessionId: string, userId: string, approvalId: string, answer: { approved: boolean; reason?: string }) {
      await owned(sessionId, userId);
      return desk.answer(sessionId, userId, approvalId, answer.approved, answer.reason);
    },

    /** The approvals a `useChat` body answers (`addToolApprovalResponse`); the resumed run's log, or undefined when it answers none. */
    answerApprovalsFromMessages: (sessionId: string, userId: string, messages: { role: string; parts: Record<string, unknown>[] }[]) =>
      desk.answerFromMessages(sessionId, userId, messages),

    usage: (userId: string): Promise<BudgetStatus> => budget.status(userId),

    /**
     * Every session, message, usage row, feedback and library entry of a user (GDPR access), as the
     * text of one JSON document in pieces, read in batches at the database's background priority.
     */
    exportUser(userId: string): AsyncGenerator<string> {
      return userExportJson(
        {
          db: database.background,
          sessions: backgroundSessions,
          agents,
          feedback,
          approvals: new ApprovalsRepository(database.background, cipher),
          executions: new ExecutionsRepository(database.background, cipher),
        },
        userId,
      );
    },

    /**
     * Erases every row and every shared-state entry of a user (GDPR erasure). What they spent in the
     * current budget week stays counted, under an anonymous subject (see usage-subject.ts).
     */
    async eraseUser(userId: string): Promise<void> {
      const runIds = await sessions.runIdsOfUser(userId);
      for (const runId of runIds) active.get(runId)?.controller.abort();
      await Promise.all(runIds.map((runId) => active.get(runId)?.done));
      await eventLog.forget(runIds);
      await rateLimiter.forget(userId);
      await executions.forgetUser(userId);
      wiring.forgetTools(userId);
      await sessions.eraseUser(userId, { subject: wiring.subjectOf(userId), since: startOfUtcWeek(new Date()) });
    },
  };
}
