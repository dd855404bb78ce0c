/**
 * Every rule of the Compute Engine autoscaler model, each with the documentation sentence it
 * implements (Google Cloud docs under compute/docs/autoscaler/ and the Compute Engine v1 REST
 * reference; where the text was read from a copy of the page, the copy is named).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { GceAutoscalingPolicy, GceObservation } from './gce-autoscaler.ts';
import { createGceState, evaluateGceAutoscaler, getLoadBalancingSize, getMaxScaledIn, getMetricSize, getUtilizationSize } from './gce-autoscaler.ts';
import { checkGceSchedule, expandGceSchedules, forecastSeasonalLoad, getScheduleFloor, matchesCron, parseGceCron } from './gce-schedules.ts';

const DEC = 'https://cloud.google.com/compute/docs/autoscaler/understanding-autoscaler-decisions';
const API = 'Compute Engine v1 REST reference, AutoscalingPolicy (client library docs generated from it)';
const SIG = 'https://docs.cloud.google.com/compute/docs/autoscaler/multiple-signals';
const PRED = 'https://cloud.google.com/compute/docs/autoscaler/predictive-autoscaling';
const SCH = 'https://cloud.google.com/compute/docs/autoscaler/scaling-schedules';
const CPU = 'https://cloud.google.com/compute/docs/autoscaler/scaling-cpu';
const BLOG = 'Google Cloud blog "Scale in at your own pace with Compute Engine autoscaler controls"';

/** A test of one documented rule: the quote and its source are part of the test's name. */
function rule(title: string, source: string, quote: string, fn: () => void): void {
  it(`${title} — "${quote}" (${source})`, fn);
}

const policy = (p: Partial<GceAutoscalingPolicy> = {}): GceAutoscalingPolicy => ({
  minNumReplicas: 1,
  maxNumReplicas: 100,
  coolDownPeriodSec: 60,
  stabilizationPeriodSec: 600,
  mode: 'ON',
  cpuUtilization: { utilizationTarget: 0.6, predictiveMethod: 'NONE' },
  ...p,
});

/** Runs a sequence of observations (every 60 s by default) and returns the decisions. */
function run(p: GceAutoscalingPolicy, observations: (Partial<GceObservation> & { now: number })[]) {
  let state = createGceState();
  let size = observations[0].targetSize ?? 10;
  return observations.map((o) => {
    const d = evaluateGceAutoscaler(p, state, { targetSize: size, ...o });
    state = d.state;
    size = d.targetSize;
    return d;
  });
}

