/**
 * The rows of a lease renewal, shared by chat runs and agent executions: the lease keeper
 * (src/chat/lease-keeper.ts) renews every live run of an instance in one `update … from (values …)`
 * statement, saving each one's crash checkpoint (sealed like message content) and what it has spent.
 */
import { type SQL, sql } from 'drizzle-orm';
import type { ChatMessage } from './records.js';
import type { ContentCipher } from './content-cipher.js';
import type { RunProgress } from './run-progress.js';

export type LeaseRenewal = { runId: string; checkpoint?: ChatMessage; progress?: RunProgress };

/** `(id, checkpoint, progress)` for each renewal, to be named `v(id, checkpoint, progress)`. */
export function leaseRenewalValues(cipher: ContentCipher, renewals: LeaseRenewal[]): SQL {
  return sql.join(
    renewals.map(
      (run) =>
        sql`(${run.runId}::uuid, ${run.checkpoint ? cipher.seal(JSON.stringify(run.checkpoint)) : null}::text, ${run.progress ? JSON.stringify(run.progress) : null}::text)`,
    ),
    sql`, `,
  );
}
