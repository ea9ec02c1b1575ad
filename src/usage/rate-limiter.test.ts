import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { ChatError } from '../errors.js';
import { createMemoryRateLimiter, createRedisRateLimiter, type RateLimiter } from './rate-limiter.js';

const redisUrl = process.env.TEST_REDIS_URL || undefined;
if (!redisUrl) console.warn('TEST_REDIS_URL is not set: the Redis rate limiter tests are skipped.');

/** A clock the test moves by hand, starting 10 s into a minute. */
const clock = () => {
  let now = Date.UTC(2026, 0, 5, 12, 0, 10);
  return { now: () => now, advance: (ms: number) => (now += ms) };
};

const refusal = async (limiter: RateLimiter, userId: string): Promise<ChatError | undefined> => {
  try {
    await limiter.take(userId);
    return undefined;
  } catch (error) {
    if (ChatError.isInstance(error)) return error;
    throw error;
  }
};

const redis = redisUrl ? new Redis(redisUrl, { lazyConnect: true }) : undefined;
afterAll(async () => {
  await redis?.quit();
});

const limiters: { name: string; make: (perMinute: number, now: () => number) => RateLimiter }[] = [
  { name: 'memory', make: (perMinute, now) => createMemoryRateLimiter(perMinute, now) },
  ...(redis ? [{ name: 'Redis', make: (perMinute: number, now: () => number) => createRedisRateLimiter(redis, perMinute, now) }] : []),
];

describe.each(limiters)('the $name rate limiter', ({ make }) => {
  // Users unique per test: the Redis counters are shared with every other test on the same server.
  const user = () => `rate-test-${randomUUID()}`;

  it('lets the limit through in a minute, refuses the next with rate_limited and the seconds left in the window', async () => {
    const time = clock();
    const limiter = make(3, time.now);
    const userId = user();
    for (let request = 0; request < 3; request++) expect(await refusal(limiter, userId)).toBeUndefined();
    const refused = await refusal(limiter, userId);
    expect(refused?.code).toBe('rate_limited');
    expect(refused?.status).toBe(429);
    expect(refused?.retryAfterSeconds).toBe(50);
    expect(refused?.message).toBe('Too many requests. Please wait 50 s before sending another message.');
    // Still refused later in the same window, with less to wait.
    time.advance(49_500);
    expect((await refusal(limiter, userId))?.retryAfterSeconds).toBe(1);
  });

  it('starts counting again in the next minute', async () => {
    const time = clock();
    const limiter = make(1, time.now);
    const userId = user();
    expect(await refusal(limiter, userId)).toBeUndefined();
    expect(await refusal(limiter, userId)).toBeDefined();
    time.advance(50_000);
    expect(await refusal(limiter, userId)).toBeUndefined();
  });

  it('counts each user on their own', async () => {
    const time = clock();
    const limiter = make(1, time.now);
    const [alice, bob] = [user(), user()];
    expect(await refusal(limiter, alice)).toBeUndefined();
    expect(await refusal(limiter, alice)).toBeDefined();
    expect(await refusal(limiter, bob)).toBeUndefined();
  });

  it('forgets an erased user, so their count starts over', async () => {
    const time = clock();
    const limiter = make(1, time.now);
    const userId = user();
    await limiter.take(userId);
    expect(await refusal(limiter, userId)).toBeDefined();
    await limiter.forget(userId);
    expect(await refusal(limiter, userId)).toBeUndefined();
  });

  it('never refuses when the limit is 0 (no limit)', async () => {
    const limiter = make(0, clock().now);
    const userId = user();
    for (let request = 0; request < 100; request++) await limiter.take(userId);
  });
});

describe.runIf(redis !== undefined)('the Redis rate limiter, shared by instances', () => {
  it('counts one user across two limiters (two instances) and leaves no counter without an expiry', async () => {
    const time = clock();
    const [first, second] = [createRedisRateLimiter(redis!, 2, time.now), createRedisRateLimiter(redis!, 2, time.now)];
    const userId = `rate-test-${randomUUID()}`;
    await first.take(userId);
    await second.take(userId);
    expect((await refusal(first, userId))?.code).toBe('rate_limited');
    const keys = await redis!.keys(`autochat:rate:${userId}:*`);
    expect(keys).toHaveLength(1);
    const ttl = await redis!.pttl(keys[0]!);
    expect(ttl).toBeGreaterThan(60_000);
    expect(ttl).toBeLessThanOrEqual(120_000);
    await first.forget(userId);
    expect(await redis!.keys(`autochat:rate:${userId}:*`)).toEqual([]);
  });
});
