/**
 * Requests per user per minute: a fixed one-minute window, counted in memory for one process or with
 * an atomic Redis counter shared by every instance.
 */
import type { Redis } from 'ioredis';
import { ChatError } from '../errors.js';

export interface RateLimiter {
  /** Counts one request; throws `rate_limited` when the user is over the limit. */
  take(userId: string): Promise<void>;
  forget(userId: string): Promise<void>;
}

const WINDOW_MS = 60_000;

function refuse(now: number): never {
  const retryAfterSeconds = Math.max(1, Math.ceil((WINDOW_MS - (now % WINDOW_MS)) / 1000));
  throw new ChatError('rate_limited', `Too many requests. Please wait ${retryAfterSeconds} s before sending another message.`, {
    retryAfterSeconds,
  });
}

/** `now` is the clock the windows are cut from (injected by tests). */
export function createMemoryRateLimiter(perMinute: number, now: () => number = Date.now): RateLimiter {
  const counts = new Map<string, { window: number; count: number }>();
  return {
    async take(userId) {
      if (perMinute === 0) return;
      const at = now();
      const window = Math.floor(at / WINDOW_MS);
      const entry = counts.get(userId);
      if (!entry || entry.window !== window) {
        if (counts.size > 10_000) counts.clear();
        counts.set(userId, { window, count: 1 });
        return;
      }
      entry.count++;
      if (entry.count > perMinute) refuse(at);
    },
    async forget(userId) {
      counts.delete(userId);
    },
  };
}

export function createRedisRateLimiter(redis: Redis, perMinute: number, now: () => number = Date.now): RateLimiter {
  const key = (userId: string, window: number) => `autochat:rate:${userId}:${window}`;
  return {
    async take(userId) {
      if (perMinute === 0) return;
      const at = now();
      const window = Math.floor(at / WINDOW_MS);
      const [[, count]] = (await redis
        .multi()
        .incr(key(userId, window))
        .pexpire(key(userId, window), WINDOW_MS * 2)
        .exec()) as [[Error | null, number]];
      if (count > perMinute) refuse(at);
    },
    async forget(userId) {
      const window = Math.floor(now() / WINDOW_MS);
      await redis.del(key(userId, window), key(userId, window - 1));
    },
  };
}
