import { ConfigError, int, list, num } from '../config/env-schema.ts';
import type { DegradeLevelSettings, DegradeThresholds, ElevatedOrCritical, QueueDelays } from './degrade-mode.ts';

type CacheTtlKey = 'product' | 'categories' | 'popular';
type DelayKey = 'email' | 'analytics' | 'inventory';

/** `key=<non-negative integer>` pairs, e.g. `product=3600,categories=7200`; unnamed keys keep their defaults. */
function pair<K extends string>(keys: readonly K[], max?: { value: number; why: string }) {
  return (raw: string, name: string): [K, number] => {
    const [key = '', value = ''] = raw.split('=').map((part) => part.trim());
    if (!(keys as readonly string[]).includes(key)) throw new ConfigError(name, `unknown key "${key}" (keys: ${keys.join(', ')})`);
    if (!/^\d+$/.test(value)) throw new ConfigError(name, `expected ${key}=<non-negative integer>, got "${raw}"`);
    if (max !== undefined && Number(value) > max.value) throw new ConfigError(name, `${key}=${value} is above ${max.value} ${max.why}`);
    return [key as K, Number(value)];
  };
}

/**
 * The longest degrade-mode deferral of an order's follow-ups (1 h). A degraded level moves them past a load peak (held at
 * most DEGRADE_MAX_HOLD_MS, 30 min by default), not for days; and a queue Redis lost while one waits is made good by the
 * outbox relay only for the rows of the last OUTBOX_RETENTION_HOURS (at least 1 h). BullMQ itself takes delays of years.
 */
const MAX_QUEUE_DELAY = { value: 3_600_000, why: 'ms (1 h: a degraded level defers follow-ups past a load peak; past OUTBOX_RETENTION_HOURS a lost queue Redis would lose them)' };

const TTL_KEYS: readonly CacheTtlKey[] = ['product', 'categories', 'popular'];
const DELAY_KEYS: readonly DelayKey[] = ['email', 'analytics', 'inventory'];

/** The seed strategy's aggressive TTLs (s), used by both degraded levels unless configured. */
const SEED_TTLS: Record<CacheTtlKey, number> = { product: 3600, categories: 7200, popular: 1800 };
/** Queue delays (ms): the seed's values at `elevated`; at `critical` emails and analytics wait longer, stock sync does not. */
const DEFAULT_DELAYS: Record<ElevatedOrCritical, Record<DelayKey, number>> = {
  elevated: { email: 5000, analytics: 10_000, inventory: 1000 },
  critical: { email: 30_000, analytics: 60_000, inventory: 1000 },
};
const entries = <K extends string>(record: Record<K, number>) => Object.entries(record) as [K, number][];

/**
 * Degrade modes and the instance heartbeat. Threshold defaults: the seed strategy's cost optimizer
 * (10,000 requests/min, $100/h, $2000/day) and its alert levels (p95 > 1 s / error rate > 2 % warn,
 * p95 > 2 s / > 5 % critical); the critical RPM and cost figures are Salescale's (3× and 2× the
 * seed's). Effects: the seed's aggressive cache TTLs and queue delays at `elevated`.
 */