describe('Compute Engine autoscaler: signals', () => {
  rule(
    'CPU: above the target adds VMs, below removes them, aiming at the target',
    CPU,
    'If the average utilization of your total vCPUs exceeds the target utilization, the autoscaler adds more VM instances. If the average utilization of your total vCPUs is less than the target utilization, the autoscaler removes instances.',
    () => {
      const [up] = run(policy(), [{ now: 0, targetSize: 10, cpuUtilization: 0.9 }]);
      assert.equal(up.targetSize, 15);
      const [down] = run(policy(), [{ now: 0, targetSize: 10, cpuUtilization: 0.3 }]);
      assert.equal(down.recommendedSize, 10, 'the first evaluation has no lower peak to fall back to');
      assert.equal(down.signals.cpu, 5);
    },
  );

  rule(
    'rounding is conservative: 1.5 VMs needed means 2 added',
    DEC,
    'Because it is not possible to add 1.5 VM instances, the autoscaler rounds up and adds two instances.',
    () => {
      // 3 VMs at 0.7 target need 4.5 at 1.05 utilization: +1.5 → +2.
      assert.equal(getUtilizationSize(3, 1.05, 0.7), 5);
      assert.equal(getUtilizationSize(10, 0.7, 0.7), 10, 'at the target exactly: no change');
    },
  );

  rule(
    'CPU target defaults to 0.6 and is a fraction in (0, 1]',
    API,
    'The target CPU utilization that the autoscaler maintains. Must be a float value in the range (0, 1]. If not specified, the default is 0.6.',
    () => {
      const [d] = run(policy(), [{ now: 0, targetSize: 6, cpuUtilization: 0.9 }]);
      assert.equal(d.signals.cpu, 9);
    },
  );

  rule(
    'load balancing: keep each VM at the target fraction of its serving capacity (default 0.8)',
    API,
    'Fraction of backend capacity utilization (set in HTTP(S) load balancing configuration) that the autoscaler maintains. Must be a positive float value. If not defined, the default is 0.8.',
    () => {
      // RATE 100 req/s per VM × 0.8 → 80 req/s per VM; 1000 req/s → 13 VMs (12.5 rounded up).
      assert.equal(getLoadBalancingSize(1000, 100, 0.8), 13);
      const [d] = run(policy({ cpuUtilization: undefined, loadBalancingUtilization: { utilizationTarget: 0.8 } }), [{ now: 0, targetSize: 5, lbRequestsPerSecond: 1000, lbCapacityPerVm: 100 }]);
      assert.equal(d.targetSize, 13);
    },
  );

  rule(
    'a per-group Monitoring metric sizes the group in proportion to the work, one assignment per VM',
    'Compute Engine v1 REST reference, AutoscalingPolicyCustomMetricUtilization.singleInstanceAssignment',
    'If scaling is based on a per-group metric value that represents the total amount of work to be done or resource usage, set this value to an amount assigned for a single instance of the scaled group. Autoscaler keeps the number of instances proportional to the value of this metric.',
    () => {
      assert.equal(getMetricSize({ metric: 'queue', singleInstanceAssignment: 5 }, 100, 3), 20);
    },
  );

  rule(
    'a per-VM gauge metric: the VMs’ average against the target',
    'Compute Engine v1 REST reference, AutoscalingPolicyCustomMetricUtilization.UtilizationTargetType.GAUGE',
    'The autoscaler will collect the average utilization of the virtual machines from the last couple of minutes, and compare the value to the utilization target value to perform autoscaling.',
    () => {
      assert.equal(getMetricSize({ metric: 'custom/rps', utilizationTarget: 1000 }, 1100, 10), 11);
    },
  );

  rule(
    'several signals: the largest size wins (the multiple-signals example: 7, 7, 11, 14 and a schedule of 15)',
    SIG,
    'When you create an autoscaling policy with multiple signals, the autoscaler scales based on the signal that provides the largest number of virtual machine (VM) instances in the managed instance group (MIG).',
    () => {
      const p = policy({
        cpuUtilization: { utilizationTarget: 0.8, predictiveMethod: 'NONE' },
        loadBalancingUtilization: { utilizationTarget: 0.6 },
        customMetricUtilizations: [
          { metric: 'metric1', utilizationTarget: 1000 },
          { metric: 'metric2', utilizationTarget: 2000 },
        ],
      });
      const base = { now: 0, targetSize: 10, cpuUtilization: 0.5, lbRequestsPerSecond: 400, lbCapacityPerVm: 100, metricValues: [1100, 2700] };
      const [weekday] = run(p, [{ ...base, scheduleFloor: 15 }]);
      assert.deepEqual(weekday.signals, { cpu: 7, loadBalancing: 7, 'metric:metric1': 11, 'metric:metric2': 14, schedules: 15 });
      assert.equal(weekday.targetSize, 15);
      const [weekend] = run(p, [{ ...base, scheduleFloor: 6 }]);
      assert.equal(weekend.targetSize, 14);
    },
  );

  rule(
    'the recommendation stays within the policy’s minimum and maximum',
    DEC,
    'The recommended size is constrained by the minimum and maximum number of instances that you set in the autoscaling policy.',
    () => {
      const [high] = run(policy({ maxNumReplicas: 12 }), [{ now: 0, targetSize: 10, cpuUtilization: 1 }]);
      assert.deepEqual([high.recommendedSize, high.limitedBy], [12, 'max']);
      const [low] = run(policy({ minNumReplicas: 4 }), [{ now: 0, targetSize: 4, cpuUtilization: 0.05 }]);
      assert.deepEqual([low.recommendedSize, low.limitedBy], [4, 'min']);
    },
  );

  rule(
    'initializing VMs are left out of the CPU average when scaling out',
    API,
    'For example, when scaling out, the autoscaler ignores data from VMs that are still initializing because those VMs might not yet represent normal usage of your application. The default initialization period is 60 seconds.',
    () => {
      // 10 VMs, 4 still initializing: the 6 initialized ones at 0.9 ask for 9, plus the 4 on their way.
      const [d] = run(policy(), [{ now: 0, targetSize: 10, cpuUtilization: 0.9, initializedVms: 6, initializingVms: 4 }]);
      assert.equal(d.signals.cpu, 13);
      // Every VM initializing: no CPU signal, the size is kept.
      const [none] = run(policy(), [{ now: 0, targetSize: 10, cpuUtilization: undefined, initializedVms: 0, initializingVms: 10 }]);
      assert.equal(none.targetSize, 10);
    },
  );
  rule(
    'CPU at 100 %: the group is assumed overloaded and grows by at most 50 %, whatever the target',
    `${CPU} (as summarised in SCALING-ENGINES.md, Google Compute Engine autoscaler, "CPU")`,
    'Near 100 % it assumes overload and adds at most +50 % VMs',
    () => {
      // 10 VMs at 100 % CPU with the API's default target 0.6: ceil(10 × 1 / 0.6) = 17 by the formula, but a
      // saturated CPU says nothing of the real load, so 10 + 50 % = 15.
      const [saturated] = run(policy(), [{ now: 0, targetSize: 10, cpuUtilization: 1 }]);
      assert.equal(saturated.signals.cpu, 15);
      assert.equal(saturated.targetSize, 15);
      // Target 0.8: ceil(10 / 0.8) = 13 is already under the cap and stays.
      const [high] = run(policy({ cpuUtilization: { utilizationTarget: 0.8, predictiveMethod: 'NONE' } }), [{ now: 0, targetSize: 10, cpuUtilization: 1 }]);
      assert.equal(high.signals.cpu, 13);
    },
  );
});

