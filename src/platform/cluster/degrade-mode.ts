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
  /** Every request of every web instance (load is load, whatever answered it). */
  requestsPerMinute: number;
  /**
   * Requests in the figures' window on the instances whose latency and faults count: those not
   * reporting a dependency outage (that is `/ready`'s business, not a reason to degrade).
   */
  sampleRequests: number;
  /** The worst p95 among the counted instances that served requests. */
  p95Ms: number;
  /** Server faults (5xx other than 503 refusals) as a share of the counted requests. */
  errorRatePercent: number;
  /** Per counted instance with requests: its p95 and fault rate (the signal must come from more than one). */
  instances: { p95Ms: number; errorRatePercent: number }[];
  /** Distinct clients seen by one instance in the window (the largest count): a floor for the cluster's. */
  clients: number;
  /** Distinct clients whose requests hit a server fault (the largest count of one instance). */
  faultClients: number;
  /** Web instances left out of the latency and fault figures because they report a dependency outage. */
  outageInstances: number;
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

/** Who may drive the latency and fault signals: enough requests, clients and instances. */
export interface SignalGates {
  minSampleRequests: number;
  /** Distinct clients the latency signal (all clients) or the fault signal (clients that hit a fault) needs. */
  minClients: number;
}

/**
 * Whether a latency or fault figure above `limit` is a cluster signal: enough requests, more than one
 * client, and (with several instances reporting) more than one instance above the limit — one
 * client or one sick instance is not the cluster.
 */
function isClusterSignal(figures: ClusterFigures, key: 'p95Ms' | 'errorRatePercent', limit: number, gates: SignalGates): boolean {
  if (figures.sampleRequests < gates.minSampleRequests) return false;
  if ((key === 'p95Ms' ? figures.clients : figures.faultClients) < gates.minClients) return false;
  const above = figures.instances.filter((instance) => instance[key] > limit).length;
  return above >= Math.min(2, figures.instances.length);
}

/** The figures above `thresholds × scale`, as readable reasons (empty: none crossed). */
function crossed(figures: ClusterFigures, thresholds: DegradeThresholds, scale: number, gates: SignalGates): string[] {
  const reasons: string[] = [];
  for (const key of Object.keys(LABELS) as (keyof DegradeThresholds)[]) {
    const value = figureOf(figures, key);
    const limit = thresholds[key] * scale;
    if (value <= limit) continue;
    if ((key === 'p95Ms' || key === 'errorRatePercent') && !isClusterSignal(figures, key, limit, gates)) continue;
    reasons.push(`${LABELS[key]} ${round(value)} > ${round(limit)}`);
  }
  return reasons;
}

const round = (n: number) => Math.round(n * 100) / 100;

/** What the leader remembers between evaluations (kept in Redis, so a new leader carries on). */
export interface TriggerState {
  /** Since when the figures have called for at least this level at every evaluation (null: they do not now). */
  callingSince: Record<ElevatedOrCritical, number | null>;
  /** When the signal behind the current level began. */
  triggeredAt: number | null;
  /** When the current level's thresholds were last crossed (or not yet recovered from). */
  lastCrossedAt: number | null;
}

export const NO_TRIGGER: TriggerState = { callingSince: { elevated: null, critical: null }, triggeredAt: null, lastCrossedAt: null };

export interface AutoDecisionInput {
  figures: ClusterFigures;
  thresholds: Record<ElevatedOrCritical, DegradeThresholds>;
  /** The level auto mode is in now. */
  current: DegradeMode;
  now: number;
  trigger: TriggerState;
  /** A level is entered only once its thresholds were crossed at every evaluation for this long. */
  sustainMs: number;
  /** Hold after the last crossing: `holdFactor` × how long the trigger lasted, within [minHoldMs, maxHoldMs]. */
  minHoldMs: number;
  maxHoldMs: number;
  holdFactor: number;
  /** Step down only below this share of the thresholds (hysteresis, so a level does not flap). */
  recoveryRatio: number;
  gates: SignalGates;
}

export interface AutoDecision {
  mode: DegradeMode;
  /** Why this level (for the transition log and notification); unchanged levels say so too. */
  reason: string;
  trigger: TriggerState;
}

