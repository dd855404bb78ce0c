/**
 * Every rule of the EC2 Auto Scaling model, each with the documentation sentence it implements. Pages of
 * the Amazon EC2 Auto Scaling User Guide and API Reference are named by their docs.aws.amazon.com address;
 * where the sentence was read in an earlier revision of the guide (awsdocs/amazon-ec2-auto-scaling-user-guide,
 * archived), the file and commit are named. What AWS does not document comes from SCALING-ENGINES.md and
 * is named so.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { getCalendarEvent } from '../forecast/calendar.ts';
import type { AwsGroupSizes, AwsObservation, AwsScalingConfig } from './aws-autoscaling.ts';
import { checkAwsPredictiveConfiguration, DEFAULT_AWS_ALARMS, evaluateAlarm, evaluateAwsAutoScaling, getPredictiveMaxSize, getTargetTrackingCapacity, resolveInstanceWarmup } from './aws-autoscaling.ts';
import { applyScheduledAction, checkAwsScheduledAction, expandAwsScheduledActions, forecastAwsCapacity, getForecastTime, getPredictedCapacity } from './aws-schedules.ts';
import type { TargetTrackingOptions } from './aws-target-tracking.ts';
import { createTargetTrackingScaler, DEFAULT_TARGET_TRACKING } from './aws-target-tracking.ts';
import { comparePolicies } from './compare.ts';
import type { LoadHistoryPoint } from './gce-schedules.ts';
import type { SimPod } from './hpa-pods.ts';
import { resizePods } from './hpa-pods.ts';
import { createPredictiveLookup } from './prescale.ts';

const GUIDE = 'https://docs.aws.amazon.com/autoscaling/ec2/userguide';
const TT = `${GUIDE}/as-scaling-target-tracking.html`;
const TT_2023 = 'awsdocs/amazon-ec2-auto-scaling-user-guide doc_source/as-scaling-target-tracking.md @c621df3';
const DEMAND = 'awsdocs/amazon-ec2-auto-scaling-user-guide doc_source/as-scale-based-on-demand.md @0987d76 (Multiple Scaling Policies)';
const DIW = `${GUIDE}/ec2-auto-scaling-default-instance-warmup.html`;
const WARM = `${GUIDE}/consolidated-view-of-warm-up-and-cooldown-settings.html`;
const COOL = `${GUIDE}/ec2-auto-scaling-scaling-cooldowns.html`;
const SCHED = `${GUIDE}/ec2-auto-scaling-scheduled-scaling.html`;
const OVERRIDE = `${GUIDE}/predictive-scaling-overriding-forecast-capacity.html`;
const PRED = `${GUIDE}/ec2-auto-scaling-predictive-scaling.html`;
const API = 'https://docs.aws.amazon.com/autoscaling/ec2/APIReference';
const API_TTC = `${API}/API_TargetTrackingConfiguration.html`;
const API_PSC = `${API}/API_PredictiveScalingConfiguration.html`;
const API_UPDATE = `${API}/API_UpdateAutoScalingGroup.html`;
const API_FORECAST = `${API}/API_GetPredictiveScalingForecast.html`;
const CW = 'https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/AlarmThatSendsEmail.html';
/** Application Auto Scaling's page on how target tracking works: the only AWS page that puts a figure on the scale-in threshold. */
const TT_APP = 'https://docs.aws.amazon.com/autoscaling/application/userguide/target-tracking-scaling-policy-overview.html';
const ENGINES = '/work/shared/SCALING-ENGINES.md, AWS EC2 Auto Scaling (AWS documents no figures)';

/** A test of one documented rule: the quote and its source are part of the test's name. */
function rule(title: string, source: string, quote: string, fn: () => void): void {
  it(`${title} — "${quote}" (${source})`, fn);
}

const HOUR = 3_600_000;
const sizes = (desiredCapacity: number, minSize = 1, maxSize = 100): AwsGroupSizes => ({ minSize, maxSize, desiredCapacity });
const points = (value: number, n = 15): number[] => Array(n).fill(value);
const cpu = (targetValue = 50, disableScaleIn = false): AwsScalingConfig => ({ targetTracking: [{ targetValue, disableScaleIn }] });

/** One run with every instance warm unless said otherwise. */
function evaluate(config: AwsScalingConfig, o: Partial<AwsObservation> & { sizes: AwsGroupSizes }) {
  return evaluateAwsAutoScaling(config, { warmInstances: o.sizes.desiredCapacity, warmingInstances: 0, datapoints: [], ...o });
}

/**
 * Drives the scaler like `simulate.ts`: a decision every minute, a utilization sample every 10 s over the
 * ready instances (`load` is in instances' worth of CPU: 3 on 4 ready instances is 75 %). Returns the
 * desired capacity after each minute's decision.
 */
function drive(options: Partial<TargetTrackingOptions>, d: { minutes: number; initial: number; load: (t: number) => number; startedAt?: number; startMs?: number }): number[] {
  const scaler = createTargetTrackingScaler(options);
  const dt = 10;
  const started = d.startedAt ?? -3600;
  let pods: SimPod[] = Array.from({ length: d.initial }, () => ({ startedAt: started, readyAt: started + scaler.readyDelaySeconds }));
  const samples: number[] = [];
  const readyCounts: number[] = [];
  const utilization = (t: number, ready: number) => (ready > 0 ? Math.min(1, d.load(t) / ready) : 1);
  const sampleAt = (t: number) => (t < 0 ? utilization(t, d.initial) : samples[Math.min(samples.length - 1, Math.floor(t / dt))]);
  const desired: number[] = [];
  for (let now = 0; now < d.minutes * 60; now += dt) {
    if (now % 60 === 0) {
      const n = scaler.decide({
        now,
        nowMs: (d.startMs ?? 0) + now * 1000,
        pods,
        utilizationAt: (t, window) => {
          const xs: number[] = [];
          for (let s = t - window + dt; s <= t; s += dt) xs.push(sampleAt(s));
          return xs.reduce((a, b) => a + b, 0) / xs.length;
        },
        anyReadyAt: (t) => (t < 0 ? d.initial > 0 : readyCounts[Math.min(readyCounts.length - 1, Math.floor(t / dt))] > 0),
      });
      pods = resizePods(pods, n, now, scaler.readyDelaySeconds);
      desired.push(n);
    }
    const ready = pods.filter((p) => p.readyAt <= now).length;
    samples.push(utilization(now, ready));
    readyCounts.push(ready);
  }
  return desired;
}