describe('Compute Engine autoscaler: scale-in', () => {
  rule(
    'scale-in serves the peak of the stabilization period (10 minutes), then removes the unneeded VMs in one step',
    BLOG,
    'When load declines, the autoscaler maintains the size for the group at a level required to serve the peak load observed in the last 10 minutes (the stabilization period).',
    () => {
      const obs = [{ now: 0, targetSize: 20, cpuUtilization: 0.6 }, ...Array.from({ length: 12 }, (_, k) => ({ now: 60 * (k + 1), cpuUtilization: 0.3 }))];
      const sizes = run(policy(), obs).map((d) => d.targetSize);
      // Peak (20) is held until it leaves the 600 s window at t = 600; then 20 × 0.3 / 0.6 = 10 at once.
      assert.deepEqual(sizes.slice(0, 10), Array(10).fill(20));
      assert.equal(sizes[10], 10);
      assert.equal(run(policy(), obs)[5].limitedBy, 'stabilization');
    },
  );

  rule(
    'the stabilization period is the recommendation window, 600 s by default',
    API,
    'The number of seconds that autoscaler waits for load stabilization before making scale-in decisions. … The default stabilization period is 600 seconds.',
    () => {
      const obs = [{ now: 0, targetSize: 20, cpuUtilization: 0.6 }, { now: 200, cpuUtilization: 0.3 }, { now: 301, cpuUtilization: 0.3 }];
      const d = run(policy({ stabilizationPeriodSec: 300 }), obs);
      assert.deepEqual(
        d.map((x) => x.targetSize),
        [20, 20, 10],
      );
    },
  );

  rule(
    'scale-in looks back over the initialization period when it is longer than the stabilization period',
    DEC,
    'sets the group\u2019s recommended size to the number of virtual machine (VM) instances that are required in order to serve peak load over the stabilization period.',
    () => {
      const obs = [{ now: 0, targetSize: 20, cpuUtilization: 0.6 }, { now: 700, cpuUtilization: 0.3 }, { now: 901, cpuUtilization: 0.3 }];
      assert.deepEqual(
        run(policy({ coolDownPeriodSec: 900 }), obs).map((x) => x.targetSize),
        [20, 20, 10],
      );
    },
  );

  rule(
    'a lowered maxNumReplicas caps the stabilized recommendation: the peak of the period is clamped to [min, max] too',
    `${DEC} (as summarised in SCALING-ENGINES.md, Google Compute Engine autoscaler, "Loop")`,
    'recommendedSize … = VMs needed for the peak load of the stabilization period, clamped to [minNumReplicas, maxNumReplicas], then cut by scale-in controls',
    () => {
      // 20 VMs at 0.6 CPU against 0.6 need 20; the max is then lowered to 10 with the load unchanged.
      // Peak of the last 600 s = 20 → clamped to [1, 10] = 10 (no scale-in controls): target 10 at once,
      // limited by the max, not held at 20 by stabilization until the peak leaves the window.
      let state = createGceState();
      const first = evaluateGceAutoscaler(policy({ maxNumReplicas: 20 }), state, { now: 0, targetSize: 20, cpuUtilization: 0.6 });
      state = first.state;
      assert.equal(first.targetSize, 20);
      const lowered = evaluateGceAutoscaler(policy({ maxNumReplicas: 10 }), state, { now: 60, targetSize: 20, cpuUtilization: 0.6 });
      assert.equal(lowered.recommendedSize, 10);
      assert.equal(lowered.targetSize, 10);
      assert.equal(lowered.limitedBy, 'max');
    },
  );

  rule(
    'scale-in controls: at most maxScaledInReplicas below the peak recommendation of the time window',
    'Compute Engine v1 REST reference, AutoscalingPolicyScaleInControl.maxScaledInReplicas',
    'Maximum allowed number (or %) of VMs that can be deducted from the peak recommendation during the window autoscaler looks at when computing recommendations.',
    () => {
      const p = policy({ stabilizationPeriodSec: 60, coolDownPeriodSec: 60, scaleInControl: { maxScaledInReplicas: { fixed: 10 }, timeWindowSec: 1200 } });
      const obs = [{ now: 0, targetSize: 100, cpuUtilization: 0.6 }, ...Array.from({ length: 25 }, (_, k) => ({ now: 120 * (k + 1), cpuUtilization: 0.06 }))];
      const d = run(p, obs);
      // The peak 100 stays in the 20-minute window: never below 90 until it leaves it.
      assert.equal(d[1].targetSize, 90);
      assert.equal(d[1].limitedBy, 'scale-in control');
      assert.ok(d.slice(1, 10).every((x) => x.targetSize === 90));
      assert.ok(d[11].targetSize < 90, 'after the peak leaves the window the next step down is allowed');
      assert.equal(getMaxScaledIn({ maxScaledInReplicas: { percent: 15 }, timeWindowSec: 600 }, 10), 2);
    },
  );

  rule(
    'scale-in controls never hold the recommendation above a lowered maxNumReplicas',
    'https://cloud.google.com/compute/docs/autoscaler/understanding-autoscaler-decisions',
    'The recommended size is constrained by the minimum and maximum number of instances that you set in the autoscaling policy. If your autoscaling policy includes scale-in controls, then the recommended size is further constrained by your scale-in controls.',
    () => {
      // 100 VMs needed, then the max is lowered to 50 with the load unchanged. The scale-in control
      // (10 VMs per 20 minutes) may only constrain the recommendation further within [min, max]:
      // it cannot keep 90 VMs in a group whose maximum is 50.
      const p = policy({ scaleInControl: { maxScaledInReplicas: { fixed: 10 }, timeWindowSec: 1200 } });
      const first = evaluateGceAutoscaler(p, createGceState(), { now: 0, targetSize: 100, cpuUtilization: 0.6 });
      assert.equal(first.targetSize, 100);
      const lowered = evaluateGceAutoscaler({ ...p, maxNumReplicas: 50 }, first.state, { now: 60, targetSize: 100, cpuUtilization: 0.6 });
      assert.equal(lowered.recommendedSize, 50);
      assert.equal(lowered.targetSize, 50);
      assert.equal(lowered.limitedBy, 'max');
    },
  );

  rule(
    'scale-in controls slow the reduction rate: 10 VMs per 20 minutes',
    BLOG,
    'An autoscaler with scale-in controls limits how many VM instances can be removed in a given period of time (here 10 VMs in 20 minutes).',
    () => {
      const p = policy({ stabilizationPeriodSec: 600, scaleInControl: { maxScaledInReplicas: { fixed: 10 }, timeWindowSec: 1200 } });
      const obs = [{ now: 0, targetSize: 60, cpuUtilization: 0.6 }, ...Array.from({ length: 60 }, (_, k) => ({ now: 60 * (k + 1), cpuUtilization: 0.06 }))];
      const d = run(p, obs);
      const at = (min: number) => d[min].targetSize;
      assert.ok(at(20) >= 50 && at(40) >= 40 && at(60) >= 30, `${at(20)} ${at(40)} ${at(60)}`);
    },
  );
});

