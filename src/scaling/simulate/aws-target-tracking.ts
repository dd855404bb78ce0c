/**
 * EC2 Auto Scaling target tracking on ASGAverageCPUUtilization, with optional scheduled actions
 * (MinSize windows) or predictive scaling (a forecast min capacity per hour, scale-out only).
 */
import type { Scaler, ScheduleLookup } from './scaler.ts';

/** ASG + target-tracking settings (the seed strategy's ASG: 2–20, CPU 70 %). */
export interface TargetTrackingOptions {
  /** @defaultValue 2 */
  minSize: number;
  /** @defaultValue 20 */
  maxSize: number;
  /** @defaultValue 70 */
  targetCpuPercent: number;
  /** One-minute datapoints above target before scale-out. @defaultValue 3 */
  scaleOutDatapoints: number;
  /** One-minute datapoints below `scaleInThresholdRatio × target` before scale-in. @defaultValue 15 */
  scaleInDatapoints: number;
  /** @defaultValue 0.7 */
  scaleInThresholdRatio: number;
  /** CloudWatch delay before a one-minute datapoint is available. @defaultValue 60 */
  metricDelaySeconds: number;
  /** Instance warmup: metrics not aggregated, scale-in waits. @defaultValue 300 */
  instanceWarmupSeconds: number;
  /** Launch to InService behind the ALB: EC2 boot ~30 s + app ~20 s + 5 × 30 s health checks. @defaultValue 200 */
  instanceReadySeconds: number;
  /** Minimum time between scale-in actions. @defaultValue 300 */
  scaleInCooldownSeconds: number;
  /** Highest CPU % an instance shows. @defaultValue 100 */
  maxCpuPercent: number;
  /** Scheduled actions or predictive scaling: a minimum capacity at an instant. */
  minCapacity?: ScheduleLookup;
}

export const DEFAULT_TARGET_TRACKING: TargetTrackingOptions = {
  minSize: 2,
  maxSize: 20,
  targetCpuPercent: 70,
  scaleOutDatapoints: 3,
  scaleInDatapoints: 15,
  scaleInThresholdRatio: 0.7,
  metricDelaySeconds: 60,
  instanceWarmupSeconds: 300,
  instanceReadySeconds: 200,
  scaleInCooldownSeconds: 300,
  maxCpuPercent: 100,
};

export function createTargetTrackingScaler(options: Partial<TargetTrackingOptions> = {}): Scaler {
  const o: TargetTrackingOptions = { ...DEFAULT_TARGET_TRACKING, ...options };
  let lastScaleIn = Number.NEGATIVE_INFINITY;
  return {
    intervalSeconds: 60,
    readyDelaySeconds: o.instanceReadySeconds,
    decide(ctx) {
      const current = ctx.pods.length;
      const floor = Math.min(o.maxSize, Math.max(o.minSize, o.minCapacity?.(ctx.nowMs) ?? 0));
      if (current < floor) return floor;
      const latestEnd = ctx.now - o.metricDelaySeconds;
      const datapoint = (k: number): number | undefined => {
        const end = latestEnd - k * 60;
        // Warming instances' metrics are not aggregated: a datapoint exists only if some instance was past warmup.
        const warm = ctx.pods.some((p) => p.startedAt + o.instanceWarmupSeconds <= end);
        if (!warm || !ctx.anyReadyAt(end)) return undefined;
        return Math.min(o.maxCpuPercent, ctx.utilizationAt(end, 60) * 100);
      };
      const latest = datapoint(0);
      if (latest === undefined) return current;
      const points = (n: number) => Array.from({ length: n }, (_, k) => datapoint(k));
      const proposal = Math.ceil((current * latest) / o.targetCpuPercent);
      if (points(o.scaleOutDatapoints).every((d) => d !== undefined && d > o.targetCpuPercent)) {
        return Math.min(o.maxSize, Math.max(current, proposal));
      }
      const warming = ctx.pods.some((p) => p.startedAt + o.instanceWarmupSeconds > ctx.now);
      const low = o.scaleInThresholdRatio * o.targetCpuPercent;
      if (!warming && ctx.now - lastScaleIn >= o.scaleInCooldownSeconds && points(o.scaleInDatapoints).every((d) => d !== undefined && d < low)) {
        const next = Math.max(floor, Math.min(current, proposal));
        if (next < current) lastScaleIn = ctx.now;
        return next;
      }
      return current;
    },
  };
}
