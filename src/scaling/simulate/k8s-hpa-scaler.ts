/** The Kubernetes HPA as a simulated autoscaler (CPU metric, optional memory metric, optional KEDA cron pre-scaling). */
import type { HpaBehavior } from './hpa-behavior.ts';
import { normalizeBehavior } from './hpa-behavior.ts';
import type { PodResourceSample } from './hpa.ts';
import type { Tolerances } from './hpa-replica-calculator.ts';
import { DEFAULT_TOLERANCE, combineMetricProposals, computeExternalAverageValueReplicas, computeResourceReplicas, createHpaState, reconcileHpa } from './hpa.ts';
import type { PodMetricTimings } from './hpa-pods.ts';
import { DEFAULT_POD_METRIC_TIMINGS, classifyPod } from './hpa-pods.ts';
import type { Scaler, ScalerContext, ScheduleLookup } from './scaler.ts';
import { SEED_DEPLOYMENT_SPEC, WEB_IDLE_MEMORY_MIB } from '../manifests/deployment-spec.ts';

/** HPA settings of the simulated web Deployment (the seed strategy's hpa.yaml by default). */
export interface HpaScalerOptions {
  /** @defaultValue 2 */
  minReplicas: number;
  /** @defaultValue 20 */
  maxReplicas: number;
  /** CPU averageUtilization target, %. @defaultValue 70 */
  cpuTargetPercent: number;
  /** Memory averageUtilization target, % (undefined: no memory metric). @defaultValue the seed spec's: none */
  memoryTargetPercent?: number;
  /** `spec.behavior`; `null` for the legacy normalisation. @defaultValue API defaults */
  behavior: HpaBehavior | null;
  /** @defaultValue 0.1 */
  tolerance: number;
  /** HPA sync period. @defaultValue 15 */
  syncPeriodSeconds: number;
  /** Pod creation to Ready (image cached). @defaultValue 30 */
  podReadySeconds: number;
  /** @defaultValue DEFAULT_POD_METRIC_TIMINGS */
  timings: PodMetricTimings;
  /** Highest CPU a pod can show, % of its request (1 vCPU request, single event loop). @defaultValue 100 */
  maxCpuPercent: number;
  /** Memory % of request at idle and added at 100 % CPU (`getHpaMemoryModel`). @defaultValue the seed web pod's: [61.7, 20] */
  memoryModel: readonly [number, number];
  /** KEDA cron trigger(s): desired replicas inside a window (AverageValue target 1, value 0 outside, as KEDA ≥ 2.18 reports). */
  cron?: ScheduleLookup;
}

/**
 * Percentage points of its request a web pod's memory adds at 100 % CPU (requests in flight, their buffers). An
 * assumption of the first simulator (not measured): the load on a web pod has not been profiled for memory, only its
 * idle figure (WEB_IDLE_MEMORY_MIB).
 */
export const MEMORY_ADDED_AT_FULL_CPU_PERCENT = 20;

/**
 * The memory the simulated HPA's memory metric sees: an idle pod holds `idleMiB` (measured, WEB_IDLE_MEMORY_MIB) of
 * its `requestMiB`, which is most of it outside the JS heap and does not shrink; load adds
 * MEMORY_ADDED_AT_FULL_CPU_PERCENT at 100 % CPU. A fixed idle fraction (45 % before) hid that a smaller request puts
 * an idle pod nearer the target.
 */
export function getHpaMemoryModel(idleMiB: number, requestMiB: number): readonly [number, number] {
  return [(100 * idleMiB) / requestMiB, MEMORY_ADDED_AT_FULL_CPU_PERCENT];
}

export const DEFAULT_HPA_SCALER: HpaScalerOptions = {
  minReplicas: 2,
  maxReplicas: 20,
  cpuTargetPercent: 70,
  memoryTargetPercent: SEED_DEPLOYMENT_SPEC.web.autoscaling.memoryPercent ?? undefined,
  behavior: normalizeBehavior(),
  tolerance: DEFAULT_TOLERANCE,
  syncPeriodSeconds: 15,
  podReadySeconds: 30,
  timings: DEFAULT_POD_METRIC_TIMINGS,
  maxCpuPercent: 100,
  memoryModel: getHpaMemoryModel(WEB_IDLE_MEMORY_MIB, SEED_DEPLOYMENT_SPEC.web.requests.memoryMiB),
};

const REQUEST = 1000;

/**
 * The tolerances the HPA applies, per direction: `behavior.*.tolerance` (HPAConfigurableTolerance) overrides the
 * controller flag. Shared by the simulated HPA and the KEDA cron raise (`applyHpaTolerance`), so both use the same.
 */
export function getHpaTolerances(o: { behavior?: HpaBehavior | null; tolerance?: number }): Tolerances {
  const tolerance = o.tolerance ?? DEFAULT_TOLERANCE;
  return { scaleDown: o.behavior?.scaleDown.tolerance ?? tolerance, scaleUp: o.behavior?.scaleUp.tolerance ?? tolerance };
}

export function createHpaScaler(options: Partial<HpaScalerOptions> = {}): Scaler {
  const o: HpaScalerOptions = { ...DEFAULT_HPA_SCALER, ...options };
  let state = createHpaState();
  const limits = { minReplicas: o.minReplicas, maxReplicas: o.maxReplicas, behavior: o.behavior ?? undefined };
  const tolerances = getHpaTolerances(o);

  function samples(ctx: ScalerContext, resource: 'cpu' | 'memory'): PodResourceSample[] {
    const ts = ctx.now - o.timings.metricsLagSeconds;
    const cpu = Math.min(o.maxCpuPercent, ctx.utilizationAt(ts, o.timings.metricWindowSeconds) * 100);
    const percent = resource === 'cpu' ? cpu : o.memoryModel[0] + (o.memoryModel[1] * cpu) / 100;
    return ctx.pods.map((pod) => {
      const s = classifyPod(pod, ctx.now, resource, o.timings);
      return { state: s, usage: (percent * REQUEST) / 100, request: REQUEST };
    });
  }

  return {
    intervalSeconds: o.syncPeriodSeconds,
    readyDelaySeconds: o.podReadySeconds,
    decide(ctx) {
      const current = ctx.pods.length;
      const proposals: (number | null)[] = [];
      const cpu = computeResourceReplicas({ currentReplicas: current, pods: samples(ctx, 'cpu'), targetUtilization: o.cpuTargetPercent, tolerance: tolerances });
      proposals.push(cpu?.replicas ?? null);
      if (o.memoryTargetPercent !== undefined) {
        const mem = computeResourceReplicas({ currentReplicas: current, pods: samples(ctx, 'memory'), targetUtilization: o.memoryTargetPercent, tolerance: tolerances });
        proposals.push(mem?.replicas ?? null);
      }
      if (o.cron) {
        const value = o.cron(ctx.nowMs) ?? 0;
        proposals.push(computeExternalAverageValueReplicas({ currentReplicas: Math.max(1, current), total: value, targetPerPod: 1, tolerance: tolerances }));
      }
      const decision = reconcileHpa(limits, state, { now: ctx.now, currentReplicas: current, metricDesiredReplicas: combineMetricProposals(proposals, current) });
      state = decision.state;
      return decision.desiredReplicas;
    },
  };
}
