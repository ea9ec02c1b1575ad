/**
 * Appends a run's events to its log in order without making the generation wait for each: every
 * append is chained after the one before, so a slow write never reorders the log. A failed append is
 * reported (readers then miss events; the stored answer is still whole), and `settled()` resolves
 * once every append made so far has ended, whatever its result.
 */
import type { RunEvent, RunEventLog } from './run-event-log.js';

export type SerialAppender = {
  append(event: RunEvent): void;
  settled(): Promise<void>;
};

export function createSerialAppender(eventLog: RunEventLog, logId: string, onError: (error: unknown) => void): SerialAppender {
  let pending: Promise<void> = Promise.resolve();
  return {
    append(event) {
      const appended = eventLog.append(logId, event);
      pending = pending.then(
        () => appended,
        () => appended,
      );
      pending.catch(onError);
    },
    settled: () => pending.catch(() => {}),
  };
}
