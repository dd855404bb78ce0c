/**
 * One evaluation of an EC2 Auto Scaling group's dynamic and predictive scaling, from AWS's public
 * documentation (EC2 Auto Scaling User Guide: as-scaling-target-tracking, ec2-auto-scaling-default-instance-warmup,
 * consolidated-view-of-warm-up-and-cooldown-settings, ec2-auto-scaling-scaling-cooldowns, as-scale-based-on-demand,
 * ec2-auto-scaling-predictive-scaling; API reference: TargetTrackingConfiguration, PredictiveScalingConfiguration,
 * UpdateAutoScalingGroup; the CloudWatch User Guide on alarm actions). AWS publishes no source: each rule below
 * names the sentence it implements in `aws-autoscaling.test.ts`.
 *
 * What AWS does not document is the project's model (/work/shared/SCALING-ENGINES.md), said so where decided:
 * the datapoints of the alarms target tracking creates (3 one-minute datapoints above the target; 15 below the
 * scale-in threshold, which AWS puts "usually more than 10% lower" than the target: 0.9 × target) and
 * the capacity formula (`ceil(capacity × metric / target)`, which reproduces the documented rounding).
 *
 * One run (CloudWatch invokes a policy every minute its alarm stays in ALARM): every target tracking policy
 * whose high alarm is in ALARM proposes a capacity from the instances past warm-up, and the group scales out
 * to the largest if it exceeds the desired capacity (instances still warming up are part of it); only if
 * none does, and every policy with scale-in enabled has its low alarm in ALARM, and no instance is warming
 * up, it scales in to the largest proposal, counting terminating instances as capacity. Predictive scaling
 * (ForecastAndScale) then raises the desired capacity to the forecast, never lowers it, and may raise the
 * maximum (IncreaseMaxCapacity). The result stays within [min, max]. Pure: sizes in, sizes out.
 */
import { ScalingInputError } from '../errors.ts';

/** The group's MinSize, MaxSize and DesiredCapacity. */
export interface AwsGroupSizes {
  minSize: number;
  maxSize: number;
  desiredCapacity: number;
}

/** `TargetTrackingConfiguration` as far as the decision needs it. */
export interface AwsTargetTrackingPolicy {
  /** TargetValue (percent for ASGAverageCPUUtilization). */
  targetValue: number;
  /** DisableScaleIn. @defaultValue false */
  disableScaleIn?: boolean;
}

/**
 * The two CloudWatch alarms a target tracking policy creates. AWS does not document their datapoints
 * (SCALING-ENGINES.md's figures); the scale-in threshold is "usually more than 10% lower" than the target
 * (Application Auto Scaling User Guide, target-tracking-scaling-policy-overview).
 */
export interface AwsTargetTrackingAlarms {
  /** High alarm: this many consecutive one-minute datapoints above the target. @defaultValue 3 */
  scaleOutDatapoints: number;
  /** Low alarm: this many consecutive one-minute datapoints below `scaleInThresholdRatio × target`. @defaultValue 15 */
  scaleInDatapoints: number;
  /** @defaultValue 0.9 */
  scaleInThresholdRatio: number;
}

export const DEFAULT_AWS_ALARMS: AwsTargetTrackingAlarms = { scaleOutDatapoints: 3, scaleInDatapoints: 15, scaleInThresholdRatio: 0.9 };

/** `PredictiveScalingConfiguration` (API names, camel-cased). */
export interface AwsPredictiveScalingConfiguration {
  /** @defaultValue 'ForecastOnly' */
  mode?: 'ForecastOnly' | 'ForecastAndScale';
  /** Seconds the launch is advanced before each forecast hour; below 3600. @defaultValue 300 */
  schedulingBufferTime?: number;
  /** @defaultValue 'HonorMaxCapacity' */
  maxCapacityBreachBehavior?: 'HonorMaxCapacity' | 'IncreaseMaxCapacity';
  /** Percent of the forecast the maximum may be raised to above it (0–100); only with IncreaseMaxCapacity. */
  maxCapacityBuffer?: number;
}

