/**
 * The run event log shared by every instance: each run is a Redis Stream (capped, and expiring after
 * the run ends); a per-run pub/sub channel wakes readers, and one channel carries stop requests.
 * Readers on any instance replay with XRANGE and follow live, so no state lives in one process.
 */
import { Redis } from 'ioredis';
import type { RunEvent, RunEventLog } from './run-event-log.js';
import { ENDED_LOG_TTL_MS } from './run-event-log.js';
import { ListenerRegistry } from './listener-registry.js';
import { createContentCipher, type ContentCipher } from '../store/content-cipher.js';

const PREFIX = 'autochat:run:';
const STOP_CHANNEL = 'autochat:stop';
const MAX_EVENTS = 100_000;
/** A safety net: a log whose run never ended (its owner died) still goes away. */
const OPEN_LOG_TTL_SECONDS = 24 * 3600;
/** Readers re-check the stream this often even without a notification, in case one was missed. */
const POLL_MS = 1000;

export async function createRedisRunEventLog(
  url: string,
  options: { endedTtlMs?: number; cipher?: ContentCipher } = {},
): Promise<RunEventLog> {
  // With ENCRYPTION_KEY set, events (answer text, tool payloads) are sealed in Redis as in the database.
  const cipher = options.cipher ?? createContentCipher();
  const connect = () =>
    new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 2, enableAutoPipelining: true });
  const commands = connect();
  const subscriber = connect();
  // Connection errors surface through the commands that fail (and /readyz); they must not crash the process.
  commands.on('error', () => {});
  subscriber.on('error', () => {});
  await commands.connect();
  await subscriber.connect();

  const endedTtlSeconds = Math.max(1, Math.ceil((options.endedTtlMs ?? ENDED_LOG_TTL_MS) / 1000));
  const wakers = new ListenerRegistry();
  const stopListeners = new ListenerRegistry();
  const key = (runId: string) => `${PREFIX}${runId}`;

  await subscriber.subscribe(STOP_CHANNEL);
  subscriber.on('message', (channel: string, message: string) => {
    if (channel === STOP_CHANNEL) stopListeners.notify(message);
    else wakers.notify(channel.slice(PREFIX.length));
  });

  /** Wakes `wake` whenever the run's log grows; the channel is subscribed while anyone follows. */
  const follow = async (runId: string, wake: () => void) => {
    const first = !wakers.has(runId);
    const remove = wakers.add(runId, wake);
    if (first) await subscriber.subscribe(key(runId));
    return async () => {
      remove();
      if (!wakers.has(runId)) await subscriber.unsubscribe(key(runId)).catch(() => {});
    };
  };

  return {
    kind: 'redis',
    async open(runId) {
      await commands
        .multi()
        .xadd(key(runId), '*', 'o', '1')
        .expire(key(runId), OPEN_LOG_TTL_SECONDS)
        .exec();
    },
    async append(runId, event) {
      await commands.xadd(key(runId), 'MAXLEN', '~', String(MAX_EVENTS), '*', 'e', cipher.seal(JSON.stringify(event)));
      await commands.publish(key(runId), '1');
    },
    async end(runId) {
      await commands
        .multi()
        .xadd(key(runId), '*', 'end', '1')
        .expire(key(runId), endedTtlSeconds)
        .publish(key(runId), '1')
        .exec();
    },
    async exists(runId) {
      return (await commands.exists(key(runId))) === 1;
    },
    async *read(runId, signal) {
      let wake: () => void = () => {};
      let woken = false;
      const onWake = () => {
        woken = true;
        wake();
      };
      const unfollow = await follow(runId, onWake);
      signal?.addEventListener('abort', onWake);
      try {
        let lastId = '-';
        while (!signal?.aborted) {
          woken = false;
          const start = lastId === '-' ? '-' : `(${lastId}`;
          const entries = await commands.xrange(key(runId), start, '+', 'COUNT', 200);
          if (entries.length === 0) {
            if (lastId === '-' || !(await commands.exists(key(runId)))) return;
            if (woken) continue;
            await new Promise<void>((resolve) => {
              const timer = setTimeout(resolve, POLL_MS);
              wake = () => {
                clearTimeout(timer);
                resolve();
              };
            });
            continue;
          }
          for (const [id, fields] of entries) {
            lastId = id;
            const [field, value] = fields;
            if (field === 'end') return;
            if (field === 'e' && value !== undefined) yield JSON.parse(cipher.open(value)) as RunEvent;
          }
        }
      } finally {
        signal?.removeEventListener('abort', onWake);
        await unfollow();
      }
    },
    async requestStop(runId) {
      await commands.publish(STOP_CHANNEL, runId);
    },
    onStop: (runId, onStop) => stopListeners.add(runId, onStop),
    async forget(runIds) {
      if (runIds.length > 0) await commands.del(...runIds.map(key));
    },
    async ping() {
      try {
        return (await commands.ping()) === 'PONG';
      } catch {
        return false;
      }
    },
    async close() {
      stopListeners.clear();
      wakers.notifyAll();
      commands.disconnect();
      subscriber.disconnect();
    },
  };
}
