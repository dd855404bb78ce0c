/**
 * HPA `spec.behavior` types and the API server's defaulting
 * (kubernetes `pkg/apis/autoscaling/v2/defaults.go`: GenerateHPAScaleUpRules / GenerateHPAScaleDownRules).
 */
import { ScalingInputError } from '../errors.ts';

export type HpaPolicyType = 'Pods' | 'Percent';
export type HpaSelectPolicy = 'Max' | 'Min' | 'Disabled';

/** One rate-limit policy of a scaling direction. */
export interface HpaScalingPolicy {
  /** `Pods` adds/removes a fixed count; `Percent` a share of the replicas at the start of the period. */
  type: HpaPolicyType;
  /** An integer from 1 (int32). */
  value: number;
  /** Length of the look-back period, 1–1800 s. */
  periodSeconds: number;
}

/** Rules for one direction, with the defaults filled in. */
export interface HpaScalingRules {
  /** Recommendations inside this window are considered (0–3600 s). */
  stabilizationWindowSeconds: number;
  /** @defaultValue 'Max' */
  selectPolicy: HpaSelectPolicy;
  policies: HpaScalingPolicy[];
  /**
   * Per-direction tolerance (`HPAConfigurableTolerance`, beta and on by default in v1.35); unset
   * means the controller flag (0.1).
   */
  tolerance?: number;
}

/** A fully defaulted `spec.behavior`. */
export interface HpaBehavior {
  scaleUp: HpaScalingRules;
  scaleDown: HpaScalingRules;
}

/** `spec.behavior` as a user writes it: any field may be left out. */
export interface HpaBehaviorInput {
  scaleUp?: Partial<HpaScalingRules>;
  scaleDown?: Partial<HpaScalingRules>;
}

const MAX_INT32 = 2 ** 31 - 1;

/** Controller flag `--horizontal-pod-autoscaler-downscale-stabilization`. @defaultValue 300 */
export const DEFAULT_DOWNSCALE_STABILIZATION_SECONDS = 300;

/** scaleUp: window 0, policies Percent 100 / 15 s and Pods 4 / 15 s, selectPolicy Max. */
export const DEFAULT_SCALE_UP_RULES: HpaScalingRules = {
  stabilizationWindowSeconds: 0,
  selectPolicy: 'Max',
  policies: [
    { type: 'Pods', value: 4, periodSeconds: 15 },
    { type: 'Percent', value: 100, periodSeconds: 15 },
  ],
};

/** scaleDown: window from the controller flag (300 s), policy Percent 100 / 15 s, selectPolicy Max. */
export const DEFAULT_SCALE_DOWN_RULES: HpaScalingRules = {
  stabilizationWindowSeconds: DEFAULT_DOWNSCALE_STABILIZATION_SECONDS,
  selectPolicy: 'Max',
  policies: [{ type: 'Percent', value: 100, periodSeconds: 15 }],
};

function validateRules(rules: HpaScalingRules, direction: string): HpaScalingRules {
  const where = `behavior.${direction}`;
  const w = rules.stabilizationWindowSeconds;
  if (!Number.isInteger(w) || w < 0 || w > 3600) {
    throw new ScalingInputError('INVALID_OPTION', `${where}.stabilizationWindowSeconds must be an integer 0–3600 (got ${w})`);
  }
  if (!['Max', 'Min', 'Disabled'].includes(rules.selectPolicy)) {
    throw new ScalingInputError('INVALID_OPTION', `${where}.selectPolicy must be Max, Min or Disabled (got ${rules.selectPolicy})`);
  }
  if (rules.tolerance !== undefined && !(rules.tolerance >= 0)) {
    throw new ScalingInputError('INVALID_OPTION', `${where}.tolerance must be ≥ 0 (got ${rules.tolerance})`);
  }
  for (const p of rules.policies) {
    if (p.type !== 'Pods' && p.type !== 'Percent') {
      throw new ScalingInputError('INVALID_OPTION', `${where}.policies[].type must be Pods or Percent (got ${p.type})`);
    }
    // HPAScalingPolicy.value is an int32: the API server refuses 1.5 (and the rate limit would allow 4.5 replicas).
    if (!(Number.isInteger(p.value) && p.value > 0 && p.value <= MAX_INT32)) throw new ScalingInputError('INVALID_OPTION', `${where}.policies[].value must be an integer from 1 to ${MAX_INT32} (got ${p.value})`);
    if (!Number.isInteger(p.periodSeconds) || p.periodSeconds < 1 || p.periodSeconds > 1800) {
      throw new ScalingInputError('INVALID_OPTION', `${where}.policies[].periodSeconds must be 1–1800 (got ${p.periodSeconds})`);
    }
  }
  return rules;
}

/**
 * Fills a partial `spec.behavior` the way the API server does: missing fields of a direction come
 * from that direction's defaults (policies are replaced as a whole, not merged).
 */
export function normalizeBehavior(
  input: HpaBehaviorInput = {},
  downscaleStabilizationSeconds = DEFAULT_DOWNSCALE_STABILIZATION_SECONDS,
): HpaBehavior {
  const up = input.scaleUp ?? {};
  const down = input.scaleDown ?? {};
  return {
    scaleUp: validateRules(
      {
        stabilizationWindowSeconds: up.stabilizationWindowSeconds ?? DEFAULT_SCALE_UP_RULES.stabilizationWindowSeconds,
        selectPolicy: up.selectPolicy ?? 'Max',
        policies: up.policies ?? DEFAULT_SCALE_UP_RULES.policies,
        ...(up.tolerance !== undefined ? { tolerance: up.tolerance } : {}),
      },
      'scaleUp',
    ),
    scaleDown: validateRules(
      {
        stabilizationWindowSeconds: down.stabilizationWindowSeconds ?? downscaleStabilizationSeconds,
        selectPolicy: down.selectPolicy ?? 'Max',
        policies: down.policies ?? DEFAULT_SCALE_DOWN_RULES.policies,
        ...(down.tolerance !== undefined ? { tolerance: down.tolerance } : {}),
      },
      'scaleDown',
    ),
  };
}
