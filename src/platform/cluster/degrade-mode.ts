/**
 * Degrade modes (the seed strategy's cost optimizer), as pure functions: which level the cluster's
 * live figures call for, and what each level changes. No I/O here; see cluster-node.ts for the
 * shared state in Redis.
 */

export const DEGRADE_MODES = ['normal', 'elevated', 'critical'] as const;
export type DegradeMode = (typeof DEGRADE_MODES)[number];
export type ElevatedOrCritical = Exclude<DegradeMode, 'normal'>;

export function isDegradeMode(value: unknown): value is DegradeMode {
  return typeof value === 'string' && (DEGRADE_MODES as readonly string[]).includes(value);
}

const RANK: Record<DegradeMode, number> = { normal: 0, elevated: 1, critical: 2 };

/** The numeric level of a mode (normal 0, elevated 1, critical 2). */
export function modeLevel(mode: DegradeMode): number {
  return RANK[mode];
}

/** A level is entered when ANY figure exceeds its threshold. */
export interface DegradeThresholds {
  requestsPerMinute: number;
  costPerHourUsd: number;
  /** Compared with the estimated spend since 00:00 UTC. */
  costPerDayUsd: number;
  p95Ms: number;
  errorRatePercent: number;
}

/** Live figures for the whole cluster (sums or request-weighted over every live instance). */
export interface ClusterFigures {
  requestsPerMinute: number;
  /** Requests in the figures' window, all instances: latency and error rate mean little on a handful. */
  sampleRequests: number;
  /** The worst p95 among the instances that served requests. */
  p95Ms: number;
  errorRatePercent: number;
  liveInstances: { web: number; worker: number };
  costPerHourUsd: number;
  costTodayUsd: number;
}

export interface QueueDelays {
  /** Order confirmation emails (ms); 0 keeps the job's own default. */
  emailMs: number;
  analyticsMs: number;
  /** Stock sync jobs. */
  inventoryMs: number;
}

export interface DegradeLevelSettings {
  cacheTtl: { productS: number; categoriesS: number; popularS: number };
  queueDelays: QueueDelays;
  /** Share (1–100) of the configured general, customer and sale limits; checkout and login limits never change. */
  rateLimitPercent: number;
}

/** What `mode` changes, given the `normal` cache TTLs. */
export function settingsFor(mode: DegradeMode, normalTtl: DegradeLevelSettings['cacheTtl'], levels: Record<ElevatedOrCritical, DegradeLevelSettings>): DegradeLevelSettings {
  if (mode === 'normal') return { cacheTtl: normalTtl, queueDelays: { emailMs: 0, analyticsMs: 0, inventoryMs: 0 }, rateLimitPercent: 100 };
  return levels[mode];
}

/** Estimated spend: live instances × price per instance-hour (until the scaling toolkit supplies a cost model). */
export function estimateHourlyCost(liveInstances: number, instanceHourCostUsd: number): number {
  return liveInstances * instanceHourCostUsd;
}

const LABELS: Record<keyof DegradeThresholds, string> = {
  requestsPerMinute: 'requests/min',
  costPerHourUsd: 'cost $/h',
  costPerDayUsd: 'cost today $',
  p95Ms: 'p95 ms',
  errorRatePercent: 'error rate %',
};

function figureOf(figures: ClusterFigures, key: keyof DegradeThresholds): number {
  return key === 'costPerDayUsd' ? figures.costTodayUsd : figures[key];
}

/** The figures above `thresholds × scale`, as readable reasons (empty: none crossed). */
function crossed(figures: ClusterFigures, thresholds: DegradeThresholds, scale: number, minSampleRequests: number): string[] {
  const reasons: string[] = [];
  for (const key of Object.keys(LABELS) as (keyof DegradeThresholds)[]) {
    if ((key === 'p95Ms' || key === 'errorRatePercent') && figures.sampleRequests < minSampleRequests) continue;
    const value = figureOf(figures, key);
    const limit = thresholds[key] * scale;
    if (value > limit) reasons.push(`${LABELS[key]} ${round(value)} > ${round(limit)}`);
  }
  return reasons;
}

const round = (n: number) => Math.round(n * 100) / 100;

export interface AutoDecisionInput {
  figures: ClusterFigures;
  thresholds: Record<ElevatedOrCritical, DegradeThresholds>;
  /** The level auto mode is in now. */
  current: DegradeMode;
  /** How long auto mode has been in `current`. */
  heldMs: number;
  minHoldMs: number;
  /** Step down only below this share of the thresholds (hysteresis, so a level does not flap). */
  recoveryRatio: number;
  minSampleRequests: number;
}

export interface AutoDecision {
  mode: DegradeMode;
  /** Why this level (for the transition log and notification); unchanged levels say so too. */
  reason: string;
}

/**
 * The level auto mode should be in. Up at once when a level's thresholds are crossed; down only
 * after `minHoldMs` in the current level and once every figure is below `recoveryRatio` of the
 * thresholds of the levels being left.
 */
export function decideAutoMode(input: AutoDecisionInput): AutoDecision {
  const { figures, thresholds, minSampleRequests } = input;
  const levelAt = (scale: number): { mode: DegradeMode; reasons: string[] } => {
    const critical = crossed(figures, thresholds.critical, scale, minSampleRequests);
    if (critical.length > 0) return { mode: 'critical', reasons: critical };
    const elevated = crossed(figures, thresholds.elevated, scale, minSampleRequests);
    if (elevated.length > 0) return { mode: 'elevated', reasons: elevated };
    return { mode: 'normal', reasons: [] };
  };
  const target = levelAt(1);
  if (RANK[target.mode] >= RANK[input.current]) {
    return { mode: target.mode, reason: target.reasons.length > 0 ? target.reasons.join(', ') : 'all figures below the elevated thresholds' };
  }
  const recovered = levelAt(input.recoveryRatio);
  if (RANK[recovered.mode] >= RANK[input.current]) {
    return { mode: input.current, reason: `not yet below ${Math.round(input.recoveryRatio * 100)}% of the ${input.current} thresholds: ${recovered.reasons.join(', ')}` };
  }
  if (input.heldMs < input.minHoldMs) {
    return { mode: input.current, reason: `held for ${Math.round(input.heldMs / 1000)} s of at least ${Math.round(input.minHoldMs / 1000)} s` };
  }
  const below = `every figure below ${Math.round(input.recoveryRatio * 100)}% of the ${input.current} thresholds`;
  return { mode: recovered.mode, reason: recovered.reasons.length > 0 ? `${below}; still ${recovered.reasons.join(', ')}` : below };
}
