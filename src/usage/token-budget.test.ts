import { randomUUID } from 'node:crypto';
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { databaseTargets } from '../../test/support/databases.js';
import { createContentCipher } from '../store/content-cipher.js';
import { openDatabase, type Database } from '../store/database.js';
import { SessionsRepository } from '../store/sessions-repository.js';
import { startOfUtcWeek, TokenBudget } from './token-budget.js';
import { loadUsageSubject, type UsageSubject } from './usage-subject.js';

const usage = (totalTokens: number) => ({ kind: 'chat' as const, model: 'm', promptTokens: totalTokens, completionTokens: 0, totalTokens });

describe.each(databaseTargets)('budget after erasure on $name', (target) => {
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
