import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { getCalendarEvent } from '../forecast/calendar.ts';
import { normalizeBehavior } from './hpa-behavior.ts';
import { createKedaState, createScaledObject, pollScaledObject, proposeKedaHpaReplicas, syncKedaHpa } from './keda.ts';
import type { KedaRedisTrigger, TriggerReading } from './keda-triggers.ts';
import { parseRedisTriggerMetadata, readTriggers } from './keda-triggers.ts';
import { compareWorkerPolicies, getBullMqRedisTriggers, simulateWorkers } from './simulate-workers.ts';
import { stepWorkerQueue } from './worker-queue.ts';

const FROM = new Date('2026-01-05T00:00:00Z');
const at = (seconds: number) => new Date(FROM.getTime() + seconds * 1000);
const waitTrigger = (listLength: number): KedaRedisTrigger => ({ type: 'redis', name: 'wait', listName: 'bull:jobs:wait', listLength, activationListLength: 0 });
const queueReading = (value: number, target: number): TriggerReading => ({ name: 'q', value, targetAverageValue: target, active: value > 0 });
/** 20 jobs/s per ready worker; 0.002 orders/request × 3 jobs/order = 0.006 jobs per request. */
const QUEUE = { ordersPerRequest: 0.002, jobsPerOrder: 3, jobSeconds: 0.5, concurrency: 10, prioritizedShare: 0 };

