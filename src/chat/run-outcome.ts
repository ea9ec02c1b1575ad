/**
 * How a run ended, decided once from what happened to it, so that the stored status and its reason
 * always tell the same story. A lost lease wins over everything: another instance may already have
 * closed the run as `interrupted`, and this one no longer owns it. Then a stop (whatever error the
 * abort caused), then a failure.
 */
import type { RunOutcome } from './types.js';

export type RunHappenings = {
  /** The user (or the library caller's signal) asked for the run to stop. */
  stopRequested: boolean;
  /** This instance could not renew the run's lease. */
  leaseLost: boolean;
  /** The run failed on its own (the provider, a broken stream), not because it was aborted. */
  sawError: boolean;
  /** The failure's kind (`timeout`, `broken`, …), when there was one. */
  failure?: string;
};

export type RunEnding = { outcome: RunOutcome; reason?: string };

export function decideRunOutcome(happened: RunHappenings): RunEnding {
  if (happened.leaseLost) return { outcome: 'interrupted', reason: 'lease lost' };
  if (happened.stopRequested) return { outcome: 'stopped', reason: 'stop requested' };
  if (happened.sawError) return { outcome: 'failed', reason: happened.failure ?? 'error' };
  return { outcome: 'finished' };
}
