/**
 * One HPA sync as kube-controller-manager v1.35 runs it (`reconcileAutoscaler`,
 * `computeReplicasForMetrics`, `computeReplicasForMetric` and the `computeStatusFor*Metric`
 * functions of horizontal.go), on what `kubectl` and the metrics APIs return. Pure: the metric
 * values, the pods, "now" and the controller's memory are inputs; the decision, the per-metric
 * proposals, the status conditions and the next memory are outputs.
 */
import type { HpaBehavior } from './hpa-behavior.ts';
import type { HpaCondition, HpaDecision, HpaState } from './hpa.ts';
import { DEFAULT_SCALE_UP_LIMIT, reconcileHpa, setCondition } from './hpa.ts';
import type { HpaPod, PodCalculationTrace, PodMetricsInfo, PodTimings, Tolerances } from './hpa-replica-calculator.ts';
import {
  DEFAULT_POD_TIMINGS,
  DEFAULT_TOLERANCE,
  calcPlainMetricReplicas,
  getExternalMetricReplicas,
  getExternalPerPodMetricReplicas,
  getObjectMetricReplicas,
  getPerPodValueReplicas,
  getResourceReplicas,
  HpaMetricError,
} from './hpa-replica-calculator.ts';

/** `MetricTarget`: values are milli-units (`Quantity.MilliValue()`). */
export interface HpaMetricTarget {
  type: 'Utilization' | 'AverageValue' | 'Value';
  averageUtilization?: number;
  averageValue?: number;
  value?: number;
}

export type HpaMetricSpec =
  | { type: 'Resource'; name: string; target: HpaMetricTarget }
  | { type: 'ContainerResource'; name: string; container: string; target: HpaMetricTarget }
  | { type: 'Pods'; metricName: string; selector?: Record<string, string>; target: HpaMetricTarget }
  | { type: 'Object'; describedObject: { kind: string; name: string; apiVersion?: string }; metricName: string; target: HpaMetricTarget }
  | { type: 'External'; metricName: string; selector?: Record<string, string>; target: HpaMetricTarget }
  | { type: 'Unknown'; sourceType: string };

/** The parts of an `autoscaling/v2` HorizontalPodAutoscaler the controller reads. */
export interface HpaSpec {
  name: string;
  namespace: string;
  /** @defaultValue 1 */
  minReplicas: number;
  maxReplicas: number;
  metrics: HpaMetricSpec[];
  /** Defaulted `spec.behavior`, or undefined for the legacy path. */
  behavior?: HpaBehavior;
  /**
   * `spec.behavior.scaleDown.stabilizationWindowSeconds` was not set (the API server leaves it nil): the
   * controller uses its `--horizontal-pod-autoscaler-downscale-stabilization` instead
   * (`maybeInitScaleDownStabilizationWindow`). @defaultValue false
   */
  scaleDownWindowFromFlag?: boolean;
}

/** One pod's sample of the `metrics.k8s.io` PodMetricsList: usage per container, milli-units. */
export interface ResourcePodMetrics {
  name: string;
  timestamp: number;
  window: number;
  containers: { name: string; usage: Record<string, number | undefined> }[];
}

/** What the metrics APIs answer. A missing entry is an API error for that metric. */
export interface HpaMetricInputs {
  /** `metrics.k8s.io` PodMetricsList items (undefined: the resource metrics API failed). */
  podMetrics?: ResourcePodMetrics[];
  /** `custom.metrics.k8s.io` per-pod values: metric name → pod → value (milli). */
  podCustomMetrics?: Record<string, { pod: string; value: number; timestamp: number; window?: number }[]>;
  /** `custom.metrics.k8s.io` single-object values (milli). */
  objectMetrics?: { kind: string; name: string; metricName: string; value: number }[];
  /** `external.metrics.k8s.io` series: metric name → values (milli) with their labels. */
  externalMetrics?: Record<string, { value: number; labels?: Record<string, string> }[]>;
}

