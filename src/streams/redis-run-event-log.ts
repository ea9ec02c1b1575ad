/**
 * The run event log shared by every instance: each run is a Redis Stream (capped, and expiring after
 * the run ends); a per-run pub/sub channel wakes readers, and one channel carries stop requests.
 * Readers on any instance replay with XRANGE and follow live, so no state lives in one process.
 *
 * Entry ids are the events' positions (`0-1` opens the log, event i is `0-(i+2)`), so the log can be
 * rewritten exactly as it was: the instance generating a run keeps the run's events until it ends,
 * and when Redis loses them (a restart, with or without persistence) it writes the whole log again —
 * every event in order, with its expiry — and readers carry on from the position they reached,
 * neither missing nor repeating an event. Appends use NOMKSTREAM, so a lost log is never re-created
 * half-empty. Readers ride out a short Redis outage instead of ending.
 */
import { Redis } from 'ioredis';
import type { RunEvent, RunEventLog } from './run-event-log.js';
import { ENDED_LOG_TTL_MS } from './run-event-log.js';
import { ListenerRegistry } from './listener-registry.js';
import { createContentCipher, type ContentCipher } from '../store/content-cipher.js';

const PREFIX = 'autochat:run:';
const STOP_CHANNEL = 'autochat:stop';
/** A stop request is also left as a key for a while, for an owner whose subscription was down when it was published. */
const STOP_KEY_PREFIX = 'autochat:stop:';
const STOP_KEY_TTL_MS = 60_000;
const MAX_EVENTS = 100_000;
/** A safety net: a log whose run never ended (its owner died) still goes away. */
const OPEN_LOG_TTL_MS = 24 * 3600 * 1000;
/** Readers re-check the stream this often even without a notification, in case one was missed. */
const POLL_MS = 1000;
/** How long a reader waits through Redis errors, or for a lost log to be written again, before it gives up. */
const READER_GRACE_MS = 30_000;
/** Published on a run's channel when its log is deleted on purpose (erasure): readers end at once. */
const GONE = 'gone';

/** The entry id of event `index`; `0-1` is the log's opening entry. */
const entryId = (index: number) => `0-${index + 2}`;

type OwnedRun = {
  /** Every event so far, sealed as stored. */
  events: string[];
  ended: boolean;
  endedAt?: number;
  /** The log in Redis may lack events: it must be written again. */
  dirty: boolean;
  repairing: boolean;
  /** Events up to this count are being written by the repair in flight. */
  repairCovers: number;
  repairAgain: boolean;
  retry?: NodeJS.Timeout;
};

