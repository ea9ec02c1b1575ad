/**
 * Where the end of a run waits when the database cannot take it: durable enough to outlive the
 * process (a local journal under DATA_DIR, or Redis shared by every instance), until the run settler
 * stores it. One interface, three places; see docs/architecture.md ("When the database is away").
 */
import type { EndRecord } from './end-record.js';

export interface PendingSaves {
  /** `journal`: a file under DATA_DIR; `redis`: shared by all instances; `memory`: nothing outlives the process. */
  readonly kind: 'journal' | 'redis' | 'memory';
  /** Keeps a record durably (on disk: written and fsynced). False when it could not be kept. */
  put(record: EndRecord): Promise<boolean>;
  /** Forgets a record once the database holds it (or refused it for good). */
  remove(runId: string): Promise<void>;
  /** The record of a run if it is kept here — by this process or, in a shared place, by any. */
  get(runId: string): Promise<EndRecord | undefined>;
  /** Records an earlier process left behind, to be stored at start. */
  load(): Promise<EndRecord[]>;
  close(): Promise<void>;
}

/** The place of last resort (no DATA_DIR on disk, no Redis): records live only as long as the process. */
export function memoryPendingSaves(): PendingSaves {
  return {
    kind: 'memory',
    put: async () => false,
    remove: async () => {},
    get: async () => undefined,
    load: async () => [],
    close: async () => {},
  };
}
