/**
 * Where a run's UI-stream chunks go, so that any number of readers, on any instance, can replay a run
 * from its first event and then follow it live; and how a stop request reaches the run's owner.
 * Two implementations: in memory (one process) and Redis Streams + pub/sub (many instances).
 */
import type { UIMessageChunk } from 'ai';

export type RunEvent = UIMessageChunk;

export interface RunEventLog {
  readonly kind: 'memory' | 'redis';
  /** Creates the run's log. */
  open(runId: string): Promise<void>;
  /** Appends one event. Appends for a run are applied in call order. */
  append(runId: string, event: RunEvent): Promise<void>;
  /** Marks the log complete; readers end after its last event, and its memory is released later. */
  end(runId: string): Promise<void>;
  /** True while the log exists (open or recently ended). */
  exists(runId: string): Promise<boolean>;
  /**
   * Every event of the run from the first, then live ones until the log ends or `signal` aborts.
   * Pulls one event at a time, so a slow reader never makes the log buffer on its behalf.
   */
  read(runId: string, signal?: AbortSignal): AsyncIterable<RunEvent>;
  /**
   * Takes over the log of a run another instance was generating (it stopped): returns every event
   * so far — or undefined when there is no log, or it has ended — and appends after them from now
   * on as the run's own writer (so a Redis restart is repaired from here too).
   */
  adopt(runId: string): Promise<RunEvent[] | undefined>;
  /** Stops writing a run's log from here (another instance continues it): nothing is appended or repaired any more. */
  disown(runId: string): void;
  /** Asks the run's owner, wherever it is, to stop. */
  requestStop(runId: string): Promise<void>;
  /** Calls `onStop` when a stop is requested for this run; returns the unsubscribe function. */
  onStop(runId: string, onStop: () => void): () => void;
  /** Forgets every log of these runs at once (erasure of a user's data). */
  forget(runIds: string[]): Promise<void>;
  ping(): Promise<boolean>;
  close(): Promise<void>;
}

/** How long an ended run's log is kept for readers that are still catching up. */
export const ENDED_LOG_TTL_MS = 60_000;