describe('EC2 Auto Scaling: target tracking', () => {
  rule(
    'above the target the group scales out, below it scales in',
    TT,
    'Then, your Auto Scaling group will scale out, or increase capacity, when CPU exceeds 50 percent to handle increased load. It will scale in, or decrease capacity, when CPU drops below 50 percent to optimize costs during periods of low utilization.',
    () => {
      const out = evaluate(cpu(50), { sizes: sizes(2), datapoints: [points(80)] });
      assert.deepEqual([out.sizes.desiredCapacity, out.reason], [4, 'scale-out'], '2 × 80 / 50 = 3.2 → 4');
      const inn = evaluate(cpu(50), { sizes: sizes(4), datapoints: [points(20)] });
      assert.deepEqual([inn.sizes.desiredCapacity, inn.reason], [2, 'scale-in'], '4 × 20 / 50 = 1.6 → 2');
    },
  );

  rule(
    'a metric below the target never scales out',
    TT,
    "You can't use a target tracking scaling policy to scale out your Auto Scaling group when the specified metric is below the target value.",
    () => {
      const d = evaluate(cpu(70), { sizes: sizes(6), datapoints: [points(60)] });
      assert.equal(d.policies[0].high, 'OK');
      assert.deepEqual([d.sizes.desiredCapacity, d.reason], [6, '']);
    },
  );

  rule(
    'scale-out rounds up: 1.5 instances to add means 2',
    TT,
    'Because it is not possible to add 1.5 instances, we round up and add two instances.',
    () => {
      // 3 instances at 75 % for a 50 % target need 4.5.
      assert.equal(getTargetTrackingCapacity(3, 75, 50), 5);
      assert.equal(evaluate(cpu(50), { sizes: sizes(3), datapoints: [points(75)] }).sizes.desiredCapacity, 5);
    },
  );

  rule(
    'scale-in rounds so that the metric stays at or below the target: 0.5 removable → none',
    TT,
    "Similarly, if we determine that removing 0.5 instances increases your CPU utilization to above 50 percent, we will choose not to scale-in until the metric lowers enough that we think scaling in won't cause oscillation.",
    () => {
      // With the low alarm at the target itself, only the rounding holds the group: 4 × 43.75 / 50 = 3.5 → 4.
      const config: AwsScalingConfig = { ...cpu(50), alarms: { scaleOutDatapoints: 3, scaleInDatapoints: 15, scaleInThresholdRatio: 1 } };
      const d = evaluate(config, { sizes: sizes(4), datapoints: [points(43.75)] });
      assert.equal(d.policies[0].low, 'ALARM');
      assert.deepEqual([d.sizes.desiredCapacity, d.reason], [4, '']);
    },
  );

  rule(
    'scale-in of 1.5 removable instances removes one',
    TT_2023,
    'Similarly, if we determine that removing 1.5 instances increases your CPU utilization to above 50 percent, we remove just one instance.',
    () => {
      // 4 × 31.25 / 50 = 2.5 → 3: one removed, and 4 × 31.25 / 3 = 41.7 % stays under the target.
      const d = evaluate(cpu(50), { sizes: sizes(4), datapoints: [points(31.25)] });
      assert.equal(d.sizes.desiredCapacity, 3);
      assert.ok((4 * 31.25) / d.sizes.desiredCapacity <= 50);
    },
  );

  rule(
    'the scale-out alarm: three one-minute datapoints above the target',
    ENGINES,
    'Target tracking: scales out when the metric is above target for 3 one-minute datapoints',
    () => {
      assert.equal(evaluateAlarm([40, 80, 80], (v) => v > 50, 3), 'OK');
      assert.equal(evaluateAlarm([80, 80, 80], (v) => v > 50, 3), 'ALARM');
      assert.equal(evaluateAlarm([80, 80, 50], (v) => v > 50, 3), 'OK', 'at the target is not above it');
      assert.equal(evaluate(cpu(50), { sizes: sizes(4), datapoints: [[...points(20, 12), 40, 80, 80]] }).sizes.desiredCapacity, 4);
      assert.equal(evaluate(cpu(50), { sizes: sizes(4), datapoints: [[...points(20, 12), 80, 80, 80]] }).sizes.desiredCapacity, 7);
    },
  );

  rule(
    'the scale-in alarm: fifteen one-minute datapoints below the threshold',
    ENGINES,
    'scales in when below ~0.7 × target for 15 datapoints',
    () => {
      // The datapoints are SCALING-ENGINES.md's; the threshold is AWS's 0.9 × target (see the rule below), 45 for a target of 50.
      assert.equal(evaluate(cpu(50), { sizes: sizes(10), datapoints: [[46, ...points(20, 14)]] }).sizes.desiredCapacity, 10);
      assert.equal(evaluate(cpu(50), { sizes: sizes(10), datapoints: [points(20)] }).sizes.desiredCapacity, 4);
      assert.equal(evaluate(cpu(50), { sizes: sizes(10), datapoints: [points(45)] }).sizes.desiredCapacity, 10, 'at the threshold is not below it');
      assert.equal(DEFAULT_TARGET_TRACKING.scaleInDatapoints, 15);
    },
  );

  rule(
    'the scale-in threshold is 10 % below the target (0.9 × target), not 0.7 ×: 10 instances at 40 % for a 50 % target scale in to 8',
    TT_APP,
    'In this case, it slows down scaling by removing capacity only when utilization passes a threshold that is far enough below the target value (usually more than 10% lower) for utilization to be considered to have slowed.',
    () => {
      assert.equal(DEFAULT_AWS_ALARMS.scaleInThresholdRatio, 0.9);
      assert.equal(DEFAULT_TARGET_TRACKING.scaleInThresholdRatio, 0.9);
      // 40 % is 20 % below the target: the low alarm (< 45) is in ALARM; 10 × 40 / 50 = 8.
      const d = evaluate(cpu(50), { sizes: sizes(10), datapoints: [points(40)] });
      assert.deepEqual([d.policies[0].low, d.sizes.desiredCapacity, d.reason], ['ALARM', 8, 'scale-in']);
      // 46 % is under 10 % below: no scale-in.
      assert.equal(evaluate(cpu(50), { sizes: sizes(10), datapoints: [points(46)] }).policies[0].low, 'OK');
      // The simulated group: 8 instances at 60 % for the default 70 % target scale in to 7 once fifteen datapoints are low.
      const run = drive({}, { minutes: 17, initial: 8, load: () => 4.8 });
      assert.equal(run.at(-1), 7, `8 × 60 / 70 = 6.9 → 7 (got ${run.join(',')})`);
    },
  );

  rule(
    'out proportionally in one step after three minutes; in only after fifteen',
    TT_2023,
    'To ensure application availability, the Auto Scaling group scales out proportionally to the metric as fast as it can, but scales in more gradually.',
    () => {
      // 4 instances at 50 % for a 50 % target; from t = 0 the load doubles (100 %).
      const up = drive({ targetCpuPercent: 50 }, { minutes: 5, initial: 4, load: (t) => (t < 0 ? 2 : 4) });
      assert.deepEqual(up.slice(0, 4), [4, 4, 4, 8], 'datapoints ending at 0, 60 and 120 s are read at 180 s');
      // 8 instances at 50 %; from t = 0 the load drops to 20 %.
      const down = drive({ targetCpuPercent: 50 }, { minutes: 17, initial: 8, load: (t) => (t < 0 ? 4 : 1.6) });
      // The datapoint ending at 0 s still averages in the 50 % before: the fifteen low ones end at 60–900 s, read at 960 s.
      assert.deepEqual(down.slice(0, 16), Array(16).fill(8));
      assert.equal(down[16], 4, '8 × 20 / 50 = 3.2 → 4 once fifteen datapoints are low');
    },
  );

  rule(
    'while an alarm stays in ALARM the policy runs again every minute',
    CW,
    'For Auto Scaling actions, the alarm continues to invoke the action for every period that the alarm remains in the new state.',
    () => {
      // No warm-up: each minute the instances launched the minute before are counted, and the load is still 100 %.
      const d = drive({ targetCpuPercent: 50, maxSize: 100, instanceWarmupSeconds: 0, launchToInServiceSeconds: 0, instanceReadySeconds: 30 }, { minutes: 6, initial: 4, load: (t) => (t < 0 ? 2 : 40) });
      assert.deepEqual(d.slice(3, 6), [8, 16, 32]);
    },
  );

  rule(
    'no datapoint (every instance warming up, or no data): no scaling',
    TT,
    'If the metric is missing data points, this causes the CloudWatch alarm state to change to INSUFFICIENT_DATA. When this happens, Amazon EC2 Auto Scaling cannot scale your group until new data points are found.',
    () => {
      const high = evaluate(cpu(50), { sizes: sizes(4), datapoints: [[80, 80, undefined]] });
      assert.deepEqual([high.policies[0].high, high.sizes.desiredCapacity], ['INSUFFICIENT_DATA', 4]);
      const low = evaluate(cpu(50), { sizes: sizes(10), datapoints: [[...points(10, 14), undefined]] });
      assert.deepEqual([low.policies[0].low, low.sizes.desiredCapacity], ['INSUFFICIENT_DATA', 10]);
    },
  );

  rule(
    'several policies: out if any is ready to scale out, in only if every one with scale-in enabled is',
    TT,
    'It will scale out the Auto Scaling group if any of the target tracking policies are ready to scale out. It will scale in only if all of the target tracking policies (with the scale in portion enabled) are ready to scale in.',
    () => {
      const two = (disableSecond = false): AwsScalingConfig => ({ targetTracking: [{ targetValue: 50 }, { targetValue: 1000, disableScaleIn: disableSecond }] });
      assert.equal(evaluate(two(), { sizes: sizes(10), datapoints: [points(80), points(200)] }).sizes.desiredCapacity, 16, 'CPU out, requests in: out');
      assert.equal(evaluate(two(), { sizes: sizes(10), datapoints: [points(20), points(200)] }).sizes.desiredCapacity, 4, 'both in: max(4, 2)');
      assert.equal(evaluate(two(), { sizes: sizes(10), datapoints: [points(20), points(950)] }).sizes.desiredCapacity, 10, 'requests not low enough: no scale-in');
      assert.equal(evaluate(two(true), { sizes: sizes(10), datapoints: [points(20), points(950)] }).sizes.desiredCapacity, 4, 'its scale-in disabled, it does not hold the other');
    },
  );

  rule(
    'several policies acting at once: the largest capacity wins, out and in (8 instances: 5 or 6 → 6)',
    DEMAND,
    'When these situations occur, Amazon EC2 Auto Scaling chooses the policy that provides the largest capacity for both scale out and scale in.',
    () => {
      const config: AwsScalingConfig = { targetTracking: [{ targetValue: 50 }, { targetValue: 70 }] };
      // 8 × 31.25 / 50 = 5 and 8 × 48 / 70 = 5.5 → 6: two instances terminated, as in the doc's example.
      assert.equal(evaluate(config, { sizes: sizes(8), datapoints: [points(31.25), points(48)] }).sizes.desiredCapacity, 6);
      const out: AwsScalingConfig = { targetTracking: [{ targetValue: 50 }, { targetValue: 1000 }] };
      // 8 × 80 / 50 = 12.8 → 13 and 8 × 1900 / 1000 = 15.2 → 16.
      assert.equal(evaluate(out, { sizes: sizes(8), datapoints: [points(80), points(1900)] }).sizes.desiredCapacity, 16);
    },
  );

  rule(
    'DisableScaleIn: the policy never removes instances (default false)',
    API_TTC,
    "If scaling in is disabled, the target tracking scaling policy doesn't remove instances from the Auto Scaling group. Otherwise, the target tracking scaling policy can remove instances from the Auto Scaling group. The default is false.",
    () => {
      assert.equal(evaluate(cpu(50, true), { sizes: sizes(10), datapoints: [points(10)] }).sizes.desiredCapacity, 10);
      assert.equal(evaluate(cpu(50, true), { sizes: sizes(10), datapoints: [points(80)] }).sizes.desiredCapacity, 16, 'it still scales out');
      assert.equal(DEFAULT_TARGET_TRACKING.disableScaleIn, false);
      assert.equal(drive({ targetCpuPercent: 50, disableScaleIn: true }, { minutes: 20, initial: 8, load: () => 0.8 }).at(-1), 8);
    },
  );

  rule(
    'the result stays within MinSize and MaxSize (max 3: +3 becomes +1; min 2: −2 becomes −1)',
    DEMAND,
    'When a scaling policy is executed, if the capacity calculation produces a number outside of the minimum and maximum size range of the group, Amazon EC2 Auto Scaling ensures that the new capacity never goes outside of the minimum and maximum size limits.',
    () => {
      const high = evaluate(cpu(40), { sizes: sizes(2, 1, 3), datapoints: [points(100)] });
      assert.deepEqual([high.sizes.desiredCapacity, high.limitedBy], [3, 'max'], '2 × 100 / 40 = 5, capped at 3');
      const low = evaluate(cpu(40), { sizes: sizes(3, 2, 10), datapoints: [points(10)] });
      assert.deepEqual([low.sizes.desiredCapacity, low.limitedBy], [2, 'min'], '3 × 10 / 40 = 0.75 → 1, held at 2');
    },
  );
});