export async function createRedisRunEventLog(
  url: string,
  options: { endedTtlMs?: number; cipher?: ContentCipher; readerGraceMs?: number } = {},
): Promise<RunEventLog> {
  // With ENCRYPTION_KEY set, events (answer text, tool payloads) are sealed in Redis as in the database.
  const cipher = options.cipher ?? createContentCipher();
  const connect = () => new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 2, enableAutoPipelining: true });
  const commands = connect();
  const subscriber = connect();
  // Connection errors surface through the commands that fail (and /readyz); they must not crash the process.
  commands.on('error', () => {});
  subscriber.on('error', () => {});
  await commands.connect();
  await subscriber.connect();

  const endedTtlMs = Math.max(1000, options.endedTtlMs ?? ENDED_LOG_TTL_MS);
  const readerGraceMs = options.readerGraceMs ?? READER_GRACE_MS;
  const wakers = new ListenerRegistry();
  const stopListeners = new ListenerRegistry();
  const gone = new Set<string>();
  const owned = new Map<string, OwnedRun>();
  const key = (runId: string) => `${PREFIX}${runId}`;
  let closed = false;

  // The stop channel and the per-run channels are subscribed again by ioredis after a reconnect.
  await subscriber.subscribe(STOP_CHANNEL);
  subscriber.on('message', (channel: string, message: string) => {
    if (channel === STOP_CHANNEL) {
      stopListeners.notify(message);
      return;
    }
    const runId = channel.slice(PREFIX.length);
    if (message === GONE) {
      gone.add(runId);
      setTimeout(() => gone.delete(runId), endedTtlMs).unref();
    }
    wakers.notify(runId);
  });

  // A stop published while this instance's subscription was down (Redis restarting) is not lost:
  // once subscribed again, look for the request keys of the runs this instance generates — now, and
  // once more after the re-subscription has surely reached Redis.
  const checkMissedStops = async () => {
    const runIds = stopListeners.runIds();
    if (runIds.length === 0) return;
    const flags = await Promise.all(runIds.map((runId) => commands.exists(`${STOP_KEY_PREFIX}${runId}`).catch(() => 0)));
    runIds.forEach((runId, index) => {
      if (flags[index] === 1) stopListeners.notify(runId);
    });
  };
  subscriber.on('ready', () => {
    void checkMissedStops();
    setTimeout(() => void checkMissedStops(), POLL_MS / 2).unref();
  });

  // After a reconnect Redis may have lost the logs (no persistence) or their last entries (a
  // persistence that had not caught up): write every log this instance is generating again.
  commands.on('ready', () => {
    for (const runId of owned.keys()) requestRepair(runId);
  });

  const isDuplicate = (error: unknown) => error instanceof Error && /equal or smaller than the target stream top item/i.test(error.message);

  /** Asks for the run's log to be written again; `index` is the event whose append failed. */
  function requestRepair(runId: string, index?: number): void {
    const run = owned.get(runId);
    if (!run || closed) return;
    run.dirty = true;
    if (run.repairing) {
      if (index === undefined || index >= run.repairCovers) run.repairAgain = true;
      return;
    }
    if (run.retry) return; // a retry is scheduled and will write everything there is by then
    void repair(runId, run);
  }

  async function repair(runId: string, run: OwnedRun): Promise<void> {
    run.repairing = true;
    try {
      do {
        run.repairAgain = false;
        const count = run.events.length;
        run.repairCovers = count;
        const multi = commands.multi().del(key(runId)).xadd(key(runId), '0-1', 'o', '1');
        run.events.forEach((sealed, index) => multi.xadd(key(runId), entryId(index), 'e', sealed));
        if (run.ended) multi.xadd(key(runId), entryId(count), 'end', '1');
        multi.pexpire(key(runId), run.ended ? endedTtlMs : OPEN_LOG_TTL_MS).publish(key(runId), '1');
        const results = await multi.exec();
        if (!results || results.some(([error]) => error)) throw new Error('rewriting the run log failed');
        run.dirty = false;
      } while (run.repairAgain && !closed);
      if (run.ended && owned.get(runId) === run) owned.delete(runId);
    } catch {
      // Redis is still away: try again shortly, unless the log has outlived its use.
      if (run.ended && Date.now() - (run.endedAt ?? 0) > endedTtlMs) {
        owned.delete(runId);
      } else if (!closed && owned.get(runId) === run) {
        run.retry = setTimeout(() => {
          run.retry = undefined;
          requestRepair(runId);
        }, POLL_MS);
        run.retry.unref();
      }
    } finally {
      run.repairing = false;
    }
  }

  return {
    kind: 'redis',
    async open(runId) {
      const results = await commands.multi().xadd(key(runId), '0-1', 'o', '1').pexpire(key(runId), OPEN_LOG_TTL_MS).exec();
      const failed = results?.find(([error]) => error)?.[0];
      if (failed) throw failed;
      owned.set(runId, { events: [], ended: false, dirty: false, repairing: false, repairCovers: 0, repairAgain: false });
    },
    async append(runId, event) {
      const sealed = cipher.seal(JSON.stringify(event));
      const run = owned.get(runId);
      if (!run) {
        // Not generated here (a sweeper closing a dead owner's run): after whatever the log holds.
        await commands.xadd(key(runId), 'NOMKSTREAM', 'MAXLEN', '~', String(MAX_EVENTS), '*', 'e', sealed);
        await commands.publish(key(runId), '1');
        return;
      }
      const index = run.events.push(sealed) - 1;
      if (run.dirty) {
        requestRepair(runId, index);
        return;
      }
      try {
        const id = await commands.xadd(key(runId), 'NOMKSTREAM', 'MAXLEN', '~', String(MAX_EVENTS), entryId(index), 'e', sealed);
        if (id === null) {
          requestRepair(runId, index); // the log is gone: Redis lost it
          return;
        }
        await commands.publish(key(runId), '1');
      } catch (error) {
        if (!isDuplicate(error)) requestRepair(runId, index); // else a rewrite already holds it
      }
    },
    async end(runId) {
      const run = owned.get(runId);
      if (!run) {
        await commands
          .multi()
          .xadd(key(runId), 'NOMKSTREAM', '*', 'end', '1')
          .pexpire(key(runId), endedTtlMs)
          .publish(key(runId), '1')
          .exec();
        return;
      }
      run.ended = true;
      run.endedAt = Date.now();
      if (run.dirty) {
        requestRepair(runId);
        return;
      }
      try {
        const results = await commands
          .multi()
          .xadd(key(runId), 'NOMKSTREAM', entryId(run.events.length), 'end', '1')
          .pexpire(key(runId), endedTtlMs)
          .publish(key(runId), '1')
          .exec();
        const [error, id] = results?.[0] ?? [new Error('no reply')];
        if ((error && !isDuplicate(error)) || (!error && id === null)) requestRepair(runId);
        else if (owned.get(runId) === run && !run.repairing) owned.delete(runId);
      } catch {
        requestRepair(runId);
      }
    },
    async exists(runId) {
      return (await commands.exists(key(runId))) === 1;
    },
    disown(runId) {
      const run = owned.get(runId);
      if (run?.retry) clearTimeout(run.retry);
      owned.delete(runId);
    },
    async adopt(runId) {
      const entries: [string, string[]][] = [];
      for (let from = '-'; ; ) {
        const page = await commands.xrange(key(runId), from, '+', 'COUNT', 1000);
        entries.push(...page);
        if (page.length < 1000) break;
        from = `(${page.at(-1)![0]}`;
      }
      if (entries.length === 0 || entries.some(([, fields]) => fields[0] === 'end')) return undefined;
      const sealed = entries.filter(([, fields]) => fields[0] === 'e' && fields[1] !== undefined).map(([, fields]) => fields[1]!);
      // Entry ids are positions when one writer at a time wrote them; if not, the log is written
      // again in position order before anything is added, so later appends can never be refused.
      const positional = entries.at(-1)![0] === (sealed.length === 0 ? '0-1' : entryId(sealed.length - 1));
      const run: OwnedRun = { events: sealed, ended: false, dirty: !positional, repairing: false, repairCovers: 0, repairAgain: false };
      owned.set(runId, run);
      if (!positional) requestRepair(runId);
      return sealed.map((value) => JSON.parse(cipher.open(value)) as RunEvent);
    },
    async *read(runId, signal) {
      let wake: () => void = () => {};
      let woken = false;
      const onWake = () => {
        woken = true;
        wake();
      };
      const pause = (ms: number) =>
        new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, ms);
          wake = () => {
            clearTimeout(timer);
            resolve();
          };
        });
      const removeWaker = wakers.add(runId, onWake);
      signal?.addEventListener('abort', onWake);
      let subscribed = false;
      let failingSince: number | undefined;
      let missingSince: number | undefined;
      try {
        let lastId: string | undefined;
        while (!signal?.aborted) {
          woken = false;
          let entries: [string, string[]][];
          let present = true;
          try {
            if (!subscribed) {
              await subscriber.subscribe(key(runId));
              subscribed = true;
            }
            entries = await commands.xrange(key(runId), lastId === undefined ? '-' : `(${lastId}`, '+', 'COUNT', 200);
            if (entries.length === 0) present = (await commands.exists(key(runId))) === 1;
            failingSince = undefined;
          } catch (error) {
            // Redis is away (restarting?): wait for it rather than cut the reader off, for a while.
            failingSince ??= Date.now();
            if (Date.now() - failingSince > readerGraceMs) throw error;
            await pause(POLL_MS);
            continue;
          }
          if (entries.length === 0) {
            if (!present) {
              // Never existed, expired, or deleted on purpose: nothing (more) to read.
              if (lastId === undefined || gone.has(runId)) return;
              // Lost by Redis mid-run: the instance generating it writes it again; wait for that.
              missingSince ??= Date.now();
              if (Date.now() - missingSince > readerGraceMs) return;
            } else {
              missingSince = undefined;
            }
            if (woken) continue;
            await pause(POLL_MS);
            continue;
          }
          missingSince = undefined;
          for (const [id, fields] of entries) {
            lastId = id;
            const [field, value] = fields;
            if (field === 'end') return;
            if (field === 'e' && value !== undefined) yield JSON.parse(cipher.open(value)) as RunEvent;
          }
        }
      } finally {
        signal?.removeEventListener('abort', onWake);
        removeWaker();
        if (subscribed && !wakers.has(runId)) await subscriber.unsubscribe(key(runId)).catch(() => {});
      }
    },
    async requestStop(runId) {
      await commands.multi().set(`${STOP_KEY_PREFIX}${runId}`, '1', 'PX', STOP_KEY_TTL_MS).publish(STOP_CHANNEL, runId).exec();
    },
    onStop: (runId, onStop) => stopListeners.add(runId, onStop),
    async forget(runIds) {
      if (runIds.length === 0) return;
      for (const runId of runIds) {
        const run = owned.get(runId);
        if (run?.retry) clearTimeout(run.retry);
        owned.delete(runId);
      }
      const multi = commands.multi().del(...runIds.map(key));
      for (const runId of runIds) multi.publish(key(runId), GONE);
      await multi.exec();
    },
    async ping() {
      try {
        return (await commands.ping()) === 'PONG';
      } catch {
        return false;
      }
    },
    async close() {
      closed = true;
      for (const run of owned.values()) if (run.retry) clearTimeout(run.retry);
      owned.clear();
      stopListeners.clear();
      wakers.notifyAll();
      commands.disconnect();
      subscriber.disconnect();
    },
  };
}