/** Checks a predictive configuration against the API's rules; throws ScalingInputError. */
export function checkAwsPredictiveConfiguration(c: AwsPredictiveScalingConfiguration): void {
  const buffer = c.schedulingBufferTime ?? 300;
  if (!(Number.isInteger(buffer) && buffer >= 0 && buffer < 3600)) throw new ScalingInputError('INVALID_OPTION', `SchedulingBufferTime must be an integer in [0, 3600) seconds (got ${buffer})`);
  const increase = c.maxCapacityBreachBehavior === 'IncreaseMaxCapacity';
  if (increase && c.maxCapacityBuffer === undefined) throw new ScalingInputError('INVALID_OPTION', 'MaxCapacityBuffer is required with MaxCapacityBreachBehavior IncreaseMaxCapacity');
  if (!increase && c.maxCapacityBuffer !== undefined) throw new ScalingInputError('INVALID_OPTION', 'MaxCapacityBuffer can only be used with MaxCapacityBreachBehavior IncreaseMaxCapacity');
  if (c.maxCapacityBuffer !== undefined && !(Number.isInteger(c.maxCapacityBuffer) && c.maxCapacityBuffer >= 0 && c.maxCapacityBuffer <= 100)) {
    throw new ScalingInputError('INVALID_OPTION', `MaxCapacityBuffer must be an integer in [0, 100] (got ${c.maxCapacityBuffer})`);
  }
}

export type AwsAlarmState = 'OK' | 'ALARM' | 'INSUFFICIENT_DATA';

/**
 * A CloudWatch alarm over the last `datapointsToAlarm` one-minute datapoints (oldest first): ALARM when
 * every one is present and breaching, INSUFFICIENT_DATA when the newest is missing, else OK.
 */
export function evaluateAlarm(datapoints: readonly (number | undefined)[], breaches: (value: number) => boolean, datapointsToAlarm: number): AwsAlarmState {
  if (datapoints.length === 0 || datapoints.at(-1) === undefined) return 'INSUFFICIENT_DATA';
  const window = datapoints.slice(-datapointsToAlarm);
  return window.length === datapointsToAlarm && window.every((v) => v !== undefined && breaches(v)) ? 'ALARM' : 'OK';
}

const EPS = 1e-9;

/** Capacity that brings `metric` back to `target`, rounded up (never too few instances, never too many removed). */
export function getTargetTrackingCapacity(capacity: number, metric: number, target: number): number {
  return Math.ceil((capacity * metric) / target - EPS);
}

/** The maximum IncreaseMaxCapacity allows for a forecast: the forecast plus MaxCapacityBuffer percent of it. */
export function getPredictiveMaxSize(forecastCapacity: number, maxCapacityBuffer: number): number {
  return Math.ceil(forecastCapacity * (1 + maxCapacityBuffer / 100) - EPS);
}

/** What the group looks like when its policies run. */
export interface AwsObservation {
  sizes: AwsGroupSizes;
  /** Instances past their warm-up: the metric is aggregated over them. */
  warmInstances: number;
  /** Instances launched and not past their warm-up (pending or InService): part of the desired capacity, not of the metric. */
  warmingInstances: number;
  /** Instances leaving the group (deregistration delay): counted as capacity when scaling in. */
  terminatingInstances?: number;
  /** Per target tracking policy (same order): one-minute datapoints of its metric, oldest first; undefined where there was no data. */
  datapoints: readonly (readonly (number | undefined)[])[];
  /** The capacity the predictive forecast asks for now (this hour's, from SchedulingBufferTime before it). */
  predictedCapacity?: number;
}

export interface AwsScalingConfig {
  targetTracking: readonly AwsTargetTrackingPolicy[];
  /** @defaultValue DEFAULT_AWS_ALARMS */
  alarms?: AwsTargetTrackingAlarms;
  predictive?: AwsPredictiveScalingConfiguration;
}

export interface AwsPolicyEvaluation {
  high: AwsAlarmState;
  low: AwsAlarmState;
  /** Capacity proposed by the policy when its high alarm is in ALARM. */
  scaleOut?: number;
  /** Capacity proposed when its low alarm is in ALARM and scale-in is enabled. */
  scaleIn?: number;
}

export interface AwsDecision {
  sizes: AwsGroupSizes;
  /** What moved the desired capacity: 'scale-out', 'scale-in', 'predictive', 'warm-up' (a scale-in held by warming instances) or ''. */
  reason: string;
  /** 'min' or 'max' when the group's limits cut the result, else ''. */
  limitedBy: string;
  policies: AwsPolicyEvaluation[];
}

