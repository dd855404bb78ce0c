/**
 * The Compute Engine autoscaler of a (regional) managed instance group, from Google's public
 * documentation (compute/docs/autoscaler/: understanding-autoscaler-decisions, scaling-cpu,
 * scaling-load-balancing, scaling-cloud-monitoring-metrics, multiple-signals, predictive-autoscaling,
 * scaling-schedules, managing-autoscalers; REST reference `autoscalers`). Google publishes no source:
 * each rule below names the sentence it implements in `gce-autoscaler.test.ts`.
 *
 * One evaluation: a size per signal (CPU, load-balancing serving capacity, Cloud Monitoring metrics,
 * predictive CPU, schedules), the largest wins, clamped to [min, max]; scale-in waits for the peak of
 * the stabilization period and is then cut by scale-in controls; the mode decides what the MIG does
 * with the recommendation. Pure: the state (recommendation history) goes in and comes out.
 */

/** `autoscalingPolicy.mode`. */
export type GceAutoscalerMode = 'ON' | 'ONLY_SCALE_OUT' | 'OFF';

/** `autoscalingPolicy` as far as the decision needs it (REST names). */
export interface GceAutoscalingPolicy {
  minNumReplicas: number;
  maxNumReplicas: number;
  /** Initialization period ("cool down period" in older docs). @defaultValue 60 */
  coolDownPeriodSec: number;
  /** Scale-in stabilization. @defaultValue 600 */
  stabilizationPeriodSec: number;
  /** @defaultValue 'ON' */
  mode: GceAutoscalerMode;
  cpuUtilization?: { utilizationTarget: number; predictiveMethod: 'NONE' | 'OPTIMIZE_AVAILABILITY' };
  loadBalancingUtilization?: { utilizationTarget: number };
  customMetricUtilizations?: GceCustomMetric[];
  scaleInControl?: { maxScaledInReplicas: { fixed?: number; percent?: number }; timeWindowSec: number };
}

export interface GceCustomMetric {
  metric: string;
  /** Per-VM target (omit with `singleInstanceAssignment`). */
  utilizationTarget?: number;
  /** Per-group metric: the amount of work one VM is assigned. */
  singleInstanceAssignment?: number;
}

export const GCE_POLICY_DEFAULTS = { coolDownPeriodSec: 60, stabilizationPeriodSec: 600, mode: 'ON', cpuTarget: 0.6, lbTarget: 0.8 } as const;

/** What the autoscaler observes at one evaluation. */
export interface GceObservation {
  /** Seconds (any origin, increasing). */
  now: number;
  /** The MIG's current target size. */
  targetSize: number;
  /** Mean CPU utilization (0–1) of the VMs past their initialization period; undefined when every VM is initializing. */
  cpuUtilization?: number;
  /** VMs past their initialization period (the VMs the CPU mean is over). */
  initializedVms?: number;
  /** VMs still initializing. */
  initializingVms?: number;
  /** Load-balancer serving: requests/s to the group and the serving capacity of one VM (balancing mode RATE). */
  lbRequestsPerSecond?: number;
  lbCapacityPerVm?: number;
  /** Per metric (same order as the policy): per-VM mean, or the group total for singleInstanceAssignment. */
  metricValues?: (number | undefined)[];
  /** Size the predictive method asks for (forecast load at now + initialization period). */
  predictedSize?: number;
  /** Greatest minRequiredReplicas of the schedules active now (0 if none). */
  scheduleFloor?: number;
}

/** Past evaluations: [time, size the signals asked for (clamped), recommendation made]. */
export interface GceAutoscalerState {
  history: [number, number, number][];
}

export interface GceDecision {
  /** Largest per-signal size, before limits. */
  signalSize: number;
  signals: Record<string, number>;
  recommendedSize: number;
  targetSize: number;
  /** What held the recommendation: 'max', 'min', 'stabilization', 'scale-in control', 'mode', or ''. */
  limitedBy: string;
  state: GceAutoscalerState;
}

export function createGceState(): GceAutoscalerState {
  return { history: [] };
}

const EPS = 1e-9;

/** VMs a per-VM signal asks for: enough that the observed load sits at the target, rounded up (never too few). */
export function getUtilizationSize(vms: number, observed: number, target: number): number {
  return Math.max(0, Math.ceil((vms * observed) / target - EPS));
}

/**
 * CPU: size from the VMs past their initialization period; initializing VMs keep their place (they
 * will serve the load they were added for). At 100 % CPU the load beyond it cannot be seen: Google
 * documents that the group is then assumed overloaded and grows by at most 50 % (scaling-cpu). The docs
 * name no threshold for "near 100 %": a saturated reading (≥ 1) is taken as that case. With targets
 * ≥ 2/3 the formula stays under the cap; with the API's default 0.6 it would add 67 %.
 */
export function getCpuSize(o: { initializedVms: number; initializingVms: number; utilization: number; target: number }): number {
  const size = getUtilizationSize(o.initializedVms, o.utilization, o.target) + o.initializingVms;
  if (o.utilization < 1) return size;
  return Math.min(size, Math.ceil(1.5 * (o.initializedVms + o.initializingVms) - EPS));
}

/** Load balancing: keep each VM at `target` of its serving capacity. */
export function getLoadBalancingSize(requestsPerSecond: number, capacityPerVm: number, target: number): number {
  return Math.max(0, Math.ceil(requestsPerSecond / (capacityPerVm * target) - EPS));
}