/** How long a level is held after its signal last crossed, given how long the signal lasted. */
export function holdTimeMs(triggerMs: number, input: Pick<AutoDecisionInput, 'minHoldMs' | 'maxHoldMs' | 'holdFactor'>): number {
  return Math.min(input.maxHoldMs, Math.max(input.minHoldMs, triggerMs * input.holdFactor));
}

/**
 * The level auto mode should be in.
 * - Up only when a level's thresholds have been crossed at every evaluation for `sustainMs` (a blip
 *   never raises it), and latency and fault figures count only as a cluster signal (see `isClusterSignal`).
 * - Down only once every figure is below `recoveryRatio` of the current level's thresholds and the
 *   level has been held, since its thresholds were last crossed, for a time that grows with how long
 *   the trigger lasted (`holdTimeMs`): a short spike is forgotten soon, a long overload is not.
 */
export function decideAutoMode(input: AutoDecisionInput): AutoDecision {
  const { figures, thresholds, gates, now } = input;
  const levelAt = (scale: number): { mode: DegradeMode; reasons: string[] } => {
    const critical = crossed(figures, thresholds.critical, scale, gates);
    if (critical.length > 0) return { mode: 'critical', reasons: critical };
    const elevated = crossed(figures, thresholds.elevated, scale, gates);
    if (elevated.length > 0) return { mode: 'elevated', reasons: elevated };
    return { mode: 'normal', reasons: [] };
  };
  const target = levelAt(1);
  const callingSince = {
    elevated: RANK[target.mode] >= RANK.elevated ? (input.trigger.callingSince.elevated ?? now) : null,
    critical: RANK[target.mode] >= RANK.critical ? (input.trigger.callingSince.critical ?? now) : null,
  };
  const sustained: DegradeMode = (['critical', 'elevated'] as const).find((level) => callingSince[level] !== null && now - callingSince[level] >= input.sustainMs) ?? 'normal';
  let { triggeredAt, lastCrossedAt } = input.trigger;
  if (input.current !== 'normal' && lastCrossedAt === null) {
    // A level without a remembered trigger (set before this rule existed): hold it from now.
    triggeredAt = now;
    lastCrossedAt = now;
  }
  const keep = (mode: DegradeMode, reason: string, last = lastCrossedAt, began = triggeredAt): AutoDecision => ({
    mode,
    reason,
    trigger: { callingSince, triggeredAt: mode === 'normal' ? null : began, lastCrossedAt: mode === 'normal' ? null : last },
  });

  if (RANK[sustained] > RANK[input.current]) {
    const since = callingSince[sustained as ElevatedOrCritical] ?? now;
    return keep(sustained, `${target.reasons.join(', ')} for ${Math.round((now - since) / 1000)} s`, now, RANK[input.current] === 0 ? since : (triggeredAt ?? since));
  }
  if (input.current === 'normal') {
    if (target.mode === 'normal') return keep('normal', 'all figures below the elevated thresholds');
    return keep('normal', `${target.reasons.join(', ')} for ${Math.round((now - (callingSince.elevated ?? now)) / 1000)} s of the ${Math.round(input.sustainMs / 1000)} s needed`);
  }
  if (RANK[target.mode] >= RANK[input.current]) return keep(input.current, target.reasons.join(', '), now);
  const recovered = levelAt(input.recoveryRatio);
  if (RANK[recovered.mode] >= RANK[input.current]) {
    return keep(input.current, `not yet below ${Math.round(input.recoveryRatio * 100)}% of the ${input.current} thresholds: ${recovered.reasons.join(', ')}`, now);
  }
  const last = lastCrossedAt ?? now;
  const hold = holdTimeMs(last - (triggeredAt ?? last), input);
  if (now - last < hold) {
    return keep(input.current, `held for ${Math.round((now - last) / 1000)} s of ${Math.round(hold / 1000)} s since the thresholds were last crossed`);
  }
  const below = `every figure below ${Math.round(input.recoveryRatio * 100)}% of the ${input.current} thresholds for ${Math.round((now - last) / 1000)} s`;
  return keep(recovered.mode, recovered.reasons.length > 0 ? `${below}; still ${recovered.reasons.join(', ')}` : below, now, callingSince.elevated ?? now);
}
