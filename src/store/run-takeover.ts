/**
 * The database side of continuing an answer on another instance: a stopping owner releases its run
 * (with what it has spent), and exactly one other instance claims it — the claim moves the run's
 * owner and lease and counts the continuation in one conditional statement, so two instances that
 * find the same expired run cannot both continue it (the second's condition no longer holds).
 */
import { sql } from 'drizzle-orm';
import { parseRunProgress, type RunProgress } from './run-progress.js';
import { queryRows, type Db } from './database.js';

export type ClaimedRun = {
  /** This continuation's number: 1 for the first takeover. */
  continuations: number;
  /** What the earlier owners had spent, as last saved with the lease (or with the release). */
  progress?: RunProgress;
};

export class RunTakeovers {
  constructor(private readonly db: Db) {}

  /**
   * Takes over a running run whose lease has expired (or that its owner released) from `previousOwner`,
   * if it was continued fewer than `max` times. Returns undefined, changing nothing, when another
   * instance claimed or ended it first, or the limit is reached.
   */
  async claim(input: {
    runId: string;
    previousOwner: string;
    owner: string;
    leaseMs: number;
    max: number;
  }): Promise<ClaimedRun | undefined> {
    const [row] = await queryRows<{ continuations: number; progress: string | null }>(
      this.db,
      sql`
      update chat_runs set owner = ${input.owner}, lease_expires_at = now() + ${`${input.leaseMs} milliseconds`}::interval,
        continuations = continuations + 1, released_at = null
      where id = ${input.runId} and status = 'running' and owner = ${input.previousOwner}
        and (lease_expires_at < now() or released_at is not null) and continuations < ${input.max}
      returning continuations, progress`,
    );
    return row && { continuations: Number(row.continuations), progress: parseRunProgress(row.progress) };
  }

  /**
   * Hands a running run on: saves what it has spent and lets its lease lapse now, marked released so
   * that other instances take it although this owner is still alive. False when it is not ours any more.
   */
  async release(runId: string, owner: string, progress: RunProgress | undefined): Promise<boolean> {
    const rows = await queryRows<{ id: string }>(
      this.db,
      sql`
      update chat_runs set released_at = now(), lease_expires_at = now() - interval '1 millisecond',
        progress = coalesce(${progress ? JSON.stringify(progress) : null}::text, progress)
      where id = ${runId} and owner = ${owner} and status = 'running'
      returning id`,
    );
    return rows.length > 0;
  }

  /** True when the run's owner released it (so a living owner does not keep others from it). */
  async released(runId: string): Promise<boolean> {
    const [row] = await queryRows<{ released: boolean }>(
      this.db,
      sql`
      select released_at is not null as released from chat_runs where id = ${runId} and status = 'running'`,
    );
    return row?.released === true;
  }

  /** How often a run was continued (0 for one never taken over). */
  async continuations(runId: string): Promise<number> {
    const [row] = await queryRows<{ continuations: number }>(this.db, sql`select continuations from chat_runs where id = ${runId}`);
    return Number(row?.continuations ?? 0);
  }
}
