/**
 * Lease renewal, shared by chat runs and agent executions: the lease keeper (src/chat/lease-keeper.ts)
 * renews every live run of an instance in one `update … from (values …)` statement, saving each one's
 * crash checkpoint (sealed like message content) and what it has spent.
 */
import { sql } from 'drizzle-orm';
import type { ContentCipher } from './content-cipher.js';
import { queryRows, type Db } from './database.js';
import type { ChatMessage } from './records.js';
import type { RunProgress } from './run-progress.js';

export type LeaseRenewal = { runId: string; checkpoint?: ChatMessage; progress?: RunProgress };

/** The tables whose rows hold leases, with the states in which a lease is still renewed. */
const LIVE_STATES = {
  chat_runs: sql`('running')`,
  agent_executions: sql`('queued', 'running')`,
};

/**
 * Extends the leases of an owner's live rows in `table` in one statement, saving each one's crash
 * checkpoint and progress where given. Returns the ids still live and held by `owner`; one missing
 * from them has been ended elsewhere (e.g. declared interrupted after a lost lease, or taken over).
 */
export async function renewLeases(
  db: Db,
  cipher: ContentCipher,
  table: keyof typeof LIVE_STATES,
  owner: string,
  leaseMs: number,
  renewals: LeaseRenewal[],
): Promise<Set<string>> {
  if (renewals.length === 0) return new Set();
  const values = sql.join(
    renewals.map(
      (run) =>
        sql`(${run.runId}::uuid, ${run.checkpoint ? cipher.seal(JSON.stringify(run.checkpoint)) : null}::text, ${run.progress ? JSON.stringify(run.progress) : null}::text)`,
    ),
    sql`, `,
  );
  const renewed = await queryRows<{ id: string }>(
    db,
    sql`
    update ${sql.raw(table)} t
    set lease_expires_at = now() + ${`${leaseMs} milliseconds`}::interval, checkpoint = coalesce(v.checkpoint, t.checkpoint),
      progress = coalesce(v.progress, t.progress)
    from (values ${values}) as v(id, checkpoint, progress)
    where t.id = v.id and t.owner = ${owner} and t.status in ${LIVE_STATES[table]}
    returning t.id`,
  );
  return new Set(renewed.map((row) => row.id));
}
