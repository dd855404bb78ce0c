import type { Redis } from 'ioredis';
import { defineScript } from '../redis/script.ts';
import { GCRA_GIVE_BACK_SCRIPT, GCRA_SCRIPT } from './rate-limit.script.ts';

export const LIMITER_NAMES = ['general', 'checkout', 'sale', 'customer', 'login', 'signup'] as const;
export type LimiterName = (typeof LIMITER_NAMES)[number];

/** One configured limit. */
export interface LimitPolicy {
  name: LimiterName;
  /** Units (requests, or failed attempts) allowed per window. */
  max: number;
  windowMs: number;
  /**
   * Count only responses with status ≥ 400 (failed checkout or login attempts): each attempt takes a
   * unit when it starts ({@link RateLimiter.reserve}) and a successful one gives it back
   * ({@link RateLimiter.giveBack}), so successful buyers are never throttled and attempts in flight at
   * once cannot outrun the limit.
   * @defaultValue false
   */
  countFailuresOnly: boolean;
  /**
   * Count only successful (2xx) responses, always by client address, signed in or not (`signup`: accounts
   * registered per address). The unit is taken when the request starts and given back unless it succeeded, so
   * registrations sent all at once cannot outrun the limit.
   * @defaultValue false
   */
  countSuccessesOnly?: boolean;
  /**
   * Count by client address even for a signed-in client (`login`, `signup`): every account is a fresh `customer`
   * budget, so counted per account, an address that registers accounts would get a fresh budget with each.
   * @defaultValue false
   */
  byAddress?: boolean;
  /**
   * When Redis is unreachable: `true` refuses with 503 (checkout, login: a limit that protects money or
   * accounts must not vanish in an outage); `false` lets requests through (browsing).
   */
  failClosed: boolean;
  /**
   * Set by a degrade mode that cut `max` (`createDegradedPolicies`): the configured max. The limiter then also counts
   * the client against it (a shadow key, kept only while the cut lasts; a request is counted there only when all the
   * call's limits at their normal max would have admitted it), to tell a request refused only by the cut from one
   * past the client's normal budget ({@link LimitState.withinBaseLimit}).
   */
  baseMax?: number;
}

export interface LimitState {
  policy: LimitPolicy;
  allowed: boolean;
  /** Units still available now. */
  remaining: number;
  /** When refused: ms until one more unit fits. */
  retryAfterMs: number;
  /** ms until the full quota is available again. */
  resetMs: number;
  /**
   * Whether the limit as configured, before a degrade mode's cut ({@link LimitPolicy.baseMax}), admitted this
   * request: refused with this true, the request was within the client's normal budget. Without a cut, `allowed`.
   */
  withinBaseLimit: boolean;
}

export interface LimitDecision {
  /** False when any enforced limit refused (then nothing was recorded). */
  allowed: boolean;
  states: LimitState[];
}

/** Shared limits kept in Redis; every call is one round trip (EVALSHA of one Lua script). */
export interface RateLimiter {
  /**
   * Checks every policy for `subject` and, if all allow, consumes one unit of each (all or nothing).
   * For an attempt whose outcome is not known yet (`countFailuresOnly` policies), the unit is counted
   * before the outcome, so attempts arriving together are counted one after another, never all
   * checked against the same count; give it back with {@link RateLimiter.giveBack} if the attempt
   * turns out not to count.
   */
  reserve(subject: string, policies: readonly LimitPolicy[]): Promise<LimitDecision>;
  /** Gives back one unit taken by {@link RateLimiter.reserve} (never below an empty budget). */
  giveBack(subject: string, policies: readonly LimitPolicy[]): Promise<void>;
}

/** Per policy: allowed (1/0), remaining, retryAfterMs, resetMs; then allowed overall (1/0). */
const gcra = defineScript({ name: 'rate-limit-gcra', keys: 'variadic', lua: GCRA_SCRIPT, parse: (reply) => (reply as unknown[]).map(Number) });
const giveBackScript = defineScript({ name: 'rate-limit-give-back', keys: 'variadic', lua: GCRA_GIVE_BACK_SCRIPT, parse: () => undefined });
const ALLOWED = 1;

/**
 * `prefix` is the deployment's Redis prefix. The subject is a Redis Cluster hash tag so that all of
 * one client's limits live in one slot and one script call can touch them together.
 */
export function createRateLimiter(deps: { redis: Redis; prefix: string }): RateLimiter {
  // `rlu`: TATs in microseconds (`rl` held milliseconds; a mixed rolling deploy must not read one as the other).
  const keyOf = (subject: string, policy: LimitPolicy) => `${deps.prefix}:rlu:{${subject}}:${policy.name}`;

  async function reserve(subject: string, policies: readonly LimitPolicy[]): Promise<LimitDecision> {
    if (policies.length === 0) return { allowed: true, states: [] };
    const cut = (policy: LimitPolicy) => policy.baseMax !== undefined && policy.baseMax > policy.max;
    // The limits' keys, then the shadow key of each limit a degrade mode cut (same hash tag: one slot).
    const keys = [...policies.map((policy) => keyOf(subject, policy)), ...policies.filter(cut).map((policy) => `${keyOf(subject, policy)}:base`)];
    // One unit of each, enforced.
    const args = policies.flatMap((policy) => [policy.max, policy.windowMs, 1, 1, cut(policy) ? (policy.baseMax ?? 0) : 0]);
    const reply = await gcra.run(deps.redis, keys, ...args);
    const states = policies.map((policy, i) => ({
      policy,
      allowed: reply[i * 5] === ALLOWED,
      remaining: Number(reply[i * 5 + 1]),
      retryAfterMs: Number(reply[i * 5 + 2]),
      resetMs: Number(reply[i * 5 + 3]),
      withinBaseLimit: reply[i * 5 + 4] === ALLOWED,
    }));
    return { allowed: reply[policies.length * 5] === ALLOWED, states };
  }

  return {
    reserve,
    async giveBack(subject, policies) {
      if (policies.length === 0) return;
      await giveBackScript.run(
        deps.redis,
        policies.map((policy) => keyOf(subject, policy)),
        ...policies.flatMap((policy) => [policy.max, policy.windowMs, 1]),
      );
    },
  };
}
