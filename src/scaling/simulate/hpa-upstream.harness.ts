/**
 * Runs the ported upstream HPA cases (`hpa-upstream.fixtures.ts`) through the public functions,
 * reproducing each upstream test file's harness. Returns, per case, what upstream asserts and
 * what this port computed; `hpa-upstream.test.ts` asserts them and `UPSTREAM-CASES.md` lists them.
 */
import { normalizeBehavior } from './hpa-behavior.ts';
import type { HpaBehaviorInput, HpaScalingRules } from './hpa-behavior.ts';
import type { HpaMetricSpec, ResourcePodMetrics } from './hpa-controller.ts';
import { computeReplicasForMetric, syncHpa } from './hpa-controller.ts';
import type { HpaState, ScaleEvent } from './hpa.ts';
import { convertDesiredReplicasWithBehaviorRate, convertDesiredReplicasWithRules, createHpaState, getReplicasChangePerPeriod, stabilizeRecommendation, stabilizeRecommendationWithBehaviors, storeScaleEvent } from './hpa.ts';
import type { HpaPod, Tolerances } from './hpa-replica-calculator.ts';
import { getResourceReplicas, groupPods, HpaMetricError } from './hpa-replica-calculator.ts';
import type { MetricCalcCase, ReconcileCase, ResourceCalcCase, RulesArgs, StartTime } from './hpa-upstream.fixtures.ts';
import { GROUP_PODS_CASES, LEGACY_RULES_CASES, LEGACY_STABILIZE_CASES, METRIC_CALC_CASES, RATE_CASES, RECONCILE_CASES, RESOURCE_CALC_CASES, STABILIZE_CASES, STORE_EVENT_CASES } from './hpa-upstream.fixtures.ts';

/** "now" of every upstream test (seconds); hot pods start now, cool ones 3 min ago, unset ones at 0. */
export const T = 1_000_000;
const TEST_TIMINGS = { cpuInitializationPeriod: 120, delayOfInitialReadinessStatus: 10 };

export interface UpstreamCaseResult {
  upstream: string;
  file: 'replica_calculator_test.go' | 'horizontal_test.go';
  family: string;
  expected: unknown;
  actual: unknown;
  pass: boolean;
}

function startOf(s: StartTime | undefined): number {
  return s === 'hot' ? T : s === 'cool' ? T - 180 : 0;
}

function equal(a: unknown, b: unknown): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

function rulesFrom(args: RulesArgs | undefined): Partial<HpaScalingRules> | undefined {
  if (!args) return undefined;
  const [pods, podsPeriod, percent, percentPeriod, window] = args;
  const policies: HpaScalingRules['policies'] = [];
  if (pods !== 0) policies.push({ type: 'Pods', value: pods, periodSeconds: podsPeriod });
  if (percent !== 0) policies.push({ type: 'Percent', value: percent, periodSeconds: percentPeriod });
  return { stabilizationWindowSeconds: window, selectPolicy: 'Max', ...(policies.length > 0 ? { policies } : {}) };
}

function behaviorFrom(up?: RulesArgs, down?: RulesArgs) {
  const input: HpaBehaviorInput = {};
  const u = rulesFrom(up);
  const d = rulesFrom(down);
  if (u) input.scaleUp = u;
  if (d) input.scaleDown = d;
  return normalizeBehavior(input);
}

/** `generateEventsUniformDistribution(raw, 120)`. */
function uniformEvents(raw: number[] | undefined, period = 120): ScaleEvent[] {
  if (!raw) return [];
  const seg = period / raw.length;
  return raw.map((value, i) => ({ value, at: T - Math.trunc(period - seg * (i + 1) + seg / 2), outdated: false }));
}

function calcPods(c: { currentReplicas: number; phase?: string[]; readiness?: string[]; start?: StartTime[]; deleted?: boolean[] }, requests: number[] = []): HpaPod[] {
  const n = Math.max(c.currentReplicas, c.phase?.length ?? 0);
  return Array.from({ length: n }, (_, i) => {
    const req = i < requests.length ? { cpu: requests[i] } : {};
    return {
      name: `test-pod-${i}`,
      phase: c.phase?.[i] ?? 'Running',
      deleted: c.deleted?.[i] ?? false,
      startTime: startOf(c.start?.[i]),
      ready: { status: (c.readiness?.[i] ?? 'True') as 'True' | 'False', lastTransitionTime: 0 },
      containers: [
        { name: 'container1', requests: req },
        { name: 'container2', requests: req },
      ],
    };
  });
}

function tolerancesOf(t: [number, number] | undefined): Tolerances | undefined {
  return t ? { scaleDown: t[0], scaleUp: t[1] } : undefined;
}