describe('KEDA operator: activation and scale to zero', () => {
  const so = createScaledObject({ minReplicaCount: 0, triggers: [waitTrigger(5)] });

  it('scales 0 → max(minReplicaCount, 1) when a trigger is active, and remembers when', () => {
    const d = pollScaledObject(so, createKedaState(0), { now: 60, currentReplicas: 0, readings: [queueReading(3, 5)] });
    assert.deepEqual([d.replicas, d.reason, d.state.lastActiveAt], [1, 'ScaleFromZero', 60]);
    const withMin = pollScaledObject({ ...so, minReplicaCount: 2 }, createKedaState(0), { now: 60, currentReplicas: 0, readings: [queueReading(3, 5)] });
    assert.equal(withMin.replicas, 2);
  });

  it('stays at zero while the length is at or below activationListLength', () => {
    const quiet = createScaledObject({ minReplicaCount: 0, triggers: [{ ...waitTrigger(5), activationListLength: 10 }] });
    const readings = readTriggers(quiet.triggers, () => 10, 0);
    assert.equal(readings[0].active, false);
    assert.equal(pollScaledObject(quiet, createKedaState(0), { now: 30, currentReplicas: 0, readings }).replicas, 0);
  });

  it('scales N → 0 only once lastActiveTime + cooldownPeriod is strictly before now, and never with minReplicaCount ≥ 1', () => {
    // Last active at 90 s, cooldown 300 s: at 390 s 90 + 300 is not before 390, at 420 s it is.
    const idle = createKedaState(90);
    assert.equal(pollScaledObject(so, idle, { now: 390, currentReplicas: 1, readings: [queueReading(0, 5)] }).replicas, 1);
    assert.deepEqual(pollScaledObject(so, idle, { now: 420, currentReplicas: 1, readings: [queueReading(0, 5)] }).reason, 'ScaleToZero');
    const bullmq = { ...so, minReplicaCount: 1 };
    assert.equal(pollScaledObject(bullmq, idle, { now: 100_000, currentReplicas: 1, readings: [queueReading(0, 5)] }).replicas, 1);
  });

  it('a ScaledObject never active scales in once creation + initialCooldownPeriod is strictly before now', () => {
    // lastActiveTime unset (null), created at 0: with the default initialCooldownPeriod 0 the first poll
    // after creation removes the replicas; with 120 s they stay until 120 s have passed.
    const never = createKedaState(null, 0);
    assert.equal(pollScaledObject(so, never, { now: 30, currentReplicas: 2, readings: [queueReading(0, 5)] }).reason, 'ScaleToZero');
    const graced = createScaledObject({ minReplicaCount: 0, initialCooldownPeriodSeconds: 120, triggers: [waitTrigger(5)] });
    assert.equal(pollScaledObject(graced, never, { now: 120, currentReplicas: 2, readings: [queueReading(0, 5)] }).reason, 'CoolingDown');
    assert.equal(pollScaledObject(graced, never, { now: 150, currentReplicas: 2, readings: [queueReading(0, 5)] }).replicas, 0);
  });

  it('idleReplicaCount above 0 is a fight: KEDA parks the target at it, the HPA raises it back to its minimum', () => {
    // KEDA documents 0 as the only working idle count; with 1 and minReplicaCount 3 the operator scales
    // 3 → 1 after the cooldown and the HPA's next sync (1 below its minimum 3) scales back to 3.
    const fight = createScaledObject({ minReplicaCount: 3, idleReplicaCount: 1, triggers: [waitTrigger(5)] });
    const inactive = { readings: [queueReading(0, 5)] };
    const parked = pollScaledObject(fight, createKedaState(0), { now: 330, currentReplicas: 3, ...inactive });
    assert.deepEqual([parked.replicas, parked.reason], [1, 'ScaleToIdle']);
    const back = syncKedaHpa(fight, parked.state, { now: 345, currentReplicas: 1, ...inactive });
    assert.deepEqual([back.replicas, back.reason], [3, 'CurrentBelowMin']);
  });

  it('in a simulation: a burst of 30 jobs activates 0 → 1 at the next poll and the worker is removed after the cooldown', () => {
    // 500 req/s during [30 s, 40 s) → 3 jobs/s → 15 jobs per 5 s step → 30 jobs; nothing else arrives.
    // Poll at 30 s reads the queue before that step (0, inactive); poll at 60 s reads 30 → 0 → 1.
    // The HPA (listLength 100) proposes ceil(30/100) = 1: no further scale-up. The pod is ready at 90 s
    // and drains 20 jobs/s × 5 s = 100 ≥ 30 in the step at 90 s. The poll at 90 s still saw 30 jobs
    // (lastActiveTime = 90); from 120 s on the queue is empty, so the scale to zero comes at the first
    // poll after 90 + 300 = 390 s, i.e. 420 s. The worker ran 60 s → 420 s = 360 s = 0.1 h.
    const r = simulateWorkers({
      from: FROM,
      to: at(600),
      demand: (t) => (t >= at(30).getTime() && t < at(40).getTime() ? 500 : 0),
      queue: QUEUE,
      scaledObject: createScaledObject({ minReplicaCount: 0, triggers: [waitTrigger(100)] }),
      podReadySeconds: 30,
      pricePerInstanceHour: 1,
    });
    assert.deepEqual(
      r.timeline.map((m) => m.replicas),
      [0, 1, 1, 1, 1, 1, 1, 0, 0, 0],
    );
    assert.equal(r.timeline[0].queueDepth, 30);
    assert.equal(r.timeline[1].readyReplicas, 1);
    assert.equal(r.timeline[1].processed, 30);
    assert.ok(Math.abs(r.totals.instanceHours - 0.1) < 1e-12, String(r.totals.instanceHours));
    assert.ok(Math.abs(r.totals.cost - 0.1) < 1e-12);
    // No worker from 30 s to 90 s: the oldest job has waited 90 − 30 = 60 s when the pod comes up.
    assert.equal(r.totals.maxWaitSeconds, 60);
    assert.equal(r.totals.finalQueueDepth, 0);
  });
});

