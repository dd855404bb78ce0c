import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { getCalendarEvent } from '../forecast/calendar.ts';
import { type DeploymentSpec, SEED_DEPLOYMENT_SPEC } from '../manifests/deployment-spec.ts';
import { getSpecEngineOptions, getSpecPlanOptions } from '../manifests/prescale-plan.ts';
import { getPrescaleSteps } from '../schedule/schedule.ts';
import { comparePolicies } from './compare.ts';
import { normalizeBehavior } from './hpa-behavior.ts';
import { getEventMultiplier, type SaleEvent } from '../forecast/events.ts';
import { formatReadiness, getEventReadiness } from './readiness.ts';
import { evaluateServiceStep, getInstancesNeeded, getServiceRate } from './service-model.ts';
import { parsePolicyName, simulatePolicy } from './simulate.ts';

const service = { capacityPerInstanceRps: 150, sloP95Ms: 500, sloErrorRate: 0.01, maxUtilization: 0.98, timeoutMs: 10_000 };

describe('service model', () => {
  it('puts p95 exactly at the SLO when an instance runs at its benchmarked capacity', () => {
    const s = evaluateServiceStep(150, 1, service);
    assert.ok(Math.abs(s.p95Ms - 500) < 1e-6);
    assert.equal(s.failedRps, 0);
  });
  it('sheds the load above 98 % of the service rate and reports it over SLO', () => {
    const mu = getServiceRate(service);
    const s = evaluateServiceStep(2 * mu, 1, service);
    assert.ok(Math.abs(s.failedRps - (2 * mu - 0.98 * mu)) < 1e-9);
    assert.equal(s.overSlo, true);
  });
  it('fails everything with no ready instance', () => {
    assert.equal(evaluateServiceStep(10, 0, service).failedRps, 10);
  });
});

describe('readiness for a sale event', () => {
  // One step a minute from 00:00; the event ramps from 00:30 to ×4 at 00:40 over 100 req/s: its peak, 400 req/s,
  // needs 3 instances of 150 req/s (2 serve 300), ×1 needs 1: each step must have what its own demand needs.
  const fromMs = Date.parse('2026-11-27T00:00:00Z');
  const sale: SaleEvent = { name: 'Sale', startsAt: new Date('2026-11-27T00:30:00Z'), endsAt: new Date('2026-11-27T02:00:00Z'), trafficMultiplier: 4, shape: { rampUpMinutes: 10, decayMinutes: 0 } };
  const demand = (t: number) => 100 * getEventMultiplier([sale], t);
  const readiness = (ready: (minute: number) => number, events: SaleEvent[] = [sale]) =>
    getEventReadiness({ events, fromMs, stepSeconds: 60, ready: Array.from({ length: 120 }, (_, m) => ready(m)), demand, service });

  it('counts the instances needed by the SLO check itself', () => {
    assert.equal(getInstancesNeeded(400, service), 3);
    assert.equal(getInstancesNeeded(100, service), 1);
    assert.equal(getInstancesNeeded(0, service), 0);
    assert.equal(evaluateServiceStep(400, 2, service).overSlo, true);
  });
  it('measures from the first minute enough instances stayed ready through the peak to the ramp: before, late, never', () => {
    const early = readiness((m) => (m < 22 ? 0 : 3))[0];
    assert.deepEqual([early.peakAt, early.neededInstances, early.readyAt, early.readyMinutesBeforeRamp], ['2026-11-27T00:40:00.000Z', 3, '2026-11-27T00:22:00.000Z', 8]);
    // None ready at minute 25: ready again from 00:26.
    assert.equal(readiness((m) => (m === 25 ? 0 : 3))[0].readyMinutesBeforeRamp, 4);
    // 2 instances serve 300 req/s: short from 00:37 (×3.1); ready at 00:35 would have been too early, it came at 00:38.
    assert.equal(readiness((m) => (m < 38 ? 2 : 3))[0].readyMinutesBeforeRamp, -8);
    // Short at the peak: the first whole minute after it with 3 ready.
    assert.equal(readiness((m) => (m < 50 ? 2 : 3))[0].readyMinutesBeforeRamp, -20);
    const never = readiness(() => 2)[0];
    assert.deepEqual([never.readyAt, never.readyMinutesBeforeRamp], [null, null]);
    const always = readiness(() => 3)[0];
    assert.deepEqual([always.readySinceRunStart, always.readyMinutesBeforeRamp], [true, 30]);
  });
  it('prints before, late and never, naming each event when there are several', () => {
    assert.equal(formatReadiness(readiness((m) => (m < 22 ? 0 : 3))), '8 min before');
    assert.equal(formatReadiness(readiness((m) => (m < 50 ? 2 : 3))), '20 min late');
    assert.equal(formatReadiness(readiness(() => 3)), '≥ 30 min before');
    const other: SaleEvent = { ...sale, name: 'Other', startsAt: new Date('2026-11-27T01:00:00Z'), endsAt: new Date('2026-11-27T01:30:00Z') };
    assert.equal(formatReadiness(readiness(() => 2, [sale, other])), 'Sale: never; Other: never');
    assert.equal(formatReadiness([]), '-');
  });
});