describe('Compute Engine autoscaler: scale to zero', () => {
  rule(
    'with minNumReplicas 0 a per-VM signal keeps one VM; only schedules and per-group metrics may reach 0',
    `${DEC} (as summarised in SCALING-ENGINES.md)`,
    'Scale to 0 needs min 0, no active schedule > 0 and no per-VM signal (CPU, LB, per-VM metric)',
    () => {
      const idle = (p: GceAutoscalingPolicy, o: Partial<GceObservation>) =>
        run(p, Array.from({ length: 16 }, (_, k) => ({ now: 60 * k, targetSize: 2, ...o }))).at(-1);
      // An idle CPU-scaled group: the CPU signal asks for 0 VMs, the group keeps one (with none there is no CPU to measure).
      const cpu = idle(policy({ minNumReplicas: 0 }), { cpuUtilization: 0 });
      assert.equal(cpu?.targetSize, 1);
      const lb = idle(policy({ minNumReplicas: 0, cpuUtilization: undefined, loadBalancingUtilization: { utilizationTarget: 0.8 } }), { lbRequestsPerSecond: 0, lbCapacityPerVm: 100 });
      assert.equal(lb?.targetSize, 1);
      // A per-group metric (singleInstanceAssignment) with nothing to do: 0 VMs, a positive 0.
      const perGroup = idle(policy({ minNumReplicas: 0, cpuUtilization: undefined, customMetricUtilizations: [{ metric: 'queue', singleInstanceAssignment: 5 }] }), { metricValues: [0] });
      assert.ok(Object.is(perGroup?.targetSize, 0), String(perGroup?.targetSize));
    },
  );
});

