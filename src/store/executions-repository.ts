/**
 * Agent executions as the database keeps them (migration 0013): started under the user's budget and
 * live-execution limit in one statement (reserving the execution's estimate while it is live,
 * migration 0015), leased while they run, ended once with their output and
 * usage rows together. Inputs, output and checkpoints are sealed like message content.
 */
import { and, desc, eq, inArray, lt, sql } from 'drizzle-orm';
import type { ChatMessage, TokenUsage } from './records.js';
import type { BudgetAdmission } from '../usage/token-budget.js';
import type { ContentCipher } from './content-cipher.js';
import { renewLeases, type LeaseRenewal } from './lease-renewal.js';
import { queryRows, type Db } from './database.js';
import { parseRunProgress, type RunProgress } from './run-progress.js';
import type { NewUsage } from './runs-repository.js';
import { agentExecutions, usageEvents, type ExecutionStatus } from './schema.js';
import { usageRecords } from './usage-rows.js';

export type ExecutionEndStatus = Exclude<ExecutionStatus, 'queued' | 'running'>;

/** One execution as its owner sees it. `output` is the agent's answer (a UI message), when asked for. */
export type Execution = {
  executionId: string;
  slug: string;
  agentName: string;
  status: ExecutionStatus;
  inputs: Record<string, unknown>;
  output?: ChatMessage;
  /** A sentence saying why it failed or was cut short, when it was. */
  error?: string;
  usage?: TokenUsage;
  createdAt: string;
  startedAt: string | null;
  endedAt: string | null;
};

export type ExecutionCursor = { createdAt: string; id: string };

export type ExpiredExecution = { executionId: string; userId: string; owner: string; progress?: RunProgress };

/** An execution taken over to be continued: its count (1 for the first), what was spent, and what it runs. */
export type ClaimedExecution = { continuations: number; progress?: RunProgress; slug: string; inputs: Record<string, unknown> };

export type ExecutionEnd = {
  status: ExecutionEndStatus;
  reason?: string;
  error?: string;
  output?: ChatMessage;
  usage: NewUsage[];
};

type StartInput = {
  executionId: string;
  userId: string;
  slug: string;
  agentName: string;
  inputs: Record<string, unknown>;
  owner: string;
  leaseMs: number;
  maxLive: number;
  admission?: BudgetAdmission;
};

type StartRow = {
  refused: 'daily' | 'weekly' | 'executions' | null;
  daily_used: string | null;
  weekly_used: string | null;
  reserved: string | null;
  live: number | null;
};

type Row = typeof agentExecutions.$inferSelect;

export class ExecutionsRepository {
  constructor(
    private readonly db: Db,
    private readonly cipher: ContentCipher,
  ) {}

  /**
   * Records a new `queued` execution leased to `owner`, in one statement with the budget check (which
   * counts the reservations of the user's running answers and live executions), its own reservation
   * and the limit on the user's live executions. Writing nothing, it throws the admission's refusal
   * (`usage_limit_exceeded`, 429) for a spent budget, and returns `{ live }` when the user already has
   * as many live executions as allowed (the service words it).
   */
  async start(input: StartInput): Promise<{ live: number } | undefined> {
    const { admission } = input;
    const [row] = await queryRows<StartRow>(
      this.db,
      sql`
      select refused, daily_used::text, weekly_used::text, reserved::text, live
      from autochat_start_execution(${input.executionId}, ${input.userId}, ${input.slug}, ${input.agentName},
        ${this.cipher.seal(JSON.stringify(input.inputs))}, ${input.owner}, ${`${input.leaseMs} milliseconds`}::interval, ${input.maxLive},
        ${admission?.subject ?? ''}, ${admission?.dailyLimit ?? 0}, ${admission?.weeklyLimit ?? 0},
        ${(admission?.day ?? new Date(0)).toISOString()}, ${(admission?.week ?? new Date(0)).toISOString()},
        ${admission?.reserve ?? 0}::integer)`,
    );
    if (!row?.refused) return undefined;
    if (row.refused === 'executions') return { live: row.live ?? input.maxLive };
    throw admission!.refusal({
      window: row.refused,
      dailyUsed: Number(row.daily_used ?? 0),
      weeklyUsed: Number(row.weekly_used ?? 0),
      reserved: Number(row.reserved ?? 0),
    });
  }