describe('simulation', () => {
  it('rejects an unknown policy with UNKNOWN_POLICY', () => {
    assert.throws(() => parsePolicyName('magic'), { code: 'UNKNOWN_POLICY' });
  });

  it('lets HPA catch up with a step in demand after the pod start-up lag', () => {
    const from = new Date('2026-01-05T00:00:00Z');
    const r = simulatePolicy({
      policy: 'hpa',
      from,
      to: new Date(from.getTime() + 30 * 60_000),
      demand: (t) => (t < from.getTime() + 5 * 60_000 ? 100 : 1000),
      service,
      pricePerInstanceHour: 0.1,
    });
    const last = r.timeline.at(-1);
    assert.ok(r.totals.minutesOverSlo > 0, 'the step itself overloads the 2 pods');
    assert.ok(r.totals.minutesOverSlo < 10);
    assert.equal(last?.overSlo, false);
    assert.ok((last?.readyReplicas ?? 0) >= 10);
  });

  it('on Black Friday: reactive HPA violates the SLO during the ramp, HPA + pre-scaling does not', () => {
    const bf = getCalendarEvent('black-friday', 2026);
    const { results } = comparePolicies({
      forecast: { events: [bf], baseRequestsPerSecond: 100 },
      from: new Date(bf.startsAt.getTime() - 3 * 3_600_000),
      to: bf.endsAt,
      policies: ['hpa', 'hpa-prescaled'],
      capacityPerInstanceRps: 150,
      pricePerInstanceHour: 0.085,
    });
    const [reactive, prescaled] = results;
    assert.ok(reactive.totals.minutesOverSlo >= 2, `reactive ${reactive.totals.minutesOverSlo}`);
    assert.ok(reactive.totals.failedRequests > 0);
    assert.equal(prescaled.totals.minutesOverSlo, 0);
    assert.equal(prescaled.totals.failedRequests, 0);
    assert.ok(prescaled.totals.instanceHours > reactive.totals.instanceHours);
    assert.ok(Math.abs(prescaled.totals.cost - prescaled.totals.instanceHours * 0.085) < 1e-9);
  });

  it('predictive scaling without the event does no better than target tracking alone on Black Friday', () => {
    const bf = getCalendarEvent('black-friday', 2026);
    const { results } = comparePolicies({
      forecast: { events: [bf] },
      from: new Date('2026-11-27T09:00:00Z'),
      to: new Date('2026-11-27T12:00:00Z'),
      policies: ['aws-target-tracking', 'aws-predictive', 'aws-scheduled'],
      capacityPerInstanceRps: 150,
      pricePerInstanceHour: 0.085,
    });
    assert.ok(results[1].totals.minutesOverSlo > 0);
    assert.equal(results[2].totals.minutesOverSlo, 0);
  });
});

