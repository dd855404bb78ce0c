/** Pre-scaling lookups: scheduled windows (KEDA cron / ASG scheduled actions) and predictive capacity. */
import type { ScheduleLookup } from './scaler.ts';

/** A window in which at least `replicas` instances are wanted. */
export interface PrescaleWindow {
  /** Window start (ms since epoch), already moved earlier by the lead time. */
  startMs: number;
  /** Window end, exclusive. */
  endMs: number;
  replicas: number;
}

/** Highest replicas of the windows active at t (undefined outside all windows). */
export function createWindowLookup(windows: readonly PrescaleWindow[]): ScheduleLookup {
  const sorted = [...windows].sort((a, b) => a.startMs - b.startMs);
  return (t) => {
    let best: number | undefined;
    for (const w of sorted) {
      if (w.startMs > t) break;
      if (t < w.endMs) best = Math.max(best ?? 0, w.replicas);
    }
    return best;
  };
}

/**
 * AWS predictive scaling (ForecastAndScale): the forecast capacity of each hour becomes the minimum
 * `schedulingBufferSeconds` before the hour starts. It never lowers capacity by itself.
 */
export function createPredictiveLookup(hourly: readonly { hourMs: number; replicas: number }[], schedulingBufferSeconds = 300): ScheduleLookup {
  return createWindowLookup(hourly.map((h) => ({ startMs: h.hourMs - schedulingBufferSeconds * 1000, endMs: h.hourMs + 3_600_000, replicas: h.replicas })));
}