/** kube-controller-manager flags that the decision depends on. */
export interface HpaControllerOptions {
  /** `--horizontal-pod-autoscaler-tolerance`. @defaultValue 0.1 */
  tolerance: number;
  /** `--horizontal-pod-autoscaler-downscale-stabilization`, seconds. @defaultValue 300 */
  downscaleStabilizationSeconds: number;
  /** @defaultValue { cpuInitializationPeriod: 300, delayOfInitialReadinessStatus: 30 } */
  timings: PodTimings;
  /** Legacy path (no behavior): `scaleUpLimitFactor`. @defaultValue 2 */
  scaleUpLimitFactor: number;
  /** Legacy path: `scaleUpLimitMinimum`. @defaultValue 4 */
  scaleUpLimitMinimum: number;
  /** Feature gate `HPAConfigurableTolerance` (beta, on by default in v1.35). @defaultValue true */
  configurableTolerance: boolean;
}

export const DEFAULT_HPA_CONTROLLER_OPTIONS: HpaControllerOptions = {
  tolerance: DEFAULT_TOLERANCE,
  downscaleStabilizationSeconds: 300,
  timings: DEFAULT_POD_TIMINGS,
  scaleUpLimitFactor: DEFAULT_SCALE_UP_LIMIT.factor,
  scaleUpLimitMinimum: DEFAULT_SCALE_UP_LIMIT.minimum,
  configurableTolerance: true,
};

/** The outcome of one metric of `spec.metrics`. */
export interface MetricProposal {
  /** `cpu resource utilization (percentage of request)`, `pods metric qps`, … as upstream names it. */
  name: string;
  type: HpaMetricSpec['type'];
  replicas?: number;
  /** Resource Utilization: the integer utilization the status reports. */
  utilization?: number;
  /** Resource: raw average usage (milli); Pods: average (milli); Object/External: value or average. */
  rawUsage?: number;
  usageRatio?: number;
  target?: HpaMetricTarget;
  trace?: PodCalculationTrace;
  outcome?: string;
  /** Set when the metric failed: the condition reason and the error. */
  error?: { reason: string; message: string };
}

export interface HpaSyncResult extends HpaDecision {
  /** The max over the valid proposals, or null when the controller gave up on the metrics. */
  metricDesiredReplicas: number | null;
  /** The metric whose proposal won. */
  metricName: string;
  proposals: MetricProposal[];
  tolerances: Tolerances;
  /** The Event the controller records on a rescale (`SuccessfulRescale`), as `kubectl describe hpa` shows it. */
  event?: { type: 'Normal'; reason: 'SuccessfulRescale'; message: string };
}

function resourceMetricsFor(podMetrics: ResourcePodMetrics[] | undefined, resource: string, container: string): PodMetricsInfo {
  if (podMetrics === undefined) throw new HpaMetricError(`unable to get metrics for resource ${resource}: no pod metrics were given`);
  if (podMetrics.length === 0) throw new HpaMetricError(`unable to get metrics for resource ${resource}: no metrics returned from resource metrics API`);
  const res: PodMetricsInfo = new Map();
  for (const m of podMetrics) {
    if (container !== '') {
      // `getContainerMetrics`: a pod without that container (or without the resource) has no sample.
      const c = m.containers.find((x) => x.name === container);
      const v = c?.usage[resource];
      if (v !== undefined) res.set(m.name, { value: v, timestamp: m.timestamp, window: m.window });
      continue;
    }
    // `getPodMetrics`: the sum over containers; a pod missing the resource in any container has no sample.
    let sum = 0;
    let missing = m.containers.length === 0;
    for (const c of m.containers) {
      const v = c.usage[resource];
      if (v === undefined) {
        missing = true;
        break;
      }
      sum += v;
    }
    if (!missing) res.set(m.name, { value: sum, timestamp: m.timestamp, window: m.window });
  }
  return res;
}

function matchesSelector(labels: Record<string, string> | undefined, selector: Record<string, string> | undefined): boolean {
  if (!selector) return true;
  return Object.entries(selector).every(([k, v]) => labels?.[k] === v);
}

