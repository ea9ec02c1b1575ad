import { randomUUID } from 'node:crypto';
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { databaseTargets } from '../../test/support/databases.js';
import { createContentCipher } from '../store/content-cipher.js';
import { openDatabase, type Database } from '../store/database.js';
import { SessionsRepository } from '../store/sessions-repository.js';
import { startOfUtcDay, startOfUtcWeek, TokenBudget } from './token-budget.js';
import { loadUsageSubject, type UsageSubject } from './usage-subject.js';

const usage = (totalTokens: number) => ({ kind: 'chat' as const, model: 'm', promptTokens: totalTokens, completionTokens: 0, totalTokens });

describe('budget windows', () => {
  it('start at 00:00 UTC, and weeks on Monday, whatever the time of day', () => {
    expect(startOfUtcDay(new Date('2026-03-04T23:59:59.999Z')).toISOString()).toBe('2026-03-04T00:00:00.000Z');
    // Wednesday, Monday itself, and Sunday night (the last moment of the week).
    expect(startOfUtcWeek(new Date('2026-03-04T12:00:00Z')).toISOString()).toBe('2026-03-02T00:00:00.000Z');
    expect(startOfUtcWeek(new Date('2026-03-02T00:00:00Z')).toISOString()).toBe('2026-03-02T00:00:00.000Z');
    expect(startOfUtcWeek(new Date('2026-03-08T23:59:59Z')).toISOString()).toBe('2026-03-02T00:00:00.000Z');
    // A week that began in the previous year.
    expect(startOfUtcWeek(new Date('2027-01-01T08:00:00Z')).toISOString()).toBe('2026-12-28T00:00:00.000Z');
  });
});

