/**
 * Variance-stabilising transforms for count series (FPP3 §3.1): none, log(1 + y) and Box-Cox on
 * 1 + y (so that zero-traffic hours stay finite). λ is chosen by Guerrero's method, as R's
 * `forecast::BoxCox.lambda(x, method = "guerrero")` does; the test checks it against R.
 */

export type TransformName = 'none' | 'log1p' | 'boxcox';

/** A fitted transform: forward on the series, inverse on forecasts (clipped at 0 traffic). */
export interface Transform {
  name: TransformName;
  /** Box-Cox λ (only for `boxcox`). */
  lambda?: number;
  forward(y: number): number;
  inverse(z: number): number;
}

function boxCox(y: number, lambda: number): number {
  return lambda === 0 ? Math.log(y) : (y ** lambda - 1) / lambda;
}

function invBoxCox(z: number, lambda: number): number {
  if (lambda === 0) return Math.exp(z);
  const base = lambda * z + 1;
  return base <= 0 ? 0 : base ** (1 / lambda);
}

function sd(values: readonly number[]): number {
  const m = values.reduce((a, b) => a + b, 0) / values.length;
  return Math.sqrt(values.reduce((a, b) => a + (b - m) ** 2, 0) / (values.length - 1));
}

/**
 * Guerrero (1993) as in R's forecast package: split the series into subseries of length `period`,
 * and choose λ in [lower, upper] minimising the coefficient of variation of sd / mean^(1−λ).
 * R minimises with `optimize` (golden section, tol ≈ 1.2e-4); so does this.
 */
export function getGuerreroLambda(x: readonly number[], period: number, lower = -1, upper = 2): number {
  const groups = Math.floor(x.length / period);
  const start = x.length - groups * period;
  const means: number[] = [];
  const sds: number[] = [];
  for (let g = 0; g < groups; g++) {
    const part = x.slice(start + g * period, start + (g + 1) * period);
    means.push(part.reduce((a, b) => a + b, 0) / period);
    sds.push(sd(part));
  }
  const cv = (lambda: number) => {
    const rat = sds.map((s, i) => s / means[i] ** (1 - lambda));
    return sd(rat) / (rat.reduce((a, b) => a + b, 0) / rat.length);
  };
  // Golden-section search (R's optimize), tolerance as R's default.
  const gr = (Math.sqrt(5) - 1) / 2;
  let a = lower;
  let b = upper;
  let c = b - gr * (b - a);
  let d = a + gr * (b - a);
  while (Math.abs(b - a) > 1e-5) {
    if (cv(c) < cv(d)) b = d;
    else a = c;
    c = b - gr * (b - a);
    d = a + gr * (b - a);
  }
  return (a + b) / 2;
}

/** Builds a transform; Box-Cox λ from the series (Guerrero, period 168, λ in [0, 1]). */
export function createTransform(name: TransformName, y?: readonly number[]): Transform {
  if (name === 'none') return { name, forward: (v) => v, inverse: (z) => Math.max(0, z) };
  if (name === 'log1p') return { name, forward: (v) => Math.log1p(v), inverse: (z) => Math.max(0, Math.expm1(z)) };
  const lambda = y && y.length >= 2 * 168 ? getGuerreroLambda(y.map((v) => v + 1), 168, 0, 1) : 0.5;
  return { name, lambda, forward: (v) => boxCox(v + 1, lambda), inverse: (z) => Math.max(0, invBoxCox(z, lambda) - 1) };
}

export const TRANSFORM_NAMES: readonly TransformName[] = ['none', 'log1p', 'boxcox'];