function failure(reason: string, e: unknown): { reason: string; message: string } {
  const msg = e instanceof Error ? e.message : String(e);
  return { reason, message: `the HPA was unable to compute the replica count: ${msg}` };
}

/** `computeReplicasForMetric`: one metric's proposal, or its failure with the condition reason. */
export function computeReplicasForMetric(args: {
  spec: HpaMetricSpec;
  specReplicas: number;
  statusReplicas: number;
  pods: readonly HpaPod[];
  inputs: HpaMetricInputs;
  tolerances: Tolerances;
  timings: PodTimings;
  now: number;
}): MetricProposal {
  const { spec, specReplicas, statusReplicas, pods, inputs, tolerances, timings, now } = args;
  switch (spec.type) {
    case 'Resource':
    case 'ContainerResource': {
      const container = spec.type === 'ContainerResource' ? spec.container : '';
      const reason = spec.type === 'Resource' ? 'FailedGetResourceMetric' : 'FailedGetContainerResourceMetric';
      const t = spec.target;
      const label = spec.type === 'Resource' ? `${spec.name} resource` : `${spec.name} container resource`;
      try {
        if (t.averageValue !== undefined) {
          const metrics = resourceMetricsFor(inputs.podMetrics, spec.name, container);
          const r = calcPlainMetricReplicas({ currentReplicas: specReplicas, targetUsage: t.averageValue, resource: spec.name, tolerances, pods, metrics, timings, now });
          return { name: label, type: spec.type, replicas: r.replicas, rawUsage: r.usage, usageRatio: r.trace.usageRatio, target: t, trace: r.trace, outcome: r.trace.outcome };
        }
        if (t.averageUtilization === undefined) throw new HpaMetricError(`invalid resource metric source: neither an average utilization target nor an average value (usage) target was set`);
        const metrics = resourceMetricsFor(inputs.podMetrics, spec.name, container);
        const r = getResourceReplicas({ currentReplicas: specReplicas, targetUtilization: t.averageUtilization, resource: spec.name, container, tolerances, pods, metrics, timings, now });
        return {
          name: `${label} utilization (percentage of request)`,
          type: spec.type,
          replicas: r.replicas,
          utilization: r.utilization,
          rawUsage: r.rawUtilization,
          usageRatio: r.trace.usageRatio,
          target: t,
          trace: r.trace,
          outcome: r.trace.outcome,
        };
      } catch (e) {
        return { name: label, type: spec.type, target: t, error: failure(reason, e) };
      }
    }
    case 'Pods': {
      const label = `pods metric ${spec.metricName}`;
      try {
        const values = inputs.podCustomMetrics?.[spec.metricName];
        if (values === undefined) throw new HpaMetricError(`unable to get metric ${spec.metricName}: no custom metric values were given`);
        if (values.length === 0) throw new HpaMetricError(`unable to get metric ${spec.metricName}: no metrics returned from custom metrics API`);
        if (spec.target.averageValue === undefined) throw new HpaMetricError('invalid pods metric source: no averageValue target');
        const metrics: PodMetricsInfo = new Map(values.map((v) => [v.pod, { value: v.value, timestamp: v.timestamp, window: v.window ?? 60 }]));
        const r = calcPlainMetricReplicas({ currentReplicas: specReplicas, targetUsage: spec.target.averageValue, resource: '', tolerances, pods, metrics, timings, now });
        return { name: label, type: 'Pods', replicas: r.replicas, rawUsage: r.usage, usageRatio: r.trace.usageRatio, target: spec.target, trace: r.trace, outcome: r.trace.outcome };
      } catch (e) {
        return { name: label, type: 'Pods', target: spec.target, error: failure('FailedGetPodsMetric', e) };
      }
    }
    case 'Object': {
      const label = `${spec.metricName} metric on ${spec.describedObject.kind}/${spec.describedObject.name}`;
      try {
        const found = inputs.objectMetrics?.find((o) => o.metricName === spec.metricName && o.name === spec.describedObject.name && o.kind === spec.describedObject.kind);
        if (!found) throw new HpaMetricError(`unable to get metric ${spec.metricName}: no value for ${spec.describedObject.kind} ${spec.describedObject.name} was given`);
        const t = spec.target;
        if (t.type === 'Value' && t.value !== undefined) {
          const r = getObjectMetricReplicas({ currentReplicas: specReplicas, targetUsage: t.value, usage: found.value, tolerances, pods });
          return { name: label, type: 'Object', replicas: r.replicas, rawUsage: r.usage, usageRatio: r.usageRatio, target: t, outcome: r.outcome };
        }
        if (t.type === 'AverageValue' && t.averageValue !== undefined) {
          const r = getPerPodValueReplicas({ statusReplicas, targetAverage: t.averageValue, usage: found.value, tolerances });
          return { name: label, type: 'Object', replicas: r.replicas, rawUsage: r.usage, usageRatio: r.usageRatio, target: t, outcome: r.outcome };
        }
        throw new HpaMetricError('invalid object metric source: neither a value target nor an average value target was set');
      } catch (e) {
        return { name: label, type: 'Object', target: spec.target, error: failure('FailedGetObjectMetric', e) };
      }
    }
    case 'External': {
      const label = `external metric ${spec.metricName}`;
      try {
        const series = inputs.externalMetrics?.[spec.metricName];
        if (series === undefined) throw new HpaMetricError(`unable to get external metric ${spec.metricName}: no values were given`);
        const values = series.filter((s) => matchesSelector(s.labels, spec.selector)).map((s) => s.value);
        const t = spec.target;
        if (t.averageValue !== undefined) {
          const r = getExternalPerPodMetricReplicas({ statusReplicas, targetAverage: t.averageValue, values, tolerances });
          return { name: label, type: 'External', replicas: r.replicas, rawUsage: r.usage, usageRatio: r.usageRatio, target: t, outcome: r.outcome };
        }
        if (t.value !== undefined) {
          const r = getExternalMetricReplicas({ currentReplicas: specReplicas, targetUsage: t.value, values, tolerances, pods });
          return { name: label, type: 'External', replicas: r.replicas, rawUsage: r.usage, usageRatio: r.usageRatio, target: t, outcome: r.outcome };
        }
        throw new HpaMetricError('invalid external metric source: neither a value target nor an average value target was set');
      } catch (e) {
        return { name: label, type: 'External', target: spec.target, error: failure('FailedGetExternalMetric', e) };
      }
    }
    default:
      return { name: spec.sourceType, type: 'Unknown', error: failure('InvalidMetricSourceType', new HpaMetricError(`unknown metric source type "${spec.sourceType}"`)) };
  }
}