describe('EC2 Auto Scaling: instance warm-up, termination, cooldowns', () => {
  rule(
    'a warming instance is left out of the metric: with every instance warming up there is no datapoint',
    TT,
    'Until its specified warmup time has expired, an instance is not counted toward the aggregated EC2 instance metrics of the Auto Scaling group.',
    () => {
      // 4 instances launched at 0: warm at 30 (InService) + 300 = 330 s. The first three datapoints
      // after that end at 360, 420 and 480 s and are read at 540 s (minute 9).
      const d = drive({ targetCpuPercent: 50 }, { minutes: 10, initial: 4, startedAt: 0, load: () => 4 });
      assert.deepEqual(d, [4, 4, 4, 4, 4, 4, 4, 4, 4, 8]);
    },
  );

  rule(
    'warm-up starts when the instance enters InService',
    WARM,
    'The amount of time, in seconds, until a new instance is considered to have finished initializing and resource consumption to become stable after it enters the InService state.',
    () => {
      const at = (launchToInServiceSeconds: number) => drive({ targetCpuPercent: 50, launchToInServiceSeconds }, { minutes: 10, initial: 4, startedAt: 0, load: () => 4 }).indexOf(8);
      assert.equal(at(30), 9);
      assert.equal(at(0), 8, 'InService at launch: warm at 300 s, datapoints 300–420 s read at 480 s');
      assert.equal(DEFAULT_TARGET_TRACKING.launchToInServiceSeconds, 30);
    },
  );

  rule(
    'while instances warm up: scale out only on the warm instances’ metric; the warming ones are part of the desired capacity',
    TT,
    'If the group scales out again, the instances that are still warming up are counted as part of the desired capacity for the next scale-out activity. The intention is to continuously (but not excessively) scale out.',
    () => {
      // 13 desired = 10 warm + 3 warming, target 70: 10 × 90 / 70 = 12.9 → 13, nothing launched; at 100 %: 14.3 → 15.
      const at = (metric: number) => evaluate(cpu(70), { sizes: sizes(13), warmInstances: 10, warmingInstances: 3, datapoints: [points(metric, 3)] }).sizes.desiredCapacity;
      assert.equal(at(90), 13);
      assert.equal(at(100), 15);
    },
  );

  rule(
    'warming instances are not part of the capacity a scale-out is computed on (no launches on top of launches)',
    TT_2023,
    "While scaling out, we do not consider instances that are warming up as part of the current capacity of the group. This ensures that we don't add more instances than you need.",
    () => {
      // The load stays at 100 % of 4 instances' worth × 2: out to 8 at minute 3, then nothing more while the 4 new ones warm up.
      const d = drive({ targetCpuPercent: 50, maxSize: 100 }, { minutes: 9, initial: 4, load: (t) => (t < 0 ? 2 : 20) });
      assert.deepEqual(d.slice(3), [8, 8, 8, 8, 8, 8]);
    },
  );

  rule(
    'scale-in waits until every instance has finished warming up',
    TT,
    'While the scale-out activity is in progress, all scale in activities initiated by scaling policies are blocked until the instances finish warming up.',
    () => {
      const held = evaluate(cpu(50), { sizes: sizes(12), warmInstances: 10, warmingInstances: 2, datapoints: [points(10)] });
      assert.deepEqual([held.sizes.desiredCapacity, held.reason], [12, 'warm-up']);
      assert.equal(evaluate(cpu(50), { sizes: sizes(12), datapoints: [points(10)] }).sizes.desiredCapacity, 3);
      // A scheduled DesiredCapacity of 10 at 60 s on a quiet group held at MinSize 4 (20 %, target 50, the
      // low alarm already in ALARM): the 6 new instances warm up (30 + 300 s) before the policy takes the group back down.
      const action = { StartTime: '1970-01-01T00:01:00Z', DesiredCapacity: 10 };
      const d = drive({ targetCpuPercent: 50, minSize: 4, scheduledActions: [action] }, { minutes: 8, initial: 4, load: () => 0.8 });
      assert.deepEqual(d, [4, 10, 10, 10, 10, 10, 10, 4]);
    },
  );

  rule(
    'terminating instances count as capacity when scaling in, so no more are removed than necessary',
    TT,
    'When the instances finish warming up, if a scale in event occurs, any instances currently in the process of terminating will be counted towards the current capacity of the group when calculating the new desired capacity.',
    () => {
      // 5 left, 5 terminating, the metric still 30 % for a 70 % target: (5 + 5) × 30 / 70 = 4.3 → 5, nothing more.
      assert.equal(evaluate(cpu(70), { sizes: sizes(5), terminatingInstances: 5, datapoints: [points(30)] }).sizes.desiredCapacity, 5);
      assert.equal(evaluate(cpu(70), { sizes: sizes(5), datapoints: [points(30)] }).sizes.desiredCapacity, 3);
    },
  );

  rule(
    'instances terminate for the load balancer’s deregistration delay, 300 s by default',
    COOL,
    'By default, Elastic Load Balancing waits 300 seconds to complete the deregistration (connection draining) process.',
    () => {
      // 10 instances at 24 % for a 50 % target: in to 5 at once. The next datapoints still mostly show 24 %:
      // counting the 5 terminating instances holds 5; without a delay the group falls to 3, then must scale out.
      const load = () => 2.4;
      assert.deepEqual(drive({ targetCpuPercent: 50 }, { minutes: 6, initial: 10, load }), [5, 5, 5, 5, 5, 5]);
      assert.equal(drive({ targetCpuPercent: 50, deregistrationDelaySeconds: 0 }, { minutes: 2, initial: 10, load })[1], 3);
      assert.equal(DEFAULT_TARGET_TRACKING.deregistrationDelaySeconds, 300);
    },
  );

  rule(
    'the warm-up: the policy’s EstimatedInstanceWarmup, else the group’s default instance warmup, else the default cooldown (300 s)',
    WARM,
    'If not defined, the value of this parameter defaults to the value for the default instance warmup defined for the group. If default instance warmup is null, then it falls back to the value of default cooldown.',
    () => {
      assert.equal(resolveInstanceWarmup({}), 300);
      assert.equal(resolveInstanceWarmup({ defaultCooldown: 120 }), 120);
      assert.equal(resolveInstanceWarmup({ defaultInstanceWarmup: 0, defaultCooldown: 120 }), 0);
      assert.equal(resolveInstanceWarmup({ estimatedInstanceWarmup: 30, defaultInstanceWarmup: 60 }), 30);
      assert.equal(DEFAULT_TARGET_TRACKING.instanceWarmupSeconds, undefined);
      assert.equal(DEFAULT_TARGET_TRACKING.defaultCooldownSeconds, 300);
    },
  );

  rule(
    'DefaultInstanceWarmup is 0–3600 s; −1 turns it off',
    DIW,
    'To enable the default instance warmup for an Auto Scaling group, add the `--default-instance-warmup` option and specify a value, in seconds, from 0 to 3600. After it\u2019s enabled, a value of `-1` will turn this setting off.',
    () => {
      assert.equal(resolveInstanceWarmup({ defaultInstanceWarmup: 3600 }), 3600);
      assert.equal(resolveInstanceWarmup({ defaultInstanceWarmup: -1, defaultCooldown: 200 }), 200);
      assert.throws(() => resolveInstanceWarmup({ defaultInstanceWarmup: 3601 }), { code: 'INVALID_OPTION' });
      assert.throws(() => createTargetTrackingScaler({ defaultInstanceWarmupSeconds: 4000 }), { code: 'INVALID_OPTION' });
    },
  );

  rule(
    'cooldowns are for simple scaling: target tracking scales out again the next minute',
    COOL,
    'Target tracking and step scaling policies can initiate a scale-out activity immediately without waiting for the cooldown period to end.',
    () => {
      const d = drive(
        { targetCpuPercent: 50, maxSize: 100, defaultCooldownSeconds: 300, defaultInstanceWarmupSeconds: 0, launchToInServiceSeconds: 0, instanceReadySeconds: 30 },
        { minutes: 5, initial: 4, load: (t) => (t < 0 ? 2 : 40) },
      );
      assert.deepEqual(d.slice(3, 5), [8, 16]);
      assert.equal(DEFAULT_TARGET_TRACKING.scaleInCooldownSeconds, 0);
    },
  );
});

