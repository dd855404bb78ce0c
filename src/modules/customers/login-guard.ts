import { createHash } from 'node:crypto';
import type { LimitPolicy, RateLimiter } from '../../platform/rate-limit/limiter.ts';
import { LoginLockedError, LoginUnavailableError } from './customers.errors.ts';
import type { LoginGuard } from './customers.service.ts';

/**
 * Failed sign-ins per account (the `login` policy, counted by a hash of the email), on top of the
 * per-address `login` limiter on the route: rotating addresses does not buy a password-guessing
 * budget for one account. When Redis cannot be asked, a fail-closed policy refuses.
 */
export function createLoginGuard(deps: { limiter: RateLimiter; policy: () => LimitPolicy }): LoginGuard {
  const subject = (email: string) => `account:${createHash('sha256').update(email.trim().toLowerCase()).digest('base64url')}`;
  return {
    async check(email) {
      const policy = deps.policy();
      let decision: Awaited<ReturnType<RateLimiter['check']>>;
      try {
        decision = await deps.limiter.check(subject(email), [policy]);
      } catch {
        if (policy.failClosed) throw new LoginUnavailableError();
        return;
      }
      if (!decision.allowed) throw new LoginLockedError(Math.max(1, Math.ceil((decision.states[0]?.retryAfterMs ?? 1000) / 1000)));
    },
    async recordFailure(email) {
      await deps.limiter.recordFailure(subject(email), [deps.policy()]).catch(() => undefined);
    },
  };
}

/** For deployments with rate limiting switched off. */
export const noLoginGuard: LoginGuard = { check: async () => undefined, recordFailure: async () => undefined };
