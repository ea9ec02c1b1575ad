/**
 * The session and run state machine, enforced in the database so that every instance agrees:
 * a session is `idle` or `running` (with exactly one active run); a run goes from `running` to
 * `finished`, `failed`, `stopped` or `interrupted`, once. Each transition is one atomic statement or
 * transaction, so two instances can never both start a run on one session, nor both end one run.
 */
import { and, eq, lt, sql } from 'drizzle-orm';
import type { ChatMessage, RunOutcome, UsageEntry } from '../chat/types.js';
import { RunStateError } from '../chat/run-state.js';
import { ChatError, notFound } from '../errors.js';
import type { ContentCipher } from './content-cipher.js';
import type { Db } from './database.js';
import { chatRuns, chatSessions } from './schema.js';
import type { SessionsRepository } from './sessions-repository.js';

export type RunEnd = {
  status: RunOutcome;
  reason?: string;
  message?: ChatMessage;
  usage: NewUsage[];
};

export type NewUsage = Omit<UsageEntry, 'createdAt'> & { kind: NonNullable<UsageEntry['kind']> };

export type ExpiredRun = { runId: string; sessionId: string; userId: string };

export class RunsRepository {
  constructor(
    private readonly db: Db,
    private readonly sessions: SessionsRepository,
    private readonly cipher: ContentCipher,
  ) {}

  /**
   * idle → running. Stores the user's message in the same transaction, so a message is never stored
   * without a run that answers it, nor twice. Throws `run_in_progress` when a run is active.
   */
  async begin(input: {
    sessionId: string;
    userId: string;
    runId: string;
    owner: string;
    leaseMs: number;
    userMessage: ChatMessage;
  }): Promise<{ retry: boolean }> {
    const started = await this.db.transaction(async (tx) => {
      const claimed = await tx
        .update(chatSessions)
        .set({ status: 'running', activeRunId: input.runId })
        .where(and(eq(chatSessions.id, input.sessionId), eq(chatSessions.userId, input.userId), eq(chatSessions.status, 'idle')))
        .returning({ id: chatSessions.id });
      if (claimed.length === 0) return undefined;
      await tx.insert(chatRuns).values({
        id: input.runId,
        sessionId: input.sessionId,
        userId: input.userId,
        owner: input.owner,
        leaseExpiresAt: sql`now() + ${`${input.leaseMs} milliseconds`}::interval`,
      });
      const appended = await this.sessions.append(tx as unknown as Db, input.sessionId, input.userMessage, input.runId);
      // A message id that is already stored is a retry: allowed for this session's last user message
      // when it got no complete answer; it is answered again, not stored again.
      if (!appended && !(await this.sessions.isRetryable(tx as unknown as Db, input.sessionId, input.userMessage.id))) {
        throw new ChatError('invalid_request', 'This message id was already used. Send new messages with a new id.');
      }
      return { retry: !appended };
    });
    if (started) return started;
    const row = await this.sessions.findRow(input.sessionId);
    if (!row || row.userId !== input.userId) throw notFound();
    throw new ChatError('run_in_progress', 'An answer is already being generated in this chat. Wait for it, or stop it first.', {
      retryAfterSeconds: 1,
    });
  }

  /** Extends the owner's lease and saves the partial answer so far; false if the run has ended. */
  async renew(runId: string, owner: string, leaseMs: number, checkpoint?: ChatMessage): Promise<boolean> {
    const rows = await this.db
      .update(chatRuns)
      .set({
        leaseExpiresAt: sql`now() + ${`${leaseMs} milliseconds`}::interval`,
        ...(checkpoint ? { checkpoint: this.cipher.seal(JSON.stringify(checkpoint)) } : {}),
      })
      .where(and(eq(chatRuns.id, runId), eq(chatRuns.owner, owner), eq(chatRuns.status, 'running')))
      .returning({ id: chatRuns.id });
    return rows.length === 1;
  }

  /**
   * running → an outcome, storing the answer (partial or whole) and the usage rows in the same
   * transaction. Throws `RunStateError`, storing nothing, if the run is not running (it already
   * ended — e.g. another instance declared it interrupted after a lost lease).
   */
  async end(runId: string, sessionId: string, userId: string, end: RunEnd): Promise<void> {
    const ended = await this.db.transaction(async (tx) => {
      const ended = await tx
        .update(chatRuns)
        .set({ status: end.status, reason: end.reason ?? null, endedAt: sql`now()`, checkpoint: null })
        .where(and(eq(chatRuns.id, runId), eq(chatRuns.status, 'running')))
        .returning({ id: chatRuns.id });
      if (ended.length === 0) return false;
      if (end.message && end.message.parts.length > 0) {
        await this.sessions.append(tx as unknown as Db, sessionId, end.message, runId);
      }
      await this.sessions.addUsage(userId, sessionId, end.usage, tx as unknown as Db);
      await tx
        .update(chatSessions)
        .set({ status: 'idle', activeRunId: null, lastRunStatus: end.status, updatedAt: sql`now()` })
        .where(and(eq(chatSessions.id, sessionId), eq(chatSessions.activeRunId, runId)));
      return true;
    });
    if (!ended) {
      const current = await this.status(runId);
      throw new RunStateError(runId, current?.status ?? 'missing', end.status);
    }
  }

  /** Runs whose owner stopped renewing its lease: their process died or lost the database. */
  async expired(limit = 50): Promise<ExpiredRun[]> {
    const rows = await this.db
      .select({ runId: chatRuns.id, sessionId: chatRuns.sessionId, userId: chatRuns.userId })
      .from(chatRuns)
      .where(and(eq(chatRuns.status, 'running'), lt(chatRuns.leaseExpiresAt, sql`now()`)))
      .limit(limit);
    return rows;
  }

  async checkpoint(runId: string): Promise<ChatMessage | undefined> {
    const [row] = await this.db.select({ checkpoint: chatRuns.checkpoint }).from(chatRuns).where(eq(chatRuns.id, runId));
    return row?.checkpoint ? (JSON.parse(this.cipher.open(row.checkpoint)) as ChatMessage) : undefined;
  }

  async status(runId: string) {
    const [row] = await this.db
      .select({ status: chatRuns.status, reason: chatRuns.reason, owner: chatRuns.owner })
      .from(chatRuns)
      .where(eq(chatRuns.id, runId));
    return row;
  }
}
