/**
 * The session and run state machine, enforced in the database so that every instance agrees:
 * a session is `idle` or `running` (with exactly one active run); a run goes from `running` to
 * `finished`, `failed`, `stopped` or `interrupted`, once. Each transition is one atomic statement, so
 * two instances can never both start a run on one session, nor both end one run.
 */
import { and, eq, lt, sql } from 'drizzle-orm';
import type { BudgetAdmission } from '../usage/token-budget.js';
import type { ContentCipher } from './content-cipher.js';
import { renewLeases, type LeaseRenewal } from './lease-renewal.js';
import { parseRunProgress, type RunProgress } from './run-progress.js';
import { queryRows, sqlStateOf, type Db } from './database.js';
import { MessageCodec } from './message-codec.js';
import type { ChatMessage, NewUsage, RunOutcome, StoredSummary } from './records.js';
import { RunRefusal, RunStateError } from './run-state-error.js';
import { chatRuns } from './schema.js';
import type { SessionsRepository } from './sessions-repository.js';
import { usageRecords } from './usage-rows.js';

export type RunEnd = {
  status: RunOutcome;
  reason?: string;
  message?: ChatMessage;
  usage: NewUsage[];
};

export type { NewUsage } from './records.js';

/** `p_parent` of `autochat_begin_run`: null continues the active path, '' starts a new first message. */
const parentParam = (parentId: string | null | undefined) => (parentId === undefined ? null : parentId === null ? '' : parentId);

/** What a run needs once its session is claimed and the user's message stored. */
export type BegunRun = {
  /** True when the message was already stored (a retried request): it is answered, not stored again. */
  retry: boolean;
  title: string | null;
  summary: StoredSummary | undefined;
  /** The session's messages in order, including the one to answer. */
  history: ChatMessage[];
};

type BeginInput = {
  sessionId: string;
  userId: string;
  runId: string;
  owner: string;
  leaseMs: number;
  userMessage: ChatMessage;
  /**
   * Where the new message goes in the session's tree: undefined continues the active path, null
   * starts a new first message, an id branches from that message (which must be in the session).
   */
  parentId?: string | null;
  /**
   * True to answer the stored user message `userMessage.id` again (regenerate): nothing is stored
   * now, the new answer becomes a sibling of the earlier ones.
   */
  regenerate?: boolean;
  /** The budget check that admits the run, in the same statement; none when no budget applies. */
  admission?: BudgetAdmission;
};

type BeginRow = {
  refused?: 'daily' | 'weekly' | null;
  daily_used?: string | null;
  weekly_used?: string | null;
  reserved?: string | null;
  stored: number;
  title: string | null;
  summary: string | null;
  summary_through_seq: number | null;
  summary_through_id: string | null;
  history: string;
};
type StoredMessageTuple = [id: string, role: ChatMessage['role'], parts: string, metadata: string | null, createdAt: string];

/** `resumes`: how many times the run went on after tool approvals (its current event log; migration 0012). */
export type ExpiredRun = { runId: string; sessionId: string; userId: string; owner: string; progress?: RunProgress; resumes?: number };

function refusalOf(row: Pick<BeginRow, 'refused' | 'daily_used' | 'weekly_used' | 'reserved'>) {
  return {
    window: row.refused!,
    dailyUsed: Number(row.daily_used ?? 0),
    weeklyUsed: Number(row.weekly_used ?? 0),
    reserved: Number(row.reserved ?? 0),
  };
}

export class RunsRepository {
  private readonly codec: MessageCodec;

  constructor(
    private readonly db: Db,
    private readonly sessions: SessionsRepository,
    private readonly cipher: ContentCipher,
  ) {
    this.codec = new MessageCodec(cipher);
  }

