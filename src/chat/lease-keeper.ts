/**
 * Keeps the leases of this process's runs alive with one statement per tick for all of them (not
 * one per run), saving each run's partial answer when it changed, for recovery after a crash, and
 * what it has spent so far, so that it is charged whoever closes it. A run whose lease was lost —
 * another instance declared it interrupted — is told to stop.
 */
import type { Logger } from 'pino';
import type { RunProgress } from '../store/run-progress.js';
import type { RunsRepository } from '../store/runs-repository.js';
import type { OwnerPresence } from '../streams/owner-presence.js';
import type { ChatMessage } from './types.js';

export type RunSnapshot = { answer: ChatMessage; progress?: RunProgress };

type Tracked = { snapshot: () => RunSnapshot; onLost: () => void; lastCheckpoint?: string; lastProgress?: string };

export type LeaseKeeper = {
  track(runId: string, snapshot: () => RunSnapshot, onLost: () => void): () => void;
  /** Renews (and saves progress) now rather than at the next tick: a call just completed or started. */
  flush(): Promise<void>;
  stop(): void;
};

export function createLeaseKeeper(options: {
  /** Where leases are renewed: chat runs, or anything with the same statement (agent executions). */
  runs: Pick<RunsRepository, 'renewAll'>;
  owner: string;
  leaseMs: number;
  /** Whether to save partial answers (not needed when a shared event log keeps every chunk). */
  checkpoints: boolean;
  log: Logger;
  /** Also says, at every tick, that this instance is alive (kept outside the database). */
  presence?: OwnerPresence;
  /** Calls `tick` every `everyMs` until the returned function is called (default: an unref'd interval; tests inject their own). */
  schedule?: (tick: () => void, everyMs: number) => () => void;
}): LeaseKeeper {
  const tracked = new Map<string, Tracked>();
  let renewing = false;
  let again = false;

  const tick = async () => {
    if (renewing) {
      again = true;
      return;
    }
    if (tracked.size === 0) return;
    renewing = true;
    try {
      const batch = [...tracked].map(([runId, run]) => {
        const snapshot = run.snapshot();
        const entry: { runId: string; checkpoint?: ChatMessage; progress?: RunProgress } = { runId };
        if (options.checkpoints) {
          const serialised = JSON.stringify(snapshot.answer.parts);
          if (serialised !== run.lastCheckpoint) {
            run.lastCheckpoint = serialised;
            entry.checkpoint = snapshot.answer;
          }
        }
        if (snapshot.progress) {
          const serialised = JSON.stringify(snapshot.progress);
          if (serialised !== run.lastProgress) {
            run.lastProgress = serialised;
            entry.progress = snapshot.progress;
          }
        }
        return entry;
      });
      const alive = await options.runs.renewAll(options.owner, options.leaseMs, batch);
      for (const { runId } of batch) {
        const run = tracked.get(runId);
        if (run && !alive.has(runId)) {
          tracked.delete(runId);
          run.onLost();
        }
      }
    } catch (error) {
      // What was not saved is sent again at the next tick.
      for (const run of tracked.values()) {
        run.lastCheckpoint = undefined;
        run.lastProgress = undefined;
      }
      options.log.warn({ err: { type: (error as Error).name } }, 'lease renewal failed');
    } finally {
      renewing = false;
    }
    if (again) {
      again = false;
      void tick();
    }
  };

  const schedule = options.schedule ?? everyInterval;
  const unschedule = schedule(
    () => {
      options.presence?.beat().catch(() => {});
      void tick();
    },
    Math.max(200, Math.floor(options.leaseMs / 3)),
  );
  void options.presence?.beat().catch(() => {});

  return {
    track(runId, snapshot, onLost) {
      tracked.set(runId, { snapshot, onLost });
      return () => tracked.delete(runId);
    },
    flush() {
      return tick();
    },
    stop() {
      unschedule();
      tracked.clear();
    },
  };
}

function everyInterval(tick: () => void, everyMs: number): () => void {
  const timer = setInterval(tick, everyMs);
  timer.unref();
  return () => clearInterval(timer);
}