describe('EC2 Auto Scaling: scheduled actions', () => {
  rule(
    'an action sets the sizes it names at its time; one size alone is enough',
    SCHED,
    'A scheduled action sets the desired, minimum, and maximum sizes to what is specified by the scheduled action at the date and time specified. The request can optionally include only one of these sizes.',
    () => {
      assert.deepEqual(applyScheduledAction(sizes(4, 1, 10), { MinSize: 2, MaxSize: 8, DesiredCapacity: 6 }).sizes, sizes(6, 2, 8));
      // The doc's CLI examples: --desired-capacity 3 on a smaller group scales out to 3; --desired-capacity 1 scales in to 1.
      assert.equal(applyScheduledAction(sizes(1, 1, 5), { DesiredCapacity: 3 }).sizes.desiredCapacity, 3);
      assert.equal(applyScheduledAction(sizes(4, 1, 5), { DesiredCapacity: 1 }).sizes.desiredCapacity, 1);
      assert.throws(() => checkAwsScheduledAction('none', { StartTime: '2026-11-27T08:00:00Z' }), /sets none/);
    },
  );

  rule(
    'a new MinSize above the desired capacity raises it; a new MaxSize below lowers it',
    API_UPDATE,
    "If you specify a new value for MinSize without specifying a value for DesiredCapacity, and the new MinSize is larger than the current size of the group, this sets the group's DesiredCapacity to the new MinSize value.",
    () => {
      assert.deepEqual(applyScheduledAction(sizes(3, 2, 20), { MinSize: 5 }).sizes, sizes(5, 5, 20));
      assert.deepEqual(applyScheduledAction(sizes(3, 2, 20), { MinSize: 1 }).sizes, sizes(3, 1, 20), 'a lower MinSize leaves the desired capacity');
      assert.deepEqual(applyScheduledAction(sizes(6, 2, 20), { MaxSize: 4 }).sizes, sizes(4, 2, 4));
    },
  );

  rule(
    'a DesiredCapacity outside the limits is refused',
    SCHED,
    'In some cases, however, you must include the minimum and maximum sizes to ensure that the new desired capacity that you specified in the action is not outside of these limits.',
    () => {
      const r = applyScheduledAction(sizes(4, 1, 10), { DesiredCapacity: 12 });
      assert.deepEqual(r.sizes, sizes(4, 1, 10));
      assert.match(r.error ?? '', /outside/);
      assert.equal(applyScheduledAction(sizes(4, 1, 10), { DesiredCapacity: 12, MaxSize: 12 }).sizes.desiredCapacity, 12);
    },
  );

  rule(
    'Recurrence is a 5-field cron in UTC by default: `30 6 * * 2` is every Tuesday at 6:30',
    SCHED,
    'For example, the cron expression `30 6 * * 2` configures a scheduled action that recurs every Tuesday at 6:30 AM.',
    () => {
      const runs = expandAwsScheduledActions([{ Recurrence: '30 6 * * 2', MinSize: 4 }], Date.UTC(2026, 10, 16), Date.UTC(2026, 10, 30));
      assert.deepEqual(
        runs.map((r) => new Date(r.atMs).toISOString()),
        ['2026-11-17T06:30:00.000Z', '2026-11-24T06:30:00.000Z'],
      );
      assert.throws(() => checkAwsScheduledAction('six', { Recurrence: '30 6 * * 2 2026', MinSize: 4 }), /5 cron fields/);
    },
  );

  rule(
    'a location time zone follows DST: 8:00 is UTC−5 before the change and UTC−4 after',
    SCHED,
    'The first action starts at 8:00 AM UTC-5 in local time, while the second time starts at 8:00 AM UTC-4 in local time.',
    () => {
      // DST starts in New York on 8 March 2026.
      const runs = expandAwsScheduledActions([{ Recurrence: '0 8 * * *', TimeZone: 'America/New_York', MinSize: 4 }], Date.UTC(2026, 2, 7), Date.UTC(2026, 2, 9, 23));
      assert.deepEqual(
        runs.map((r) => new Date(r.atMs).toISOString()),
        ['2026-03-07T13:00:00.000Z', '2026-03-08T12:00:00.000Z', '2026-03-09T12:00:00.000Z'],
      );
    },
  );

  rule(
    'with a start time the action runs then and on each recurrence; after the end time it stops repeating (nothing is undone)',
    SCHED,
    'If you specify a start time, Amazon EC2 Auto Scaling performs the action at this time, and then performs the action based on the specified recurrence.',
    () => {
      const action = { Recurrence: '0 9 * * *', StartTime: '2026-11-23T07:15:00Z', EndTime: '2026-11-25T12:00:00Z', MinSize: 6 };
      const runs = expandAwsScheduledActions([action], Date.UTC(2026, 10, 22), Date.UTC(2026, 10, 28));
      assert.deepEqual(
        runs.map((r) => new Date(r.atMs).toISOString()),
        ['2026-11-23T07:15:00.000Z', '2026-11-23T09:00:00.000Z', '2026-11-24T09:00:00.000Z', '2026-11-25T09:00:00.000Z'],
      );
      // "If you specify an end time, the action stops repeating after this time." The MinSize it set stays.
      const after = runs.reduce((s, r) => applyScheduledAction(s, r.action).sizes, sizes(2, 2, 20));
      assert.deepEqual(after, sizes(6, 6, 20));
      assert.throws(() => checkAwsScheduledAction('backwards', { ...action, EndTime: '2026-11-23T07:00:00Z' }), { code: 'INVALID_DATE' });
    },
  );

  rule(
    'two one-off actions hold a minimum of 3 from 17:00 for eight hours; dynamic scaling goes on above it, and the end leaves the desired capacity',
    OVERRIDE,
    'During this time and for the next eight hours, Amazon EC2 Auto Scaling can continue to scale out if the predicted capacity is higher than the actual capacity or if there is a dynamic scaling policy in effect.',
    () => {
      const startMs = Date.UTC(2021, 4, 19, 16, 55);
      const actions = [
        { StartTime: '2021-05-19T17:00:00Z', MinSize: 3 },
        { StartTime: '2021-05-20T01:00:00Z', MinSize: 1 },
      ];
      const minute = (h: number, m: number) => (Date.UTC(2021, 4, 19, h, m) - startMs) / 60_000;
      // 2 instances at 60 % for a 70 % target; from 18:00 the load needs 6 instances at 70 %.
      const loadStep = (Date.UTC(2021, 4, 19, 18) - startMs) / 1000;
      const d = drive({ minSize: 1, scheduledActions: actions }, { minutes: minute(25, 5), initial: 2, startMs, load: (t) => (t < loadStep ? 1.2 : 4.2) });
      assert.equal(d[minute(16, 59)], 2);
      assert.equal(d[minute(17, 0)], 3, 'If the group currently has fewer than three instances, the group scales out to three instances.');
      assert.ok(d[minute(19, 0)] > 3, `target tracking above the minimum: ${d[minute(19, 0)]}`);
      assert.equal(d[minute(25, 0)], d[minute(24, 59)], 'returning the minimum to 1 removes nothing by itself');
    },
  );

  rule(
    'the simulator runs the template’s scheduled actions: a pair per window, MinSize up then back',
    OVERRIDE,
    'To stop overriding the forecast, use a second scheduled action to return the minimum capacity to its original setting.',
    () => {
      const bf = getCalendarEvent('black-friday', 2026);
      const input = { forecast: { events: [bf] }, from: new Date(bf.startsAt.getTime() - 3 * HOUR), to: new Date(bf.startsAt.getTime() + 6 * HOUR), capacityPerInstanceRps: 150, pricePerInstanceHour: 0.085 };
      const actions = comparePolicies({ ...input, policies: ['aws-scheduled'] });
      // The same windows as a MinSize lookup give the same run: the actions are the windows' edges.
      const lookup = comparePolicies({ ...input, policies: ['aws-scheduled'], aws: { scheduledActions: undefined } });
      assert.ok(actions.windows.length > 0);
      assert.deepEqual(actions.results[0].totals, lookup.results[0].totals);
      assert.equal(actions.results[0].totals.minutesOverSlo, 0);
    },
  );
});

