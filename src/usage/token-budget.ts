/**
 * Per-user daily and weekly token budgets, counted from the stored usage rows (so every instance
 * sees the same figure, and stopped or failed runs count too), the tokens of an erased user still in
 * the window (`erased_usage`, under an anonymous subject), and — at admission — the reservations of
 * the user's running answers. Days start at 00:00 UTC, weeks on Monday 00:00 UTC.
 *
 * Admission is one atomic step with claiming the session (`autochat_admit_run`, migration 0007) or
 * recording an agent execution (`autochat_start_execution`, migration 0015): a new answer or
 * execution is admitted while used + reserved is below the limit, and then reserves its own estimate
 * until it ends. So answers and executions started together overshoot the budget by at most about
 * one answer's worth, on any number of instances.
 */
import { sql } from 'drizzle-orm';
import { ChatError } from '../errors.js';
import { queryRows, type Db } from '../store/database.js';
import type { UsageSubject } from './usage-subject.js';

export type BudgetWindow = { used: number; limit: number; resetsAt: string };
export type BudgetStatus = { daily: BudgetWindow; weekly: BudgetWindow };

/**
 * Completion tokens an answer is assumed to take while it runs (its prompt is estimated from the
 * stored history). Too low lets concurrent answers overshoot more; too high refuses answers near the
 * limit that would have fitted.
 */
export const COMPLETION_RESERVE_TOKENS = 1000;

/** What admission needs: the limits, the windows and the user's anonymous subject. */
export type BudgetAdmission = {
  subject: string;
  dailyLimit: number;
  weeklyLimit: number;
  day: Date;
  week: Date;
  /** Tokens reserved for the answer besides its stored history's estimate. */
  reserve: number;
  /** The most tokens of history a prompt can hold (the context window). */
  contextTokens: number;
  refusal(refused: BudgetRefusal): ChatError;
};

/** Why admission refused: the window, what was used in each, and what running answers hold. */
export type BudgetRefusal = { window: 'daily' | 'weekly'; dailyUsed: number; weeklyUsed: number; reserved: number };

export class TokenBudget {
  constructor(
    private readonly db: Db,
    private readonly limits: { dailyTokens: number; weeklyTokens: number },
    private readonly subjectOf: UsageSubject,
  ) {}

  async status(userId: string, now = new Date()): Promise<BudgetStatus> {
    const day = startOfUtcDay(now);
    const week = startOfUtcWeek(now);
    const [row] = await queryRows<{ daily: string; weekly: string }>(
      this.db,
      sql`
      select (u.daily + e.daily)::text as daily, (u.weekly + e.weekly)::text as weekly
      from (select coalesce(sum(total_tokens) filter (where created_at >= ${day.toISOString()}::timestamptz), 0) as daily,
              coalesce(sum(total_tokens), 0) as weekly
            from usage_events where user_id = ${userId} and created_at >= ${week.toISOString()}::timestamptz) u,
           (select coalesce(sum(total_tokens) filter (where day >= ${isoDay(day)}::date), 0) as daily,
              coalesce(sum(total_tokens), 0) as weekly
            from erased_usage where subject = ${this.subjectOf(userId)} and day >= ${isoDay(week)}::date) e`,
    );
    return {
      daily: { used: Number(row?.daily ?? 0), limit: this.limits.dailyTokens, resetsAt: addDays(day, 1).toISOString() },
      weekly: { used: Number(row?.weekly ?? 0), limit: this.limits.weeklyTokens, resetsAt: addDays(week, 7).toISOString() },
    };
  }

  /** What `autochat_admit_run` needs to admit (or refuse) one answer; undefined when no budget applies. */
  admission(userId: string, reserve: number, contextTokens: number, now = new Date()): BudgetAdmission | undefined {
    if (this.limits.dailyTokens === 0 && this.limits.weeklyTokens === 0) return undefined;
    return {
      subject: this.subjectOf(userId),
      dailyLimit: this.limits.dailyTokens,
      weeklyLimit: this.limits.weeklyTokens,
      day: startOfUtcDay(now),
      week: startOfUtcWeek(now),
      reserve,
      contextTokens,
      refusal: (refused) => this.refusal(refused, now),
    };
  }

  /** The 429 for a refused admission: spent, or held by answers still running. */
  refusal(refused: BudgetRefusal, now = new Date()): ChatError {
    const limit = refused.window === 'daily' ? this.limits.dailyTokens : this.limits.weeklyTokens;
    const used = refused.window === 'daily' ? refused.dailyUsed : refused.weeklyUsed;
    const resetsAt = (refused.window === 'daily' ? addDays(startOfUtcDay(now), 1) : addDays(startOfUtcWeek(now), 7)).toISOString();
    const untilReset = Math.max(1, Math.ceil((Date.parse(resetsAt) - now.getTime()) / 1000));
    const budget = `${refused.window} budget of ${limit.toLocaleString('en-US')} tokens`;
    const resets = `It resets at ${resetsAt.replace('.000Z', 'Z')}.`;
    if (used >= limit) {
      return new ChatError('usage_limit_exceeded', `You have used your ${budget}. ${resets}`, { retryAfterSeconds: untilReset });
    }
    return new ChatError(
      'usage_limit_exceeded',
      `The answers you are already waiting for may use the rest of your ${budget}. Try again when they have finished. ${resets}`,
      { retryAfterSeconds: Math.min(untilReset, ANSWERS_RUNNING_RETRY_SECONDS) },
    );
  }
}

/** When only running answers hold the budget, a client may ask again once they are likely done. */
const ANSWERS_RUNNING_RETRY_SECONDS = 10;

export function startOfUtcDay(now: Date): Date {
  return new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate()));
}

export function startOfUtcWeek(now: Date): Date {
  const day = startOfUtcDay(now);
  const sinceMonday = (day.getUTCDay() + 6) % 7;
  return addDays(day, -sinceMonday);
}

function addDays(date: Date, days: number): Date {
  return new Date(date.getTime() + days * 86_400_000);
}

const isoDay = (date: Date) => date.toISOString().slice(0, 10);