describe('Compute Engine autoscaler: modes', () => {
  rule('ON sets the target size to the recommendation', DEC, 'ON. The MIG sets its target size to the recommended size', () => {
    assert.equal(run(policy(), [{ now: 0, targetSize: 10, cpuUtilization: 0.9 }])[0].targetSize, 15);
  });

  rule('ONLY_SCALE_OUT never lowers the target size', DEC, "ONLY_SCALE_OUT. The MIG's target size can only be increased in response to an increased recommended size.", () => {
    const d = run(policy({ mode: 'ONLY_SCALE_OUT', stabilizationPeriodSec: 60, coolDownPeriodSec: 60 }), [
      { now: 0, targetSize: 10, cpuUtilization: 0.9 },
      { now: 120, cpuUtilization: 0.1 },
    ]);
    assert.deepEqual(
      d.map((x) => x.targetSize),
      [15, 15],
    );
    assert.equal(d[1].recommendedSize, 3);
    assert.equal(d[1].limitedBy, 'mode');
  });

  rule('OFF leaves the target size alone but still computes the recommendation', DEC, 'OFF. The target size is unaffected by the recommended size. However, the recommended size is still calculated.', () => {
    const [d] = run(policy({ mode: 'OFF' }), [{ now: 0, targetSize: 10, cpuUtilization: 0.9 }]);
    assert.deepEqual([d.targetSize, d.recommendedSize], [10, 15]);
  });
});

