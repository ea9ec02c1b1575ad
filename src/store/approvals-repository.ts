/**
 * Tool approvals in the database (migration 0012). A run that asks about tool calls pauses in one
 * statement — `running → awaiting-approval`, its partial answer kept, the usage of its calls so far
 * stored, one row per asked-about call — and any instance can then record answers and resume it:
 * the resume is one atomic claim (`awaiting-approval → running`), so exactly one instance continues.
 */
import { sql } from 'drizzle-orm';
import type { ChatMessage } from './records.js';
import type { ContentCipher } from './content-cipher.js';
import { queryRows, type Db } from './database.js';
import type { NewUsage } from './runs-repository.js';
import { usageRecords } from './usage-rows.js';

/** A tool call the run asks about. */
export type ApprovalRequest = { approvalId: string; toolCallId: string; toolName: string; input: unknown };

/** A tool call asked about, with its answer once given (`approved` undefined while unanswered). */
export type ToolApproval = ApprovalRequest & {
  runId: string;
  sessionId: string;
  approved?: boolean;
  reason?: string;
  requestedAt: string;
  answeredAt?: string;
  expiresAt: string;
};

export type RunPause = {
  runId: string;
  sessionId: string;
  userId: string;
  owner: string;
  /** The answer so far, its asked-about tool parts in state `approval-requested`. */
  answer: ChatMessage;
  /** The upstream calls made so far, charged now (the resumed run charges only its own). */
  usage: NewUsage[];
  requests: ApprovalRequest[];
  timeoutMs: number;
};

/** A paused run claimed to continue: its answer so far and every asked-about call with its answer. */
export type ResumedRun = {
  runId: string;
  sessionId: string;
  userId: string;
  resumes: number;
  answer: ChatMessage;
  approvals: ToolApproval[];
};

export type AnswerResult =
  | { kind: 'answered'; runId: string; approval: ToolApproval; unanswered: number }
  /** The run no longer waits (answered before, resumed or ended): the answer changes nothing. */
  | { kind: 'settled'; runId: string; approval: ToolApproval }
  | { kind: 'missing' };

type ApprovalRow = {
  id: string;
  run_id: string;
  session_id: string;
  tool_call_id: string;
  tool_name: string;
  input: string;
  approved: boolean | null;
  reason: string | null;
  requested_at: string | Date;
  answered_at: string | Date | null;
  expires_at: string | Date;
};

const iso = (value: string | Date) => new Date(value).toISOString();

export class ApprovalsRepository {
  constructor(
    private readonly db: Db,
    private readonly cipher: ContentCipher,
  ) {}

  /** running → awaiting-approval; false (writing nothing) when the run is not this owner's running run. */
  async pause(pause: RunPause): Promise<boolean> {
    const requests = JSON.stringify(
      pause.requests.map((request) => ({
        id: request.approvalId,
        tool_call_id: request.toolCallId,
        tool_name: request.toolName,
        input: this.cipher.seal(JSON.stringify(request.input ?? null)),
      })),
    );
    const timeout = `${pause.timeoutMs} milliseconds`;
    const [row] = await queryRows<{ paused: number }>(
      this.db,
      sql`
      with run as (
          update chat_runs set status = 'awaiting-approval', approval_expires_at = now() + ${timeout}::interval,
            checkpoint = ${this.cipher.seal(JSON.stringify(pause.answer))}, progress = null, reserved_tokens = 0
          where id = ${pause.runId} and status = 'running' and owner = ${pause.owner}
          returning id
        ),
        charged as (
          insert into usage_events (user_id, session_id, run_id, kind, model, prompt_tokens, completion_tokens, total_tokens, cost_usd, estimated)
          select ${pause.userId}, ${pause.sessionId}, ${pause.runId}, u.kind, u.model, u.prompt_tokens, u.completion_tokens, u.total_tokens, u.cost_usd, u.estimated
          from jsonb_to_recordset(${usageRecords(pause.usage)}::jsonb) as u(kind text, model text, prompt_tokens integer, completion_tokens integer,
            total_tokens integer, cost_usd numeric, estimated boolean)
          where exists (select 1 from run)
        ),
        asked as (
          insert into tool_approvals (id, run_id, session_id, user_id, tool_call_id, tool_name, input, expires_at)
          select a.id, ${pause.runId}, ${pause.sessionId}, ${pause.userId}, a.tool_call_id, a.tool_name, a.input, now() + ${timeout}::interval
          from jsonb_to_recordset(${requests}::jsonb) as a(id text, tool_call_id text, tool_name text, input text)
          where exists (select 1 from run)
        )
      select (select count(*) from run)::int as paused`,
    );
    return row!.paused === 1;
  }