describe('KEDA redis triggers through the HPA (AverageValue)', () => {
  it('reads the BullMQ wait list and prioritized zset keys, a missing key as 0', () => {
    const triggers = getBullMqRedisTriggers('jobs', { listLength: 50, activationListLength: 0 });
    assert.deepEqual(
      triggers.map((t) => (t.type === 'redis' ? t.listName : '')),
      ['bull:jobs:wait', 'bull:jobs:prioritized'],
    );
    const lengths: Record<string, number> = { 'bull:jobs:wait': 230 };
    const readings = readTriggers(triggers, (key) => lengths[key] ?? 0, 0);
    assert.deepEqual(
      readings.map((r) => [r.value, r.targetAverageValue, r.active]),
      [
        [230, 50, true],
        [0, 50, false],
      ],
    );
  });

  it('reads the metadata the worker manifests write (strings) into the trigger the simulation uses', () => {
    // render-k8s.ts writes listLength / activationListLength / databaseIndex as strings, as KEDA expects.
    const parsed = parseRedisTriggerMetadata('jobs-wait', { listName: 'bull:jobs:wait', listLength: '50', activationListLength: '0', databaseIndex: '0' });
    assert.deepEqual(parsed, getBullMqRedisTriggers('jobs', { listLength: 50, activationListLength: 0 })[0]);
    assert.throws(() => parseRedisTriggerMetadata('jobs-wait', { listName: 'bull:jobs:wait', listLength: '50 jobs' }), /listLength/);
  });

  it('proposes ceil(total / listLength) per trigger and takes the max of wait and prioritized', () => {
    // wait 230 / 50 → ratio 230/(50×2) = 2.3 → ceil(4.6) = 5; prioritized 120 / 50 → ceil(2.4) = 3; max 5.
    assert.equal(proposeKedaHpaReplicas([queueReading(230, 50), queueReading(120, 50)], 2), 5);
    // Swapped sizes: the prioritized zset decides.
    assert.equal(proposeKedaHpaReplicas([queueReading(120, 50), queueReading(230, 50)], 2), 5);
  });

  it('keeps the current count when total / (listLength × current) is within the 10 % tolerance', () => {
    // 260 / (50 × 5) = 1.04: keep 5 (ceil(260/50) = 6 would be the proposal outside the tolerance).
    assert.equal(proposeKedaHpaReplicas([queueReading(260, 50)], 5), 5);
    // 280 / 250 = 1.12: outside, ceil(280/50) = 6.
    assert.equal(proposeKedaHpaReplicas([queueReading(280, 50)], 5), 6);
  });

  it('applies behavior.scaleUp/scaleDown.tolerance of advanced.horizontalPodAutoscalerConfig (KEDA ≥ 2.18 passes it to the HPA)', () => {
    // KEDA 2.18 documents the HPA's per-direction tolerance (k8s ≥ 1.33, kedacore/keda-docs#1660); the HPA
    // applies it instead of the controller's 0.1 (replica_calculator.go Tolerances.isWithin).
    const triggers = [waitTrigger(50)];
    const behavior = normalizeBehavior({ scaleUp: { tolerance: 0.5 }, scaleDown: { tolerance: 0 } });
    const so = createScaledObject({ minReplicaCount: 1, maxReplicaCount: 20, triggers, behavior });
    const seen = { ...createKedaState(), hpa: { ...createKedaState().hpa, recommendations: [] } };
    // 330 / (50 × 5) = 1.32: inside the 50 % scale-up tolerance, keep 5 (the controller's 10 % would give ceil(330/50) = 7).
    assert.equal(syncKedaHpa(so, seen, { now: 0, currentReplicas: 5, readings: [queueReading(330, 50)] }).replicas, 5);
    // 910 / (50 × 20) = 0.91: inside the controller's 10 %, outside a 0 % scale-down tolerance: ceil(910/50) = 19.
    const down = createScaledObject({ minReplicaCount: 1, maxReplicaCount: 20, triggers, behavior: normalizeBehavior({ scaleDown: { tolerance: 0, stabilizationWindowSeconds: 0 } }) });
    assert.equal(syncKedaHpa(down, seen, { now: 0, currentReplicas: 20, readings: [queueReading(910, 50)] }).replicas, 19);
  });

  it('scales 1 ↔ N through the HPA behaviour: from 2 the default scale-up allows max(2 + 4, 2 × 2) = 6, and nothing at 0 replicas', () => {
    const so = createScaledObject({ minReplicaCount: 1, maxReplicaCount: 10, triggers: getBullMqRedisTriggers('jobs', { listLength: 50, activationListLength: 0 }) });
    const readings = [queueReading(600, 50), queueReading(0, 50)];
    // ceil(600/50) = 12 → rate limit 6 this period.
    assert.equal(syncKedaHpa(so, createKedaState(), { now: 0, currentReplicas: 2, readings }).replicas, 6);
    assert.equal(syncKedaHpa(so, createKedaState(), { now: 0, currentReplicas: 0, readings }).reason, 'ScalingDisabled');
    // An empty queue proposes 0, held at the HPA minimum max(minReplicaCount, 1) once the 300 s window allows.
    const seen = { ...createKedaState(), hpa: { ...createKedaState().hpa, recommendations: [] } };
    assert.equal(syncKedaHpa(so, seen, { now: 0, currentReplicas: 3, readings: [queueReading(0, 50)] }).replicas, 1);
    // A controller that has never seen the HPA first records the current count (recordInitialRecommendation): held at 3.
    assert.equal(syncKedaHpa(so, createKedaState(), { now: 0, currentReplicas: 3, readings: [queueReading(0, 50)] }).replicas, 3);
  });
});

