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
  ...(redisUrl
    ? [
        ['redis', (ttlMs: number) => createRedisRunEventLog(redisUrl, { endedTtlMs: ttlMs })] as [
          string,
          (ttlMs: number) => Promise<RunEventLog>,
        ],
      ]
    : []),
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
      const reading = log.read(runId, controller.signal)[Symbol.asyncIterator]();
      // The reader has caught up and waits for live events when the signal aborts.
      expect(await reading.next()).toEqual({ done: false, value: delta('x') });
      const next = reading.next();
      controller.abort();
      expect(await next).toMatchObject({ done: true });
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
      // A listener still subscribed says when the second request has been delivered.
      let delivered = 0;
      const stillListening = log.onStop(runId, () => delivered++);
      await log.requestStop(runId);
      await expect.poll(() => delivered).toBe(1);
      expect(stopped).toBe(1);
      stillListening();
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

describe.runIf(Boolean(redisUrl))('redis run event log that Redis loses', () => {
  it('is written again whole, with its expiry, by the instance generating it; a reader carries on without a gap or a repeat', async () => {
    const log = await createRedisRunEventLog(redisUrl!, { endedTtlMs: 30_000 });
    const redis = new Redis(redisUrl!);
    const runId = randomUUID();
    const key = `autochat:run:${runId}`;
    try {
      await log.open(runId);
      await log.append(runId, { type: 'start', messageId: 'm' });
      await log.append(runId, { type: 'text-start', id: 't' });
      await log.append(runId, delta('a'));
      // A reader mid-stream: it has had the first three events.
      const reader = log.read(runId)[Symbol.asyncIterator]();
      const seen: RunEvent[] = [];
      for (let index = 0; index < 3; index++) seen.push((await reader.next()).value as RunEvent);
      const reading = (async () => {
        for (let next = await reader.next(); !next.done; next = await reader.next()) seen.push(next.value);
        return seen;
      })();
      // What a Redis restart without persistence does to it.
      await redis.del(key);
      await log.append(runId, delta('b'));
      // Not re-created half-empty by the append: written again with everything, and an expiry.
      await expect.poll(() => redis.xlen(key)).toBe(5);
      expect(await redis.pttl(key)).toBeGreaterThan(0);
      await log.append(runId, { type: 'text-end', id: 't' });
      await log.append(runId, { type: 'finish' });
      await log.end(runId);
      expect(await reading).toEqual([
        { type: 'start', messageId: 'm' },
        { type: 'text-start', id: 't' },
        delta('a'),
        delta('b'),
        { type: 'text-end', id: 't' },
        { type: 'finish' },
      ]);
      expect(await drain(log.read(runId))).toEqual(await reading);
      const ttl = await redis.pttl(key);
      expect(ttl).toBeGreaterThan(0);
      expect(ttl).toBeLessThanOrEqual(30_000);
    } finally {
      await redis.quit();
      await log.close();
    }
  });
});

describe.runIf(Boolean(redisUrl))('redis run event log taken over by another instance', () => {
  it('hands the events so far to the adopter, which appends after them; a reader following along sees one log', async () => {
    const [first, second] = await Promise.all([createRedisRunEventLog(redisUrl!), createRedisRunEventLog(redisUrl!)]);
    const runId = randomUUID();
    try {
      await first.open(runId);
      await first.append(runId, { type: 'start', messageId: 'm' });
      await first.append(runId, delta('a'));
      const reader = drain(second.read(runId));
      // The first instance stops (it hands the run on): it writes nothing more, and repairs nothing.
      first.disown(runId);
      expect(await second.adopt(runId)).toEqual([{ type: 'start', messageId: 'm' }, delta('a')]);
      await second.append(runId, delta('b'));
      await second.append(runId, { type: 'finish' });
      await second.end(runId);
      expect(await reader).toEqual([{ type: 'start', messageId: 'm' }, delta('a'), delta('b'), { type: 'finish' }]);
      // An ended log is nothing to continue.
      expect(await second.adopt(runId)).toBeUndefined();
      expect(await second.adopt(randomUUID())).toBeUndefined();
    } finally {
      await Promise.all([first.close(), second.close()]);
    }
  });
});