function runResourceCalc(c: ResourceCalcCase): UpstreamCaseResult {
  const pods = calcPods(c, c.requests);
  const podMetrics: ResourcePodMetrics[] = c.levels.map((lv, i) => ({
    name: c.podNames?.[i] ?? `test-pod-${i}`,
    timestamp: 0,
    window: 60,
    containers: [0, 1].map((j) => (j < lv.length ? { name: `container${j + 1}`, usage: { cpu: lv[j] } } : { name: '', usage: {} })),
  }));
  let actual: unknown;
  try {
    if (podMetrics.length === 0) throw new HpaMetricError('unable to get metrics for resource cpu: no metrics returned from resource metrics API');
    // Through computeReplicasForMetric so that the metrics-API shaping (sum over containers / one container) is ported too.
    const spec: HpaMetricSpec = c.container
      ? { type: 'ContainerResource', name: 'cpu', container: c.container, target: { type: 'Utilization', averageUtilization: c.targetUtilization } }
      : { type: 'Resource', name: 'cpu', target: { type: 'Utilization', averageUtilization: c.targetUtilization } };
    const p = computeReplicasForMetric({ spec, specReplicas: c.currentReplicas, statusReplicas: c.currentReplicas, pods, inputs: { podMetrics }, tolerances: tolerancesOf(c.tolerances) ?? { scaleDown: 0.1, scaleUp: 0.1 }, timings: TEST_TIMINGS, now: T });
    if (p.error) throw new HpaMetricError(p.error.message);
    actual = { replicas: p.replicas, utilization: p.utilization, raw: p.rawUsage };
  } catch (e) {
    actual = { error: (e as Error).message };
  }
  const expected = c.expect;
  const pass = 'error' in expected ? typeof actual === 'object' && actual !== null && 'error' in actual && String((actual as { error: string }).error).includes(expected.error) : equal(actual, expected);
  return { upstream: c.upstream, file: 'replica_calculator_test.go', family: 'replica calculator: resource', expected, actual, pass };
}

function runMetricCalc(c: MetricCalcCase): UpstreamCaseResult {
  const pods = calcPods(c);
  const obj = { kind: 'Deployment', name: 'some-deployment', apiVersion: 'apps/v1' };
  const specs: Record<MetricCalcCase['kind'], HpaMetricSpec> = {
    pods: { type: 'Pods', metricName: 'qps', target: { type: 'AverageValue', averageValue: c.target } },
    object: { type: 'Object', describedObject: obj, metricName: 'qps', target: { type: 'Value', value: c.target } },
    objectPerPod: { type: 'Object', describedObject: obj, metricName: 'qps', target: { type: 'AverageValue', averageValue: c.target } },
    external: { type: 'External', metricName: 'qps', selector: { label: 'value' }, target: { type: 'Value', value: c.target } },
    externalPerPod: { type: 'External', metricName: 'qps', selector: { label: 'value' }, target: { type: 'AverageValue', averageValue: c.target } },
  };
  const p = computeReplicasForMetric({
    spec: specs[c.kind],
    specReplicas: c.currentReplicas,
    statusReplicas: c.currentReplicas,
    pods,
    inputs: {
      podCustomMetrics: { qps: c.levels.map((value, i) => ({ pod: `test-pod-${i}`, value, timestamp: 0 })) },
      objectMetrics: [{ kind: 'Deployment', name: 'some-deployment', metricName: 'qps', value: c.levels[0] }],
      externalMetrics: { qps: c.levels.map((value) => ({ value, labels: { label: 'value' } })) },
    },
    tolerances: tolerancesOf(c.tolerances) ?? { scaleDown: 0.1, scaleUp: 0.1 },
    timings: TEST_TIMINGS,
    now: T,
  });
  const actual = p.error ? { error: p.error.message } : { replicas: p.replicas, usage: p.rawUsage };
  return { upstream: c.upstream, file: 'replica_calculator_test.go', family: `replica calculator: ${c.kind}`, expected: c.expect, actual, pass: equal(actual, c.expect) };
}