/** The tolerances an HPA runs with: per-direction `behavior.*.tolerance` when the gate is on, else the flag. */
export function getTolerances(spec: HpaSpec, options: HpaControllerOptions): Tolerances {
  const t: Tolerances = { scaleDown: options.tolerance, scaleUp: options.tolerance };
  if (options.configurableTolerance && spec.behavior) {
    if (spec.behavior.scaleDown.tolerance !== undefined) t.scaleDown = spec.behavior.scaleDown.tolerance;
    if (spec.behavior.scaleUp.tolerance !== undefined) t.scaleUp = spec.behavior.scaleUp.tolerance;
  }
  return t;
}

/** `maybeInitScaleDownStabilizationWindow`: an unset scale-down window becomes the controller's flag. */
export function getControllerBehavior(spec: HpaSpec, options: Pick<HpaControllerOptions, 'downscaleStabilizationSeconds'>): HpaBehavior | undefined {
  if (!spec.behavior || !spec.scaleDownWindowFromFlag) return spec.behavior;
  return { ...spec.behavior, scaleDown: { ...spec.behavior.scaleDown, stabilizationWindowSeconds: options.downscaleStabilizationSeconds } };
}

/**
 * `reconcileAutoscaler` for one HPA: bounds, `computeReplicasForMetrics` (the max over the valid
 * proposals; if every metric failed, or one failed and the rest would scale down, no action), then
 * stabilization and rate limits through {@link reconcileHpa}.
 */