/** A Monitoring metric: per-VM mean against its target, or a group value divided by the work of one VM. */
export function getMetricSize(metric: GceCustomMetric, value: number, vms: number): number {
  // max(0, …) here and below: ceil(−EPS) is −0, which printed as "-0" VMs.
  if (metric.singleInstanceAssignment !== undefined) return Math.max(0, Math.ceil(value / metric.singleInstanceAssignment - EPS));
  if (metric.utilizationTarget === undefined) throw new Error(`metric ${metric.metric} needs utilizationTarget or singleInstanceAssignment`);
  return getUtilizationSize(vms, value, metric.utilizationTarget);
}

/** At most this many VMs may go below the peak of the scale-in control window. */
export function getMaxScaledIn(control: NonNullable<GceAutoscalingPolicy['scaleInControl']>, targetSize: number): number {
  const m = control.maxScaledInReplicas;
  if (m.fixed !== undefined) return m.fixed;
  return Math.max(0, Math.ceil(((m.percent ?? 0) / 100) * targetSize - EPS));
}

/** CPU, load balancing or a Monitoring metric with a per-VM utilizationTarget (not singleInstanceAssignment). */
export function hasPerVmSignal(policy: GceAutoscalingPolicy): boolean {
  return policy.cpuUtilization !== undefined || policy.loadBalancingUtilization !== undefined || (policy.customMetricUtilizations ?? []).some((m) => m.singleInstanceAssignment === undefined);
}

/** One evaluation of the autoscaler. */
export function evaluateGceAutoscaler(policy: GceAutoscalingPolicy, state: GceAutoscalerState, obs: GceObservation): GceDecision {
  const current = obs.targetSize;
  const signals: Record<string, number> = {};
  if (policy.cpuUtilization && obs.cpuUtilization !== undefined) {
    signals.cpu = getCpuSize({ initializedVms: obs.initializedVms ?? current, initializingVms: obs.initializingVms ?? 0, utilization: obs.cpuUtilization, target: policy.cpuUtilization.utilizationTarget });
  }
  if (policy.cpuUtilization?.predictiveMethod === 'OPTIMIZE_AVAILABILITY' && obs.predictedSize !== undefined) signals.predictive = obs.predictedSize;
  if (policy.loadBalancingUtilization && obs.lbRequestsPerSecond !== undefined && obs.lbCapacityPerVm !== undefined) {
    signals.loadBalancing = getLoadBalancingSize(obs.lbRequestsPerSecond, obs.lbCapacityPerVm, policy.loadBalancingUtilization.utilizationTarget);
  }
  for (const [i, metric] of (policy.customMetricUtilizations ?? []).entries()) {
    const value = obs.metricValues?.[i];
    if (value !== undefined) signals[`metric:${metric.metric}`] = getMetricSize(metric, value, current);
  }
  if (obs.scheduleFloor) signals.schedules = obs.scheduleFloor;
  const sizes = Object.values(signals);
  // No signal this time (every VM initializing, no metric data): keep the size.
  const signalSize = sizes.length > 0 ? Math.max(...sizes) : current;
  let limitedBy = '';
  let recommended = signalSize;
  if (recommended > policy.maxNumReplicas) [recommended, limitedBy] = [policy.maxNumReplicas, 'max'];
  if (recommended < policy.minNumReplicas) [recommended, limitedBy] = [policy.minNumReplicas, 'min'];
  // Scale to zero needs minNumReplicas 0 and no per-VM signal (CPU, load balancing, a per-VM metric):
  // with no VM left such a signal has nothing to measure, so one VM stays.
  if (recommended < 1 && hasPerVmSignal(policy)) [recommended, limitedBy] = [Math.min(1, policy.maxNumReplicas), 'min'];

  // Stabilization (scale-in only): serve the peak of the longer of the stabilization and initialization
  // periods. An autoscaler with no history yet counts the current size as that peak.
  const window = Math.max(policy.stabilizationPeriodSec, policy.coolDownPeriodSec);
  const kept = Math.max(window, policy.scaleInControl?.timeWindowSec ?? 0);
  const history: [number, number, number][] = state.history.length > 0 ? state.history.filter(([t]) => t > obs.now - kept) : [[obs.now - 1, current, current]];
  const raw = recommended;
  if (recommended < current) {
    const peak = Math.max(raw, ...history.filter(([t]) => t > obs.now - window).map(([, s]) => s));
    // The peak is clamped to [min, max] as well: a max lowered within the period applies at once
    // (only ONLY_SCALE_OUT keeps a size above it).
    const held = Math.min(current, peak, policy.maxNumReplicas);
    if (held > recommended) [recommended, limitedBy] = [held, 'stabilization'];
  }
  // Scale-in controls: no lower than the peak recommendation of the time window minus maxScaledInReplicas.
  // They constrain the recommendation further within [min, max] ("The recommended size is constrained by the
  // minimum and maximum …, further constrained by your scale-in controls"): a lowered max still applies at once.
  if (recommended < current && policy.scaleInControl) {
    const c = policy.scaleInControl;
    const peak = Math.max(...history.filter(([t]) => t > obs.now - c.timeWindowSec).map(([, , r]) => r));
    const floor = Math.min(current, peak - getMaxScaledIn(c, current), policy.maxNumReplicas);
    if (floor > recommended) [recommended, limitedBy] = [floor, 'scale-in control'];
  }
  history.push([obs.now, raw, recommended]);
  let targetSize = recommended;
  if (policy.mode === 'OFF') targetSize = current;
  else if (policy.mode === 'ONLY_SCALE_OUT') targetSize = Math.max(current, recommended);
  if (targetSize !== recommended) limitedBy = 'mode';
  return { signalSize, signals, recommendedSize: recommended, targetSize, limitedBy, state: { history } };
}