/** The pods, metrics and HPA of horizontal_test.go's `prepareTestClient` for one case (kubectl-shaped inputs are built from these). */
export function buildReconcileInputs(c: ReconcileCase) {
  const status = c.status ?? c.spec;
  const n = c.requests ? c.requests.length : status;
  const pods: HpaPod[] = Array.from({ length: n }, (_, i) => {
    const req = c.requests ? c.requests[i] : 1000;
    const start = startOf(c.start?.[i]);
    return {
      name: `test-pod-${i}`,
      phase: c.phase?.[i] ?? 'Running',
      deleted: c.deleted?.[i] ?? false,
      startTime: start,
      ready: { status: c.readiness?.[i] ?? 'True', lastTransitionTime: start },
      containers: [
        { name: 'container1', requests: { cpu: Math.trunc(req / 2) } },
        { name: 'container2', requests: { cpu: Math.trunc(req / 2) } },
      ],
    };
  });
  const podMetrics: ResourcePodMetrics[] = c.levels.map((level, i) => ({
    name: `test-pod-${i}`,
    timestamp: T,
    window: 60,
    containers: [
      { name: 'container1', usage: { cpu: Math.trunc(level / 2), memory: 524288000 } },
      { name: 'container2', usage: { cpu: Math.trunc(level / 2), memory: 524288000 } },
    ],
  }));
  const metrics: HpaMetricSpec[] = [];
  if ((c.cpuTarget ?? 0) > 0) metrics.push({ type: 'Resource', name: 'cpu', target: { type: 'Utilization', averageUtilization: c.cpuTarget } });
  metrics.push(...(c.metrics ?? []));
  if (metrics.length === 0) metrics.push({ type: 'Resource', name: 'cpu', target: { type: 'Utilization' } });
  const behavior = c.scaleUp || c.scaleDown ? behaviorFrom(c.scaleUp, c.scaleDown) : undefined;
  const state: HpaState = c.recommendations === undefined ? createHpaState() : { ...createHpaState(), recommendations: c.recommendations.map(([value, ago]) => ({ value, at: T - ago })) };
  return {
    spec: { name: 'test-hpa', namespace: 'test-namespace', minReplicas: c.min, maxReplicas: c.max, metrics, behavior },
    specReplicas: c.spec,
    statusReplicas: status,
    pods,
    inputs: {
      podMetrics,
      podCustomMetrics: { qps: c.levels.map((value, i) => ({ pod: `test-pod-${i}`, value, timestamp: T })) },
      objectMetrics: c.levels.length > 0 ? [{ kind: 'Deployment', name: 'some-deployment', metricName: 'qps', value: c.levels[0] }] : [],
      externalMetrics: { qps: c.levels.map((value) => ({ value })) },
    },
    state,
    now: T,
    options: { timings: TEST_TIMINGS, scaleUpLimitFactor: 8 },
  };
}

function runReconcile(c: ReconcileCase): UpstreamCaseResult {
  const r = syncHpa(buildReconcileInputs(c));
  const cpu = r.proposals.find((p) => p.type === 'Resource' && p.utilization !== undefined);
  const actual: Record<string, unknown> = { replicas: r.desiredReplicas };
  if (c.expect.cpuUtilization !== undefined) actual.cpuUtilization = cpu?.utilization;
  actual.conditions = r.conditions.map((x) => `${x.type}=${x.status}:${x.reason}`);
  if (c.expect.event !== undefined) actual.event = r.event?.message ?? null;
  const expected = {
    replicas: c.expect.replicas,
    ...(c.expect.cpuUtilization !== undefined ? { cpuUtilization: c.expect.cpuUtilization } : {}),
    conditions: c.expect.conditions,
    ...(c.expect.event !== undefined ? { event: c.expect.event } : {}),
  };
  return { upstream: c.upstream, file: 'horizontal_test.go', family: 'reconcile (horizontal_test runTest)', expected, actual, pass: equal(actual, expected) };
}

function runGroupPods(c: (typeof GROUP_PODS_CASES)[number]): UpstreamCaseResult {
  const pods: HpaPod[] = c.pods.map((p) => ({
    name: p.name,
    phase: p.phase,
    deleted: p.deleted ?? false,
    startTime: p.startAgo === undefined ? null : T - p.startAgo,
    ready: p.ready ? { status: p.ready[0], lastTransitionTime: T - p.ready[1] } : null,
    containers: [],
  }));
  const metrics = new Map(c.pods.filter((p) => p.metric !== undefined).map((p) => [p.name, p.metric === 'zero' ? { value: 1, timestamp: 0, window: 0 } : { value: 1, timestamp: T - (p.metric?.[0] ?? 0), window: p.metric?.[1] ?? 0 }]));
  const g = groupPods(pods, metrics, c.resource, TEST_TIMINGS, T);
  const actual = { ready: g.readyPodCount, unready: [...g.unready].sort(), missing: [...g.missing].sort(), ignored: [...g.ignored].sort() };
  const expected = { ...c.expect, unready: [...c.expect.unready].sort(), missing: [...c.expect.missing].sort(), ignored: [...c.expect.ignored].sort() };
  return { upstream: c.upstream, file: 'replica_calculator_test.go', family: 'groupPods', expected, actual, pass: equal(actual, expected) };
}

