import type { LimiterName, LimitPolicy } from './limiter.ts';

/** Limiters a degrade mode tightens. Checkout and login count failed attempts: tightening them would refuse honest buyers' retries, not load. */
const SCALED: readonly LimiterName[] = ['general', 'customer', 'sale'];

/**
 * The policies at `percent` % of their configured `max` (windows unchanged, at least 1). GCRA keeps
 * one timestamp per key, so a change of mode applies to the next request with no reset of budgets.
 * Results are memoized per percentage: the rate-limit plugin asks on every request. Each cut policy keeps its configured
 * max as `baseMax`, so that a request refused only by the cut can be told from one past the normal limit.
 */
export function createDegradedPolicies(policies: Record<LimiterName, LimitPolicy>): (percent: number) => Record<LimiterName, LimitPolicy> {
  const memo = new Map<number, Record<LimiterName, LimitPolicy>>();
  return (percent) => {
    if (percent >= 100) return policies;
    let scaled = memo.get(percent);
    if (!scaled) {
      scaled = { ...policies };
      for (const name of SCALED) scaled[name] = { ...policies[name], max: Math.max(1, Math.floor((policies[name].max * percent) / 100)), baseMax: policies[name].max };
      memo.set(percent, scaled);
    }
    return scaled;
  };
}
