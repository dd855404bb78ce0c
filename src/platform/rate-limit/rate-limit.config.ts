import { ConfigError, bool, int, list, timerMs } from '../config/env-schema.ts';
import { LIMITER_NAMES, type LimiterName, type LimitPolicy } from './limiter.ts';

function limiterName(raw: string, name: string): LimiterName {
  if (!(LIMITER_NAMES as readonly string[]).includes(raw)) throw new ConfigError(name, `unknown limiter "${raw}" (limiters: ${LIMITER_NAMES.join(', ')})`);
  return raw as LimiterName;
}

const MINUTE = 60_000;

/**
 * The seed strategy's limiters (general 1000 / 15 min, checkout 10 failed attempts / 15 min, sale
 * 100 / min) plus a per-customer budget for signed-in buyers, a login limiter, and a sign-up limiter
 * (successful registrations per address: each account is a fresh per-customer budget).
 */
export const rateLimitEnv = {
  RATE_LIMIT_ENABLED: bool(true),
  RATE_LIMIT_GENERAL_MAX: int({ default: 1000, min: 1 }),
  RATE_LIMIT_GENERAL_WINDOW_MS: int({ default: 15 * MINUTE, min: 1000 }),
  RATE_LIMIT_CHECKOUT_MAX: int({ default: 10, min: 1 }),
  RATE_LIMIT_CHECKOUT_WINDOW_MS: int({ default: 15 * MINUTE, min: 1000 }),
  RATE_LIMIT_SALE_MAX: int({ default: 100, min: 1 }),
  RATE_LIMIT_SALE_WINDOW_MS: int({ default: MINUTE, min: 1000 }),
  RATE_LIMIT_CUSTOMER_MAX: int({ default: 1000, min: 1 }),
  RATE_LIMIT_CUSTOMER_WINDOW_MS: int({ default: 15 * MINUTE, min: 1000 }),
  RATE_LIMIT_LOGIN_MAX: int({ default: 10, min: 1 }),
  RATE_LIMIT_LOGIN_WINDOW_MS: int({ default: 15 * MINUTE, min: 1000 }),
  RATE_LIMIT_SIGNUP_MAX: int({ default: 20, min: 1 }),
  RATE_LIMIT_SIGNUP_WINDOW_MS: int({ default: 60 * MINUTE, min: 1000 }),
  RATE_LIMIT_FAIL_CLOSED: list(limiterName, ['checkout', 'login']),
  RATE_LIMIT_SALE_REFRESH_MS: timerMs({ default: 5000, min: 0 }),
};

type RateLimitEnv = { [K in keyof typeof rateLimitEnv]: ReturnType<(typeof rateLimitEnv)[K]['parse']> };

export interface RateLimitConfig {
  enabled: boolean;
  policies: Record<LimiterName, LimitPolicy>;
  /** How long an instance trusts its last "is a sale live?" answer. */
  saleRefreshMs: number;
}

const FAILURES_ONLY: readonly LimiterName[] = ['checkout', 'login'];
/** Failed sign-ins and registrations are guesses at passwords and emails, whoever is signed in: counted per address. */
const BY_ADDRESS: readonly LimiterName[] = ['login', 'signup'];

export function rateLimitConfigFrom(e: RateLimitEnv): RateLimitConfig {
  const limits: Record<LimiterName, [number, number]> = {
    general: [e.RATE_LIMIT_GENERAL_MAX, e.RATE_LIMIT_GENERAL_WINDOW_MS],
    checkout: [e.RATE_LIMIT_CHECKOUT_MAX, e.RATE_LIMIT_CHECKOUT_WINDOW_MS],
    sale: [e.RATE_LIMIT_SALE_MAX, e.RATE_LIMIT_SALE_WINDOW_MS],
    customer: [e.RATE_LIMIT_CUSTOMER_MAX, e.RATE_LIMIT_CUSTOMER_WINDOW_MS],
    login: [e.RATE_LIMIT_LOGIN_MAX, e.RATE_LIMIT_LOGIN_WINDOW_MS],
    signup: [e.RATE_LIMIT_SIGNUP_MAX, e.RATE_LIMIT_SIGNUP_WINDOW_MS],
  };
  const policies = Object.fromEntries(
    LIMITER_NAMES.map((name) => [
      name,
      {
        name,
        max: limits[name][0],
        windowMs: limits[name][1],
        countFailuresOnly: FAILURES_ONLY.includes(name),
        countSuccessesOnly: name === 'signup',
        byAddress: BY_ADDRESS.includes(name),
        failClosed: e.RATE_LIMIT_FAIL_CLOSED.includes(name),
      },
    ]),
  ) as Record<LimiterName, LimitPolicy>;
  return { enabled: e.RATE_LIMIT_ENABLED, policies, saleRefreshMs: e.RATE_LIMIT_SALE_REFRESH_MS };
}
