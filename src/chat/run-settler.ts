/**
 * Stores the end of every run — chat runs and agent executions alike — exactly once, even when the
 * database is away as the run ends. A run hands its end record here; it is stored at once if the database answers. If not, the record is
 * first kept in a durable place (see PendingSaves) — only then does the run report its end — and
 * retried with backoff until the database takes it, for as long as that takes. The database's run
 * (or execution) transition (`running` → an outcome, once) makes every retry, and every other instance trying the
 * same record, safe: the first store wins and the rest are refused.
 */
import type { Logger } from 'pino';
import { endRecordFields, executionEndOf, serializeEndRecord, runEndOf, type EndRecord } from '../store/end-record.js';
import type { ExecutionsRepository } from '../store/executions-repository.js';
import type { PendingSaves } from '../store/pending-saves.js';
import type { RunsRepository } from '../store/runs-repository.js';
import { outageOf } from '../service-outage.js';
import { RunStateError } from './run-state.js';
import { errorSummary } from '../logger.js';

/** `stored`: in the database now. `pending`: kept, and stored later. `ended-elsewhere`: the run had already ended (or its session is gone). */
export type SaveResult = 'stored' | 'pending' | 'ended-elsewhere';

export type PendingSaveStats = { count: number; bytes: number };

export type RunSettler = {
  /** Stores a run's end now, or keeps it and stores it as soon as the database takes it. */
  save(record: EndRecord): Promise<SaveResult>;
  /** Stores a record now (throws while the database is away); for recovery, which found it here or in the shared place. */
  settle(record: EndRecord): Promise<Exclude<SaveResult, 'pending'>>;
  /** The unsaved end of a run, held by this process or (Redis) by any. */
  find(runId: string): Promise<EndRecord | undefined>;
  /** True while this process holds an unsaved end of the run. */
  has(runId: string): boolean;
  /** Takes over records an earlier process left (the journal at start) and tries them at once. */
  adopt(records: EndRecord[]): void;
  /** Tries every pending record now (the database is known to answer again). */
  retryNow(): void;
  stats(): PendingSaveStats;
  close(): Promise<void>;
};

export type RunSettlerOptions = {
  runs: Pick<RunsRepository, 'end'>;
  executions: Pick<ExecutionsRepository, 'end'>;
  place: PendingSaves;
  log: Logger;
  /** Bound on the bytes of records waiting in this process; beyond it a record is kept in memory only. */
  maxBytes: number;
  /** Called once per record, when it is stored (by this process). */
  onStored?: (record: EndRecord) => void;
  /** Called on every attempt that failed because the database is still away. */
  onRetryFailed?: () => void;
  /** Called when a record could not be kept durably (over the bound, or the place is down). */
  onOverflow?: () => void;
  /** First wait between attempts, doubled after each failed round up to `maxDelayMs`. */
  baseDelayMs?: number;
  maxDelayMs?: number;
};

type Pending = { record: EndRecord; bytes: number; durable: boolean; attempts: number };

