/**
 * Run ends the database could not take yet, kept in Redis (`autochat:end:<runId>`, no expiry) so that
 * any instance can store them — the sweeper that finds the run's lease expired looks here first —
 * even if the instance that generated the answer dies meanwhile. Sealed like message content when
 * ENCRYPTION_KEY is set.
 */
import type { Redis } from 'ioredis';
import type { ContentCipher } from '../store/content-cipher.js';
import { parseEndRecord, serializeEndRecord } from '../store/end-record.js';
import type { PendingSaves } from '../store/pending-saves.js';

export const PENDING_SAVE_PREFIX = 'autochat:end:';

export function createRedisPendingSaves(redis: Redis, cipher: ContentCipher): PendingSaves {
  const key = (runId: string) => `${PENDING_SAVE_PREFIX}${runId}`;
  return {
    kind: 'redis',
    async put(record) {
      try {
        // No expiry: it stays until the database has it (PENDING_SAVES_MAX_BYTES bounds how much).
        await redis.set(key(record.runId), cipher.seal(serializeEndRecord(record)));
        return true;
      } catch {
        return false;
      }
    },
    async remove(runId) {
      await redis.del(key(runId));
    },
    async get(runId) {
      const stored = await redis.get(key(runId));
      return stored === null ? undefined : parseEndRecord(cipher.open(stored));
    },
    load: async () => [],
    close: async () => {},
  };
}