  /**
   * idle → running, in one statement (two for a retried message id): claims the session, records the run and stores the user's
   * message together, so a message is never stored without a run that answers it, nor twice. A
   * message id that is already stored is a retry, allowed for the session's last user message while
   * it has no complete answer; it is answered again, not stored again. Message ids are scoped to
   * their session (migration 0008): another session's ids, anyone's, neither collide nor show. Throws a
   * `RunRefusal` (`not_found`, `run_in_progress`, `message_id_used` for an id used earlier in this
   * session, `parent_missing`, `not_a_question`) that the service words for the user, or —
   * with `admission` — the budget's `usage_limit_exceeded`, checked in the same statement and
   * writing nothing.
   *
   * The same statement returns what the run needs next — the session's title and stored summary and
   * its history including the new message — so a run reaches the model after one statement.
   */
  async begin(input: BeginInput): Promise<BegunRun> {
    const { sessionId, userId } = input;
    let result: BeginRow | undefined;
    try {
      // The usual case, a new message id, takes the short statement; a retried id (or a refusal)
      // takes the one that checks whether the stored message may be answered again.
      result = input.regenerate ? await this.claim(input, true) : ((await this.claim(input, false)) ?? (await this.claim(input, true)));
    } catch (error) {
      // The same id inserted concurrently in this session: nothing was written.
      if (sqlStateOf(error) === '23505') throw new RunRefusal('message_id_used');
      throw error;
    }
    if (result) {
      const retry = result.stored === 0;
      try {
        return this.readBegun(result, input.userMessage, retry);
      } catch (error) {
        // The session is claimed and the message stored, but what was read cannot be used (e.g. content
        // sealed with a key this process lacks): undo the claim, so the failed request leaves nothing.
        await this.abandon(input.runId, sessionId, retry ? undefined : input.userMessage.id);
        throw error;
      }
    }
    const row = await this.sessions.findRow(sessionId);
    if (!row || row.userId !== userId) throw new RunRefusal('not_found');
    if (row.status === 'idle') {
      if (input.regenerate) throw new RunRefusal('not_a_question');
      if (typeof input.parentId === 'string' && !(await this.sessions.hasMessage(sessionId, input.parentId)))
        throw new RunRefusal('parent_missing');
      throw new RunRefusal('message_id_used');
    }
    throw new RunRefusal('run_in_progress');
  }

  private readBegun(result: BeginRow, userMessage: ChatMessage, retry: boolean): BegunRun {
    // The history was read in the statement's snapshot: a new message is not in it yet.
    const stored = (JSON.parse(result.history) as StoredMessageTuple[]).map(([id, role, parts, metadata, createdAt]) =>
      this.codec.toMessage({ id, role, parts, metadata, createdAt: new Date(createdAt) }),
    );
    // A summary covers a prefix of one path: it applies only if that path is the one answered now.
    const summary = this.codec.readSummary({ summary: result.summary, summaryThroughSeq: result.summary_through_seq });
    const applies =
      summary !== undefined && result.summary_through_id !== null && stored[summary.throughSeq]?.id === result.summary_through_id;
    return {
      retry,
      title: result.title === null ? null : this.cipher.open(result.title),
      summary: applies ? summary : undefined,
      history: retry ? stored : [...stored, { ...userMessage, metadata: { ...userMessage.metadata, createdAt: new Date().toISOString() } }],
    };
  }

  /**
   * running → gone, for a run that never started generating: deletes the run and the user message its
   * `begin` stored (`messageId`; none for a retried message, which was stored before), puts the
   * session's active leaf back where it was and frees the session, in one statement. For a request
   * that failed after its claim.
   */
  async abandon(runId: string, sessionId: string, messageId: string | undefined): Promise<void> {
    await queryRows(
      this.db,
      sql`
      with run as (delete from chat_runs where id = ${runId} and status = 'running' returning id, previous_leaf_id),
        message as (
          delete from chat_messages where id = ${messageId ?? null} and run_id = ${runId} and session_id = ${sessionId} and role = 'user'
          returning id
        ),
        freed as (
          update chat_sessions set status = 'idle', active_run_id = null,
            active_leaf_id = case when exists (select 1 from run) then (select previous_leaf_id from run) else active_leaf_id end
          where id = ${sessionId} and active_run_id = ${runId}
          returning id
        )
      select (select count(*) from run)::int as runs, (select count(*) from message)::int as messages, (select count(*) from freed)::int as freed`,
    );
  }

