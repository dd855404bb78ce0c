/**
 * Per-step service model: each ready instance is an M/M/1 queue behind a round-robin load balancer
 * (a Node.js process serves on one event loop). The instance's service rate μ is derived from the
 * benchmarked capacity C (requests/s at which p95 meets the SLO): for M/M/1 the response time is
 * exponential with rate μ − λ, so p95 = ln(20)/(μ − λ) and p95(C) = SLO gives μ = C + ln(20)/SLO.
 */

/** Service-level inputs of the model. */
export interface ServiceModelOptions {
  /** Requests/s one instance serves with p95 at the SLO (from the benchmark). */
  capacityPerInstanceRps: number;
  /** p95 latency objective. @defaultValue 500 (the seed strategy's "P95 < 500ms") */
  sloP95Ms: number;
  /** Error-rate objective; a step above it is "over SLO". @defaultValue 0.01 */
  sloErrorRate: number;
  /** Utilization above which an instance sheds (503/timeouts) instead of queueing. @defaultValue 0.98 */
  maxUtilization: number;
  /** Reported p95 while requests are shed (client/proxy timeout). @defaultValue 10000 */
  timeoutMs: number;
}

export const DEFAULT_SERVICE_MODEL: Omit<ServiceModelOptions, 'capacityPerInstanceRps'> = {
  sloP95Ms: 500,
  sloErrorRate: 0.01,
  maxUtilization: 0.98,
  timeoutMs: 10_000,
};

const LN20 = Math.log(20);

/** μ per instance (requests/s at 100 % CPU). */
export function getServiceRate(o: Pick<ServiceModelOptions, 'capacityPerInstanceRps' | 'sloP95Ms'>): number {
  return o.capacityPerInstanceRps + LN20 / (o.sloP95Ms / 1000);
}

/** What one step looks like from the user's side. */
export interface ServiceStep {
  demandRps: number;
  readyInstances: number;
  /** Requests/s the ready instances serve with p95 at the SLO. */
  readyCapacityRps: number;
  /** Offered load / (ready × μ), capped at 1: what CPU utilization would show. */
  utilization: number;
  p95Ms: number;
  servedRps: number;
  failedRps: number;
  overSlo: boolean;
}

export function evaluateServiceStep(demandRps: number, readyInstances: number, o: ServiceModelOptions): ServiceStep {
  const mu = getServiceRate(o);
  const readyCapacityRps = readyInstances * o.capacityPerInstanceRps;
  if (readyInstances <= 0) {
    const failed = demandRps;
    return { demandRps, readyInstances, readyCapacityRps, utilization: 1, p95Ms: o.timeoutMs, servedRps: 0, failedRps: failed, overSlo: failed > 0 };
  }
  const perInstance = demandRps / readyInstances;
  const limit = mu * o.maxUtilization;
  const served = Math.min(perInstance, limit);
  const failedRps = (perInstance - served) * readyInstances;
  const p95Ms = failedRps > 0 ? o.timeoutMs : Math.min(o.timeoutMs, (LN20 / (mu - served)) * 1000);
  const errorRate = demandRps > 0 ? failedRps / demandRps : 0;
  return {
    demandRps,
    readyInstances,
    readyCapacityRps,
    utilization: Math.min(1, perInstance / mu),
    p95Ms,
    servedRps: served * readyInstances,
    failedRps,
    overSlo: p95Ms > o.sloP95Ms || errorRate > o.sloErrorRate,
  };
}

/**
 * The fewest ready instances that serve `demandRps` within the SLO, by the very check that marks a step over it
 * (`evaluateServiceStep`'s p95 and error rate): what the simulator means by the instances the demand needs.
 */
export function getInstancesNeeded(demandRps: number, o: ServiceModelOptions): number {
  let n = Math.max(0, Math.ceil(demandRps / o.capacityPerInstanceRps) - 1);
  while (evaluateServiceStep(demandRps, n, o).overSlo) n++;
  while (n > 0 && !evaluateServiceStep(demandRps, n - 1, o).overSlo) n--;
  return n;
}

/** Instances needed so that utilization stays at or under `targetUtilization` (0–1). */
export function getInstancesForLoad(demandRps: number, targetUtilization: number, o: Pick<ServiceModelOptions, 'capacityPerInstanceRps' | 'sloP95Ms'>): number {
  // Never plan above the SLO capacity, even if the target utilization of μ would allow it.
  const perInstance = Math.min(getServiceRate(o) * targetUtilization, o.capacityPerInstanceRps);
  return Math.ceil(demandRps / perInstance - 1e-9);
}