  /** The run of a session that waits for approvals: its answer so far and the calls asked about. */
  async waiting(sessionId: string): Promise<{ runId: string; answer: ChatMessage; approvals: ToolApproval[] } | undefined> {
    const [run] = await queryRows<{ id: string; checkpoint: string | null }>(
      this.db,
      sql`select id, checkpoint from chat_runs where session_id = ${sessionId} and status = 'awaiting-approval' limit 1`,
    );
    if (!run?.checkpoint) return undefined;
    return { runId: run.id, answer: JSON.parse(this.cipher.open(run.checkpoint)) as ChatMessage, approvals: await this.ofRun(run.id) };
  }

  /** Whether the session's answer waits for tool approvals. */
  async isWaiting(sessionId: string): Promise<boolean> {
    const rows = await queryRows<{ id: string }>(
      this.db,
      sql`select id from chat_runs where session_id = ${sessionId} and status = 'awaiting-approval' limit 1`,
    );
    return rows.length > 0;
  }

  async ofRun(runId: string): Promise<ToolApproval[]> {
    const rows = await queryRows<ApprovalRow>(this.db, sql`select * from tool_approvals where run_id = ${runId} order by requested_at, id`);
    return rows.map((row) => this.toApproval(row));
  }

  /** Every approval of a user, oldest first (GDPR export). */
  async ofUser(userId: string): Promise<ToolApproval[]> {
    const rows = await queryRows<ApprovalRow>(
      this.db,
      sql`select * from tool_approvals where user_id = ${userId} order by requested_at, id`,
    );
    return rows.map((row) => this.toApproval(row));
  }

  /**
   * Records the user's answer to one asked-about call of a waiting run in their session, once: a
   * later answer to the same call changes nothing (`settled`). `missing` for an approval that is
   * not this user's in this session.
   */
  async answer(input: {
    approvalId: string;
    sessionId: string;
    userId: string;
    approved: boolean;
    reason?: string;
  }): Promise<AnswerResult> {
    const reason = input.reason === undefined ? null : this.cipher.seal(input.reason);
    const [row] = await queryRows<ApprovalRow & { answered: number; unanswered: number; waiting: boolean }>(
      this.db,
      sql`
      with target as (
          select a.id, a.run_id from tool_approvals a join chat_runs r on r.id = a.run_id
          where a.id = ${input.approvalId} and a.session_id = ${input.sessionId} and a.user_id = ${input.userId}
            and r.status = 'awaiting-approval'
        ),
        answered as (
          update tool_approvals set approved = ${input.approved}, reason = ${reason}, answered_at = now()
          where id in (select id from target) and approved is null
          returning id
        )
      select a.*, (select count(*) from answered)::int as answered,
        (select count(*) from tool_approvals o where o.run_id = a.run_id and o.approved is null and o.id <> a.id)::int as unanswered,
        exists (select 1 from target) as waiting
      from tool_approvals a
      where a.id = ${input.approvalId} and a.session_id = ${input.sessionId} and a.user_id = ${input.userId}`,
    );
    if (!row) return { kind: 'missing' };
    if (row.answered === 0) return { kind: 'settled', runId: row.run_id, approval: this.toApproval(row) };
    const approval = { ...this.toApproval(row), approved: input.approved, ...(input.reason === undefined ? {} : { reason: input.reason }) };
    return { kind: 'answered', runId: row.run_id, approval, unanswered: row.unanswered };
  }

