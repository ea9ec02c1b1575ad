/** The run event log of a single process: arrays in a map, readers woken by a callback. */
import type { RunEvent, RunEventLog } from './run-event-log.js';
import { ENDED_LOG_TTL_MS } from './run-event-log.js';
import { ListenerRegistry } from './listener-registry.js';

type Log = { events: RunEvent[]; ended: boolean; wake: Set<() => void>; expiry?: NodeJS.Timeout };

export function createMemoryRunEventLog(options: { endedTtlMs?: number } = {}): RunEventLog {
  const logs = new Map<string, Log>();
  const stopListeners = new ListenerRegistry();
  const ttl = options.endedTtlMs ?? ENDED_LOG_TTL_MS;

  const wakeAll = (log: Log) => {
    const waiting = [...log.wake];
    log.wake.clear();
    for (const wake of waiting) wake();
  };

  return {
    kind: 'memory',
    async open(runId) {
      logs.set(runId, { events: [], ended: false, wake: new Set() });
    },
    async append(runId, event) {
      const log = logs.get(runId);
      if (!log || log.ended) return;
      log.events.push(event);
      wakeAll(log);
    },
    async end(runId) {
      const log = logs.get(runId);
      if (!log || log.ended) return;
      log.ended = true;
      wakeAll(log);
      log.expiry = setTimeout(() => logs.delete(runId), ttl);
      log.expiry.unref();
    },
    async exists(runId) {
      return logs.has(runId);
    },
    disown() {
      // One process: the log stays, for whoever continues the run here.
    },
    async adopt(runId) {
      const log = logs.get(runId);
      return log && !log.ended ? [...log.events] : undefined;
    },
    async *read(runId, signal) {
      const log = logs.get(runId);
      if (!log) return;
      let next = 0;
      while (!signal?.aborted) {
        if (next < log.events.length) {
          yield log.events[next++]!;
          continue;
        }
        if (log.ended) return;
        await new Promise<void>((resolve) => {
          const done = () => {
            signal?.removeEventListener('abort', done);
            log.wake.delete(done);
            resolve();
          };
          log.wake.add(done);
          signal?.addEventListener('abort', done, { once: true });
        });
      }
    },
    async requestStop(runId) {
      stopListeners.notify(runId);
    },
    onStop: (runId, onStop) => stopListeners.add(runId, onStop),
    async forget(runIds) {
      for (const runId of runIds) {
        const log = logs.get(runId);
        if (log?.expiry) clearTimeout(log.expiry);
        if (log) {
          log.ended = true;
          wakeAll(log);
        }
        logs.delete(runId);
      }
    },
    async ping() {
      return true;
    },
    async close() {
      for (const log of logs.values()) {
        if (log.expiry) clearTimeout(log.expiry);
        log.ended = true;
        wakeAll(log);
      }
      logs.clear();
      stopListeners.clear();
    },
  };
}
