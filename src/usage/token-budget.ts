/**
 * Per-user daily and weekly token budgets, counted from the stored usage rows (so every instance
 * sees the same figure, and stopped or failed runs count too). Days start at 00:00 UTC, weeks on
 * Monday 00:00 UTC.
 */
import { and, eq, gte, sql } from 'drizzle-orm';
import { ChatError } from '../errors.js';
import type { Db } from '../store/database.js';
import { usageEvents } from '../store/schema.js';

export type BudgetWindow = { used: number; limit: number; resetsAt: string };
export type BudgetStatus = { daily: BudgetWindow; weekly: BudgetWindow };

export class TokenBudget {
  constructor(
    private readonly db: Db,
    private readonly limits: { dailyTokens: number; weeklyTokens: number },
  ) {}

  async status(userId: string, now = new Date()): Promise<BudgetStatus> {
    const day = startOfUtcDay(now);
    const week = startOfUtcWeek(now);
    const [row] = await this.db
      .select({
        daily: sql<string>`coalesce(sum(${usageEvents.totalTokens}) filter (where ${usageEvents.createdAt} >= ${day.toISOString()}), 0)`,
        weekly: sql<string>`coalesce(sum(${usageEvents.totalTokens}), 0)`,
      })
      .from(usageEvents)
      .where(and(eq(usageEvents.userId, userId), gte(usageEvents.createdAt, week)));
    return {
      daily: { used: Number(row?.daily ?? 0), limit: this.limits.dailyTokens, resetsAt: addDays(day, 1).toISOString() },
      weekly: { used: Number(row?.weekly ?? 0), limit: this.limits.weeklyTokens, resetsAt: addDays(week, 7).toISOString() },
    };
  }

  /** Throws `usage_limit_exceeded` when either budget is spent. */
  async check(userId: string, now = new Date()): Promise<void> {
    if (this.limits.dailyTokens === 0 && this.limits.weeklyTokens === 0) return;
    const status = await this.status(userId, now);
    for (const [name, window] of [
      ['daily', status.daily],
      ['weekly', status.weekly],
    ] as const) {
      if (window.limit > 0 && window.used >= window.limit) {
        const retryAfterSeconds = Math.max(1, Math.ceil((Date.parse(window.resetsAt) - now.getTime()) / 1000));
        throw new ChatError(
          'usage_limit_exceeded',
          `You have used your ${name} budget of ${window.limit.toLocaleString('en-US')} tokens. It resets at ${window.resetsAt.replace('.000Z', 'Z')}.`,
          { retryAfterSeconds },
        );
      }
    }
  }
}

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