describe.each(databaseTargets)('token budget on $name', (target) => {
  let database: Database;
  let drop: () => Promise<void>;
  let sessions: SessionsRepository;
  let subjectOf: UsageSubject;
  let budget: TokenBudget;

  beforeAll(async () => {
    const created = await target.create();
    drop = created.drop;
    database = await openDatabase({ databaseUrl: created.databaseUrl, dataDir: created.dataDir });
    sessions = new SessionsRepository(database.db, createContentCipher());
    subjectOf = await loadUsageSubject(database.db);
    budget = new TokenBudget(database.db, { dailyTokens: 1000, weeklyTokens: 5000 }, subjectOf);
  });
  afterAll(async () => {
    await database?.close();
    await drop?.();
  });

  const spend = (user: string, tokens: number, at: string) =>
    database.rows(sql`insert into usage_events (user_id, model, prompt_tokens, completion_tokens, total_tokens, created_at)
      values (${user}, 'm', ${tokens}, 0, ${tokens}, ${at}::timestamptz)`);

  it('counts today in the daily window, this week in the weekly one, and nothing from before the week', async () => {
    const user = `status-${randomUUID()}`;
    await spend(user, 100, '2026-03-04T00:00:00Z'); // Wednesday, the first moment of the day
    await spend(user, 20, '2026-03-03T23:59:59Z'); // Tuesday
    await spend(user, 3, '2026-03-01T23:59:59Z'); // the Sunday before: last week
    const status = await budget.status(user, new Date('2026-03-04T15:00:00Z'));
    expect(status).toEqual({
      daily: { used: 100, limit: 1000, resetsAt: '2026-03-05T00:00:00.000Z' },
      weekly: { used: 120, limit: 5000, resetsAt: '2026-03-09T00:00:00.000Z' },
    });
    expect((await budget.status(`nobody-${randomUUID()}`)).daily.used).toBe(0);
  });

  it('admits without a budget when both limits are 0', async () => {
    const unlimited = new TokenBudget(database.db, { dailyTokens: 0, weeklyTokens: 0 }, await loadUsageSubject(database.db));
    expect(unlimited.admission('u', 10, 100)).toBeUndefined();
    expect(budget.admission('u', 10, 100, new Date('2026-03-04T15:00:00Z'))).toMatchObject({
      dailyLimit: 1000,
      weeklyLimit: 5000,
      day: new Date('2026-03-04T00:00:00Z'),
      week: new Date('2026-03-02T00:00:00Z'),
      reserve: 10,
      contextTokens: 100,
    });
  });

  it('words a spent budget with its reset time, and asks to retry when it resets', () => {
    const now = new Date('2026-03-04T23:00:00Z');
    const daily = budget.refusal({ window: 'daily', dailyUsed: 1000, weeklyUsed: 1200, reserved: 0 }, now);
    expect(daily.code).toBe('usage_limit_exceeded');
    expect(daily.message).toBe('You have used your daily budget of 1,000 tokens. It resets at 2026-03-05T00:00:00Z.');
    expect(daily.retryAfterSeconds).toBe(3600);
    const weekly = budget.refusal({ window: 'weekly', dailyUsed: 10, weeklyUsed: 5001, reserved: 0 }, now);
    expect(weekly.message).toBe('You have used your weekly budget of 5,000 tokens. It resets at 2026-03-09T00:00:00Z.');
    expect(weekly.retryAfterSeconds).toBe(4 * 86_400 + 3600);
  });

  it('says when answers still running hold the rest of the budget, and asks to retry within seconds', () => {
    const now = new Date('2026-03-04T12:00:00Z');
    const held = budget.refusal({ window: 'daily', dailyUsed: 400, weeklyUsed: 400, reserved: 700 }, now);
    expect(held.message).toMatch(/^The answers you are already waiting for may use the rest of your daily budget of 1,000 tokens\. /);
    expect(held.retryAfterSeconds).toBe(10);
    // Never later than the reset itself.
    const atMidnight = budget.refusal(
      { window: 'daily', dailyUsed: 400, weeklyUsed: 400, reserved: 700 },
      new Date('2026-03-04T23:59:57Z'),
    );
    expect(atMidnight.retryAfterSeconds).toBe(3);
  });

  it('keeps counting what an erased user spent, under a subject that is not their id, until the window passes', async () => {
    const user = `erased-${randomUUID()}`;
    const sessionId = randomUUID();
    await sessions.create(sessionId, user);
    await sessions.addUsage(user, sessionId, [usage(700), usage(200)]);
    // Spent earlier this week, not today (unless today is Monday, when there is no earlier day).
    const now = new Date();
    const week = startOfUtcWeek(now);
    const earlier = new Date(Math.max(week.getTime(), now.getTime() - 86_400_000));
    await database.rows(sql`insert into usage_events (user_id, model, prompt_tokens, completion_tokens, total_tokens, created_at)
      values (${user}, 'm', 50, 0, 50, ${earlier.toISOString()}::timestamptz)`);
    const before = await budget.status(user, now);

    await sessions.eraseUser(user, { subject: subjectOf(user), since: week });

    expect(await sessions.usageOfUser(user)).toEqual([]);
    const after = await budget.status(user, now);
    expect(after.daily.used).toBe(before.daily.used);
    expect(after.weekly.used).toBe(950);
    // The counters hold a one-way subject, a day and a count: no user id, nothing else.
    const rows = await database.rows<Record<string, unknown>>(sql`select * from erased_usage`);
    expect(rows.length).toBeGreaterThan(0);
    expect(JSON.stringify(rows)).not.toContain(user);
    expect(Object.keys(rows[0]!).sort()).toEqual(['day', 'subject', 'total_tokens']);
    expect(subjectOf(user)).toMatch(/^[\w-]{43}$/);
    expect(subjectOf(user)).not.toBe(subjectOf(`${user}x`));

    // Another user is not charged, and next week the erased user's counter no longer counts.
    expect((await budget.status(`other-${randomUUID()}`, now)).weekly.used).toBe(0);
    const nextWeek = new Date(week.getTime() + 7 * 86_400_000 + 1000);
    expect(await budget.status(user, nextWeek)).toMatchObject({ daily: { used: 0 }, weekly: { used: 0 } });

    // Erasing the same id again adds to its counter instead of replacing it.
    await sessions.create(sessionId, user);
    await sessions.addUsage(user, sessionId, [usage(25)]);
    await sessions.eraseUser(user, { subject: subjectOf(user), since: week });
    expect((await budget.status(user, now)).weekly.used).toBe(975);
  });

  it('drops counters older than the budget week when it erases', async () => {
    const stale = randomUUID();
    await database.rows(sql`insert into erased_usage (subject, day, total_tokens) values (${stale}, date '2020-01-06', 10)`);
    await sessions.eraseUser(`nobody-${randomUUID()}`, { subject: subjectOf('nobody'), since: startOfUtcWeek(new Date()) });
    expect(await database.rows(sql`select * from erased_usage where subject = ${stale}`)).toEqual([]);
  });

  it('keeps one salt per deployment, whichever instance loads it first', async () => {
    const again = await loadUsageSubject(database.db);
    expect(again('someone')).toBe(subjectOf('someone'));
  });
});
