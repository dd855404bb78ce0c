/**
 * An EC2 Auto Scaling group as a simulated autoscaler: a target tracking policy on ASGAverageCPUUtilization
 * (one-minute datapoints over the instances past warm-up, after CloudWatch's delay), scheduled actions
 * (or a MinSize lookup), and a predictive scaling policy that forecasts from the group's load history.
 * The rules are in `aws-autoscaling.ts` and `aws-schedules.ts`; this file turns the simulated world into
 * their observations once a minute, when CloudWatch invokes the policies.
 */
import { ScalingInputError } from '../errors.ts';
import type { AwsGroupSizes, AwsPredictiveScalingConfiguration, AwsScalingConfig } from './aws-autoscaling.ts';
import { checkAwsPredictiveConfiguration, evaluateAwsAutoScaling, resolveInstanceWarmup } from './aws-autoscaling.ts';
import type { AwsCapacityForecastHour, AwsScheduledRun, AwsScheduledUpdateGroupAction } from './aws-schedules.ts';
import { applyScheduledAction, expandAwsScheduledActions, forecastAwsCapacity, getForecastTime, getPredictedCapacity } from './aws-schedules.ts';
import type { LoadHistoryPoint } from './gce-schedules.ts';
import type { Scaler, ScheduleLookup } from './scaler.ts';

/** ASG + target-tracking settings (the seed strategy's ASG: 2–20, CPU 70 %). */
export interface TargetTrackingOptions {
  /** @defaultValue 2 */
  minSize: number;
  /** @defaultValue 20 */
  maxSize: number;
  /** @defaultValue 70 */
  targetCpuPercent: number;
  /** The policy's DisableScaleIn. @defaultValue false */
  disableScaleIn: boolean;
  /** One-minute datapoints above target before scale-out (not documented by AWS; SCALING-ENGINES.md). @defaultValue 3 */
  scaleOutDatapoints: number;
  /** One-minute datapoints below `scaleInThresholdRatio × target` before scale-in (not documented by AWS; SCALING-ENGINES.md). @defaultValue 15 */
  scaleInDatapoints: number;
  /** Scale-in alarm threshold as a fraction of the target: AWS puts it "usually more than 10% lower" than the target. @defaultValue 0.9 */
  scaleInThresholdRatio: number;
  /** CloudWatch delay before a one-minute datapoint is available. @defaultValue 60 */
  metricDelaySeconds: number;
  /**
   * The policy's EstimatedInstanceWarmup: from InService until the instance's metrics are aggregated; scale-in
   * waits for it. Unset: the group's `defaultInstanceWarmupSeconds`, else `defaultCooldownSeconds`.
   */
  instanceWarmupSeconds?: number;
  /** The group's DefaultInstanceWarmup (0–3600; -1 turns it off). Not set by default, as on AWS. */
  defaultInstanceWarmupSeconds?: number;
  /** The group's DefaultCooldown: only simple scaling waits for it; it is the warm-up when none is set. @defaultValue 300 */
  defaultCooldownSeconds: number;
  /** Launch to InService (running and registered with the load balancer): when warm-up starts. @defaultValue 30 */
  launchToInServiceSeconds: number;
  /** Launch to InService behind the ALB: EC2 boot ~30 s + app ~20 s + 5 × 30 s health checks. @defaultValue 200 */
  instanceReadySeconds: number;
  /** Load balancer deregistration delay: terminating instances count as capacity for scale-in this long. @defaultValue 300 */
  deregistrationDelaySeconds: number;
  /**
   * Minimum time between scale-in actions. EC2 target tracking has no such cooldown (cooldowns are for
   * simple scaling); kept to compare with engines that have one. @defaultValue 0
   */
  scaleInCooldownSeconds: number;
  /** Highest CPU % an instance shows. @defaultValue 100 */
  maxCpuPercent: number;
  /** A minimum capacity at an instant (pre-scaling windows, or a known forecast as `createPredictiveLookup` builds). */
  minCapacity?: ScheduleLookup;
  /** Scheduled actions (`AWS::AutoScaling::ScheduledAction` properties), applied when they run. */
  scheduledActions?: readonly AwsScheduledUpdateGroupAction[];
  /** A predictive scaling policy (its TargetValue is `targetCpuPercent`); it needs `history` and `serviceRatePerInstance`. */
  predictive?: AwsPredictiveScalingConfiguration;
  /** Hourly load history (requests/s) the predictive forecast learns from. */
  history?: readonly LoadHistoryPoint[];
  /** Requests/s one instance serves at 100 % CPU: turns a load forecast into a capacity at the target. */
  serviceRatePerInstance?: number;
}

/** The group is evaluated (scheduled actions applied, alarms read) once a minute. */
export const AWS_EVALUATION_SECONDS = 60;

export const DEFAULT_TARGET_TRACKING: TargetTrackingOptions = {
  minSize: 2,
  maxSize: 20,
  targetCpuPercent: 70,
  disableScaleIn: false,
  scaleOutDatapoints: 3,
  scaleInDatapoints: 15,
  scaleInThresholdRatio: 0.9,
  metricDelaySeconds: 60,
  defaultCooldownSeconds: 300,
  launchToInServiceSeconds: 30,
  instanceReadySeconds: 200,
  deregistrationDelaySeconds: 300,
  scaleInCooldownSeconds: 0,
  maxCpuPercent: 100,
};

const DAY_MS = 86_400_000;