describe('EC2 Auto Scaling: predictive scaling', () => {
  const predictive = (p: AwsScalingConfig['predictive'], targetValue = 50): AwsScalingConfig => ({ ...cpu(targetValue), predictive: p });

  rule('ForecastOnly is the default mode: it forecasts and never scales', API_PSC, 'The predictive scaling mode. Defaults to `ForecastOnly` if not specified.', () => {
    assert.equal(evaluate(predictive({}), { sizes: sizes(4), predictedCapacity: 10 }).sizes.desiredCapacity, 4);
    assert.equal(evaluate(predictive({ mode: 'ForecastOnly' }), { sizes: sizes(4), predictedCapacity: 10 }).sizes.desiredCapacity, 4);
  });

  rule(
    'ForecastAndScale: below the forecast the group scales out to it; above it nothing is removed',
    PRED,
    "If actual capacity is greater than the predicted capacity, Amazon EC2 Auto Scaling doesn't scale in capacity.",
    () => {
      const up = evaluate(predictive({ mode: 'ForecastAndScale' }), { sizes: sizes(4), predictedCapacity: 10 });
      assert.deepEqual([up.sizes.desiredCapacity, up.reason], [10, 'predictive']);
      assert.equal(evaluate(predictive({ mode: 'ForecastAndScale' }), { sizes: sizes(12), predictedCapacity: 10 }).sizes.desiredCapacity, 12);
    },
  );

  rule(
    'the group’s minimum and maximum hold when the forecast is outside them',
    PRED,
    'The values that you set for the minimum and maximum capacity of the Auto Scaling group are adhered to if the predicted capacity is outside of this range.',
    () => {
      assert.equal(evaluate(predictive({ mode: 'ForecastAndScale' }), { sizes: sizes(4, 2, 20), predictedCapacity: 30 }).sizes.desiredCapacity, 20);
      assert.equal(evaluate(predictive({ mode: 'ForecastAndScale' }), { sizes: sizes(2, 2, 20), predictedCapacity: 1 }).sizes.desiredCapacity, 2);
    },
  );

  rule(
    'with target tracking: each policy sizes the group on its own and the larger wins (10 vs 8 → 10)',
    PRED,
    "For example, if 10 instances are required to stay at the target utilization in a target tracking scaling policy, and 8 instances are required to stay at the target utilization in a predictive scaling policy, then the group's desired capacity is set to 10.",
    () => {
      // Target tracking: 5 × 100 / 50 = 10; predictive: 8.
      assert.equal(evaluate(predictive({ mode: 'ForecastAndScale' }), { sizes: sizes(5), datapoints: [points(100)], predictedCapacity: 8 }).sizes.desiredCapacity, 10);
      // Target tracking would scale in to 3 (10 × 14 / 50 = 2.8); the forecast holds 8.
      assert.equal(evaluate(predictive({ mode: 'ForecastAndScale' }), { sizes: sizes(10), datapoints: [points(14)], predictedCapacity: 8 }).sizes.desiredCapacity, 8);
    },
  );

  rule(
    'a scheduled minimum above the forecast is honoured; below it the forecast scales',
    OVERRIDE,
    'Because predictive scaling optimizes for capacity, a scheduled action with a minimum capacity that is higher than the forecast values is honored.',
    () => {
      assert.equal(evaluate(predictive({ mode: 'ForecastAndScale' }), { sizes: sizes(12, 12, 20), predictedCapacity: 8 }).sizes.desiredCapacity, 12);
      assert.equal(evaluate(predictive({ mode: 'ForecastAndScale' }), { sizes: sizes(5, 5, 20), predictedCapacity: 8 }).sizes.desiredCapacity, 8);
    },
  );

  rule(
    'SchedulingBufferTime launches ahead of the hour: 10:00 with 5 minutes → 9:55 (default 300 s, under 3600 s)',
    API_PSC,
    'For example, the forecast says to add capacity at 10:00 AM, and you choose to pre-launch instances by 5 minutes. In that case, the instances will be launched at 9:55 AM.',
    () => {
      const day = Date.UTC(2026, 10, 23);
      const forecast = [
        { hourMs: day + 9 * HOUR, capacity: 4 },
        { hourMs: day + 10 * HOUR, capacity: 9 },
      ];
      assert.equal(getPredictedCapacity(forecast, day + 9 * HOUR + 54 * 60_000, 300), 4);
      assert.equal(getPredictedCapacity(forecast, day + 9 * HOUR + 55 * 60_000, 300), 9);
      assert.equal(getPredictedCapacity(forecast, day + 10 * HOUR + 30 * 60_000, 300), 9);
      // The lookup built from a known forecast follows the same rule.
      const lookup = createPredictiveLookup(forecast.map((f) => ({ hourMs: f.hourMs, replicas: f.capacity })));
      assert.deepEqual([lookup(day + 9 * HOUR + 54 * 60_000), lookup(day + 9 * HOUR + 55 * 60_000)], [4, 9]);
      assert.throws(() => checkAwsPredictiveConfiguration({ schedulingBufferTime: 3600 }), { code: 'INVALID_OPTION' });
      checkAwsPredictiveConfiguration({ schedulingBufferTime: 3599 });
    },
  );

  rule(
    'IncreaseMaxCapacity: a 10 % buffer on a forecast of 50 with a maximum of 40 gives 55; a 0 % buffer gives 50',
    API_PSC,
    'For example, if the buffer is 10, this means a 10 percent buffer, such that if the forecast capacity is 50, and the maximum capacity is 40, then the effective maximum capacity is 55.',
    () => {
      assert.equal(getPredictiveMaxSize(50, 10), 55);
      const increase = (maxCapacityBuffer: number) => predictive({ mode: 'ForecastAndScale', maxCapacityBreachBehavior: 'IncreaseMaxCapacity', maxCapacityBuffer });
      const d = evaluate(increase(10), { sizes: sizes(30, 2, 40), predictedCapacity: 50 });
      assert.deepEqual(d.sizes, sizes(50, 2, 55), 'the forecast is the desired capacity; the buffer is room above it');
      assert.equal(evaluate(increase(10), { sizes: sizes(50, 2, 55), datapoints: [points(100)] }).sizes.desiredCapacity, 55, 'target tracking may use the room');
      assert.deepEqual(evaluate(increase(0), { sizes: sizes(30, 2, 40), predictedCapacity: 50 }).sizes, sizes(50, 2, 50));
      assert.deepEqual(evaluate(predictive({ mode: 'ForecastAndScale' }), { sizes: sizes(30, 2, 40), predictedCapacity: 50 }).sizes, sizes(40, 2, 40), 'HonorMaxCapacity, the default');
      assert.throws(() => checkAwsPredictiveConfiguration({ maxCapacityBreachBehavior: 'IncreaseMaxCapacity' }), /required/);
      assert.throws(() => checkAwsPredictiveConfiguration({ maxCapacityBuffer: 10 }), /only be used/);
      assert.throws(() => checkAwsPredictiveConfiguration({ maxCapacityBreachBehavior: 'IncreaseMaxCapacity', maxCapacityBuffer: 101 }), /\[0, 100\]/);
    },
  );

  rule(
    'the raised maximum stays after the forecast falls',
    API_PSC,
    'The increased maximum capacity then becomes the new normal maximum capacity for the Auto Scaling group until you manually update it. The maximum capacity does not automatically decrease back to the original maximum.',
    () => {
      const config = predictive({ mode: 'ForecastAndScale', maxCapacityBreachBehavior: 'IncreaseMaxCapacity', maxCapacityBuffer: 10 });
      const first = evaluate(config, { sizes: sizes(30, 2, 40), predictedCapacity: 50 });
      const later = evaluate(config, { sizes: first.sizes, datapoints: [points(20)], predictedCapacity: 10 });
      assert.equal(later.sizes.maxSize, 55);
      assert.equal(later.sizes.desiredCapacity, 20, 'target tracking scales in (50 × 20 / 50 = 20), the maximum stays');
    },
  );

  const start = Date.UTC(2026, 10, 2); // a Monday
  // 100 req/s at night, 400 from 09:00 to 18:00; weekends 50 all day.
  const history = (hours: number, from = start): LoadHistoryPoint[] =>
    Array.from({ length: hours }, (_, h) => {
      const t = from + h * HOUR;
      const d = new Date(t);
      const weekend = d.getUTCDay() === 0 || d.getUTCDay() === 6;
      return { hourMs: t, load: weekend ? 50 : d.getUTCHours() >= 9 && d.getUTCHours() < 18 ? 400 : 100 };
    });
  const perInstance = (load: number) => Math.ceil(load / 50 - 1e-9);

  rule('no forecast before 24 hours of history', PRED, 'Predictive scaling requires 24 hours of metric history before it can generate forecasts.', () => {
    assert.deepEqual(forecastAwsCapacity(history(23), start + 23 * HOUR, perInstance), []);
    assert.equal(forecastAwsCapacity(history(24), start + 24 * HOUR, perInstance).length, 48);
  });

  rule(
    'an hourly forecast of the next 48 hours from the last 14 days, following daily and weekly patterns',
    PRED,
    'Predictive scaling finds patterns in CloudWatch metric data from the previous 14 days to create an hourly forecast for the next 48 hours.',
    () => {
      // Three weeks of history; the first week had 10 000 req/s and is older than 14 days.
      const h = history(21 * 24).map((p, i) => (i < 7 * 24 ? { ...p, load: 10_000 } : p));
      const madeAt = start + 21 * 24 * HOUR; // Monday 00:00
      const f = forecastAwsCapacity(h, madeAt, perInstance);
      assert.equal(f.length, 48);
      assert.deepEqual(
        f.map((x) => x.hourMs),
        Array.from({ length: 48 }, (_, i) => madeAt + i * HOUR),
      );
      assert.equal(f[10].capacity, 8, 'Monday 10:00: 400 req/s at 50 per instance');
      assert.equal(f[3].capacity, 2, 'Monday 03:00: 100 req/s');
    },
  );

  rule(
    'the forecast is remade every six hours, from the data before it',
    PRED,
    'Forecast data is updated every six hours based on the most recent CloudWatch metric data.',
    () => {
      assert.equal(getForecastTime(Date.UTC(2026, 10, 23, 9, 30)), Date.UTC(2026, 10, 23, 6));
      assert.equal(getForecastTime(Date.UTC(2026, 10, 23, 12)), Date.UTC(2026, 10, 23, 12));
      // Two days of history (daily pattern); a spike an hour after the forecast was made is not in it.
      const madeAt = start + 48 * HOUR;
      const h = [...history(48), { hourMs: madeAt + HOUR, load: 5_000 }];
      assert.equal(forecastAwsCapacity(h, madeAt, perInstance)[25].capacity, 2, 'tomorrow 01:00 from the two 01:00s before');
    },
  );

  rule(
    'the capacity forecast is the minimum capacity for each hour at the target; the scaler scales out to it',
    API_FORECAST,
    'Capacity forecasts are represented as predicted values for the minimum capacity that is needed on an hourly basis, based on the hourly load forecast.',
    () => {
      // 700 req/s every hour, 100 req/s per instance at 100 % CPU, target 70 %: 700 / 70 = 10 instances.
      const flat = Array.from({ length: 14 * 24 }, (_, i) => ({ hourMs: start + i * HOUR, load: 700 }));
      const startMs = start + 14 * 24 * HOUR + 30 * 60_000;
      const base = { history: flat, serviceRatePerInstance: 100, targetCpuPercent: 70 } as const;
      // The instances' own CPU is low (no target tracking scale-out): only the forecast can add them.
      const scaled = drive({ ...base, predictive: { mode: 'ForecastAndScale' } }, { minutes: 2, initial: 2, startMs, load: () => 0.6 });
      assert.equal(scaled[0], 10);
      assert.equal(drive({ ...base, predictive: { mode: 'ForecastOnly' } }, { minutes: 2, initial: 2, startMs, load: () => 0.6 })[0], 2);
    },
  );
});