export function runUpstreamCases(): UpstreamCaseResult[] {
  const out: UpstreamCaseResult[] = [];
  for (const c of GROUP_PODS_CASES) out.push(runGroupPods(c));
  for (const c of RESOURCE_CALC_CASES) out.push(runResourceCalc(c));
  for (const c of METRIC_CALC_CASES) out.push(runMetricCalc(c));
  for (const c of RECONCILE_CASES) out.push(runReconcile(c));
  for (const c of RATE_CASES) {
    const behavior = behaviorFrom(c.scaleUp, c.scaleDown);
    const r = convertDesiredReplicasWithBehaviorRate({ behavior, state: { scaleUpEvents: uniformEvents(c.upEvents), scaleDownEvents: uniformEvents(c.downEvents) }, minReplicas: c.min, maxReplicas: c.max, currentReplicas: c.current, desiredReplicas: c.desired, now: T });
    const actual = { replicas: r.replicas, condition: r.reason };
    out.push({ upstream: c.upstream, file: 'horizontal_test.go', family: 'behavior: rate limits', expected: c.expect, actual, pass: equal(actual, c.expect) });
  }
  for (const c of STABILIZE_CASES) {
    const behavior = normalizeBehavior({ scaleUp: { stabilizationWindowSeconds: c.upWindow }, scaleDown: { stabilizationWindowSeconds: c.downWindow } });
    const r = stabilizeRecommendationWithBehaviors(behavior, c.recommendations.map(([value, ago]) => ({ value, at: T - ago })), c.current, c.desired, T);
    const actual = { replicas: r.recommendation, stored: r.recommendations.map((x) => x.value) };
    out.push({ upstream: c.upstream, file: 'horizontal_test.go', family: 'behavior: stabilization', expected: c.expect, actual, pass: equal(actual, c.expect) });
  }
  for (const c of LEGACY_STABILIZE_CASES) {
    const r = stabilizeRecommendation(c.recommendations.map(([value, ago]) => ({ value, at: T - ago })), c.desired, 300, T);
    const actual = { replicas: r.recommendation, logLength: r.recommendations.length };
    out.push({ upstream: c.upstream, file: 'horizontal_test.go', family: 'legacy: stabilization', expected: c.expect, actual, pass: equal(actual, c.expect) });
  }
  for (const c of LEGACY_RULES_CASES) {
    const r = convertDesiredReplicasWithRules(c.current, c.desired, c.min, c.max, 8, 4);
    const actual = { replicas: r.replicas, condition: r.reason };
    out.push({ upstream: c.upstream, file: 'horizontal_test.go', family: 'legacy: limits', expected: c.expect, actual, pass: equal(actual, c.expect) });
  }
  for (const c of STORE_EVENT_CASES) {
    const prev: ScaleEvent[] = c.prev.map(([value, ago]) => ({ value, at: T - ago, outdated: false }));
    const rules = rulesFrom(c.rules);
    const upBehavior = rules ? normalizeBehavior({ scaleUp: rules }) : undefined;
    const downBehavior = rules ? normalizeBehavior({ scaleDown: rules }) : undefined;
    const changeUp = getReplicasChangePerPeriod(60, prev, T);
    const up = storeScaleEvent({ ...createHpaState(), scaleUpEvents: prev }, upBehavior, 10, 10 + c.change, T);
    const down = storeScaleEvent({ ...createHpaState(), scaleDownEvents: prev }, downBehavior, 10, 10 - c.change, T);
    const actual = { change: changeUp, up: up.scaleUpEvents.map((e) => [e.value, e.outdated]), down: down.scaleDownEvents.map((e) => [e.value, e.outdated]) };
    const expected = { change: c.expectChange, up: c.expectEvents, down: c.expectEvents };
    out.push({ upstream: c.upstream, file: 'horizontal_test.go', family: 'behavior: scale events', expected, actual, pass: equal(actual, expected) });
  }
  {
    const rules: HpaScalingRules = { stabilizationWindowSeconds: 300, selectPolicy: 'Min', policies: [{ type: 'Pods', value: 2, periodSeconds: 60 }, { type: 'Percent', value: 50, periodSeconds: 60 }] };
    const none = { scaleUpEvents: [], scaleDownEvents: [] };
    const behavior = normalizeBehavior({ scaleUp: rules, scaleDown: rules });
    const up = convertDesiredReplicasWithBehaviorRate({ behavior, state: none, minReplicas: 1, maxReplicas: 100, currentReplicas: 1, desiredReplicas: 100, now: T }).rate.limit;
    out.push({ upstream: 'TestCalculateScaleUpLimitWithScalingRules', file: 'horizontal_test.go', family: 'behavior: rate limits', expected: 2, actual: up, pass: up === 2 });
    const down = convertDesiredReplicasWithBehaviorRate({ behavior, state: none, minReplicas: 0, maxReplicas: 100, currentReplicas: 5, desiredReplicas: 0, now: T }).rate.limit;
    out.push({ upstream: 'TestCalculateScaleDownLimitWithBehaviors', file: 'horizontal_test.go', family: 'behavior: rate limits', expected: 3, actual: down, pass: down === 3 });
  }
  return out;
}

/** Re-exported for the explain tests, which run some reconcile cases through the CLI. */
export { RECONCILE_CASES, getResourceReplicas };
