import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { CapacityPlan } from '../capacity/plan.ts';
import { DEFAULT_WEB_PLAN, DEFAULT_WORKER_PLAN } from '../capacity/plan.ts';
import { AZURE_MAX_PROFILES, DEFAULT_AZURE_RULES, GCE_MAX_SCALING_SCHEDULES, buildAzureAutoscaleSetting, toGceScalingSchedules } from './cloud-schedules.ts';
import { computeExternalAverageValueReplicas } from '../simulate/hpa.ts';
import { AWS_MAX_SCHEDULED_ACTIONS, applyHpaTolerance, getPrescaleSteps, getPrescaleWindows, toAwsScheduledActions, toKedaCronTriggers, toScheduleTable } from './schedule.ts';

/**
 * Five planned hours on Black Friday 2026 (web min 2, workers min 1):
 *   08:00 web 2 / workers 1, 09:00 5/2, 10:00 5/3, 11:00 8/3, 12:00 2/1.
 */
function buildPlan(): CapacityPlan {
  const rows: [string, number, number][] = [
    ['08', 2, 1],
    ['09', 5, 2],
    ['10', 5, 3],
    ['11', 8, 3],
    ['12', 2, 1],
  ];
  const hours = rows.map(([h, web, workers]) => ({
    hour: `2026-11-27T${h}:00:00.000Z`,
    peakRps: web * 100,
    requestsInHour: web * 100 * 3600,
    webReplicasNeeded: web,
    webReplicas: web,
    jobsPerSecond: web * 0.6,
    workerReplicasNeeded: workers,
    bottleneckQueue: 'email' as const,
    workerReplicas: workers,
  }));
  return {
    web: { ...DEFAULT_WEB_PLAN, capacityPerInstanceRps: 150 },
    workers: DEFAULT_WORKER_PLAN,
    hours,
    peakWebReplicas: 8,
    peakWorkerReplicas: 3,
    hoursAboveMax: [],
    workerHoursAboveMax: [],
  };
}

const ms = (iso: string) => Date.parse(iso);

describe('pre-scaling windows from a plan', () => {
  it('merges consecutive equal web hours, starts each window 10 min early and skips hours at minReplicas', () => {
    // 09:00 and 10:00 both want 5 → one window 08:50–11:00; 11:00 wants 8 → 10:50–12:00; 08:00/12:00 are at min 2.
    assert.deepEqual(getPrescaleWindows(buildPlan()), [
      { startMs: ms('2026-11-27T08:50:00Z'), endMs: ms('2026-11-27T11:00:00Z'), replicas: 5 },
      { startMs: ms('2026-11-27T10:50:00Z'), endMs: ms('2026-11-27T12:00:00Z'), replicas: 8 },
    ]);
  });

  it('gives the worker tier its own windows against the worker minimum', () => {
    // 09:00 → 2; 10:00 and 11:00 → 3 (merged); lead 5 min.
    assert.deepEqual(getPrescaleWindows(buildPlan(), { tier: 'workers', leadMinutes: 5 }), [
      { startMs: ms('2026-11-27T08:55:00Z'), endMs: ms('2026-11-27T10:00:00Z'), replicas: 2 },
      { startMs: ms('2026-11-27T09:55:00Z'), endMs: ms('2026-11-27T12:00:00Z'), replicas: 3 },
    ]);
  });
});

describe('KEDA cron triggers', () => {
  it('renders each window as a cron trigger with 5-field start/end in the shop time zone', () => {
    const windows = getPrescaleWindows(buildPlan());
    assert.deepEqual(toKedaCronTriggers(windows), [
      { type: 'cron', name: 'sale-prescale-1', metadata: { timezone: 'UTC', start: '50 8 27 11 *', end: '0 11 27 11 *', desiredReplicas: '5' } },
      { type: 'cron', name: 'sale-prescale-2', metadata: { timezone: 'UTC', start: '50 10 27 11 *', end: '0 12 27 11 *', desiredReplicas: '8' } },
    ]);
    // New York is UTC−5 on 27 November (standard time): 08:50Z is 03:50 local.
    const ny = toKedaCronTriggers(windows, 'America/New_York', 'worker');
    assert.deepEqual(ny[0], { type: 'cron', name: 'worker-1', metadata: { timezone: 'America/New_York', start: '50 3 27 11 *', end: '0 6 27 11 *', desiredReplicas: '5' } });
  });
});