describe('Google Cloud and Azure on Black Friday', () => {
  it('reactive alone goes over the SLO during the ramp; with the plan (schedules, fixed-date profiles) neither does', () => {
    const bf = getCalendarEvent('black-friday', 2026);
    const { results } = comparePolicies({
      forecast: { events: [bf], baseRequestsPerSecond: 100 },
      from: new Date(bf.startsAt.getTime() - 3 * 3_600_000),
      to: new Date(bf.startsAt.getTime() + 15 * 3_600_000),
      policies: ['gce-autoscaler', 'gce-predictive-scheduled', 'azure-rules', 'azure-fixeddate'],
      capacityPerInstanceRps: 150,
      pricePerInstanceHour: 0.085,
    });
    const [gce, gcePlanned, azure, azurePlanned] = results;
    assert.ok(gce.totals.minutesOverSlo > 0 && gce.totals.failedRequests > 0, `gce ${gce.totals.minutesOverSlo}`);
    assert.ok(azure.totals.minutesOverSlo > 0 && azure.totals.failedRequests > 0, `azure ${azure.totals.minutesOverSlo}`);
    assert.equal(gcePlanned.totals.minutesOverSlo, 0);
    assert.equal(azurePlanned.totals.minutesOverSlo, 0);
    // The 10-minute stabilization keeps GCE's peak size after the ramp; the plan costs instance-hours, not errors.
    assert.ok(gcePlanned.totals.peakReplicas <= 20 && azurePlanned.totals.peakReplicas <= 20);
  });
});

describe('Black Friday on a cluster without spare nodes (Cluster Autoscaler)', () => {
  const bf = getCalendarEvent('black-friday', 2026);
  const sale = {
    forecast: { events: [bf], baseRequestsPerSecond: 100 },
    from: new Date(bf.startsAt.getTime() - 3 * 3_600_000),
    to: bf.endsAt,
    capacityPerInstanceRps: 150,
    pricePerInstanceHour: 0.085,
  };
  // 6 web pods (250m / 256 Mi) per node; the cluster starts with just enough nodes for the off-peak replicas.
  const nodePool = { podsPerNode: 6, provisioningSeconds: 120 };

  it('reactive HPA stays over the SLO longer when its pods wait for nodes, and fails more requests', () => {
    const [bare] = comparePolicies({ ...sale, policies: ['hpa'] }).results;
    const [onNodes] = comparePolicies({ ...sale, policies: ['hpa'], nodePool }).results;
    assert.equal(onNodes.totals.nodes?.initialNodes, 1);
    assert.ok((onNodes.totals.nodes?.nodesAdded ?? 0) >= 2, 'the ramp needs new nodes');
    assert.ok((onNodes.totals.nodes?.maxPendingPods ?? 0) > 0);
    assert.ok(onNodes.totals.minutesOverSlo >= bare.totals.minutesOverSlo + 2, `${onNodes.totals.minutesOverSlo} vs ${bare.totals.minutesOverSlo}`);
    assert.ok(onNodes.totals.failedRequests > bare.totals.failedRequests);
    // Longer provisioning, longer violation.
    const [slow] = comparePolicies({ ...sale, policies: ['hpa'], nodePool: { ...nodePool, provisioningSeconds: 240 } }).results;
    assert.ok(slow.totals.minutesOverSlo > onNodes.totals.minutesOverSlo);
  });

  it('KEDA cron pre-scaling holds the SLO when the lead covers node provisioning, and not when it does not', () => {
    const [covered] = comparePolicies({ ...sale, policies: ['hpa-prescaled'], nodePool, leadMinutes: 10 }).results;
    assert.equal(covered.totals.minutesOverSlo, 0);
    assert.equal(covered.totals.failedRequests, 0);
    assert.ok((covered.totals.nodes?.maxPendingPods ?? 0) > 0, 'the pre-scaled pods did wait for nodes');
    assert.equal(covered.totals.nodes?.peakNodes, 3);
    // One minute of lead: the pods are still Pending or starting when the planned hour begins.
    const [short] = comparePolicies({ ...sale, policies: ['hpa-prescaled'], nodePool, leadMinutes: 1 }).results;
    assert.ok(short.totals.minutesOverSlo > 0 && short.totals.failedRequests > 0, `${short.totals.minutesOverSlo}`);
    // Without the node pool the same one-minute lead is enough: the gap is node provisioning.
    const [bare] = comparePolicies({ ...sale, policies: ['hpa-prescaled'], leadMinutes: 1 }).results;
    assert.equal(bare.totals.minutesOverSlo, 0);
  });

  it('leaves the VM-based policies alone (each instance is its own VM)', () => {
    const policies = ['aws-target-tracking'] as const;
    const [bare] = comparePolicies({ ...sale, policies: [...policies] }).results;
    const [withPool] = comparePolicies({ ...sale, policies: [...policies], nodePool }).results;
    assert.deepEqual(withPool.totals, bare.totals);
    assert.equal(withPool.totals.nodes, undefined);
  });
});

