/**
 * Hand-computed HPA decisions. Each case follows the controller's code path by hand
 * (replica_calculator.go GetResourceReplicas, horizontal.go normalizeDesiredReplicasWithBehaviors)
 * with the default behavior: scaleUp 0 s window, max(Pods 4, Percent 100) per 15 s;
 * scaleDown 300 s window, Percent 100 per 15 s; tolerance 0.1.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { normalizeBehavior } from './hpa-behavior.ts';
import type { HpaLimits, HpaState, PodResourceSample } from './hpa.ts';
import {
  combineMetricProposals,
  computeExternalAverageValueReplicas,
  computeResourceReplicas,
  createHpaState,
  reconcileHpa,
} from './hpa.ts';
import { classifyPod, DEFAULT_POD_METRIC_TIMINGS } from './hpa-pods.ts';

const ready = (usage: number, request = 1000): PodResourceSample => ({ state: 'ready', usage, request });
const unready = (request = 1000): PodResourceSample => ({ state: 'unready', usage: 0, request });
const missing = (request = 1000): PodResourceSample => ({ state: 'missing', usage: 0, request });

const withDefaults: HpaLimits = { minReplicas: 2, maxReplicas: 20, behavior: normalizeBehavior() };

describe('HPA resource metric (tolerance band)', () => {
  it('keeps the count when the ratio is inside 1 ± 0.1', () => {
    // util = floor(100·3000/4000) = 75; ratio 75/70 = 1.071 → inside the band → keep 4.
    const r = computeResourceReplicas({ currentReplicas: 4, pods: [ready(750), ready(750), ready(750), ready(750)], targetUtilization: 70 });
    assert.deepEqual(r, { replicas: 4, utilization: 75 });
  });

  it('scales when the ratio leaves the band: ceil(ratio × ready pods)', () => {
    // util 80; ratio 80/70 = 1.1429 → ceil(1.1429 × 4) = ceil(4.571) = 5.
    const r = computeResourceReplicas({ currentReplicas: 4, pods: Array.from({ length: 4 }, () => ready(800)), targetUtilization: 70 });
    assert.equal(r?.replicas, 5);
  });

  it('treats the lower edge (ratio exactly 0.9) as inside the band and 0.886 as outside', () => {
    // util 63 → 63/70 = 0.9 → keep 10. util 62 → 0.8857 → ceil(8.857) = 9.
    const at63 = computeResourceReplicas({ currentReplicas: 10, pods: Array.from({ length: 10 }, () => ready(630)), targetUtilization: 70 });
    const at62 = computeResourceReplicas({ currentReplicas: 10, pods: Array.from({ length: 10 }, () => ready(620)), targetUtilization: 70 });
    assert.equal(at63?.replicas, 10);
    assert.equal(at62?.replicas, 9);
  });

  it('floors the utilization before comparing (70.1 % is 70 %)', () => {
    const r = computeResourceReplicas({ currentReplicas: 3, pods: [ready(701), ready(701), ready(701)], targetUtilization: 70 });
    assert.deepEqual(r, { replicas: 3, utilization: 70 });
  });

  it('counts unready pods as 0 % on scale-up, which can cancel the scale-up', () => {
    // Ready: 2 pods at 100 % → ratio 2 vs target 50. With 2 unready pods at 0: floor(2000·100/4000) = 50 → ratio 1 → keep 4.
    const r = computeResourceReplicas({ currentReplicas: 4, pods: [ready(1000), ready(1000), unready(), unready()], targetUtilization: 50 });
    assert.equal(r?.replicas, 4);
    // With one unready pod: floor(200000/3000) = 66 → 1.32 → ceil(1.32 × 3) = ceil(3.96) = 4 (not ceil(2 × 2) = 4+).
    const one = computeResourceReplicas({ currentReplicas: 3, pods: [ready(1000), ready(1000), unready()], targetUtilization: 50 });
    assert.equal(one?.replicas, 4);
  });

  it('counts missing pods as max(100, target) % on scale-down and keeps the count when that flips the direction', () => {
    // Ready ratio 20/50 = 0.4; missing at 100 %: floor(2400·100/4000) = 60 → 1.2 > 1 → direction flipped → keep 4.
    const r = computeResourceReplicas({ currentReplicas: 4, pods: [ready(200), ready(200), missing(), missing()], targetUtilization: 50 });
    assert.equal(r?.replicas, 4);
  });

  it('reports no proposal when no pod has a usable sample', () => {
    assert.equal(computeResourceReplicas({ currentReplicas: 2, pods: [unready(), unready()], targetUtilization: 70 }), null);
  });
});

describe('HPA external AverageValue metric (KEDA)', () => {
  it('proposes ceil(total / target) outside the tolerance band', () => {
    // 47 jobs, 5 per pod, 3 pods: 47/15 = 3.13 → ceil(47/5) = 10.
    assert.equal(computeExternalAverageValueReplicas({ currentReplicas: 3, total: 47, targetPerPod: 5 }), 10);
  });
  it('keeps the count when total / (target × current) is within tolerance', () => {
    // 16/(5·3) = 1.067 → keep 3.
    assert.equal(computeExternalAverageValueReplicas({ currentReplicas: 3, total: 16, targetPerPod: 5 }), 3);
  });
});

describe('HPA several metrics', () => {
  it('takes the max of the proposals', () => {
    assert.equal(combineMetricProposals([5, 8, 3], 4), 8);
  });
  it('does not act when a metric failed and the others propose a scale-down', () => {
    assert.equal(combineMetricProposals([null, 3], 4), null);
    assert.equal(combineMetricProposals([null, 6], 4), 6);
  });
  it('reconciles the max of CPU and memory through the rate limit', () => {
    const cpu = computeResourceReplicas({ currentReplicas: 4, pods: Array.from({ length: 4 }, () => ready(800)), targetUtilization: 70 });
    // CPU: util 80 vs 70 → 5. Memory: util 160 vs target 80 → ratio 2 → 8. The max (8) wins.
    const mem = computeResourceReplicas({ currentReplicas: 4, pods: Array.from({ length: 4 }, () => ready(1600)), targetUtilization: 80 });
    const desired = combineMetricProposals([cpu?.replicas ?? null, mem?.replicas ?? null], 4);
    assert.equal(desired, 8);
    const d = reconcileHpa(withDefaults, createHpaState(), { now: 0, currentReplicas: 4, metricDesiredReplicas: desired });
    assert.equal(d.desiredReplicas, 8); // limit max(4+4, ceil(4·2)) = 8
  });
});

describe('HPA scale-up rate limit (default: 4 pods or 100 % per 15 s, Max)', () => {
  it('allows max(current + 4, 2 × current) from a small deployment', () => {
    // current 2, desired 20: Pods → 2+4 = 6, Percent → ceil(2·2) = 4; Max → 6.
    const d = reconcileHpa(withDefaults, createHpaState(), { now: 0, currentReplicas: 2, metricDesiredReplicas: 20 });
    assert.equal(d.desiredReplicas, 6);
    assert.equal(d.reason, 'ScaleUpLimit');
  });

  it('lets Percent win on a larger deployment', () => {
    // current 10: Pods → 14, Percent → 20; Max → 20 (also maxReplicas).
    const d = reconcileHpa(withDefaults, createHpaState(), { now: 0, currentReplicas: 10, metricDesiredReplicas: 20 });
    assert.equal(d.desiredReplicas, 20);
  });

  it('counts pods added inside the period: start = current − added + removed', () => {
    const first = reconcileHpa(withDefaults, createHpaState(), { now: 0, currentReplicas: 2, metricDesiredReplicas: 20 });
    // 10 s later the +4 event is inside the 15 s period: start = 6 − 4 = 2 → limit max(6, 4) = 6 → stay at 6.
    const inside = reconcileHpa(withDefaults, first.state, { now: 10, currentReplicas: 6, metricDesiredReplicas: 20 });
    assert.equal(inside.desiredReplicas, 6);
    // Exactly 15 s later the event is not after the cutoff (now − 15): start = 6 → max(10, 12) = 12.
    const next = reconcileHpa(withDefaults, first.state, { now: 15, currentReplicas: 6, metricDesiredReplicas: 20 });
    assert.equal(next.desiredReplicas, 12);
  });

  it('with selectPolicy Min takes the smaller of the policies', () => {
    const limits: HpaLimits = { minReplicas: 1, maxReplicas: 50, behavior: normalizeBehavior({ scaleUp: { selectPolicy: 'Min' } }) };
    // current 10: min(14, 20) = 14.
    assert.equal(reconcileHpa(limits, createHpaState(), { now: 0, currentReplicas: 10, metricDesiredReplicas: 40 }).desiredReplicas, 14);
  });

  it('with selectPolicy Disabled never scales up', () => {
    const limits: HpaLimits = { minReplicas: 1, maxReplicas: 50, behavior: normalizeBehavior({ scaleUp: { selectPolicy: 'Disabled' } }) };
    assert.equal(reconcileHpa(limits, createHpaState(), { now: 0, currentReplicas: 10, metricDesiredReplicas: 40 }).desiredReplicas, 10);
  });
});

describe('HPA scale-down stabilization (300 s)', () => {
  function runDown(untilSeconds: number): { replicas: number; state: HpaState } {
    // t=0 recommends 10 (steady), then every 15 s the metrics recommend 3.
    let state = reconcileHpa(withDefaults, createHpaState(), { now: 0, currentReplicas: 10, metricDesiredReplicas: 10 }).state;
    let replicas = 10;
    for (let t = 15; t <= untilSeconds; t += 15) {
      const d = reconcileHpa(withDefaults, state, { now: t, currentReplicas: replicas, metricDesiredReplicas: 3 });
      state = d.state;
      replicas = d.desiredReplicas;
    }
    return { replicas, state };
  }

  it('holds the highest recommendation of the last 300 s', () => {
    // At t=285 the t=0 recommendation (10) is after the cutoff −15 → downRec = 10 → stay at 10.
    assert.equal(runDown(285).replicas, 10);
  });

  it('scales down once the high recommendation leaves the window', () => {
    // At t=300 the cutoff is 0 and the t=0 sample is not after it → downRec = 3;
    // Percent 100 / 15 s allows floor(10 × 0) = 0, so the min bound (2) and the target (3) decide → 3.
    assert.equal(runDown(300).replicas, 3);
  });

  it('limits the step down by a Percent policy over its period', () => {
    const limits: HpaLimits = {
      minReplicas: 1,
      maxReplicas: 50,
      behavior: normalizeBehavior({ scaleDown: { stabilizationWindowSeconds: 0, policies: [{ type: 'Percent', value: 10, periodSeconds: 60 }] } }),
    };
    // current 20: floor(20 × 0.9) = 18.
    const a = reconcileHpa(limits, createHpaState(), { now: 0, currentReplicas: 20, metricDesiredReplicas: 5 });
    assert.equal(a.desiredReplicas, 18);
    // 30 s later: start = 18 − 0 + 2 = 20 → floor(18) = 18 → no further step inside the 60 s period.
    const b = reconcileHpa(limits, a.state, { now: 30, currentReplicas: 18, metricDesiredReplicas: 5 });
    assert.equal(b.desiredReplicas, 18);
    // 60 s after the first step the event has left the period: start = 18 → floor(16.2) = 16.
    const c = reconcileHpa(limits, b.state, { now: 60, currentReplicas: 18, metricDesiredReplicas: 5 });
    assert.equal(c.desiredReplicas, 16);
  });
});

describe('HPA bounds and legacy mode', () => {
  it('moves straight to max when current exceeds it', () => {
    assert.equal(reconcileHpa(withDefaults, createHpaState(), { now: 0, currentReplicas: 25, metricDesiredReplicas: 30 }).desiredReplicas, 20);
  });

  it('keeps the count when metrics are unavailable', () => {
    const d = reconcileHpa(withDefaults, createHpaState(), { now: 0, currentReplicas: 5, metricDesiredReplicas: null });
    assert.equal(d.desiredReplicas, 5);
    // Only the initial recommendation (the current count) is recorded, as recordInitialRecommendation does.
    assert.deepEqual(d.state.recommendations, [{ at: 0, value: 5 }]);
  });

  it('without behavior clamps to [min, min(max, max(2·current, 4))]', () => {
    const legacy: HpaLimits = { minReplicas: 1, maxReplicas: 20 };
    assert.equal(reconcileHpa(legacy, createHpaState(), { now: 0, currentReplicas: 3, metricDesiredReplicas: 20 }).desiredReplicas, 6);
    assert.equal(reconcileHpa(legacy, createHpaState(), { now: 0, currentReplicas: 1, metricDesiredReplicas: 20 }).desiredReplicas, 4);
  });

  it('without behavior keeps the max recommendation of the last 5 min, including one exactly 300 s old', () => {
    const legacy: HpaLimits = { minReplicas: 1, maxReplicas: 20 };
    const s0 = reconcileHpa(legacy, createHpaState(), { now: 0, currentReplicas: 8, metricDesiredReplicas: 8 }).state;
    assert.equal(reconcileHpa(legacy, s0, { now: 300, currentReplicas: 8, metricDesiredReplicas: 2 }).desiredReplicas, 8);
    assert.equal(reconcileHpa(legacy, s0, { now: 301, currentReplicas: 8, metricDesiredReplicas: 2 }).desiredReplicas, 2);
  });
});

describe('HPA pod grouping for CPU', () => {
  const t = DEFAULT_POD_METRIC_TIMINGS; // lag 30 s, window 15 s, CPU initialisation 300 s
  const pod = { startedAt: 0, readyAt: 30 };
  it('treats a pod that has a sample as unready until its readiness probe passes', () => {
    // now 50: sample window [5, 20] after the start at 0, readiness at 100.
    assert.equal(classifyPod({ startedAt: 0, readyAt: 100 }, 50, 'cpu', t), 'unready');
  });
  it('treats a running pod without a sample yet as missing, Ready or not (groupPods looks for the sample before readiness)', () => {
    // replica_calculator.go groupPods: `if _, found := metrics[pod.Name]; !found` → missingPods, before the
    // CPU readiness rules. now 20: the newest sample ends at −10, before the pod started.
    assert.equal(classifyPod(pod, 20, 'cpu', t), 'missing');
    // Scale-down with 4 pods at 30 % (target 70) and 2 just started: the missing pods count as 100 % of their
    // request, (4 × 300 + 2 × 1000) / 6000 = 53 % → ceil(0.762 × 6) = 5; left out as unready it would be 2.
    const states = [...Array(4).fill('ready'), classifyPod(pod, 20, 'cpu', t), classifyPod(pod, 20, 'cpu', t)];
    const pods = states.map((state): PodResourceSample => ({ state, usage: 300, request: 1000 }));
    assert.equal(computeResourceReplicas({ currentReplicas: 6, pods, targetUtilization: 70 })?.replicas, 5);
  });
  it('ignores CPU samples taken before one full window after readiness', () => {
    // now 60: sample at 30 < readyAt + window = 45 → unready. now 75: sample at 45 → ready.
    assert.equal(classifyPod(pod, 60, 'cpu', t), 'unready');
    assert.equal(classifyPod(pod, 75, 'cpu', t), 'ready');
  });
  it('counts a not-yet-Ready pod for memory as soon as it has a sample (upstream applies readiness to CPU only)', () => {
    const slow = { startedAt: 0, readyAt: 100 };
    assert.equal(classifyPod(slow, 60, 'cpu', t), 'unready');
    assert.equal(classifyPod(slow, 60, 'memory', t), 'ready');
  });
  it('uses memory samples as soon as the pod is ready and has one', () => {
    assert.equal(classifyPod(pod, 60, 'memory', t), 'ready');
    assert.equal(classifyPod(pod, 40, 'memory', t), 'missing');
  });
});