export function createTargetTrackingScaler(options: Partial<TargetTrackingOptions> = {}): Scaler {
  const o: TargetTrackingOptions = { ...DEFAULT_TARGET_TRACKING, ...options };
  const warmup = resolveInstanceWarmup({ estimatedInstanceWarmup: o.instanceWarmupSeconds, defaultInstanceWarmup: o.defaultInstanceWarmupSeconds, defaultCooldown: o.defaultCooldownSeconds });
  if (o.launchToInServiceSeconds > o.instanceReadySeconds) throw new ScalingInputError('INVALID_OPTION', `launchToInServiceSeconds ${o.launchToInServiceSeconds} exceeds instanceReadySeconds ${o.instanceReadySeconds}`);
  if (o.predictive) checkAwsPredictiveConfiguration(o.predictive);
  const config: AwsScalingConfig = {
    targetTracking: [{ targetValue: o.targetCpuPercent, disableScaleIn: o.disableScaleIn }],
    alarms: { scaleOutDatapoints: o.scaleOutDatapoints, scaleInDatapoints: o.scaleInDatapoints, scaleInThresholdRatio: o.scaleInThresholdRatio },
    predictive: o.predictive,
  };
  const datapointCount = Math.max(o.scaleOutDatapoints, o.scaleInDatapoints);
  const sizes: AwsGroupSizes = { minSize: o.minSize, maxSize: o.maxSize, desiredCapacity: o.minSize };
  const terminations: { at: number; count: number }[] = [];
  let lastScaleIn = Number.NEGATIVE_INFINITY;
  // Scheduled actions are listed a day ahead at a time. At the first run every past one-off action is
  // applied, and the recurring ones of the last week (a monthly or yearly recurrence before that is not).
  let runs: AwsScheduledRun[] = [];
  let expandedUntil: number | undefined;
  let forecast: { madeAt: number; hours: AwsCapacityForecastHour[] } | undefined;

  const applyScheduledActions = (nowMs: number) => {
    if (!o.scheduledActions || o.scheduledActions.length === 0) return;
    if (expandedUntil === undefined) {
      runs = expandAwsScheduledActions(o.scheduledActions, Number.NEGATIVE_INFINITY, nowMs + DAY_MS, nowMs - 7 * DAY_MS);
      expandedUntil = nowMs + DAY_MS;
    } else if (nowMs > expandedUntil) {
      runs = runs.concat(expandAwsScheduledActions(o.scheduledActions, expandedUntil + 1, nowMs + DAY_MS));
      expandedUntil = nowMs + DAY_MS;
    }
    while (runs.length > 0 && runs[0].atMs <= nowMs) {
      const run = runs.shift();
      if (run) Object.assign(sizes, applyScheduledAction(sizes, run.action).sizes);
    }
  };

  const predictedCapacity = (nowMs: number): number | undefined => {
    if (!o.predictive || !o.history || !o.serviceRatePerInstance) return undefined;
    const madeAt = getForecastTime(nowMs);
    if (forecast?.madeAt !== madeAt) {
      const perInstance = (o.serviceRatePerInstance * o.targetCpuPercent) / 100;
      forecast = { madeAt, hours: forecastAwsCapacity(o.history, madeAt, (load) => Math.ceil(load / perInstance - 1e-9)) };
    }
    return getPredictedCapacity(forecast.hours, nowMs, o.predictive.schedulingBufferTime ?? 300);
  };

  return {
    intervalSeconds: AWS_EVALUATION_SECONDS,
    readyDelaySeconds: o.instanceReadySeconds,
    decide(ctx) {
      const current = ctx.pods.length;
      sizes.desiredCapacity = current;
      applyScheduledActions(ctx.nowMs);
      const floor = o.minCapacity?.(ctx.nowMs) ?? 0;
      const minSize = Math.min(sizes.maxSize, Math.max(sizes.minSize, floor));

      const warmAt = (startedAt: number) => startedAt + o.launchToInServiceSeconds + warmup;
      const latestEnd = ctx.now - o.metricDelaySeconds;
      // Warming instances' metrics are not aggregated: a datapoint exists only if some instance was past warm-up.
      const datapoint = (end: number): number | undefined => {
        if (!ctx.pods.some((p) => warmAt(p.startedAt) <= end) || !ctx.anyReadyAt(end)) return undefined;
        return Math.min(o.maxCpuPercent, ctx.utilizationAt(end, 60) * 100);
      };
      const datapoints = Array.from({ length: datapointCount }, (_, k) => datapoint(latestEnd - (datapointCount - 1 - k) * 60));
      const warm = ctx.pods.filter((p) => warmAt(p.startedAt) <= ctx.now).length;
      // Instances a scheduled action just asked for are launching: a scale-out in progress, like the warming ones.
      const launching = Math.max(0, sizes.desiredCapacity - current);
      const terminating = terminations.filter((t) => t.at + o.deregistrationDelaySeconds > ctx.now).reduce((s, t) => s + t.count, 0);

      const decision = evaluateAwsAutoScaling(config, {
        sizes: { ...sizes, minSize },
        warmInstances: warm,
        warmingInstances: current - warm + launching,
        terminatingInstances: terminating,
        datapoints: [datapoints],
        predictedCapacity: predictedCapacity(ctx.nowMs),
      });
      sizes.maxSize = decision.sizes.maxSize;
      let desired = decision.sizes.desiredCapacity;
      if (decision.reason === 'scale-in' && ctx.now - lastScaleIn < o.scaleInCooldownSeconds) desired = current;
      if (desired < current) {
        terminations.push({ at: ctx.now, count: current - desired });
        if (decision.reason === 'scale-in') lastScaleIn = ctx.now;
      }
      sizes.desiredCapacity = desired;
      return desired;
    },
  };
}
