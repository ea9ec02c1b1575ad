/**
 * Both run event logs behave alike: replay from the first event then follow live, end after the
 * last event, deliver stop requests, and release an ended log (memory: dropped; Redis: expires).
 */
import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { createMemoryRunEventLog } from './memory-run-event-log.js';
import { createRedisRunEventLog } from './redis-run-event-log.js';
import type { RunEvent, RunEventLog } from './run-event-log.js';

const redisUrl = process.env.TEST_REDIS_URL || undefined;
if (!redisUrl) console.warn('TEST_REDIS_URL is not set: the Redis event log tests are skipped.');

const implementations: [string, (ttlMs: number) => Promise<RunEventLog>][] = [
  ['memory', async (ttlMs) => createMemoryRunEventLog({ endedTtlMs: ttlMs })],
  ...(redisUrl ? [['redis', (ttlMs: number) => createRedisRunEventLog(redisUrl, { endedTtlMs: ttlMs })] as [string, (ttlMs: number) => Promise<RunEventLog>]] : []),
];

const delta = (text: string): RunEvent => ({ type: 'text-delta', id: 't', delta: text });

async function drain(iterable: AsyncIterable<RunEvent>): Promise<RunEvent[]> {
  const events: RunEvent[] = [];
  for await (const event of iterable) events.push(event);
  return events;
}

describe.each(implementations)('%s run event log', (_name, create) => {
  it('replays from the first event, follows live, and ends after the last', async () => {
    const log = await create(60_000);
    const runId = randomUUID();
    try {
      await log.open(runId);
      await log.append(runId, { type: 'start', messageId: 'm' });
      await log.append(runId, delta('a'));
      const early = drain(log.read(runId));
      await log.append(runId, delta('b'));
      await new Promise((resolve) => setTimeout(resolve, 20));
      const late = drain(log.read(runId));
      await log.append(runId, { type: 'finish' });
      await log.end(runId);
      const expected = [{ type: 'start', messageId: 'm' }, delta('a'), delta('b'), { type: 'finish' }];
      expect(await early).toEqual(expected);
      expect(await late).toEqual(expected);
      // A reader arriving after the end still gets the whole run while the log is kept.
      expect(await drain(log.read(runId))).toEqual(expected);
    } finally {
      await log.close();
    }
  });

  it('stops a reader when its signal aborts', async () => {
    const log = await create(60_000);
    const runId = randomUUID();
    try {
      await log.open(runId);
      await log.append(runId, delta('x'));
      const controller = new AbortController();
      const reading = drain(log.read(runId, controller.signal));
      await new Promise((resolve) => setTimeout(resolve, 30));
      controller.abort();
      expect(await reading).toEqual([delta('x')]);
    } finally {
      await log.close();
    }
  });

  it('delivers a stop request to the run’s listener', async () => {
    const log = await create(60_000);
    const runId = randomUUID();
    try {
      let stopped = 0;
      const unsubscribe = log.onStop(runId, () => stopped++);
      await log.requestStop(runId);
      await expect.poll(() => stopped).toBe(1);
      unsubscribe();
      await log.requestStop(runId);
      await new Promise((resolve) => setTimeout(resolve, 50));
      expect(stopped).toBe(1);
    } finally {
      await log.close();
    }
  });

  it('releases an ended log after its time to live, and forgets on demand', async () => {
    const log = await create(1000);
    const runId = randomUUID();
    const other = randomUUID();
    try {
      await log.open(runId);
      await log.append(runId, delta('x'));
      await log.end(runId);
      expect(await log.exists(runId)).toBe(true);
      await expect.poll(() => log.exists(runId), { timeout: 5000, interval: 200 }).toBe(false);
      await log.open(other);
      await log.forget([other]);
      expect(await log.exists(other)).toBe(false);
      expect(await drain(log.read(other))).toEqual([]);
    } finally {
      await log.close();
    }
  });
});

describe.runIf(Boolean(redisUrl))('redis run event log storage', () => {
  it('caps the stream and sets a TTL when the run ends', async () => {
    const log = await createRedisRunEventLog(redisUrl!, { endedTtlMs: 30_000 });
    const redis = new Redis(redisUrl!);
    const runId = randomUUID();
    try {
      await log.open(runId);
      expect(await redis.ttl(`autochat:run:${runId}`)).toBeGreaterThan(3600);
      await log.end(runId);
      const ttl = await redis.ttl(`autochat:run:${runId}`);
      expect(ttl).toBeGreaterThan(0);
      expect(ttl).toBeLessThanOrEqual(30);
    } finally {
      await redis.quit();
      await log.close();
    }
  });
});
