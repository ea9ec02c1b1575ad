/**
 * The registry of runs executing in this process, and of starts under way, so that shutdown can wait
 * for them, hand them on to another instance, or stop them (their partial answers are stored). Once
 * `drain` begins, no new run starts here.
 */
import { ChatError } from '../errors.js';
import type { RunResult } from './types.js';

/** At shutdown, how long starts already under way are waited for at least, even with no grace period. */
const STARTS_WAIT_MS = 2000;

export type ActiveRun = {
  controller: AbortController;
  done: Promise<RunResult>;
  /** Aborted to hand the run on to another instance (absent: it cannot be handed on). */
  handOff?: AbortController;
  /** How often the run was already continued. */
  continuations?: number;
};

export type ActiveRuns = {
  get(runId: string): ActiveRun | undefined;
  has(runId: string): boolean;
  /** Registers a run; it leaves the registry when its `done` settles (the caller's `finally`). */
  add(runId: string, run: ActiveRun): void;
  delete(runId: string): void;
  readonly size: number;
  /** True once shutdown began. */
  readonly closing: boolean;
  /** How many running answers this process handed on to another instance as it stopped. */
  readonly handedOn: number;
  /**
   * Runs `start` unless shutdown began (then refuses with 503): a start already past this check when
   * shutdown begins is waited for, and its run gets the grace period.
   */
  admit<T>(start: () => Promise<T>): Promise<T>;
  /**
   * Stops taking runs, waits for starts under way and then for running runs until `deadline`; then
   * hands on the runs `mayHandOn` allows and stops the others, and waits for all of them to end.
   */
  drain(graceMs: number, mayHandOn: (run: ActiveRun) => boolean): Promise<void>;
};

export function createActiveRuns(): ActiveRuns {
  const active = new Map<string, ActiveRun>();
  /** Starts in progress, so `drain` waits for them before it counts the running runs. */
  const starting = new Set<Promise<void>>();
  let closing = false;
  let handedOn = 0;

  function claimStart(): () => void {
    let release!: () => void;
    const start = new Promise<void>((resolve) => {
      release = resolve;
    });
    starting.add(start);
    return () => {
      starting.delete(start);
      release();
    };
  }

  return {
    get: (runId) => active.get(runId),
    has: (runId) => active.has(runId),
    add: (runId, run) => void active.set(runId, run),
    delete: (runId) => void active.delete(runId),
    get size() {
      return active.size;
    },
    get closing() {
      return closing;
    },
    get handedOn() {
      return handedOn;
    },

    async admit(start) {
      if (closing)
        throw new ChatError('upstream_unavailable', 'The server is shutting down. Please try again in a moment.', { retryAfterSeconds: 2 });
      const started = claimStart();
      try {
        return await start();
      } finally {
        started();
      }
    },

    async drain(graceMs, mayHandOn) {
      closing = true;
      const deadline = Date.now() + graceMs;
      if (starting.size > 0) {
        // Bounded: a start stuck on an unreachable database must not hold the shutdown.
        let timer: NodeJS.Timeout | undefined;
        await Promise.race([
          Promise.all(starting),
          new Promise((resolve) => {
            timer = setTimeout(resolve, Math.max(graceMs, STARTS_WAIT_MS));
          }),
        ]);
        clearTimeout(timer);
      }
      // Runs started by those starts count too: wait until none is left or the grace period is over.
      while (active.size > 0 && Date.now() < deadline) {
        let timer: NodeJS.Timeout | undefined;
        await Promise.race([
          Promise.all([...active.values()].map((run) => run.done.catch(() => undefined))),
          new Promise((resolve) => {
            timer = setTimeout(resolve, deadline - Date.now());
          }),
        ]);
        clearTimeout(timer);
      }
      // Out of grace: runs another instance can continue are handed on (their readers see the answer
      // go on); the rest are stopped as if the user had pressed Stop, their partial answers stored.
      for (const run of active.values()) {
        if (run.handOff && mayHandOn(run)) {
          handedOn++;
          run.handOff.abort();
        } else {
          run.controller.abort();
        }
      }
      await Promise.all([...active.values()].map((run) => run.done.catch(() => undefined)));
    },
  };
}