  /** queued → running; false when it is no longer queued (stopped or closed before it began). */
  async markRunning(executionId: string): Promise<boolean> {
    const rows = await this.db
      .update(agentExecutions)
      .set({ status: 'running', startedAt: sql`now()` })
      .where(and(eq(agentExecutions.id, executionId), eq(agentExecutions.status, 'queued')))
      .returning({ id: agentExecutions.id });
    return rows.length > 0;
  }

  /** The lease renewal of `LeaseKeeper` (src/chat/lease-keeper.ts), for executions: see `RunsRepository.renewAll`. */
  async renewAll(owner: string, leaseMs: number, runs: LeaseRenewal[]): Promise<Set<string>> {
    return renewLeases(this.db, this.cipher, 'agent_executions', owner, leaseMs, runs);
  }

  /**
   * A live execution → its end, with its output and usage rows, in one statement
   * (`autochat_end_execution`). False, storing nothing, when it had already ended (elsewhere).
   */
  async end(executionId: string, end: ExecutionEnd): Promise<boolean> {
    const output = end.output && end.output.parts.length > 0 ? this.cipher.seal(JSON.stringify(end.output)) : null;
    const [row] = await queryRows<{ ended: boolean }>(
      this.db,
      sql`
      select autochat_end_execution(${executionId}, ${end.status}, ${end.reason ?? null}, ${end.error ?? null}, ${output},
        ${usageRecords(end.usage)}) as ended`,
    );
    return row?.ended === true;
  }

  /** The user's execution with its output, or undefined (also for another user's). */
  async get(executionId: string, userId: string): Promise<Execution | undefined> {
    const [row] = await this.db
      .select()
      .from(agentExecutions)
      .where(and(eq(agentExecutions.id, executionId), eq(agentExecutions.userId, userId)));
    if (!row) return undefined;
    const [usage] = await this.usageOf([executionId]);
    return { ...this.toExecution(row, true), ...(usage ? { usage: usage[1] } : {}) };
  }

  /** The user's executions, newest first, without their output. */
  async list(
    userId: string,
    limit: number,
    cursor?: ExecutionCursor,
  ): Promise<{ executions: Execution[]; nextCursor: ExecutionCursor | null }> {
    const rows = await this.db
      .select({ row: agentExecutions, at: sql<string>`${agentExecutions.createdAt}::text` })
      .from(agentExecutions)
      .where(
        and(
          eq(agentExecutions.userId, userId),
          cursor
            ? sql`(${agentExecutions.createdAt}, ${agentExecutions.id}) < (${cursor.createdAt}::timestamptz, ${cursor.id}::uuid)`
            : undefined,
        ),
      )
      .orderBy(desc(agentExecutions.createdAt), desc(agentExecutions.id))
      .limit(limit + 1);
    const page = rows.slice(0, limit);
    const usage = new Map(await this.usageOf(page.map(({ row }) => row.id)));
    const last = page.at(-1);
    return {
      executions: page.map(({ row }) => {
        const spent = usage.get(row.id);
        return { ...this.toExecution(row, false), ...(spent ? { usage: spent } : {}) };
      }),
      nextCursor: rows.length > limit && last ? { createdAt: toIsoMicros(last.at), id: last.row.id } : null,
    };
  }

  /** Every execution of a user with inputs and output, oldest first (GDPR export). */
  async allOfUser(userId: string): Promise<Execution[]> {
    const rows = await this.db
      .select()
      .from(agentExecutions)
      .where(eq(agentExecutions.userId, userId))
      .orderBy(agentExecutions.createdAt, agentExecutions.id);
    return rows.map((row) => this.toExecution(row, true));
  }

  /** Ids of the user's executions (every one: their event logs are forgotten on erasure). */
  async idsOfUser(userId: string): Promise<string[]> {
    const rows = await this.db.select({ id: agentExecutions.id }).from(agentExecutions).where(eq(agentExecutions.userId, userId));
    return rows.map((row) => row.id);
  }

  /**
   * Takes over a running execution whose lease expired from `previousOwner`, to continue it here, if it
   * was continued fewer than `max` times: the owner, the lease and the count move in one conditional
   * statement, so one instance wins. Undefined, changing nothing, when another claimed or ended it first
   * or the limit is reached.
   */
  async claim(input: {
    executionId: string;
    previousOwner: string;
    owner: string;
    leaseMs: number;
    max: number;
  }): Promise<ClaimedExecution | undefined> {
    const [row] = await queryRows<{ continuations: number; progress: string | null; slug: string; inputs: string }>(
      this.db,
      sql`
      update agent_executions set owner = ${input.owner}, lease_expires_at = now() + ${`${input.leaseMs} milliseconds`}::interval,
        continuations = continuations + 1
      where id = ${input.executionId} and status = 'running' and owner = ${input.previousOwner}
        and lease_expires_at < now() and continuations < ${input.max}
      returning continuations, progress, slug, inputs`,
    );
    if (!row) return undefined;
    return {
      continuations: Number(row.continuations),
      progress: parseRunProgress(row.progress),
      slug: row.slug,
      inputs: JSON.parse(this.cipher.open(row.inputs)) as Record<string, unknown>,
    };
  }