/**
 * A flat synthetic base for 14 hours from `from`: 9.6 replicas' worth of demand, `peak` replicas' worth from 10:00 to
 * 15:00 UTC (a replica's worth: what the plan sizes one web replica for).
 */
function stepHistory(from: Date, peak: number): Map<number, number> {
  const planned = comparePolicies({ forecast: { learnedBase: new Map() }, from, to: new Date(from.getTime() + 3_600_000), policies: [], capacityPerInstanceRps: 150, pricePerInstanceHour: 0.085 });
  const perReplica = planned.plan.web.capacityPerInstanceRps * planned.plan.web.targetUtilization;
  const learnedBase = new Map<number, number>();
  for (let h = 0; h < 14; h++) {
    const hourMs = from.getTime() + h * 3_600_000;
    const hour = new Date(hourMs).getUTCHours();
    learnedBase.set(hourMs, (hour >= 10 && hour < 15 ? peak : 9.6) * Math.min(perReplica, 150 * 0.7));
  }
  return learnedBase;
}

describe('KEDA cron pre-scaling against the HPA tolerance', () => {
  it("the plan's pre-scaled capacity at each hour is what hpa-prescaled reaches: a step from 10 to 11 (ratio 1.1, inside ±10 %) is raised to 12", () => {
    // A flat synthetic history: the plan wants 10 replicas, then 11 from 10:00 to 15:00, then 10 again.
    const from = new Date('2026-03-02T06:00:00Z');
    const learnedBase = stepHistory(from, 10.6);
    // Up to the step back down: how fast the HPA then comes down follows its CPU metric's lag, not the plan.
    const to = new Date(from.getTime() + 9 * 3_600_000);
    const result = comparePolicies({ forecast: { learnedBase }, from, to, policies: ['hpa-prescaled'], capacityPerInstanceRps: 150, pricePerInstanceHour: 0.085 });
    assert.deepEqual(
      result.plan.hours.map((h) => h.webReplicas),
      [10, 10, 10, 10, 11, 11, 11, 11, 11, 10],
    );
    const steps = result.kedaPrescale?.steps ?? getPrescaleSteps(result.windows);
    const [sim] = result.results;
    for (let h = 0; h < 9; h++) {
      const t = from.getTime() + h * 3_600_000 + 30 * 60_000;
      const promised = steps.find((s) => s.startMs <= t && t < s.endMs)?.replicas;
      const reached = sim.timeline.find((p) => Date.parse(p.t) === t)?.replicas;
      assert.equal(reached, promised, `${new Date(t).toISOString()}: the plan pre-scales to ${promised}, hpa-prescaled runs ${reached}`);
    }
    assert.equal(sim.timeline.find((p) => p.t === '2026-03-02T12:30:00.000Z')?.replicas, 12);
  });
});

