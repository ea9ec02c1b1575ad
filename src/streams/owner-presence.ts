/**
 * Whether the instance that owns a run is still alive, independently of the database: each instance
 * keeps a key in Redis (`autochat:owner:<owner>`, expiring after RUN_LEASE_MS) fresh while it runs. A
 * run's lease lives in the database, so an outage longer than the lease lets every lease expire while
 * their owners are alive and still generating; when the database returns, another instance's
 * sweeper must not declare those runs interrupted — their owners renew or end them. Without Redis
 * there is one instance, whose own sweeper already skips the runs it is generating.
 */
import type { Redis } from 'ioredis';

export type OwnerPresence = {
  /** Says this instance is alive, for `leaseMs`. */
  beat(): Promise<void>;
  /** True while `owner` has beaten within its lease; false when unknown (no Redis, or Redis away). */
  alive(owner: string): Promise<boolean>;
};

const PREFIX = 'autochat:owner:';

export function redisOwnerPresence(redis: Redis, owner: string, leaseMs: number): OwnerPresence {
  return {
    async beat() {
      await redis.set(`${PREFIX}${owner}`, '1', 'PX', leaseMs);
    },
    async alive(other) {
      try {
        return (await redis.exists(`${PREFIX}${other}`)) === 1;
      } catch {
        return false;
      }
    },
  };
}

export const noOwnerPresence: OwnerPresence = { beat: async () => {}, alive: async () => false };