  /**
   * awaiting-approval → running, for this owner: only when every asked-about call is answered, or —
   * with `denyUnanswered` (expiry, stop, deletion) — at once, the unanswered ones denied with that
   * reason. Undefined when the run does not wait (any more), or still has unanswered calls.
   */
  async claim(runId: string, owner: string, leaseMs: number, denyUnanswered?: string): Promise<ResumedRun | undefined> {
    const force = denyUnanswered !== undefined;
    const deniedReason = force ? this.cipher.seal(denyUnanswered) : null;
    const [row] = await queryRows<{ id: string; session_id: string; user_id: string; resumes: number; checkpoint: string | null }>(
      this.db,
      sql`
      with run as (
          update chat_runs set status = 'running', owner = ${owner}, lease_expires_at = now() + ${`${leaseMs} milliseconds`}::interval,
            resumes = resumes + 1, approval_expires_at = null
          where id = ${runId} and status = 'awaiting-approval'
            and (${force} or not exists (select 1 from tool_approvals a where a.run_id = ${runId} and a.approved is null))
          returning id, session_id, user_id, resumes, checkpoint
        ),
        denied as (
          update tool_approvals set approved = false, reason = ${deniedReason}, answered_at = now()
          where run_id = ${runId} and approved is null and exists (select 1 from run)
        )
      select * from run`,
    );
    if (!row) return undefined;
    const approvals = (await this.ofRun(runId)).map((approval) =>
      approval.approved === undefined ? { ...approval, approved: false, reason: denyUnanswered } : approval,
    );
    return {
      runId: row.id,
      sessionId: row.session_id,
      userId: row.user_id,
      resumes: row.resumes,
      answer: row.checkpoint ? (JSON.parse(this.cipher.open(row.checkpoint)) as ChatMessage) : { id: runId, role: 'assistant', parts: [] },
      approvals,
    };
  }

  /**
   * Waiting runs whose calls are all answered, the last answer at least `graceMs` ago: the instance
   * that took it did not resume the run (it died, or was shutting down), so another one does.
   */
  async answeredButWaiting(graceMs: number, limit = 20): Promise<string[]> {
    const rows = await queryRows<{ id: string }>(
      this.db,
      sql`
      select r.id from chat_runs r
      where r.status = 'awaiting-approval'
        and not exists (select 1 from tool_approvals a where a.run_id = r.id and a.approved is null)
        and (select max(a.answered_at) from tool_approvals a where a.run_id = r.id) < now() - ${`${graceMs} milliseconds`}::interval
      limit ${limit}`,
    );
    return rows.map((row) => row.id);
  }

  /** Waiting runs whose approvals expired unanswered. */
  async expired(limit = 50): Promise<string[]> {
    const rows = await queryRows<{ id: string }>(
      this.db,
      sql`select id from chat_runs where status = 'awaiting-approval' and approval_expires_at < now() order by approval_expires_at limit ${limit}`,
    );
    return rows.map((row) => row.id);
  }

  private toApproval(row: ApprovalRow): ToolApproval {
    return {
      approvalId: row.id,
      runId: row.run_id,
      sessionId: row.session_id,
      toolCallId: row.tool_call_id,
      toolName: row.tool_name,
      input: JSON.parse(this.cipher.open(row.input)) as unknown,
      ...(row.approved === null ? {} : { approved: row.approved }),
      ...(row.reason === null ? {} : { reason: this.cipher.open(row.reason) }),
      requestedAt: iso(row.requested_at),
      ...(row.answered_at === null ? {} : { answeredAt: iso(row.answered_at) }),
      expiresAt: iso(row.expires_at),
    };
  }
}
