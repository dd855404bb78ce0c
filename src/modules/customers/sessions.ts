import { createHmac, randomBytes } from 'node:crypto';
import type { Redis } from 'ioredis';

export interface Session {
  customerId: number;
  createdAt: number;
  /** When the Redis key expires (ms); past half of the lifetime, a use extends it. */
  expiresAt: number;
}

/**
 * Sessions in Redis, so any instance serves any customer. The cookie carries a random 256-bit id;
 * Redis holds it only as an HMAC under SESSION_SECRET, so a copy of Redis yields no usable session.
 */
export interface SessionStore {
  /** Starts a new session (always a new id: logging in never reuses one) and returns its id. */
  create(customerId: number): Promise<string>;
  /**
   * The session behind a cookie id (none once its absolute lifetime is over), extending its lifetime when
   * it is past half of it (`renewed`: the caller must then renew the cookie too, whose Max-Age the browser
   * keeps, until `expiresAt`), unless `extend` is false (a reply that cannot renew the cookie must not
   * extend the session either).
   */
  get(id: string, options?: { extend?: boolean }): Promise<(Session & { key: string; renewed: boolean }) | undefined>;
  destroy(id: string): Promise<void>;
}

const ID = /^[A-Za-z0-9_-]{43}$/;
/** Session keys remembered per process (about 150 bytes each). */
const KEY_MEMO_SIZE = 50_000;

export function createSessionStore(deps: {
  redis: Redis;
  prefix: string;
  secret: string;
  /** Idle lifetime: a use in its second half extends the session by this much. */
  ttlS: number;
  /**
   * Absolute lifetime from sign-in, however often the session is used (OWASP ASVS 3.3.2): a copied cookie
   * kept alive by use ends too. Omitted: none.
   */
  maxAgeS?: number;
}): SessionStore {
  const maxAgeMs = deps.maxAgeS === undefined ? Number.POSITIVE_INFINITY : deps.maxAgeS * 1000;
  // The HMAC of a cookie id never changes: computed once per session and process instead of once per
  // signed-in request (an Hmac object each, garbage a sold-out storm makes by the thousand per second),
  // in a bounded map that starts over when full.
  const keys = new Map<string, string>();
  const keyOf = (id: string) => {
    let key = keys.get(id);
    if (key === undefined) {
      key = createHmac('sha256', deps.secret).update(id).digest('base64url');
      if (keys.size >= KEY_MEMO_SIZE) keys.clear();
      keys.set(id, key);
    }
    return key;
  };
  const redisKey = (key: string) => `${deps.prefix}:session:${key}`;

  return {
    async create(customerId) {
      const id = randomBytes(32).toString('base64url');
      const now = Date.now();
      const session: Session = { customerId, createdAt: now, expiresAt: now + Math.min(deps.ttlS * 1000, maxAgeMs) };
      await deps.redis.set(redisKey(keyOf(id)), JSON.stringify(session), 'EX', Math.ceil((session.expiresAt - now) / 1000));
      return id;
    },

    async get(id, options) {
      if (!ID.test(id)) return undefined;
      const key = keyOf(id);
      // One plain GET per request (it shares a socket write with other requests' commands).
      const raw = await deps.redis.get(redisKey(key));
      if (raw === null) return undefined;
      const session = JSON.parse(raw) as Session;
      const now = Date.now();
      const endsAt = session.createdAt + maxAgeMs;
      if (now >= endsAt) {
        void deps.redis.del(redisKey(key)).catch(() => undefined);
        return undefined;
      }
      const extendTo = Math.min(now + deps.ttlS * 1000, endsAt);
      const renewed = options?.extend !== false && session.expiresAt - now < (deps.ttlS * 1000) / 2 && extendTo > session.expiresAt;
      if (renewed) {
        const extended: Session = { ...session, expiresAt: extendTo };
        // XX: never resurrect a session that was destroyed meanwhile.
        void deps.redis.set(redisKey(key), JSON.stringify(extended), 'EX', Math.ceil((extendTo - now) / 1000), 'XX').catch(() => undefined);
        return { ...extended, key, renewed };
      }
      return { ...session, key, renewed };
    },

    async destroy(id) {
      if (!ID.test(id)) return;
      await deps.redis.del(redisKey(keyOf(id)));
    },
  };
}
