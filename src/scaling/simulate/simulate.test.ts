import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { getCalendarEvent } from '../forecast/calendar.ts';
import { type DeploymentSpec, SEED_DEPLOYMENT_SPEC, WEB_IDLE_MEMORY_MIB } from '../manifests/deployment-spec.ts';
import { getSpecEngineOptions, getSpecPlanOptions } from '../manifests/prescale-plan.ts';
import { getPrescaleSteps } from '../schedule/schedule.ts';
import { comparePolicies } from './compare.ts';
import { normalizeBehavior } from './hpa-behavior.ts';
import type { SaleEvent } from '../forecast/events.ts';
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

describe('capacity lead for a sale event', () => {
  // One step a minute from 00:00 to 02:00; the event runs 00:30–01:40 over stepwise demand: 100 req/s (needs 1 instance
  // of 150 req/s) until 00:40, 400 (needs 3) until 01:10, 700 (needs 5) until 01:30, then 100 again. The event starts
  // needing 1, so the steps measured are 00:40–01:29, where the need rose above it.
  const fromMs = Date.parse('2026-11-27T00:00:00Z');
  const at = (hhmm: string) => `2026-11-27T${hhmm}:00.000Z`;
  const sale: SaleEvent = { name: 'Sale', startsAt: new Date(at('00:30')), endsAt: new Date(at('01:40')), trafficMultiplier: 1, shape: { rampUpMinutes: 0, decayMinutes: 0 } };
  const demand = (t: number) => {
    const minute = (t - fromMs) / 60_000;
    return minute >= 40 && minute < 70 ? 400 : minute >= 70 && minute < 90 ? 700 : 100;
  };
  const readiness = (ready: (minute: number) => number, events: SaleEvent[] = [sale]) =>
    getEventReadiness({ events, fromMs, stepSeconds: 60, ready: Array.from({ length: 120 }, (_, m) => ready(m)), demand, service });
  const expected = (tightestAt: string, neededInstances: number, readyAt: string | null, readyMarginMinutes: number | null, readySinceRunStart = false) => ({
    event: 'Sale',
    rampStartsAt: at('00:30'),
    tightestAt,
    neededInstances,
    readyAt,
    readySinceRunStart,
    readyMarginMinutes,
  });

  it('counts the instances needed by the SLO check itself', () => {
    assert.equal(getInstancesNeeded(700, service), 5);
    assert.equal(getInstancesNeeded(400, service), 3);
    assert.equal(getInstancesNeeded(310, service), 3);
    assert.equal(getInstancesNeeded(280, service), 2);
    assert.equal(getInstancesNeeded(100, service), 1);
    assert.equal(getInstancesNeeded(0, service), 0);
    assert.equal(evaluateServiceStep(400, 2, service).overSlo, true);
    assert.equal(evaluateServiceStep(700, 4, service).overSlo, true);
  });
  it('reports the tightest step: a pre-scaled policy 10 min ahead of the first rise but 2 min ahead of the higher one reads 2', () => {
    // 1 until 00:30, 3 from 00:30, 5 from 01:08. 00:40 needs 3, serving since 00:30: 10 min (00:41: 11, …); 01:10
    // needs 5, serving since 01:08: 2 min (01:11: 3, …). The minimum is 01:10's 2 min.
    assert.deepEqual(readiness((m) => (m < 30 ? 1 : m < 68 ? 3 : 5))[0], expected(at('01:10'), 5, at('01:08'), 2));
    // 3 from 00:40 exactly and 5 from 01:00: 00:40 has its 3 just in time, 0 min.
    assert.deepEqual(readiness((m) => (m < 40 ? 1 : m < 60 ? 3 : 5))[0], expected(at('00:40'), 3, at('00:40'), 0));
  });
  it('measures a flat pre-scaled policy from the first rise, not from the event start the base already covered', () => {
    // 5 all along: every measured step is served since the run's start; the tightest is the first rise, 00:40, a
    // lower bound of 40 min. Counting the event's own first step (00:30, needing 1) would have read "≥ 30".
    assert.deepEqual(readiness(() => 5)[0], expected(at('00:40'), 3, at('00:00'), 40, true));
    // An event that never needs more than at its start (01:40–02:00, 100 req/s) is measured on every step: ≥ 100 at 01:40.
    const calm: SaleEvent = { ...sale, name: 'Calm', startsAt: new Date(at('01:40')), endsAt: new Date(at('02:00')) };
    assert.deepEqual(readiness(() => 5, [calm])[0], { ...expected(at('01:40'), 1, at('00:00'), 100, true), event: 'Calm', rampStartsAt: at('01:40') });
  });
  it('reports a reactive policy short at a rise as late, and one never ready as null', () => {
    // 1 until 00:43, then 5: 00:40 needs 3 and has them from 00:43, 3 min late (00:41: 2, 00:42: 1); 01:10's 5 have
    // been serving since 00:43, 27 min before.
    assert.deepEqual(readiness((m) => (m < 43 ? 1 : 5))[0], expected(at('00:40'), 3, at('00:43'), -3));
    // 3 all along: ahead of every step needing 3, but 01:10 needs 5 and never has them.
    assert.deepEqual(readiness(() => 3)[0], expected(at('01:10'), 5, null, null));
  });
  it('prints the margin with the tightest step and its need, naming each event when there are several', () => {
    assert.equal(formatReadiness(readiness((m) => (m < 30 ? 1 : m < 68 ? 3 : 5))), '2 min before (01:10, 5 inst.)');
    assert.equal(formatReadiness(readiness((m) => (m < 43 ? 1 : 5))), '3 min late (00:40, 3 inst.)');
    assert.equal(formatReadiness(readiness((m) => (m < 40 ? 1 : m < 60 ? 3 : 5))), 'just in time (00:40, 3 inst.)');
    assert.equal(formatReadiness(readiness(() => 5)), '≥ 40 min before (00:40, 3 inst.)');
    // 15 s steps: a step off the minute prints its seconds; 3 from 00:40:45 is 0.75 min late, printed to 0.1.
    const quarter = getEventReadiness({ events: [sale], fromMs, stepSeconds: 15, ready: Array.from({ length: 480 }, (_, q) => (q < 163 ? 1 : 5)), demand, service });
    assert.equal(formatReadiness(quarter), '0.8 min late (00:40, 3 inst.)');
    const other: SaleEvent = { ...sale, name: 'Other', startsAt: new Date(at('01:00')), endsAt: new Date(at('01:30')) };
    // Other starts needing 3 at 01:00: only its steps needing 5 count.
    assert.equal(formatReadiness(readiness(() => 2, [sale, other])), 'Sale: never (00:40, 3 inst.); Other: never (01:10, 5 inst.)');
    assert.equal(formatReadiness([]), '-');
  });
  it('reads the demand once per step, however many events overlap it', () => {
    // 50 events over the whole run: each step's need is worked out once, not once per event (a 45-day simulate with 100
    // overlapping events ran past 150 s, each step's demand read 100 times per policy, each read looking at every event).
    const many = Array.from({ length: 50 }, (_, i): SaleEvent => ({ ...sale, name: `Sale ${i}`, startsAt: new Date(fromMs + i * 60_000), endsAt: new Date(at('02:00')) }));
    let reads = 0;
    const counted = (t: number) => {
      reads += 1;
      return demand(t);
    };
    const list = getEventReadiness({ events: many, fromMs, stepSeconds: 60, ready: Array.from({ length: 120 }, () => 5), demand: counted, service });
    assert.equal(list.length, 50);
    assert.deepEqual(list[0], { ...expected(at('00:40'), 3, at('00:00'), 40, true), event: 'Sale 0', rampStartsAt: at('00:00') });
    assert.ok(reads <= 120, `${reads} demand reads for 120 steps`);
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
  // 6 web pods (250m / 512 Mi) per node; the cluster starts with just enough nodes for the off-peak replicas.
  const nodePool = { podsPerNode: 6, provisioningSeconds: 120 };

  it('reactive HPA stays over the SLO longer when its pods wait for nodes, and fails more requests', () => {
    const [bare] = comparePolicies({ ...sale, policies: ['hpa'] }).results;
    const [onNodes] = comparePolicies({ ...sale, policies: ['hpa'], nodePool }).results;
    assert.equal(onNodes.totals.nodes?.initialNodes, 1);
    assert.ok((onNodes.totals.nodes?.nodesAdded ?? 0) >= 2, 'the ramp needs new nodes');
    assert.ok((onNodes.totals.nodes?.maxPendingPods ?? 0) > 0);
    // At least 2 minutes more (sums of 15 s steps: compared with a float's slack).
    assert.ok(onNodes.totals.minutesOverSlo - bare.totals.minutesOverSlo >= 2 - 1e-9, `${onNodes.totals.minutesOverSlo} vs ${bare.totals.minutesOverSlo}`);
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

  it("keeps an idle web Deployment at the seed spec's replicas.min: an idle pod's memory is a baseline, not load", () => {
    // A weekday's evening (420 requests/s, 4 pods), then the night at 60 requests/s (a fifth of 2 pods' capacity). An
    // idle pod holds WEB_IDLE_MEMORY_MIB (62 % of its 512 MiB request): after the evening, an HPA memory metric at 80 %
    // would stop scale-in at ceil(n × 62 / 80) = n, 4 pods, whatever the load.
    const spec = SEED_DEPLOYMENT_SPEC;
    const [sim] = comparePolicies({
      forecast: { baseRequestsPerSecond: 300 },
      from: new Date('2026-03-03T18:00:00.000Z'),
      to: new Date('2026-03-04T06:00:00.000Z'),
      policies: ['hpa'],
      capacityPerInstanceRps: spec.web.capacityPerInstanceRps,
      pricePerInstanceHour: 0.1,
      web: getSpecPlanOptions(spec).web,
      ...getSpecEngineOptions(spec),
    }).results;
    assert.ok(Math.max(...sim.timeline.map((p) => p.replicas)) > spec.web.replicas.min, 'the evening runs web above replicas.min');
    const lastHour = sim.timeline.slice(-60).map((p) => p.replicas);
    assert.deepEqual([...new Set(lastHour)], [spec.web.replicas.min], `web pods in the last idle hour: ${[...new Set(lastHour)].join(', ')}`);
  });

  it("simulates the memory metric only when the spec sets one (web.autoscaling.memoryPercent): a target holds more pods than none", () => {
    const withTarget = structuredClone(SEED_DEPLOYMENT_SPEC);
    withTarget.web.autoscaling.memoryPercent = 80;
    assert.equal(getSpecEngineOptions(SEED_DEPLOYMENT_SPEC).hpa.memoryTargetPercent, undefined);
    assert.ok(instanceHours(withTarget) > instanceHours(SEED_DEPLOYMENT_SPEC), `${instanceHours(withTarget)} vs ${instanceHours(SEED_DEPLOYMENT_SPEC)}`);
  });

  it("puts an idle pod's memory at WEB_IDLE_MEMORY_MIB of the spec's web.requests.memoryMiB, the figure the HPA's memory metric divides", () => {
    const idlePercent = getSpecEngineOptions(SEED_DEPLOYMENT_SPEC).hpa.memoryModel?.[0];
    const expected = (100 * WEB_IDLE_MEMORY_MIB) / SEED_DEPLOYMENT_SPEC.web.requests.memoryMiB;
    assert.ok(idlePercent !== undefined && Math.abs(idlePercent - expected) < 0.01, `idle memory ${idlePercent} % of the request, measured ${expected.toFixed(1)} %`);
  });

  it("moves with the spec's memory request (web.requests.memoryMiB): an idle pod fills more of a smaller request, so the memory metric holds more pods", () => {
    const larger = structuredClone(SEED_DEPLOYMENT_SPEC);
    larger.web.autoscaling.memoryPercent = 80;
    const smaller = structuredClone(larger);
    smaller.web.requests.memoryMiB = 400;
    assert.ok(instanceHours(smaller) > instanceHours(larger), `${instanceHours(smaller)} vs ${instanceHours(larger)}`);
  });

  it("moves with the spec's behavior (web.autoscaling.behavior, rendered into the HPA and the ScaledObject): 1 pod a minute scales in slower than 100 % every 15 s", () => {
    // The seed has no memory metric, so nothing holds pods up after the sale and scale-in is the behavior's.
    const slow = structuredClone(SEED_DEPLOYMENT_SPEC);
    const fast = structuredClone(slow);
    fast.web.autoscaling.behavior.scaleDown = { stabilizationWindowSeconds: 300, selectPolicy: 'Max', policies: [{ type: 'Percent', value: 100, periodSeconds: 15 }] };
    assert.ok(instanceHours(slow) > instanceHours(fast), `${instanceHours(slow)} vs ${instanceHours(fast)}`);
  });
});