  /**
   * The statement of `begin`: claims the idle session the user owns, records the run, stores the
   * message unless it is already stored, and reads the history. With `retry` false it claims only
   * for a message id not stored in the session (the SQL function `autochat_admit_run`, migration
   * 0007: the budget check, then `autochat_begin_run` as migration 0008 left it, then the run's
   * reservation); with `retry` true also for a stored one that may be answered again (then the budget
   * check and the claim are two statements in one transaction). Returns nothing when it claimed
   * nothing (and then wrote nothing).
   */
  private async claim(input: BeginInput, retry: boolean): Promise<BeginRow | undefined> {
    const { sessionId, userId, runId, userMessage, admission } = input;
    const parts = this.cipher.seal(JSON.stringify(userMessage.parts));
    const lease = `${input.leaseMs} milliseconds`;
    const reserve = admission?.reserve ?? 0;
    const context = admission?.contextTokens ?? 0;
    if (!retry) {
      const [row] = await queryRows<BeginRow>(
        this.db,
        sql`
        select refused, daily_used::text, weekly_used::text, reserved::text, 1 as stored, session_title as title,
          session_summary as summary, summary_seq as summary_through_seq, summary_through_id, history
        from autochat_admit_run(${userMessage.id}, ${sessionId}, ${userId}, ${runId}, ${input.owner}, ${lease}, ${parts},
          ${admission?.subject ?? ''}, ${admission?.dailyLimit ?? 0}, ${admission?.weeklyLimit ?? 0},
          ${(admission?.day ?? new Date(0)).toISOString()}, ${(admission?.week ?? new Date(0)).toISOString()}, ${reserve}, ${context},
          ${parentParam(input.parentId)}::text)`,
      );
      if (row?.refused) throw admission!.refusal(refusalOf(row));
      return row;
    }
    if (!admission) return this.claimStored(this.db, input, parts, lease, 0, 0);
    // The budget check and the claim in one transaction: the check's per-user lock is held until the
    // run and its reservation are written.
    return this.db.transaction(async (tx) => {
      const [budget] = await queryRows<BeginRow & { refused: BeginRow['refused'] }>(
        tx as unknown as Db,
        sql`
        select refused, daily_used::text, weekly_used::text, reserved::text
        from autochat_budget_refusal(${userId}, ${admission.subject}, ${admission.dailyLimit}, ${admission.weeklyLimit},
          ${admission.day.toISOString()}, ${admission.week.toISOString()})`,
      );
      if (budget?.refused) throw admission.refusal(refusalOf(budget));
      return this.claimStored(tx as unknown as Db, input, parts, lease, reserve, context);
    });
  }

  /**
   * `claim` for a message id that may already be stored: a retried request (see `begin`), or with
   * `regenerate` a stored user message to answer again. Moves the active leaf to the message
   * answered; its history is the path ending at it (a fresh message's: at its parent).
   */
  private async claimStored(
    db: Db,
    input: BeginInput,
    parts: string,
    lease: string,
    reserve: number,
    context: number,
  ): Promise<BeginRow | undefined> {
    const { sessionId, userId, runId, userMessage } = input;
    const parent = parentParam(input.parentId);
    const answerable = input.regenerate
      ? sql`exists (select 1 from chat_messages m where m.session_id = ${sessionId} and m.id = ${userMessage.id} and m.role = 'user')`
      : sql`exists (
              select 1 from chat_messages m join chat_sessions s on s.id = m.session_id
              where m.id = ${userMessage.id} and m.session_id = ${sessionId} and m.role = 'user'
                and not exists (select 1 from chat_messages later
                  where later.session_id = m.session_id and later.seq > m.seq and later.role <> 'assistant')
                and (s.last_run_status is distinct from 'finished'
                  or not exists (select 1 from chat_messages later where later.session_id = m.session_id and later.seq > m.seq))
            )`;
    const [row] = await queryRows<BeginRow>(
      db,
      sql`
      with prior as (select active_leaf_id from chat_sessions where id = ${sessionId}),
        ok as (
          select not exists (select 1 from chat_messages where session_id = ${sessionId} and id = ${userMessage.id}) as fresh,
            ${answerable} as retryable,
            case when ${parent}::text is null then (select active_leaf_id from prior) when ${parent}::text = '' then null else ${parent}::text end as parent,
            (${parent}::text is null or ${parent}::text = ''
              or exists (select 1 from chat_messages where session_id = ${sessionId} and id = ${parent}::text)) as parent_ok
        ),
        claimed as (
          update chat_sessions set status = 'running', active_run_id = ${runId}, updated_at = now(), active_leaf_id = ${userMessage.id}
          where id = ${sessionId} and user_id = ${userId} and status = 'idle'
            and (select ${input.regenerate ? sql`retryable and not fresh` : sql`(fresh and parent_ok) or retryable`} from ok)
          returning id, title, summary, summary_through_seq, summary_through_id
        ),
        run as (
          insert into chat_runs (id, session_id, user_id, owner, lease_expires_at, reserved_tokens, previous_leaf_id)
          select ${runId}, id, ${userId}, ${input.owner}, now() + ${lease}::interval,
            ${reserve}::int + least(${context}::int, (select coalesce(sum(length(m.parts)), 0) / 4 from chat_messages m where m.session_id = ${sessionId}))::int,
            (select active_leaf_id from prior)
          from claimed
        ),
        message as (
          insert into chat_messages (id, session_id, seq, role, parts, run_id, parent_id)
          select ${userMessage.id}, id, (select coalesce(max(seq), -1) + 1 from chat_messages where session_id = ${sessionId}),
            'user', ${parts}, ${runId}, (select parent from ok)
          from claimed where (select fresh from ok)
          returning id
        )
      select (select count(*) from message)::int as stored, c.title, c.summary, c.summary_through_seq, c.summary_through_id,
        coalesce(autochat_path_json(${sessionId}, case when (select fresh from ok) then (select parent from ok) else ${userMessage.id}::text end), '[]') as history
      from claimed c`,
    );
    return row;
  }

