import { createHmac, randomBytes } from 'node:crypto';
import type { Redis } from 'ioredis';

export interface Session {
  customerId: number;
  createdAt: number;
}

/**
 * Sessions in Redis, so any instance serves any customer. The cookie carries a random 256-bit id;
 * Redis holds it only as an HMAC under SESSION_SECRET, so a copy of Redis yields no usable session.
 */
export interface SessionStore {
  /** Starts a new session (always a new id: logging in never reuses one) and returns its id. */
  create(customerId: number): Promise<string>;
  /** The session behind a cookie id, extending its lifetime when it is past half of it. */
  get(id: string): Promise<(Session & { key: string }) | undefined>;
  destroy(id: string): Promise<void>;
}

const ID = /^[A-Za-z0-9_-]{43}$/;

export function createSessionStore(deps: { redis: Redis; prefix: string; secret: string; ttlS: number }): SessionStore {
  const keyOf = (id: string) => createHmac('sha256', deps.secret).update(id).digest('base64url');
  const redisKey = (key: string) => `${deps.prefix}:session:${key}`;

  return {
    async create(customerId) {
      const id = randomBytes(32).toString('base64url');
      const session: Session = { customerId, createdAt: Date.now() };
      await deps.redis.set(redisKey(keyOf(id)), JSON.stringify(session), 'EX', deps.ttlS);
      return id;
    },

    async get(id) {
      if (!ID.test(id)) return undefined;
      const key = keyOf(id);
      const [[, raw], [, ttl]] = ((await deps.redis.multi().get(redisKey(key)).ttl(redisKey(key)).exec()) ?? []) as [[unknown, string | null], [unknown, number]];
      if (typeof raw !== 'string') return undefined;
      if (typeof ttl === 'number' && ttl >= 0 && ttl < deps.ttlS / 2) void deps.redis.expire(redisKey(key), deps.ttlS).catch(() => undefined);
      const session = JSON.parse(raw) as Session;
      return { ...session, key };
    },

    async destroy(id) {
      if (!ID.test(id)) return;
      await deps.redis.del(redisKey(keyOf(id)));
    },
  };
}