describe('Compute Engine autoscaler: predictive', () => {
  const HOUR = 3_600_000;
  const start = Date.UTC(2026, 10, 2);
  // A daily cycle: 100 req/s at night, 400 from 09:00 to 18:00 (hour of the day).
  const history = (days: number) => Array.from({ length: days * 24 }, (_, h) => ({ hourMs: start + h * HOUR, load: h % 24 >= 9 && h % 24 < 18 ? 400 : 100 }));

  rule('no prediction before 3 days of history', PRED, 'Compute Engine requires 3 days of CPU-based autoscaling history before it can generate predictions.', () => {
    const now = start + 2 * 24 * HOUR;
    assert.equal(forecastSeasonalLoad(history(2), now, now + 10 * HOUR), undefined);
    const later = start + 3 * 24 * HOUR;
    assert.equal(forecastSeasonalLoad(history(3), later, later + 10 * HOUR), 400);
  });

  rule(
    'the forecast follows daily and weekly patterns, not one-time events',
    PRED,
    "Predictions are based on weekly and daily load patterns. Compute Engine doesn't predict monthly, annual, or one-time events",
    () => {
      const h = history(21);
      const spikeDay = 20;
      for (let k = spikeDay * 24; k < spikeDay * 24 + 24; k++) h[k] = { ...h[k], load: h[k].load * 10 };
      const now = start + 21 * 24 * HOUR;
      // Tomorrow 10:00 is a Monday like three weeks ago, two weeks ago and last week (weekly pattern); the one-off spike of day 20 is not a pattern.
      const f = forecastSeasonalLoad(h, now, now + 10 * HOUR);
      assert.equal(f, 400);
    },
  );

  rule(
    'history beyond three weeks is not used (the project’s record of [pred]: uses up to 3 weeks)',
    '/work/shared/SCALING-ENGINES.md, Google Compute Engine autoscaler, predictive',
    'needs 3 days of CPU-autoscaling history (new MIG, e.g. blue/green, starts over), uses up to 3 weeks',
    () => {
      const h = history(28).map((p, i) => (i < 7 * 24 ? { ...p, load: 10_000 } : p));
      const now = start + 28 * 24 * HOUR;
      assert.equal(forecastSeasonalLoad(h, now, now + 10 * HOUR), 400);
    },
  );

  rule(
    'real-time and predicted load: the larger size wins',
    PRED,
    'With predictive autoscaling enabled, the autoscaler works with real-time data as well as with historical data to cover both the current and forecasted load.',
    () => {
      const p = policy({ cpuUtilization: { utilizationTarget: 0.6, predictiveMethod: 'OPTIMIZE_AVAILABILITY' } });
      assert.equal(run(p, [{ now: 0, targetSize: 10, cpuUtilization: 0.6, predictedSize: 14 }])[0].targetSize, 14);
      assert.equal(run(p, [{ now: 0, targetSize: 10, cpuUtilization: 0.9, predictedSize: 12 }])[0].targetSize, 15);
      assert.equal(run(policy(), [{ now: 0, targetSize: 10, cpuUtilization: 0.6, predictedSize: 14 }])[0].targetSize, 10, 'NONE ignores the forecast');
    },
  );

  rule(
    'the forecast is read one initialization period ahead (the scaler asks for now + coolDownPeriodSec)',
    PRED,
    "Predictive autoscaling takes into account your application's initialization time and scales out in advance of",
    () => {
      const h = history(7);
      const now = start + 7 * 24 * HOUR + 8 * HOUR + 55 * 60_000; // 08:55, the daily rise is at 09:00
      assert.equal(forecastSeasonalLoad(h, now, now), 100);
      assert.equal(forecastSeasonalLoad(h, now, now + 600_000), 400, 'a 10-minute initialization period sees the 09:00 load at 08:55');
    },
  );
});

