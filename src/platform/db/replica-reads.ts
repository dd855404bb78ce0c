import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import { sql } from 'drizzle-orm';
import { defineScript } from '../redis/script.ts';
import type { Database, Db } from './client.ts';

/**
 * Reads that go to the read replica and must not miss the writes recorded before them: the catalog's cache
 * fills. A write's WAL position on the primary is recorded in Redis (`wrote`); a read asks `reader()`, which
 * answers the replica once it has replayed up to the last recorded position and the primary until then.
 * Without it, an admin's price change invalidated the cache, the next shopper's read ran on a replica a few
 * hundred milliseconds behind and cached the old price for the product TTL (5 min, an hour in a degrade mode).
 */
export interface ReplicaReads {
  /** After a committed write that later replica reads must see: records the primary's WAL position. Never throws. */
  wrote(): Promise<void>;
  /** The database such a read uses: the replica when it has replayed every recorded write (or there is none), else the primary. */
  reader(): Promise<Db>;
}

/**
 * A recorded position expires after this long without a newer write: a replica that lags further serves what it
 * has, and a recorded position from a database since replaced (a restored backup starts lower) stops sending
 * every read to the primary.
 */
export const WRITTEN_POSITION_TTL_MS = 60 * 60_000;

const recordPosition = defineScript({
  name: 'replica-written-position',
  keys: ['position'],
  // Positions are byte offsets in the WAL: exact as Lua numbers below 2^53 (8 PiB of WAL).
  lua: `
local current = tonumber(redis.call('GET', KEYS[1]) or '0')
if tonumber(ARGV[1]) > current then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
else
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
return 1`,
  parse: () => undefined,
  trace: 'event',
});

export function createReplicaReads(deps: { db: Database; redis: Redis; prefix: string; logger?: Logger }): ReplicaReads {
  const { db } = deps;
  if (db.pools.replica === undefined) return { wrote: async () => {}, reader: async () => db.primary };
  const key = `${deps.prefix}:db:written-wal-position`;
  /** The replica's replay position last read: it only grows, so a later write is the only reason to ask again. */
  let replayed = -1n;

  return {
    async wrote() {
      try {
        const result = await db.primary.execute<{ position: string }>(sql`select (pg_current_wal_insert_lsn() - '0/0')::text as position`);
        await recordPosition.run(deps.redis, { position: key }, result.rows[0]!.position, WRITTEN_POSITION_TTL_MS);
      } catch (error) {
        // The write itself committed: the worst left is one stale cache fill, as before this existed.
        deps.logger?.warn({ err: error }, 'could not record the write position for replica reads');
      }
    },

    async reader() {
      let written: bigint;
      try {
        const value = await deps.redis.get(key);
        if (value === null) return db.replica;
        written = BigInt(value);
      } catch {
        return db.replica; // Redis down: nothing is cached meanwhile either
      }
      if (replayed >= written) return db.replica;
      try {
        const result = await db.replica.execute<{ position: string | null }>(sql`select (pg_last_wal_replay_lsn() - '0/0')::text as position`);
        const position = result.rows[0]?.position;
        // null: not a standby (a primary configured as the replica, or the primary answering for an unreachable replica).
        if (position === null || position === undefined) return db.replica;
        const at = BigInt(position);
        if (at > replayed) replayed = at;
      } catch {
        return db.replica; // the read itself meets the same replica and fails or falls back as any replica read does
      }
      return replayed >= written ? db.replica : db.primary;
    },
  };
}