export function createRunSettler(options: RunSettlerOptions): RunSettler {
  const { runs, executions, place, log } = options;
  const baseDelay = options.baseDelayMs ?? 500;
  const maxDelay = options.maxDelayMs ?? 30_000;
  const pending = new Map<string, Pending>();
  const inFlight = new Map<string, Promise<Exclude<SaveResult, 'pending'>>>();
  let bytes = 0;
  let delay = baseDelay;
  let timer: NodeJS.Timeout | undefined;
  let retrying: Promise<void> | undefined;
  let closed = false;

  /** Drops a record that is settled; from the durable place too when it may be there. */
  const forget = async (runId: string, kept: boolean) => {
    const entry = pending.get(runId);
    if (entry) {
      pending.delete(runId);
      bytes -= entry.bytes;
    }
    if (!kept && !entry) return;
    await place
      .remove(runId)
      .catch((error: unknown) => log.warn({ runId, err: errorSummary(error) }, 'could not drop a stored end record'));
  };

  /** One attempt to store a record; throws when the database did not answer. Concurrent attempts for a run share one. */
  const attempt = (record: EndRecord, kept: boolean): Promise<Exclude<SaveResult, 'pending'>> => {
    const running = inFlight.get(record.runId);
    if (running) return running;
    const work = (async (): Promise<Exclude<SaveResult, 'pending'>> => {
      if (record.kind === 'execution') {
        if (!(await executions.end(record.runId, executionEndOf(record)))) {
          log.warn({ executionId: record.runId }, 'execution had already ended elsewhere, or was erased: nothing stored');
          await forget(record.runId, kept);
          return 'ended-elsewhere';
        }
      } else {
        try {
          await runs.end(record.runId, record.sessionId, record.userId, runEndOf(record));
        } catch (error) {
          if (!RunStateError.isInstance(error)) throw error;
          log.warn(
            { runId: record.runId, sessionId: record.sessionId, from: error.from, to: error.to },
            'run had already ended elsewhere, or its session was deleted: nothing stored',
          );
          await forget(record.runId, kept);
          return 'ended-elsewhere';
        }
      }
      const wasPending = pending.has(record.runId);
      await forget(record.runId, kept);
      if (wasPending) log.info({ ...endRecordFields(record), to: record.status }, 'pending answer saved');
      options.onStored?.(record);
      return 'stored';
    })();
    inFlight.set(record.runId, work);
    void work.finally(() => inFlight.delete(record.runId)).catch(() => undefined);
    return work;
  };

  const schedule = (wait: number) => {
    if (closed || pending.size === 0) return;
    if (timer) clearTimeout(timer);
    timer = setTimeout(() => {
      timer = undefined;
      void retryAll();
    }, wait);
    timer.unref();
  };

  /** One round over every pending record, oldest first; stops at the first outage (the database is still away). */
  const retryAll = (): Promise<void> => {
    retrying ??= (async () => {
      let failed = false;
      for (const entry of [...pending.values()]) {
        if (!pending.has(entry.record.runId)) continue;
        // A shared place may have lost it (Redis restarted without persistence): keep it there again.
        if (!entry.durable || place.kind === 'redis') await keepDurably(entry);
        try {
          await attempt(entry.record, true);
        } catch (error) {
          failed = true;
          entry.attempts++;
          options.onRetryFailed?.();
          const outage = outageOf(error);
          const fields = { runId: entry.record.runId, attempts: entry.attempts, err: errorSummary(error) };
          if (outage) log.warn({ ...fields, service: outage }, 'saving an answer failed again; it stays kept and is retried');
          else log.error(fields, 'saving an answer failed (not an outage); it stays kept and is retried');
          break;
        }
      }
      delay = failed ? Math.min(maxDelay, delay * 2) : baseDelay;
    })().finally(() => {
      retrying = undefined;
      schedule(delay);
    });
    return retrying;
  };

  const keepDurably = async (entry: Pending) => {
    if (place.kind === 'memory') return;
    const others = bytes - entry.bytes;
    if (!entry.durable && others + entry.bytes > options.maxBytes) {
      options.onOverflow?.();
      log.error(
        { runId: entry.record.runId, pendingBytes: others, maxBytes: options.maxBytes },
        'PENDING_SAVES_MAX_BYTES reached: this answer is kept in memory only until the database returns',
      );
      return;
    }
    const kept = await place.put(entry.record).catch(() => false);
    if (!kept && !entry.durable) {
      options.onOverflow?.();
      log.error(
        { runId: entry.record.runId, place: place.kind },
        'could not keep an unsaved answer durably; it is kept in memory until the database returns',
      );
    }
    entry.durable ||= kept;
  };

  const hold = async (record: EndRecord, durable: boolean) => {
    const entry: Pending = { record, bytes: Buffer.byteLength(serializeEndRecord(record)), durable, attempts: 0 };
    pending.set(record.runId, entry);
    bytes += entry.bytes;
    if (!durable) await keepDurably(entry);
    schedule(delay);
  };

  return {
    async save(record) {
      try {
        return await attempt(record, false);
      } catch (error) {
        log.warn(
          { ...endRecordFields(record), err: errorSummary(error), service: outageOf(error) },
          'the database did not take the answer: it is kept and saved when the database answers',
        );
        await hold(record, false);
        return 'pending';
      }
    },

    settle: (record) => attempt(record, true),

    async find(runId) {
      return pending.get(runId)?.record ?? (await place.get(runId));
    },

    has: (runId) => pending.has(runId),

    adopt(records) {
      for (const record of records) {
        if (pending.has(record.runId)) continue;
        void hold(record, true);
      }
      if (records.length > 0)
        log.warn({ records: records.length, place: place.kind }, 'answers left unsaved by an earlier process are being saved');
      schedule(0);
    },

    retryNow() {
      if (pending.size > 0 && !retrying) schedule(0);
    },

    stats: () => ({ count: pending.size, bytes }),

    async close() {
      closed = true;
      if (timer) clearTimeout(timer);
      await retrying;
      if (pending.size > 0) {
        const fields = { pending: pending.size, place: place.kind };
        if (place.kind === 'memory')
          log.error(fields, 'answers not yet saved are lost: no durable place was configured (DATA_DIR on disk, or REDIS_URL)');
        else log.warn(fields, 'answers not yet saved stay kept and are saved by the next start (journal) or any instance (Redis)');
      }
      await place.close();
    },
  };
}