  /** The owner of a live execution, or undefined once it ended. */
  async liveOwner(executionId: string): Promise<string | undefined> {
    const [row] = await this.db
      .select({ owner: agentExecutions.owner })
      .from(agentExecutions)
      .where(and(eq(agentExecutions.id, executionId), inArray(agentExecutions.status, ['queued', 'running'])));
    return row?.owner;
  }

  /** Live executions whose owner stopped renewing their lease. */
  async expired(limit = 50): Promise<ExpiredExecution[]> {
    const rows = await this.db
      .select({
        executionId: agentExecutions.id,
        userId: agentExecutions.userId,
        owner: agentExecutions.owner,
        progress: agentExecutions.progress,
      })
      .from(agentExecutions)
      .where(and(inArray(agentExecutions.status, ['queued', 'running']), lt(agentExecutions.leaseExpiresAt, sql`now()`)))
      .limit(limit);
    return rows.map((row) => ({ ...row, progress: parseRunProgress(row.progress) }));
  }

  async status(executionId: string): Promise<ExecutionStatus | undefined> {
    const [row] = await this.db.select({ status: agentExecutions.status }).from(agentExecutions).where(eq(agentExecutions.id, executionId));
    return row?.status;
  }

  async checkpoint(executionId: string): Promise<ChatMessage | undefined> {
    const [row] = await this.db
      .select({ checkpoint: agentExecutions.checkpoint })
      .from(agentExecutions)
      .where(eq(agentExecutions.id, executionId));
    return row?.checkpoint ? (JSON.parse(this.cipher.open(row.checkpoint)) as ChatMessage) : undefined;
  }

  /** Token totals of these executions' usage rows. */
  private async usageOf(ids: string[]): Promise<[string, TokenUsage][]> {
    if (ids.length === 0) return [];
    const rows = await this.db
      .select({
        id: usageEvents.runId,
        promptTokens: sql<number>`sum(${usageEvents.promptTokens})::int`,
        completionTokens: sql<number>`sum(${usageEvents.completionTokens})::int`,
        totalTokens: sql<number>`sum(${usageEvents.totalTokens})::int`,
        costUsd: sql<string | null>`sum(${usageEvents.costUsd})::text`,
      })
      .from(usageEvents)
      .where(and(eq(usageEvents.kind, 'execution'), inArray(usageEvents.runId, ids)))
      .groupBy(usageEvents.runId);
    return rows.map((row) => [
      row.id!,
      {
        promptTokens: Number(row.promptTokens),
        completionTokens: Number(row.completionTokens),
        totalTokens: Number(row.totalTokens),
        ...(row.costUsd !== null ? { costUsd: Number(row.costUsd) } : {}),
      },
    ]);
  }

  private toExecution(row: Row, withOutput: boolean): Execution {
    return {
      executionId: row.id,
      slug: row.slug,
      agentName: row.agentName,
      status: row.status,
      inputs: JSON.parse(this.cipher.open(row.inputs)) as Record<string, unknown>,
      ...(withOutput && row.output ? { output: JSON.parse(this.cipher.open(row.output)) as ChatMessage } : {}),
      ...(row.error ? { error: row.error } : {}),
      createdAt: row.createdAt.toISOString(),
      startedAt: row.startedAt?.toISOString() ?? null,
      endedAt: row.endedAt?.toISOString() ?? null,
    };
  }
}

/** A timestamptz as PostgreSQL writes it (`2026-01-02 03:04:05.123456+00`) in ISO form, microseconds kept. */
function toIsoMicros(text: string): string {
  const match = /^(\d{4}-\d\d-\d\d)[ T](\d\d:\d\d:\d\d(?:\.\d+)?)([+-]\d\d(?::?\d\d)?|Z)?$/.exec(text.trim());
  if (!match) return new Date(text).toISOString();
  const zone = match[3] && match[3] !== 'Z' ? (match[3].length === 3 ? `${match[3]}:00` : match[3]) : 'Z';
  return `${match[1]}T${match[2]}${zone === '+00:00' ? 'Z' : zone}`;
}