describe('KEDA cron triggers across a change of clocks', () => {
  it('writes a window that starts or ends in the hour clocks go back in UTC: its local time names two instants (start and end were equal, which KEDA refuses, or it ended an hour early)', () => {
    // Berlin goes back on 25 October 2026 at 03:00 CEST (01:00Z): 02:00–03:00 local happens twice.
    const repeated = [{ startMs: Date.parse('2026-10-25T00:00:00Z'), endMs: Date.parse('2026-10-25T01:00:00Z'), replicas: 6 }];
    const [only] = toKedaCronTriggers(repeated, 'Europe/Berlin');
    assert.notEqual(only.metadata.start, only.metadata.end, 'KEDA: start and end should not be the same');
    assert.deepEqual(only.metadata, { timezone: 'UTC', start: '0 0 25 10 *', end: '0 1 25 10 *', desiredReplicas: '6' });
    // Ends at 02:00 CET, the second 02:00: in Berlin's clock it would end at the first, an hour early.
    const [endsLate] = toKedaCronTriggers([{ startMs: Date.parse('2026-10-24T22:50:00Z'), endMs: Date.parse('2026-10-25T01:00:00Z'), replicas: 4 }], 'Europe/Berlin');
    assert.deepEqual(endsLate.metadata, { timezone: 'UTC', start: '50 22 24 10 *', end: '0 1 25 10 *', desiredReplicas: '4' });
    // A window clear of the change keeps the shop's clock.
    const [clear] = toKedaCronTriggers([{ startMs: Date.parse('2026-10-25T08:50:00Z'), endMs: Date.parse('2026-10-25T10:00:00Z'), replicas: 4 }], 'Europe/Berlin');
    assert.deepEqual(clear.metadata, { timezone: 'Europe/Berlin', start: '50 9 25 10 *', end: '0 11 25 10 *', desiredReplicas: '4' });
  });
});

describe('Compute Engine scaling schedules and Azure fixed-date profiles across a change of clocks', () => {
  it('writes a schedule or profile that starts or ends in the hour clocks go back in UTC, as the KEDA triggers are: its local time names two instants', () => {
    // Berlin goes back on 25 October 2026 at 03:00 CEST (01:00Z): 02:00–03:00 local happens twice. A window from
    // 00:50Z (the first 02:50, CEST) to 02:00Z: written "50 2 25 10 * 2026" in Berlin it could start at the second
    // 02:50 (01:50Z), an hour late; in UTC it is "50 0 25 10 * 2026", 4200 s.
    const gce = toGceScalingSchedules([{ startMs: Date.parse('2026-10-25T00:50:00Z'), endMs: Date.parse('2026-10-25T02:00:00Z'), replicas: 6 }], 'Europe/Berlin');
    assert.deepEqual(Object.values(gce).map((x) => [x.schedule, x.timeZone, x.durationSec]), [['50 0 25 10 * 2026', 'UTC', 4200]]);
    // Clear of the change: the shop's clock (09:50Z is 10:50 CET).
    const clear = toGceScalingSchedules([{ startMs: Date.parse('2026-10-25T09:50:00Z'), endMs: Date.parse('2026-10-25T11:00:00Z'), replicas: 6 }], 'Europe/Berlin');
    assert.deepEqual(Object.values(clear).map((x) => [x.schedule, x.timeZone]), [['50 10 25 10 * 2026', 'Europe/Berlin']]);
    // New York goes back on 1 November 2026 at 02:00 EDT (06:00Z): 01:00–02:00 local happens twice. Steps of 5 from
    // 05:50Z (01:50 EDT) and 8 from 06:50Z (01:50 EST) to 09:00Z: in Eastern time the first profile read
    // 01:50 → 01:49 (its end, 06:49Z, is 01:49 EST), an end before its start, and both started at "01:50".
    const windows = [
      { startMs: Date.parse('2026-11-01T05:50:00Z'), endMs: Date.parse('2026-11-01T07:00:00Z'), replicas: 5 },
      { startMs: Date.parse('2026-11-01T06:50:00Z'), endMs: Date.parse('2026-11-01T09:00:00Z'), replicas: 8 },
    ];
    const setting = buildAzureAutoscaleSetting({ min: 2, max: 20, rules: DEFAULT_AZURE_RULES, windows, timeZone: 'America/New_York' });
    assert.deepEqual(setting.profiles.filter((x) => x.fixedDate).map((x) => [x.capacity.minimum, x.fixedDate]), [
      ['5', { timeZone: 'UTC', start: '2026-11-01T05:50:00', end: '2026-11-01T06:49:00' }],
      ['8', { timeZone: 'UTC', start: '2026-11-01T06:50:00', end: '2026-11-01T08:59:00' }],
    ]);
  });
});

