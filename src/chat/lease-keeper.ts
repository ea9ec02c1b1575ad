/**
 * Keeps the leases of this process's runs alive with one statement per tick for all of them (not
 * one per run), saving each run's partial answer when it changed, for recovery after a crash. A run
 * whose lease was lost — another instance declared it interrupted — is told to stop.
 */
import type { Logger } from 'pino';
import type { RunsRepository } from '../store/runs-repository.js';
import type { ChatMessage } from './types.js';

type Tracked = { snapshot: () => ChatMessage; onLost: () => void; lastCheckpoint?: string };

export type LeaseKeeper = {
  track(runId: string, snapshot: () => ChatMessage, onLost: () => void): () => void;
  stop(): void;
};

export function createLeaseKeeper(options: {
  runs: RunsRepository;
  owner: string;
  leaseMs: number;
  /** Whether to save partial answers (not needed when a shared event log keeps every chunk). */
  checkpoints: boolean;
  log: Logger;
}): LeaseKeeper {
  const tracked = new Map<string, Tracked>();
  let renewing = false;

  const tick = async () => {
    if (renewing || tracked.size === 0) return;
    renewing = true;
    try {
      const batch = [...tracked].map(([runId, run]) => {
        if (!options.checkpoints) return { runId };
        const checkpoint = run.snapshot();
        const serialised = JSON.stringify(checkpoint.parts);
        if (serialised === run.lastCheckpoint) return { runId };
        run.lastCheckpoint = serialised;
        return { runId, checkpoint };
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
      options.log.warn({ err: { type: (error as Error).name } }, 'lease renewal failed');
    } finally {
      renewing = false;
    }
  };

  const timer = setInterval(() => void tick(), Math.max(200, Math.floor(options.leaseMs / 3)));
  timer.unref();

  return {
    track(runId, snapshot, onLost) {
      tracked.set(runId, { snapshot, onLost });
      return () => tracked.delete(runId);
    },
    stop() {
      clearInterval(timer);
      tracked.clear();
    },
  };
}