export const clusterEnv = {
  CLUSTER_HEARTBEAT_MS: int({ default: 2000, min: 100, max: 60_000 }),
  CLUSTER_INSTANCE_HOUR_COST_USD: num({ default: 0.2, min: 0 }),
  DEGRADE_WINDOW_S: int({ default: 60, min: 1, max: 3600 }),
  DEGRADE_MIN_SAMPLE_REQUESTS: int({ default: 100, min: 0 }),
  DEGRADE_MIN_CLIENTS: int({ default: 5, min: 1 }),
  DEGRADE_SUSTAIN_S: int({ default: 30, min: 0, max: 3600 }),
  DEGRADE_MIN_HOLD_MS: int({ default: 60_000, min: 0 }),
  DEGRADE_MAX_HOLD_MS: int({ default: 1_800_000, min: 0 }),
  DEGRADE_HOLD_FACTOR: num({ default: 2, min: 0 }),
  DEGRADE_RECOVERY_PERCENT: int({ default: 80, min: 1, max: 100 }),
  DEGRADE_ELEVATED_RPM: int({ default: 10_000, min: 1 }),
  DEGRADE_CRITICAL_RPM: int({ default: 30_000, min: 1 }),
  DEGRADE_ELEVATED_COST_HOUR_USD: num({ default: 100, min: 0 }),
  DEGRADE_CRITICAL_COST_HOUR_USD: num({ default: 200, min: 0 }),
  DEGRADE_ELEVATED_COST_DAY_USD: num({ default: 2000, min: 0 }),
  DEGRADE_CRITICAL_COST_DAY_USD: num({ default: 4000, min: 0 }),
  DEGRADE_ELEVATED_P95_MS: int({ default: 1000, min: 1 }),
  DEGRADE_CRITICAL_P95_MS: int({ default: 2000, min: 1 }),
  DEGRADE_ELEVATED_ERROR_PERCENT: num({ default: 2, min: 0, max: 100 }),
  DEGRADE_CRITICAL_ERROR_PERCENT: num({ default: 5, min: 0, max: 100 }),
  DEGRADE_ELEVATED_CACHE_TTL_S: list(pair(TTL_KEYS), entries(SEED_TTLS)),
  DEGRADE_CRITICAL_CACHE_TTL_S: list(pair(TTL_KEYS), entries(SEED_TTLS)),
  DEGRADE_ELEVATED_QUEUE_DELAY_MS: list(pair(DELAY_KEYS, MAX_QUEUE_DELAY), entries(DEFAULT_DELAYS.elevated)),
  DEGRADE_CRITICAL_QUEUE_DELAY_MS: list(pair(DELAY_KEYS, MAX_QUEUE_DELAY), entries(DEFAULT_DELAYS.critical)),
  DEGRADE_ELEVATED_RATE_LIMIT_PERCENT: int({ default: 75, min: 1, max: 100 }),
  DEGRADE_CRITICAL_RATE_LIMIT_PERCENT: int({ default: 50, min: 1, max: 100 }),
};

type ClusterEnv = { [K in keyof typeof clusterEnv]: ReturnType<(typeof clusterEnv)[K]['parse']> };

export interface ClusterConfig {
  /** Heartbeat, mode re-read and (on the leader) auto evaluation period; an instance is gone after 3 missed beats. */
  heartbeatMs: number;
  instanceHourCostUsd: number;
  /** Sliding window of the request figures (RPM, p95, error rate) each instance reports. */
  windowSeconds: number;
  /** Latency and error-rate thresholds apply only when the window holds at least this many requests cluster-wide. */
  minSampleRequests: number;
  /** …and only when this many distinct clients are behind them (all clients for latency, those that hit a fault for errors). */
  minClients: number;
  /** A level is entered only after its thresholds were crossed at every evaluation for this long. */
  sustainMs: number;
  /** After its thresholds were last crossed, a level is held `holdFactor` × the trigger's duration, within these bounds. */
  minHoldMs: number;
  maxHoldMs: number;
  holdFactor: number;
  /** Auto mode steps down only when every figure is below this share of the current level's thresholds. */
  recoveryRatio: number;
  thresholds: Record<ElevatedOrCritical, DegradeThresholds>;
  /** Effects of the two degraded levels; `normal` uses the base cache TTLs, no extra delays, full limits. */
  levels: Record<ElevatedOrCritical, DegradeLevelSettings>;
}

function ttls(pairs: [CacheTtlKey, number][], fallback: Record<CacheTtlKey, number>) {
  const m = { ...fallback, ...Object.fromEntries(pairs) };
  return { productS: Math.max(1, m.product), categoriesS: Math.max(1, m.categories), popularS: Math.max(1, m.popular) };
}

function delays(pairs: [DelayKey, number][], fallback: Record<DelayKey, number>): QueueDelays {
  const m = { ...fallback, ...Object.fromEntries(pairs) };
  return { emailMs: m.email, analyticsMs: m.analytics, inventoryMs: m.inventory };
}

/** Each threshold pair: elevated must not be above critical (else the cluster skips elevated on that figure). */
const THRESHOLD_PAIRS = [
  ['DEGRADE_ELEVATED_RPM', 'DEGRADE_CRITICAL_RPM'],
  ['DEGRADE_ELEVATED_COST_HOUR_USD', 'DEGRADE_CRITICAL_COST_HOUR_USD'],
  ['DEGRADE_ELEVATED_COST_DAY_USD', 'DEGRADE_CRITICAL_COST_DAY_USD'],
  ['DEGRADE_ELEVATED_P95_MS', 'DEGRADE_CRITICAL_P95_MS'],
  ['DEGRADE_ELEVATED_ERROR_PERCENT', 'DEGRADE_CRITICAL_ERROR_PERCENT'],
] as const;

