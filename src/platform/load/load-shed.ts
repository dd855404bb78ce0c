/**
 * Load shedding decisions: pure functions over one sample of the process's load, so they can be
 * tested without saturating anything. Sampling lives in `load-monitor.ts`.
 */

/** One measurement window. */
export interface LoadSample {
  /** p99 event loop delay over the window, ms: how long a ready callback waited to run. */
  delayMs: number;
  /** Event loop utilization over the window, 0..1 (share of time the loop was busy). */
  utilization: number;
  /** V8 heap used / heap size limit, 0..1. */
  heapRatio: number;
}

/** Limits above which a class of traffic is shed (any one signal over its limit is enough). */
export interface SignalLimits {
  delayMs: number;
  utilization: number;
  heapRatio: number;
}

/**
 * Browsing (GET/HEAD) is shed first, at the lower limits; writes (checkout, admin changes) only at
 * the higher ones, since a refused checkout costs a sale and a refused page view costs a reload.
 */
export interface ShedThresholds {
  browse: SignalLimits;
  write: SignalLimits;
}

export type TrafficClass = 'browse' | 'write';

/** `normal`: serve everything; `shed-browse`: refuse browsing; `shed-all`: refuse browsing and writes. */
export type LoadLevel = 'normal' | 'shed-browse' | 'shed-all';

export function exceeds(sample: LoadSample, limits: SignalLimits): boolean {
  return sample.delayMs > limits.delayMs || sample.utilization > limits.utilization || sample.heapRatio > limits.heapRatio;
}

export function decideLoadLevel(sample: LoadSample, thresholds: ShedThresholds): LoadLevel {
  if (exceeds(sample, thresholds.write)) return 'shed-all';
  if (exceeds(sample, thresholds.browse)) return 'shed-browse';
  return 'normal';
}

export function trafficClassOf(method: string): TrafficClass {
  return method === 'GET' || method === 'HEAD' || method === 'OPTIONS' ? 'browse' : 'write';
}

export function shouldShed(level: LoadLevel, traffic: TrafficClass): boolean {
  return level === 'shed-all' || (level === 'shed-browse' && traffic === 'browse');
}
