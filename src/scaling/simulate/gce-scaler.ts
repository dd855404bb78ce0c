/**
 * The Compute Engine autoscaler as a simulated autoscaler: CPU utilization of the VMs past their
 * initialization period, optional predictive CPU (forecast from the MIG's history) and the sale's
 * scaling schedules, evaluated on a fixed loop (Google documents "constantly", not an interval).
 */
import type { GceAutoscalingPolicy } from './gce-autoscaler.ts';
import { createGceState, evaluateGceAutoscaler, GCE_POLICY_DEFAULTS } from './gce-autoscaler.ts';
import type { GceScalingSchedule, LoadHistoryPoint } from './gce-schedules.ts';
import { expandGceSchedules, forecastSeasonalLoad, getScheduleFloor } from './gce-schedules.ts';
import type { Scaler } from './scaler.ts';

export interface GceScalerOptions {
  /** @defaultValue 2 */
  minNumReplicas: number;
  /** @defaultValue 20 */
  maxNumReplicas: number;
  /** CPU utilizationTarget (0–1). @defaultValue 0.7 */
  cpuTarget: number;
  /** @defaultValue 120 */
  coolDownPeriodSec: number;
  /** @defaultValue 600 */
  stabilizationPeriodSec: number;
  scaleInControl?: GceAutoscalingPolicy['scaleInControl'];
  /** @defaultValue false */
  predictive: boolean;
  /** Hourly load history the forecast learns from (requests/s). */
  history?: readonly LoadHistoryPoint[];
  /** Requests/s one VM serves at 100 % CPU: turns a forecast load into VMs at the target. */
  serviceRatePerVm?: number;
  schedules?: Readonly<Record<string, GceScalingSchedule>>;
  /** Simulated span, to expand the schedules once. */
  fromMs?: number;
  toMs?: number;
  /** Evaluation loop. @defaultValue 30 */
  intervalSeconds: number;
  /** Mean CPU over this window (Cloud Monitoring's 1-minute samples). @defaultValue 60 */
  metricWindowSeconds: number;
  /** Delay before a sample is visible. @defaultValue 60 */
  metricDelaySeconds: number;
  /** VM create to serving behind the load balancer: boot ~40 s, app ~20 s, 2 health checks. @defaultValue 90 */
  vmReadySeconds: number;
}

export const DEFAULT_GCE_SCALER: GceScalerOptions = {
  minNumReplicas: 2,
  maxNumReplicas: 20,
  cpuTarget: 0.7,
  coolDownPeriodSec: 120,
  stabilizationPeriodSec: GCE_POLICY_DEFAULTS.stabilizationPeriodSec,
  predictive: false,
  intervalSeconds: 30,
  metricWindowSeconds: 60,
  metricDelaySeconds: 60,
  vmReadySeconds: 90,
};

export function createGceScaler(options: Partial<GceScalerOptions> = {}): Scaler {
  const o: GceScalerOptions = { ...DEFAULT_GCE_SCALER, ...options };
  const policy: GceAutoscalingPolicy = {
    minNumReplicas: o.minNumReplicas,
    maxNumReplicas: o.maxNumReplicas,
    coolDownPeriodSec: o.coolDownPeriodSec,
    stabilizationPeriodSec: o.stabilizationPeriodSec,
    mode: 'ON',
    cpuUtilization: { utilizationTarget: o.cpuTarget, predictiveMethod: o.predictive ? 'OPTIMIZE_AVAILABILITY' : 'NONE' },
    scaleInControl: o.scaleInControl,
  };
  const intervals = o.schedules && o.fromMs !== undefined && o.toMs !== undefined ? expandGceSchedules(o.schedules, o.fromMs, o.toMs) : [];
  let state = createGceState();
  return {
    intervalSeconds: o.intervalSeconds,
    readyDelaySeconds: o.vmReadySeconds,
    decide(ctx) {
      const current = ctx.pods.length;
      const ts = ctx.now - o.metricDelaySeconds;
      const initialized = ctx.pods.filter((p) => p.startedAt + o.coolDownPeriodSec <= ts).length;
      const cpu = initialized > 0 && ctx.anyReadyAt(ts) ? ctx.utilizationAt(ts, o.metricWindowSeconds) : undefined;
      let predictedSize: number | undefined;
      if (o.predictive && o.history && o.serviceRatePerVm) {
        // Scale out ahead of the forecast by the initialization period.
        const load = forecastSeasonalLoad(o.history, ctx.nowMs, ctx.nowMs + o.coolDownPeriodSec * 1000);
        if (load !== undefined) predictedSize = Math.ceil(load / (o.serviceRatePerVm * o.cpuTarget) - 1e-9);
      }
      const decision = evaluateGceAutoscaler(policy, state, {
        now: ctx.now,
        targetSize: current,
        cpuUtilization: cpu,
        initializedVms: initialized,
        initializingVms: current - initialized,
        predictedSize,
        scheduleFloor: getScheduleFloor(intervals, ctx.nowMs),
      });
      state = decision.state;
      return decision.targetSize;
    },
  };
}