/** Figures every live cluster is above 0 on: a 0 threshold degrades it for good (it does not switch the figure off). */
const POSITIVE = ['DEGRADE_ELEVATED_COST_HOUR_USD', 'DEGRADE_ELEVATED_COST_DAY_USD', 'DEGRADE_ELEVATED_ERROR_PERCENT', 'DEGRADE_CRITICAL_COST_HOUR_USD', 'DEGRADE_CRITICAL_COST_DAY_USD', 'DEGRADE_CRITICAL_ERROR_PERCENT'] as const;

function checkLevels(e: ClusterEnv): void {
  for (const name of POSITIVE) {
    if (e[name] <= 0) throw new ConfigError(name, 'must be above 0 (every live cluster crosses 0, so it would stay degraded); to leave this figure out, set it out of reach');
  }
  for (const [elevated, critical] of THRESHOLD_PAIRS) {
    if (e[elevated] > e[critical]) throw new ConfigError(elevated, `must not exceed ${critical} (${e[critical]}): the cluster would go from normal straight to critical on it`);
  }
  if (e.DEGRADE_MIN_HOLD_MS > e.DEGRADE_MAX_HOLD_MS) {
    throw new ConfigError('DEGRADE_MIN_HOLD_MS', `must not exceed DEGRADE_MAX_HOLD_MS (${e.DEGRADE_MAX_HOLD_MS}): a level cannot be held at least longer than at most`);
  }
  if (e.DEGRADE_ELEVATED_RATE_LIMIT_PERCENT < e.DEGRADE_CRITICAL_RATE_LIMIT_PERCENT) {
    throw new ConfigError('DEGRADE_ELEVATED_RATE_LIMIT_PERCENT', `must not be below DEGRADE_CRITICAL_RATE_LIMIT_PERCENT (${e.DEGRADE_CRITICAL_RATE_LIMIT_PERCENT}): critical would limit less than elevated`);
  }
}

/** Throws a ConfigError for levels or hold bounds that contradict each other, or levels every cluster is always in. */
export function clusterConfigFrom(e: ClusterEnv): ClusterConfig {
  checkLevels(e);
  return {
    heartbeatMs: e.CLUSTER_HEARTBEAT_MS,
    instanceHourCostUsd: e.CLUSTER_INSTANCE_HOUR_COST_USD,
    windowSeconds: e.DEGRADE_WINDOW_S,
    minSampleRequests: e.DEGRADE_MIN_SAMPLE_REQUESTS,
    minClients: e.DEGRADE_MIN_CLIENTS,
    sustainMs: e.DEGRADE_SUSTAIN_S * 1000,
    minHoldMs: e.DEGRADE_MIN_HOLD_MS,
    maxHoldMs: e.DEGRADE_MAX_HOLD_MS,
    holdFactor: e.DEGRADE_HOLD_FACTOR,
    recoveryRatio: e.DEGRADE_RECOVERY_PERCENT / 100,
    thresholds: {
      elevated: {
        requestsPerMinute: e.DEGRADE_ELEVATED_RPM,
        costPerHourUsd: e.DEGRADE_ELEVATED_COST_HOUR_USD,
        costPerDayUsd: e.DEGRADE_ELEVATED_COST_DAY_USD,
        p95Ms: e.DEGRADE_ELEVATED_P95_MS,
        errorRatePercent: e.DEGRADE_ELEVATED_ERROR_PERCENT,
      },
      critical: {
        requestsPerMinute: e.DEGRADE_CRITICAL_RPM,
        costPerHourUsd: e.DEGRADE_CRITICAL_COST_HOUR_USD,
        costPerDayUsd: e.DEGRADE_CRITICAL_COST_DAY_USD,
        p95Ms: e.DEGRADE_CRITICAL_P95_MS,
        errorRatePercent: e.DEGRADE_CRITICAL_ERROR_PERCENT,
      },
    },
    levels: {
      elevated: {
        cacheTtl: ttls(e.DEGRADE_ELEVATED_CACHE_TTL_S, SEED_TTLS),
        queueDelays: delays(e.DEGRADE_ELEVATED_QUEUE_DELAY_MS, DEFAULT_DELAYS.elevated),
        rateLimitPercent: e.DEGRADE_ELEVATED_RATE_LIMIT_PERCENT,
      },
      critical: {
        cacheTtl: ttls(e.DEGRADE_CRITICAL_CACHE_TTL_S, SEED_TTLS),
        queueDelays: delays(e.DEGRADE_CRITICAL_QUEUE_DELAY_MS, DEFAULT_DELAYS.critical),
        rateLimitPercent: e.DEGRADE_CRITICAL_RATE_LIMIT_PERCENT,
      },
    },
  };
}