describe('Compute Engine autoscaler: scaling schedules', () => {
  rule(
    'a schedule raises the minimum the autoscaler may recommend while it is active',
    'Compute Engine v1 REST reference, AutoscalingPolicyScalingSchedule',
    'A scaling schedule changes the minimum number of VM instances an autoscaler can recommend, which can trigger scaling out.',
    () => {
      const d = run(policy(), [{ now: 0, targetSize: 4, cpuUtilization: 0.3, scheduleFloor: 12 }]);
      assert.equal(d[0].targetSize, 12);
    },
  );

  rule(
    'extended cron with an optional year: with the year it runs once; read in the schedule’s time zone',
    'Compute Engine v1 REST reference, AutoscalingPolicyScalingSchedule.schedule',
    'This field uses the extended cron format (with an optional year field). The expression can describe a single timestamp if the optional year is set, in which case the scaling schedule runs once. The schedule is interpreted with respect to time_zone.',
    () => {
      const once = expandGceSchedules({ bf: { minRequiredReplicas: 15, schedule: '0 9 27 11 * 2026', timeZone: 'America/New_York', durationSec: 3600 } }, Date.UTC(2026, 10, 20), Date.UTC(2027, 11, 31));
      assert.equal(once.length, 1);
      assert.equal(new Date(once[0].startMs).toISOString(), '2026-11-27T14:00:00.000Z', '09:00 in New York (EST, UTC−5)');
      const daily = expandGceSchedules({ d: { minRequiredReplicas: 5, schedule: '30 8 * * 1-5', durationSec: 600 } }, Date.UTC(2026, 10, 23), Date.UTC(2026, 10, 29, 23));
      assert.equal(daily.length, 5, 'Monday to Friday');
      assert.throws(() => parseGceCron('0 9 * *'), /5 or 6 cron fields/);
      assert.throws(() => parseGceCron('0 9 * * * 2040'), /outside/);
      // Day of month and day of week both set: either matches (Unix cron).
      assert.ok(matchesCron(parseGceCron('0 0 1 * 1'), { year: 2026, month: 11, day: 2, hour: 0, minute: 0, dayOfWeek: 1 }));
    },
  );

  rule(
    'the time zone defaults to UTC and follows the tz database (DST included)',
    'Compute Engine v1 REST reference, AutoscalingPolicyScalingSchedule.timeZone',
    'The value of this field must be a time zone name from the tz database: https://en.wikipedia.org/wiki/Tz_database. This field is assigned a default value of "UTC" if left empty.',
    () => {
      const utc = expandGceSchedules({ s: { minRequiredReplicas: 3, schedule: '0 9 1 7 * 2026', durationSec: 300 } }, Date.UTC(2026, 0, 1), Date.UTC(2026, 11, 31));
      assert.equal(new Date(utc[0].startMs).toISOString(), '2026-07-01T09:00:00.000Z');
      const summer = expandGceSchedules({ s: { minRequiredReplicas: 3, schedule: '0 9 1 7 * 2026', timeZone: 'America/New_York', durationSec: 300 } }, Date.UTC(2026, 0, 1), Date.UTC(2026, 11, 31));
      assert.equal(new Date(summer[0].startMs).toISOString(), '2026-07-01T13:00:00.000Z', 'EDT, UTC−4');
    },
  );

  rule(
    'the tz database’s DST changes at half-hour offsets (Newfoundland, Adelaide) move a schedule’s start too',
    'Compute Engine v1 REST reference, AutoscalingPolicyScalingSchedule.timeZone',
    'The value of this field must be a time zone name from the tz database: https://en.wikipedia.org/wiki/Tz_database.',
    () => {
      const starts = (timeZone: string, from: number, to: number) =>
        expandGceSchedules({ s: { minRequiredReplicas: 3, schedule: '0 3 * * *', timeZone, durationSec: 300 } }, from, to).map((i) => new Date(i.startMs).toISOString());
      // St. John's (UTC−3:30) springs forward at 02:00 NST = 05:30 UTC on 8 March 2026: 03:00 NDT is that instant.
      assert.deepEqual(starts('America/St_Johns', Date.UTC(2026, 2, 7, 12), Date.UTC(2026, 2, 9, 12)), ['2026-03-08T05:30:00.000Z', '2026-03-09T05:30:00.000Z']);
      // Adelaide (UTC+9:30) falls back at 03:00 ACDT = 16:30 UTC on 4 April 2026 (local 5 April): the clock shows 02:00 again, so 03:00 comes once, at 17:30 UTC.
      assert.deepEqual(starts('Australia/Adelaide', Date.UTC(2026, 3, 4, 12), Date.UTC(2026, 3, 5, 12)), ['2026-04-04T17:30:00.000Z']);
    },
  );

  rule(
    'durationSec is the length of each interval, at least 300 s',
    'Compute Engine v1 REST reference, AutoscalingPolicyScalingSchedule.durationSec',
    'The duration of time intervals, in seconds, for which this scaling schedule is to run. The minimum allowed value is 300.',
    () => {
      const i = expandGceSchedules({ s: { minRequiredReplicas: 7, schedule: '0 10 27 11 * 2026', durationSec: 7200 } }, Date.UTC(2026, 10, 27), Date.UTC(2026, 10, 28));
      assert.equal(getScheduleFloor(i, Date.UTC(2026, 10, 27, 11, 59)), 7);
      assert.equal(getScheduleFloor(i, Date.UTC(2026, 10, 27, 12, 0)), 0);
      assert.throws(() => checkGceSchedule('s', { minRequiredReplicas: 1, schedule: '* * * * *', durationSec: 299 }), /durationSec/);
    },
  );

  rule(
    'a disabled schedule has no effect',
    'Compute Engine v1 REST reference, AutoscalingPolicyScalingSchedule.disabled',
    'If set to true, then a scaling schedule has no effect. This field is optional, and its value is false by default.',
    () => {
      const i = expandGceSchedules({ s: { minRequiredReplicas: 7, schedule: '0 10 27 11 * 2026', durationSec: 3600, disabled: true } }, Date.UTC(2026, 10, 27), Date.UTC(2026, 10, 28));
      assert.deepEqual(i, []);
    },
  );

  rule(
    'overlapping schedules: the greatest minimum; with other signals: the largest size',
    SIG,
    'the autoscaler scales based on the signal that provides the largest number of virtual machine (VM) instances',
    () => {
      const i = expandGceSchedules(
        { a: { minRequiredReplicas: 6, schedule: '0 9 27 11 * 2026', durationSec: 7200 }, b: { minRequiredReplicas: 15, schedule: '0 10 27 11 * 2026', durationSec: 1800 } },
        Date.UTC(2026, 10, 27),
        Date.UTC(2026, 10, 28),
      );
      assert.equal(getScheduleFloor(i, Date.UTC(2026, 10, 27, 10, 15)), 15);
      assert.equal(getScheduleFloor(i, Date.UTC(2026, 10, 27, 10, 45)), 6);
    },
  );

  rule(
    'after a schedule ends, its VMs go only after the stabilization period',
    SCH,
    'Use scaling schedules if your workload takes a long time to initialize and you want to scale out in advance of anticipated load spikes.',
    () => {
      // The schedule floor (15) is a recommendation like any other: the 10-minute peak keeps it after the end.
      const obs = [{ now: 0, targetSize: 15, cpuUtilization: 0.2, scheduleFloor: 15 }, ...Array.from({ length: 11 }, (_, k) => ({ now: 60 * (k + 1), cpuUtilization: 0.2, scheduleFloor: 0 }))];
      const d = run(policy(), obs);
      assert.ok(d.slice(0, 10).every((x) => x.targetSize === 15));
      assert.equal(d[10].targetSize, 5);
    },
  );
});