describe('KEDA with Redis unreachable', () => {
  const triggers = getBullMqRedisTriggers('jobs', { listLength: 50, activationListLength: 0 });
  const down = readTriggers(triggers, () => {
    throw new Error('connect ECONNREFUSED');
  }, 0);

  it('a failing trigger is an error reading: not active, an invalid metric, so the HPA holds and the operator reports TriggerError', () => {
    assert.deepEqual(down.map((r) => [r.active, r.error]), [[false, 'connect ECONNREFUSED'], [false, 'connect ECONNREFUSED']]);
    const so = createScaledObject({ minReplicaCount: 1, maxReplicaCount: 10, triggers });
    assert.deepEqual(syncKedaHpa(so, createKedaState(), { now: 0, currentReplicas: 2, readings: down }).replicas, 2);
    const poll = pollScaledObject(so, createKedaState(), { now: 0, currentReplicas: 2, readings: down });
    assert.deepEqual([poll.replicas, poll.reason, poll.ready], [2, 'TriggerError', 'False']);
  });

  it('with a fallback, the HPA gets target × replicas once a trigger has failed more than failureThreshold syncs in a row', () => {
    // failureThreshold 3: syncs 1–3 fail (held at 2), the 4th answers 50 × 6 = 300 per trigger → ceil(300/50) = 6,
    // within the scale-up limit max(2 + 4, 2 × 2) = 6. One good reading resets the count.
    const so = createScaledObject({ minReplicaCount: 1, maxReplicaCount: 10, triggers, fallback: { failureThreshold: 3, replicas: 6 } });
    let state = createKedaState();
    const replicas: number[] = [];
    for (let i = 0; i < 4; i++) {
      const d = syncKedaHpa(so, state, { now: i * 15, currentReplicas: 2, readings: down });
      state = d.state;
      replicas.push(d.replicas);
    }
    assert.deepEqual(replicas, [2, 2, 2, 6]);
    assert.deepEqual(state.health['jobs-wait'], { numberOfFailures: 4, status: 'Failing' });
    assert.equal(pollScaledObject(so, state, { now: 60, currentReplicas: 6, readings: down }).reason, 'AwaitingFallback');
    const up = readTriggers(triggers, () => 0, 0);
    assert.deepEqual(syncKedaHpa(so, state, { now: 75, currentReplicas: 6, readings: up }).state.health['jobs-wait'], { numberOfFailures: 0, status: 'Happy' });
  });
});

describe('KEDA cron trigger', () => {
  const window = { type: 'cron' as const, name: 'sale', startMs: at(600).getTime(), endMs: at(1200).getTime(), desiredReplicas: 4 };

  it('reports desiredReplicas (target 1) inside its window and 0, inactive, outside', () => {
    assert.deepEqual(readTriggers([window], () => 0, at(600).getTime()).map((r) => [r.value, r.targetAverageValue, r.active]), [[4, 1, true]]);
    assert.deepEqual(readTriggers([window], () => 0, at(1200).getTime()).map((r) => [r.value, r.active]), [[0, false]]);
  });

  it('combines with a queue trigger by max', () => {
    // cron: ceil(4/1) = 4; queue 700 / 100 → 7; max 7. With a short queue (150 → 2) the cron's 4 wins.
    assert.equal(proposeKedaHpaReplicas([queueReading(700, 100), { name: 'sale', value: 4, targetAverageValue: 1, active: true }], 1), 7);
    assert.equal(proposeKedaHpaReplicas([queueReading(150, 100), { name: 'sale', value: 4, targetAverageValue: 1, active: true }], 1), 4);
  });

  it('holds desiredReplicas inside the window, then the 300 s downscale window keeps them until the last in-window recommendation ages out', () => {
    // No jobs. The HPA syncs every 15 s: at 600 s the cron proposes 4 (scale-up limit from 1 is 5) → 4,
    // kept while inside (4/(1×4) = 1). The last recommendation of 4 is at 1185 s; at 1485 s it is no longer
    // strictly after 1485 − 300, so the max of the window is 0 (no jobs; the cron reads 0 outside its
    // window) and the Percent 100 policy drops to the HPA minimum, 1.
    const r = simulateWorkers({
      from: FROM,
      to: at(1800),
      demand: () => 0,
      queue: QUEUE,
      scaledObject: createScaledObject({ minReplicaCount: 1, maxReplicaCount: 10, triggers: [waitTrigger(100), window] }),
      pricePerInstanceHour: 1,
    });
    const replicas = r.timeline.map((m) => m.replicas);
    assert.deepEqual(replicas.slice(0, 10), Array(10).fill(1));
    assert.deepEqual(replicas.slice(10, 25), Array(15).fill(4));
    assert.deepEqual(replicas.slice(25), Array(5).fill(1));
    assert.equal(r.timeline[10].readyReplicas, 4, 'ready 30 s after 600 s, before the minute ends');
  });
});