/** One run of the group's scaling policies. */
export function evaluateAwsAutoScaling(config: AwsScalingConfig, obs: AwsObservation): AwsDecision {
  const alarms = config.alarms ?? DEFAULT_AWS_ALARMS;
  let { minSize, maxSize, desiredCapacity: desired } = obs.sizes;
  const policies = config.targetTracking.map((p, i): AwsPolicyEvaluation => {
    const points = obs.datapoints[i] ?? [];
    const latest = points.at(-1);
    const high = evaluateAlarm(points, (v) => v > p.targetValue, alarms.scaleOutDatapoints);
    const low = evaluateAlarm(points, (v) => v < alarms.scaleInThresholdRatio * p.targetValue, alarms.scaleInDatapoints);
    const e: AwsPolicyEvaluation = { high, low };
    if (latest === undefined) return e;
    // Scale-out sizes the instances whose metric is aggregated; the ones still warming up are already in
    // the desired capacity, so they are not launched twice. Scale-in counts terminating instances too.
    if (high === 'ALARM') e.scaleOut = getTargetTrackingCapacity(obs.warmInstances, latest, p.targetValue);
    if (low === 'ALARM' && !p.disableScaleIn) e.scaleIn = getTargetTrackingCapacity(obs.warmInstances + (obs.terminatingInstances ?? 0), latest, p.targetValue);
    return e;
  });

  let next = desired;
  let reason = '';
  const outs = policies.flatMap((p) => (p.scaleOut === undefined ? [] : [p.scaleOut]));
  const ins = policies.filter((_, i) => !config.targetTracking[i].disableScaleIn);
  if (outs.length > 0) {
    // Any policy ready to scale out wins; the largest capacity is taken.
    if (Math.max(...outs) > desired) [next, reason] = [Math.max(...outs), 'scale-out'];
  } else if (ins.length > 0 && ins.every((p) => p.scaleIn !== undefined)) {
    const proposal = Math.max(...ins.map((p) => p.scaleIn ?? desired));
    if (proposal < desired) {
      if (obs.warmingInstances > 0) reason = 'warm-up';
      else [next, reason] = [proposal, 'scale-in'];
    }
  }

  const predictive = config.predictive;
  if (predictive?.mode === 'ForecastAndScale' && obs.predictedCapacity !== undefined) {
    if (predictive.maxCapacityBreachBehavior === 'IncreaseMaxCapacity') maxSize = Math.max(maxSize, getPredictiveMaxSize(obs.predictedCapacity, predictive.maxCapacityBuffer ?? 0));
    const forecast = Math.min(maxSize, Math.max(minSize, obs.predictedCapacity));
    // Predictive scaling only scales out: each policy sizes the group on its own and the largest wins.
    if (forecast > next) [next, reason] = [forecast, 'predictive'];
  }

  let limitedBy = '';
  if (next > maxSize) [next, limitedBy] = [maxSize, 'max'];
  if (next < minSize) [next, limitedBy] = [minSize, 'min'];
  desired = next;
  return { sizes: { minSize, maxSize, desiredCapacity: desired }, reason, limitedBy, policies };
}

/** Instance warm-up settings of a group and its policy. */
export interface AwsWarmupSettings {
  /** The policy's EstimatedInstanceWarmup. */
  estimatedInstanceWarmup?: number;
  /** The group's DefaultInstanceWarmup (0–3600; -1 or unset: off, the default). */
  defaultInstanceWarmup?: number;
  /** The group's DefaultCooldown. @defaultValue 300 */
  defaultCooldown?: number;
}

/** The warm-up a target tracking policy uses: its own, else the group's default instance warmup, else the default cooldown. */
export function resolveInstanceWarmup(s: AwsWarmupSettings): number {
  const group = s.defaultInstanceWarmup === -1 ? undefined : s.defaultInstanceWarmup;
  if (group !== undefined && !(Number.isInteger(group) && group >= 0 && group <= 3600)) {
    throw new ScalingInputError('INVALID_OPTION', `DefaultInstanceWarmup must be an integer from 0 to 3600 seconds, or -1 to turn it off (got ${group})`);
  }
  return s.estimatedInstanceWarmup ?? group ?? s.defaultCooldown ?? 300;
}