describe('KEDA cron pre-scaling against a per-direction HPA tolerance (behavior.scaleUp.tolerance)', () => {
  it('hpa-prescaled with scaleUp tolerance 0.25: a step from 10 to 12 (ratio 1.2, inside ±25 %) is raised, as the simulated HPA ignores it', () => {
    const from = new Date('2026-03-02T06:00:00Z');
    const learnedBase = stepHistory(from, 11.6);
    const to = new Date(from.getTime() + 9 * 3_600_000);
    const hpa = { behavior: normalizeBehavior({ scaleUp: { tolerance: 0.25 } }) };
    const result = comparePolicies({ forecast: { learnedBase }, from, to, policies: ['hpa-prescaled'], capacityPerInstanceRps: 150, pricePerInstanceHour: 0.085, hpa });
    assert.deepEqual(
      result.plan.hours.map((h) => h.webReplicas),
      [10, 10, 10, 10, 12, 12, 12, 12, 12, 10],
    );
    const [sim] = result.results;
    const t = Date.parse('2026-03-02T12:30:00.000Z');
    const promised = result.kedaPrescale.steps.find((s) => s.startMs <= t && t < s.endMs)?.replicas;
    const reached = sim.timeline.find((p) => Date.parse(p.t) === t)?.replicas;
    assert.ok(promised !== undefined && promised >= 12, `the plan wants 12 at 12:30; kedaPrescale promises ${promised}`);
    assert.equal(reached, promised, `kedaPrescale says the HPA runs ${promised} at 12:30 (raised steps: ${JSON.stringify(result.kedaPrescale.raised)}); hpa-prescaled runs ${reached}`);
  });
});

describe('the simulated HPA is the one the deployment spec renders', () => {
  // Black Friday and the quiet hours after it: the HPA scales in as the rendered behavior lets it.
  const bf = getCalendarEvent('black-friday', 2026);
  const instanceHours = (spec: DeploymentSpec) =>
    comparePolicies({
      forecast: { events: [bf], baseRequestsPerSecond: 100 },
      from: bf.startsAt,
      to: new Date(bf.endsAt.getTime() + 2 * 3_600_000),
      policies: ['hpa'],
      capacityPerInstanceRps: spec.web.capacityPerInstanceRps,
      pricePerInstanceHour: 0.1,
      web: getSpecPlanOptions(spec).web,
      ...getSpecEngineOptions(spec),
    }).results[0].totals.instanceHours;

  it("moves with the spec's memory target (web.autoscaling.memoryPercent, the HPA's memory metric): a lower target holds more pods", () => {
    const lower = structuredClone(SEED_DEPLOYMENT_SPEC);
    lower.web.autoscaling.memoryPercent = 40;
    assert.ok(instanceHours(lower) > instanceHours(SEED_DEPLOYMENT_SPEC), `${instanceHours(lower)} vs ${instanceHours(SEED_DEPLOYMENT_SPEC)}`);
  });

  it("moves with the spec's behavior (web.autoscaling.behavior, rendered into the HPA and the ScaledObject): 1 pod a minute scales in slower than 100 % every 15 s", () => {
    const fast = structuredClone(SEED_DEPLOYMENT_SPEC);
    fast.web.autoscaling.behavior.scaleDown = { stabilizationWindowSeconds: 300, selectPolicy: 'Max', policies: [{ type: 'Percent', value: 100, periodSeconds: 15 }] };
    assert.ok(instanceHours(SEED_DEPLOYMENT_SPEC) > instanceHours(fast), `${instanceHours(SEED_DEPLOYMENT_SPEC)} vs ${instanceHours(fast)}`);
  });
});