describe('worker queue model', () => {
  it('drains the wait list before the prioritized zset and estimates the wait as backlog / throughput', () => {
    // 10 000 req/s × 0.006 = 60 jobs/s × 5 s = 300 jobs: 200 to wait, 100 prioritized. One worker: 100 per step.
    const o = { ...QUEUE, prioritizedShare: 1 / 3 };
    const { step } = stepWorkerQueue({ wait: 0, prioritized: 0, backlogSince: null }, { now: 0, dt: 5, demandRps: 10_000, readyReplicas: 1 }, o);
    assert.ok(Math.abs(step.wait - 100) < 1e-9 && Math.abs(step.prioritized - 100) < 1e-9, `${step.wait} ${step.prioritized}`);
    assert.ok(Math.abs(step.processed - 100) < 1e-9);
    assert.ok(Math.abs(step.oldestWaitSeconds - 200 / 20) < 1e-9);
  });
});

describe('Black Friday worker tier (base 500 req/s: 39 jobs/s from 10:00, 48 from 14:00)', () => {
  it('reactive KEDA lets queue depth pass 1000; cron pre-scaling from the plan keeps it below', () => {
    // Pattern 0.3 → 1.3 at 10:00 under the ×10 event: 1500 → 6500 req/s, 9 → 39 jobs/s; 1.6 at 14:00:
    // 8000 req/s, 48 jobs/s. Reactive: one worker (20 jobs/s) until the HPA sees the backlog; once the
    // backlog is drained the empty wait list proposes 0, so 300 s later the HPA drops back to 1 worker
    // and the backlog forms again (a sawtooth). Each cycle piles up the excess over one worker during
    // the sync + 30 s start-up: 19 jobs/s × 45 s = 855 at 10:00, 28 jobs/s × 45 s = 1260 at 14:00.
    // The plan wants ceil(39 × 0.5 / (10 × 0.7)) = 3 workers from 09:50 (4 from 13:50): no backlog.
    // All of an order's 3 jobs on one queue run 10 at once for 0.5 s each, so that the arithmetic stays that of one queue.
    const idle = { jobsPerOrder: 0, jobSeconds: 1, concurrency: 1 };
    const oneQueue = { email: idle, order: idle, inventory: idle, notifications: { jobsPerOrder: 3, jobSeconds: 0.5, concurrency: 10 } };
    const bf = getCalendarEvent('black-friday', 2026);
    const { windows, queue, results } = compareWorkerPolicies({
      forecast: { events: [bf], baseRequestsPerSecond: 500 },
      from: new Date('2026-11-27T09:00:00Z'),
      to: new Date('2026-11-27T15:00:00Z'),
      policies: ['keda-workers', 'keda-workers-prescaled'],
      pricePerInstanceHour: 0.085,
      workers: { queues: oneQueue },
      prioritizedShare: 1 / 3,
    });
    assert.deepEqual([queue.jobsPerOrder, queue.concurrency, queue.jobSeconds], [3, 10, 0.5]);
    assert.deepEqual(windows[0], { startMs: Date.parse('2026-11-27T09:50:00Z'), endMs: Date.parse('2026-11-27T14:00:00Z'), replicas: 3 });
    const [reactive, prescaled] = results;
    assert.ok(Math.abs(reactive.totals.maxQueueDepth - 1260) < 1e-6, `reactive ${reactive.totals.maxQueueDepth}`);
    assert.ok(reactive.totals.minutesOverWarning > 0);
    assert.ok(prescaled.totals.maxQueueDepth < 1000, `prescaled ${prescaled.totals.maxQueueDepth}`);
    assert.equal(prescaled.totals.minutesOverWarning, 0);
    for (const r of results) {
      // Every job that arrived was processed or is still waiting.
      assert.ok(Math.abs(r.totals.arrivals - r.totals.processed - r.totals.finalQueueDepth) < 1e-6);
      assert.ok(Math.abs(r.totals.cost - r.totals.instanceHours * 0.085) < 1e-9);
    }
  });
});