  /**
   * Extends the leases of all of an owner's running runs in one statement, saving the partial
   * answers given (as crash checkpoints) and what each has spent so far. Returns the ids still
   * running; a run missing from them has been ended elsewhere (e.g. declared interrupted after a
   * lost lease).
   */
  async renewAll(owner: string, leaseMs: number, runs: LeaseRenewal[]): Promise<Set<string>> {
    return renewLeases(this.db, this.cipher, 'chat_runs', owner, leaseMs, runs);
  }

  /**
   * running → an outcome, in one statement (`autochat_end_run`, migrations 0005 and 0008): closes the run,
   * stores the answer (partial or whole) and the usage rows, and frees the session. Throws `RunStateError`, storing nothing, if the run is not
   * running (it already ended — e.g. another instance declared it interrupted after a lost lease).
   */
  async end(runId: string, sessionId: string, userId: string, end: RunEnd): Promise<void> {
    const message = end.message && end.message.parts.length > 0 ? end.message : undefined;
    const sealed = message ? this.codec.seal(message) : undefined;
    const [row] = await queryRows<{ ended: boolean }>(
      this.db,
      sql`
      select autochat_end_run(${runId}, ${sessionId}, ${userId}, ${end.status}, ${end.reason ?? null},
        ${message?.id ?? null}, ${message?.role ?? null}, ${sealed?.parts ?? null}, ${sealed?.metadata ?? null},
        ${usageRecords(end.usage)}) as ended`,
    );
    if (row!.ended) return;
    const current = await this.status(runId);
    throw new RunStateError(runId, current?.status ?? 'missing', end.status);
  }

  /** Runs whose owner stopped renewing its lease: their process died or lost the database. */
  async expired(limit = 50): Promise<ExpiredRun[]> {
    const rows = await this.db
      .select({
        runId: chatRuns.id,
        sessionId: chatRuns.sessionId,
        userId: chatRuns.userId,
        owner: chatRuns.owner,
        progress: chatRuns.progress,
        resumes: chatRuns.resumes,
      })
      .from(chatRuns)
      .where(and(eq(chatRuns.status, 'running'), lt(chatRuns.leaseExpiresAt, sql`now()`)))
      .limit(limit);
    return rows.map((row) => ({ ...row, progress: parseRunProgress(row.progress) }));
  }

  /** A run that is still running, as a sweeper would find it (for closing it on purpose, e.g. its session is deleted). */
  async running(runId: string): Promise<ExpiredRun | undefined> {
    const [row] = await this.db
      .select({
        runId: chatRuns.id,
        sessionId: chatRuns.sessionId,
        userId: chatRuns.userId,
        owner: chatRuns.owner,
        progress: chatRuns.progress,
        resumes: chatRuns.resumes,
      })
      .from(chatRuns)
      .where(and(eq(chatRuns.id, runId), eq(chatRuns.status, 'running')));
    return row && { ...row, progress: parseRunProgress(row.progress) };
  }

  /**
   * A rough prompt size of the session's next call, in tokens (a quarter of the stored characters),
   * for charging a run that left no progress behind.
   */
  async promptEstimate(sessionId: string): Promise<number> {
    const [row] = await queryRows<{ chars: number | string | null }>(
      this.db,
      sql`select coalesce(sum(length(parts)), 0) as chars from chat_messages where session_id = ${sessionId}`,
    );
    return Math.ceil(Number(row?.chars ?? 0) / 4);
  }

  async checkpoint(runId: string): Promise<ChatMessage | undefined> {
    const [row] = await this.db.select({ checkpoint: chatRuns.checkpoint }).from(chatRuns).where(eq(chatRuns.id, runId));
    return row?.checkpoint ? (JSON.parse(this.cipher.open(row.checkpoint)) as ChatMessage) : undefined;
  }

  async status(runId: string) {
    const [row] = await this.db
      .select({ status: chatRuns.status, reason: chatRuns.reason, owner: chatRuns.owner, resumes: chatRuns.resumes })
      .from(chatRuns)
      .where(eq(chatRuns.id, runId));
    return row;
  }
}