describe('GCE scaling schedules', () => {
  it('keeps to the 128 scaling schedules an autoscaler holds, never below the plan\'s floor (one schedule per window: 150 flash sales gave 150)', () => {
    const h = 3_600_000;
    const t0 = Date.parse('2026-10-01T00:00:00Z');
    const windows = Array.from({ length: 150 }, (_, i) => ({ startMs: t0 + i * 5 * h - 600_000, endMs: t0 + i * 5 * h + h, replicas: 4 + (i % 3) }));
    const schedules = Object.values(toGceScalingSchedules(windows, 'UTC'));
    assert.ok(schedules.length <= GCE_MAX_SCALING_SCHEDULES, `${schedules.length} scaling schedules`);
    assert.equal(GCE_MAX_SCALING_SCHEDULES, 128);
    const startOf = (cron: string) => {
      const [minute, hour, day, month, , year] = cron.split(' ').map(Number);
      return Date.UTC(year, month - 1, day, hour, minute);
    };
    const floorAt = (t: number) => Math.max(0, ...schedules.filter((s) => startOf(s.schedule) <= t && t < startOf(s.schedule) + s.durationSec * 1000).map((s) => s.minRequiredReplicas));
    for (const w of windows) {
      for (let t = w.startMs; t < w.endMs; t += 60_000) assert.ok(floorAt(t) >= w.replicas, `${new Date(t).toISOString()}: ${floorAt(t)} < ${w.replicas}`);
    }
    // Under the limit, one schedule per window as before.
    assert.equal(Object.keys(toGceScalingSchedules(windows.slice(0, 10), 'UTC')).length, 10);
  });
});

describe('Azure fixed-date profiles', () => {
  it('fits more pre-scaling steps than a setting holds (20 profiles) into 19, never below the plan\'s floor (simulate and cost threw a RangeError with a stack trace)', () => {
    // 30 one-hour flash sales, 5 h apart, of 4–6 replicas.
    const h = 3_600_000;
    const t0 = Date.parse('2026-11-10T00:00:00Z');
    const windows = Array.from({ length: 30 }, (_, i) => ({ startMs: t0 + i * 5 * h - 600_000, endMs: t0 + i * 5 * h + h, replicas: 4 + (i % 3) }));
    const setting = buildAzureAutoscaleSetting({ min: 2, max: 20, rules: DEFAULT_AZURE_RULES, windows, timeZone: 'UTC' });
    const fixed = setting.profiles.filter((p) => p.fixedDate);
    assert.equal(setting.profiles.length, AZURE_MAX_PROFILES);
    // Every instant of every step is inside a profile whose minimum is at least the step's replicas.
    for (const step of getPrescaleSteps(windows)) {
      for (let t = step.startMs; t < step.endMs; t += 60_000) {
        const at = fixed.find((p) => Date.parse(`${p.fixedDate?.start}Z`) <= t && t <= Date.parse(`${p.fixedDate?.end}Z`) + 59_999);
        assert.ok(at && Number(at.capacity.minimum) >= step.replicas, `${new Date(t).toISOString()}: ${at?.capacity.minimum ?? 'no profile'} < ${step.replicas}`);
      }
    }
    // Profiles stay in order and apart.
    for (let i = 1; i < fixed.length; i++) assert.ok(Date.parse(`${fixed[i - 1].fixedDate?.end}Z`) < Date.parse(`${fixed[i].fixedDate?.start}Z`));
  });
});

describe('AWS scheduled actions', () => {
  it('raises MinSize at each window start, keeps the max where windows overlap and returns to the base after the last', () => {
    // Change points 08:50 (5), 10:50 (max(5, 8) = 8), 11:00 (still 8: no action), 12:00 (back to 2).
    assert.deepEqual(toAwsScheduledActions(getPrescaleWindows(buildPlan()), 'salescale-web', 2), [
      { logicalId: 'SalePrescale1', properties: { AutoScalingGroupName: 'salescale-web', MinSize: 5, StartTime: '2026-11-27T08:50:00Z' }, toFloor: false },
      { logicalId: 'SalePrescale2', properties: { AutoScalingGroupName: 'salescale-web', MinSize: 8, StartTime: '2026-11-27T10:50:00Z' }, toFloor: false },
      { logicalId: 'SalePrescale3', properties: { AutoScalingGroupName: 'salescale-web', MinSize: 2, StartTime: '2026-11-27T12:00:00Z' }, toFloor: true },
    ]);
  });

  it('keeps to the 125 scheduled actions an Auto Scaling group holds, never below the plan\'s floor (100 flash sales gave 200 actions, which AWS refuses)', () => {
    const h = 3_600_000;
    const t0 = Date.parse('2026-11-01T00:00:00Z');
    const windows = Array.from({ length: 100 }, (_, i) => ({ startMs: t0 + i * 5 * h - 600_000, endMs: t0 + i * 5 * h + h, replicas: 4 + (i % 3) }));
    const actions = toAwsScheduledActions(windows, 'salescale-web', 2);
    assert.ok(actions.length <= AWS_MAX_SCHEDULED_ACTIONS, `${actions.length} scheduled actions`);
    assert.equal(AWS_MAX_SCHEDULED_ACTIONS, 125);
    // The MinSize in force at every minute of every step is at least the step's replicas.
    const minSizeAt = (t: number) => actions.filter((a) => Date.parse(a.properties.StartTime) <= t).at(-1)?.properties.MinSize ?? 2;
    for (const step of getPrescaleSteps(windows)) {
      for (let t = step.startMs; t < step.endMs; t += 60_000) assert.ok(minSizeAt(t) >= step.replicas, `${new Date(t).toISOString()}: MinSize ${minSizeAt(t)} < ${step.replicas}`);
    }
    assert.deepEqual(new Set(actions.map((a) => a.logicalId)).size, actions.length);
  });

  it('produces no action for an empty schedule', () => {
    assert.deepEqual(toAwsScheduledActions([], 'salescale-web', 2), []);
  });
});

