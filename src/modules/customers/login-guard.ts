import type { AccountDigest } from './account-digest.ts';
import type { LimitPolicy, RateLimiter } from '../../platform/rate-limit/limiter.ts';
import { LoginLockedError, LoginUnavailableError } from './customers.errors.ts';
import type { LoginGuard } from './customers.service.ts';

/**
 * Sign-in attempts per account (the `login` policy, counted by a hash of the email), on top of the
 * per-address `login` limiter on the route: rotating addresses does not buy a password-guessing
 * budget for one account. An attempt from a trusted device (one holding a device cookie for this account, see
 * `device-cookie.ts`) counts against that device's own budget instead: guesses from untrusted clients lock out
 * untrusted clients only, so a botnet cannot lock customers out of the devices they signed in on before, and a
 * device whose holder guesses wrong too often locks only itself. Each attempt takes its unit before the password is checked, and a
 * successful one gives it back: checking first and counting failures afterwards let every guess of a
 * burst sent at once pass the check before the first was counted. When Redis cannot be asked, a
 * fail-closed policy refuses.
 */
export function createLoginGuard(deps: { limiter: RateLimiter; policy: () => LimitPolicy; accountDigest: AccountDigest }): LoginGuard {
  const subject = (email: string, device: string | undefined) => (device === undefined ? `account:${deps.accountDigest(email)}` : `device:${device}`);
  return {
    async begin(email, device) {
      const policy = deps.policy();
      let decision: Awaited<ReturnType<RateLimiter['reserve']>>;
      try {
        decision = await deps.limiter.reserve(subject(email, device), [policy]);
      } catch {
        if (policy.failClosed) throw new LoginUnavailableError();
        return;
      }
      if (!decision.allowed) throw new LoginLockedError(Math.max(1, Math.ceil((decision.states[0]?.retryAfterMs ?? 1000) / 1000)), device === undefined ? 'account' : 'device');
    },
    async giveBack(email, device) {
      await deps.limiter.giveBack(subject(email, device), [deps.policy()]).catch(() => undefined);
    },
  };
}

/** For deployments with rate limiting switched off. */
export const noLoginGuard: LoginGuard = { begin: async () => undefined, giveBack: async () => undefined };