export function syncHpa(args: {
  spec: HpaSpec;
  /** `scale.spec.replicas`. */
  specReplicas: number;
  /** `scale.status.replicas` (pods that exist; used by AverageValue Object/External targets). */
  statusReplicas?: number;
  pods: readonly HpaPod[];
  inputs: HpaMetricInputs;
  state: HpaState;
  now: number;
  options?: Partial<HpaControllerOptions>;
}): HpaSyncResult {
  const options: HpaControllerOptions = { ...DEFAULT_HPA_CONTROLLER_OPTIONS, ...args.options };
  const { spec, specReplicas: current, now } = args;
  const statusReplicas = args.statusReplicas ?? current;
  const tolerances = getTolerances(spec, options);
  let conditions: HpaCondition[] = [{ type: 'AbleToScale', status: 'True', reason: 'SucceededGetScale', message: "the HPA controller was able to get the target's current scale" }];
  const limits = {
    minReplicas: spec.minReplicas,
    maxReplicas: spec.maxReplicas,
    behavior: getControllerBehavior(spec, options),
    downscaleStabilizationSeconds: options.downscaleStabilizationSeconds,
    scaleUpLimitFactor: options.scaleUpLimitFactor,
    scaleUpLimitMinimum: options.scaleUpLimitMinimum,
  };
  const inRange = !(current === 0 && spec.minReplicas !== 0) && current <= spec.maxReplicas && current >= spec.minReplicas;
  const proposals: MetricProposal[] = [];
  let metricDesiredReplicas: number | null = null;
  let metricName = '';
  if (inRange) {
    let replicas = 0;
    let invalid = 0;
    let firstInvalid: MetricProposal | undefined;
    for (const m of spec.metrics) {
      const p = computeReplicasForMetric({ spec: m, specReplicas: current, statusReplicas, pods: args.pods, inputs: args.inputs, tolerances, timings: options.timings, now });
      proposals.push(p);
      if (p.error || p.replicas === undefined) {
        if (invalid === 0) firstInvalid = p;
        invalid++;
        continue;
      }
      if (replicas === 0 || p.replicas > replicas) {
        replicas = p.replicas;
        metricName = p.name;
      }
    }
    if (invalid >= spec.metrics.length || (invalid > 0 && replicas < current)) {
      const err = firstInvalid?.error ?? { reason: 'InvalidMetricSourceType', message: 'the HPA has no metrics' };
      conditions = setCondition(conditions, { type: 'ScalingActive', status: 'False', reason: err.reason, message: err.message });
    } else {
      metricDesiredReplicas = replicas;
      conditions = setCondition(conditions, { type: 'ScalingActive', status: 'True', reason: 'ValidMetricFound', message: `the HPA was able to successfully calculate a replica count from ${metricName}` });
    }
  }
  const decision = reconcileHpa(limits, args.state, { now, currentReplicas: current, metricDesiredReplicas, conditions });
  // `rescaleReason` of reconcileAutoscaler: bounds first, else the metric proposal against the current count.
  let rescaleReason = '';
  if (current > spec.maxReplicas) rescaleReason = 'Current number of replicas above Spec.MaxReplicas';
  else if (current < spec.minReplicas) rescaleReason = 'Current number of replicas below Spec.MinReplicas';
  else if (metricDesiredReplicas !== null && metricDesiredReplicas > current) rescaleReason = `${metricName} above target`;
  else if (metricDesiredReplicas !== null && metricDesiredReplicas < current) rescaleReason = 'All metrics below target';
  const event = decision.rescale ? { type: 'Normal' as const, reason: 'SuccessfulRescale' as const, message: `New size: ${decision.desiredReplicas}; reason: ${rescaleReason}` } : undefined;
  return { ...decision, metricDesiredReplicas, metricName, proposals, tolerances, event };
}