describe('schedule table', () => {
  it('has one row per run of equal web and worker replicas', () => {
    assert.deepEqual(
      toScheduleTable(buildPlan()).map((r) => [r.from.slice(11, 16), r.to.slice(11, 16), r.webReplicas, r.workerReplicas]),
      [
        ['08:00', '09:00', 2, 1],
        ['09:00', '10:00', 5, 2],
        ['10:00', '11:00', 5, 3],
        ['11:00', '12:00', 8, 3],
        ['12:00', '13:00', 2, 1],
      ],
    );
  });
});

describe('KEDA cron steps and the HPA tolerance', () => {
  const h = (n: number) => Date.parse('2026-11-27T00:00:00Z') + n * 3_600_000;
  it('raises a step up within ±10 % of the count it steps from to floor(1.1·M) + 1, leaves a step down within it, and raises above the maximum (the HPA clamps to it)', () => {
    const windows = [
      { startMs: h(0), endMs: h(2), replicas: 10 },
      { startMs: h(2), endMs: h(4), replicas: 11 },
      { startMs: h(4), endMs: h(5), replicas: 11 },
      { startMs: h(6), endMs: h(7), replicas: 20 },
      { startMs: h(7), endMs: h(8), replicas: 21 },
    ];
    const r = applyHpaTolerance(windows, 2, 21);
    // The second 11 steps down from 12, within the tolerance: left as it is, the HPA keeps 12.
    assert.deepEqual(r.windows.map((w) => w.replicas), [10, 12, 11, 20, 23]);
    // 20 → 21 is raised to 23 (22/20 = 1.1 is still inside): the HPA proposes 23 and clamps it to the maximum 21.
    assert.deepEqual(r.raised.map((x) => [x.fromReplicas, x.plannedReplicas, x.replicas, x.reachedReplicas]), [[10, 11, 12, 12], [20, 21, 23, 21]]);
    assert.deepEqual(r.steps.map((s) => s.replicas), [10, 12, 20, 21]);
    const down = applyHpaTolerance([{ startMs: h(0), endMs: h(1), replicas: 12 }, { startMs: h(1), endMs: h(2), replicas: 11 }], 2, 20);
    assert.deepEqual(down.windows.map((w) => w.replicas), [12, 11]);
    assert.deepEqual(down.steps, [{ startMs: h(0), endMs: h(2), replicas: 12 }]);
  });
});

describe('KEDA cron steps whose honoured count is above the maximum', () => {
  const h = (n: number) => Date.parse('2026-11-27T00:00:00Z') + n * 3_600_000;
  it('a step 20 → 21 with maxReplicas 21 or 22 still reaches the plan: a desiredReplicas above 1.1 × 20 is proposed and clamped to the maximum by the HPA, one capped at the maximum is inside the tolerance and ignored', () => {
    for (const max of [21, 22]) {
      const r = applyHpaTolerance([{ startMs: h(0), endMs: h(1), replicas: 20 }, { startMs: h(1), endMs: h(2), replicas: 21 }], 2, max);
      const cron = r.windows[1].replicas;
      // What the HPA KEDA creates does with the cron trigger at 20 replicas: its proposal, clamped to [min, max].
      const reached = Math.min(max, computeExternalAverageValueReplicas({ currentReplicas: 20, total: cron, targetPerPod: 1 }));
      assert.ok(reached >= 21, `max ${max}: the cron trigger asks for ${cron}, the HPA stays at ${reached}; the plan wants 21`);
      assert.equal(r.steps.at(-1)?.replicas, reached, `max ${max}: steps say the HPA runs ${r.steps.at(-1)?.replicas}, it runs ${reached}`);
      for (const x of r.raised) assert.ok(Math.min(max, computeExternalAverageValueReplicas({ currentReplicas: x.fromReplicas, total: x.replicas, targetPerPod: 1 })) >= x.plannedReplicas, `max ${max}: raised to ${x.replicas}, said to be honoured from ${x.fromReplicas}, but the HPA keeps ${x.fromReplicas}`);
    }
  });
});
