/**
 * STL: seasonal-trend decomposition by loess (Cleveland, Cleveland, McRae & Terpenning, 1990,
 * J. Official Statistics 6, 3–73), ported from the Fortran behind R's `stats::stl` (netlib `stl`,
 * the routines stless, stlest, stlss, stlfts, stlma, stlstp, stlrwt) with R's defaults and its
 * periodic averaging, so that it gives R's numbers (the test checks them against a fixture that
 * R printed). augurs runs STL inside MSTL but does not expose the decomposition; this one is for
 * looking at a series' parts and for checking models that rest on them.
 *
 * Indices below are 0-based; the Fortran's are 1-based, so positions (`xs`, `j`) are kept 1-based
 * inside the loess where distances are computed, exactly as there.
 *
 * The non-robust decomposition matches R to the 10 digits R printed (`r-stl.fixture.json`). The robust
 * one (`robust: true`) takes the bisquare weights of |remainder| / (6 × its exact median); R's
 * weights on the Atlanta series differ from that formula applied to R's own fit by about 1 % (its
 * Fortran takes the median from a partial sort), so robust results agree with R only to about 1 %.
 */

export interface StlOptions {
  /** Seasonal period (observations per cycle), ≥ 2. */
  period: number;
  /** Seasonal loess span (odd, ≥ 7 recommended) or 'periodic' (R: `s.window = "periodic"`). */
  seasonalWindow: number | 'periodic';
  /** @defaultValue 0 (1 is allowed) */
  seasonalDegree?: 0 | 1;
  /** @defaultValue R's: nextodd(ceiling(1.5 · period / (1 − 1.5 / seasonalWindow))) */
  trendWindow?: number;
  /** @defaultValue 1 */
  trendDegree?: 0 | 1;
  /** @defaultValue nextodd(period) */
  lowPassWindow?: number;
  /** @defaultValue false (robust: 1 inner and 15 outer iterations with bisquare weights) */
  robust?: boolean;
  /** @defaultValue robust ? 1 : 2 */
  inner?: number;
  /** @defaultValue robust ? 15 : 0 */
  outer?: number;
}

export interface StlResult {
  seasonal: number[];
  trend: number[];
  remainder: number[];
  /** Robustness weights (all 1 when not robust). */
  weights: number[];
}

const nextOdd = (x: number) => {
  const r = Math.round(x);
  return r % 2 === 0 ? r + 1 : r;
};

/** Loess estimate at 1-based position xs from the points nleft…nright (1-based) of y; undefined if no weight. */
function estimate(y: ArrayLike<number>, n: number, len: number, degree: number, xs: number, nleft: number, nright: number, w: Float64Array, rw: ArrayLike<number> | null): number | undefined {
  const range = n - 1;
  let h = Math.max(xs - nleft, nright - xs);
  if (len > n) h += Math.trunc((len - n) / 2);
  const h9 = 0.999 * h;
  const h1 = 0.001 * h;
  let a = 0;
  for (let j = nleft; j <= nright; j++) {
    w[j - 1] = 0;
    const r = Math.abs(j - xs);
    if (r <= h9) {
      w[j - 1] = r <= h1 ? 1 : (1 - (r / h) ** 3) ** 3;
      if (rw) w[j - 1] *= rw[j - 1];
      a += w[j - 1];
    }
  }
  if (a <= 0) return undefined;
  for (let j = nleft; j <= nright; j++) w[j - 1] /= a;
  if (h > 0 && degree > 0) {
    let m = 0;
    for (let j = nleft; j <= nright; j++) m += w[j - 1] * j;
    let b = xs - m;
    let c = 0;
    for (let j = nleft; j <= nright; j++) c += w[j - 1] * (j - m) ** 2;
    if (Math.sqrt(c) > 0.001 * range) {
      b /= c;
      for (let j = nleft; j <= nright; j++) w[j - 1] *= b * (j - m) + 1;
    }
  }
  let ys = 0;
  for (let j = nleft; j <= nright; j++) ys += w[j - 1] * y[j - 1];
  return ys;
}

/** Loess smoothing of y (length n) with span len, evaluated every `jump` points and interpolated (stless). */
function smooth(y: ArrayLike<number>, n: number, len: number, degree: number, jump: number, rw: ArrayLike<number> | null, ys: Float64Array, offset: number): void {
  const w = new Float64Array(n);
  const set = (i: number, v: number | undefined) => {
    ys[offset + i - 1] = v ?? y[i - 1];
  };
  if (n < 2) {
    ys[offset] = y[0];
    return;
  }
  const newnj = Math.min(jump, n - 1);
  let nleft = 1;
  let nright = n;
  if (len >= n) {
    nleft = 1;
    nright = n;
    for (let i = 1; i <= n; i += newnj) set(i, estimate(y, n, len, degree, i, nleft, nright, w, rw));
  } else if (newnj === 1) {
    const nsh = Math.trunc((len + 1) / 2);
    nleft = 1;
    nright = len;
    for (let i = 1; i <= n; i++) {
      if (i > nsh && nright !== n) {
        nleft++;
        nright++;
      }
      set(i, estimate(y, n, len, degree, i, nleft, nright, w, rw));
    }
  } else {
    const nsh = Math.trunc((len + 1) / 2);
    for (let i = 1; i <= n; i += newnj) {
      if (i < nsh) {
        nleft = 1;
        nright = len;
      } else if (i >= n - nsh + 1) {
        nleft = n - len + 1;
        nright = n;
      } else {
        nleft = i - nsh + 1;
        nright = len + i - nsh;
      }
      set(i, estimate(y, n, len, degree, i, nleft, nright, w, rw));
    }
  }
  if (newnj !== 1) {
    for (let i = 1; i <= n - newnj; i += newnj) {
      const delta = (ys[offset + i + newnj - 1] - ys[offset + i - 1]) / newnj;
      for (let j = i + 1; j <= i + newnj - 1; j++) ys[offset + j - 1] = ys[offset + i - 1] + delta * (j - i);
    }
    const k = Math.trunc((n - 1) / newnj) * newnj + 1;
    if (k !== n) {
      set(n, estimate(y, n, len, degree, n, nleft, nright, w, rw));
      if (k !== n - 1) {
        const delta = (ys[offset + n - 1] - ys[offset + k - 1]) / (n - k);
        for (let j = k + 1; j <= n - 1; j++) ys[offset + j - 1] = ys[offset + k - 1] + delta * (j - k);
      }
    }
  }
}

/** Cycle-subseries smoothing (stlss): season has length n + 2·np (one cycle extrapolated each side). */
function smoothSubseries(y: Float64Array, n: number, np: number, ns: number, degree: number, jump: number, rw: ArrayLike<number> | null, season: Float64Array): void {
  for (let j = 1; j <= np; j++) {
    const k = Math.trunc((n - j) / np) + 1;
    const sub = new Float64Array(k);
    const subRw = rw ? new Float64Array(k) : null;
    for (let i = 1; i <= k; i++) {
      sub[i - 1] = y[(i - 1) * np + j - 1];
      if (subRw && rw) subRw[i - 1] = rw[(i - 1) * np + j - 1];
    }
    const out = new Float64Array(k + 2);
    smooth(sub, k, ns, degree, jump, subRw, out, 1);
    const w = new Float64Array(k);
    const first = estimate(sub, k, ns, degree, 0, 1, Math.min(ns, k), w, subRw);
    out[0] = first ?? out[1];
    const last = estimate(sub, k, ns, degree, k + 1, Math.max(1, k - ns + 1), k, w, subRw);
    out[k + 1] = last ?? out[k];
    for (let m = 1; m <= k + 2; m++) season[(m - 1) * np + j - 1] = out[m - 1];
  }
}

/** Moving average of length len (stlma): n − len + 1 values. */
function movingAverage(x: ArrayLike<number>, n: number, len: number): Float64Array {
  const newn = n - len + 1;
  const ave = new Float64Array(newn);
  let v = 0;
  for (let i = 0; i < len; i++) v += x[i];
  ave[0] = v / len;
  for (let j = 1; j < newn; j++) {
    v = v - x[j - 1] + x[len + j - 1];
    ave[j] = v / len;
  }
  return ave;
}

/** Bisquare robustness weights from the remainder (stlrwt). */
function robustnessWeights(y: readonly number[], fit: Float64Array, rw: Float64Array): void {
  const n = y.length;
  const r = Array.from({ length: n }, (_, i) => Math.abs(y[i] - fit[i]));
  const s = [...r].sort((a, b) => a - b);
  const mid0 = Math.trunc(n / 2) + 1;
  const mid1 = n - mid0 + 1;
  const cmad = 3 * (s[mid0 - 1] + s[mid1 - 1]);
  const c9 = 0.999 * cmad;
  const c1 = 0.001 * cmad;
  for (let i = 0; i < n; i++) {
    rw[i] = r[i] <= c1 ? 1 : r[i] <= c9 ? (1 - (r[i] / cmad) ** 2) ** 2 : 0;
  }
}

/** Decomposes `y` = seasonal + trend + remainder, as R's `stl(ts(y, frequency = period), …)` with the same options. */
export function decomposeStl(y: readonly number[], options: StlOptions): StlResult {
  const n = y.length;
  const np = Math.max(2, Math.trunc(options.period));
  if (n <= 2 * np) throw new RangeError(`STL needs more than two periods of data (${n} ≤ 2 × ${np})`);
  const periodic = options.seasonalWindow === 'periodic';
  let ns = periodic ? 10 * n + 1 : (options.seasonalWindow as number);
  const isdeg = periodic ? 0 : (options.seasonalDegree ?? 0);
  let nt = options.trendWindow ?? nextOdd(Math.ceil((1.5 * np) / (1 - 1.5 / ns)));
  const itdeg = options.trendDegree ?? 1;
  let nl = options.lowPassWindow ?? nextOdd(np);
  const ildeg = itdeg;
  const robust = options.robust ?? false;
  const ni = options.inner ?? (robust ? 1 : 2);
  const no = options.outer ?? (robust ? 15 : 0);
  const nsjump = Math.ceil(ns / 10);
  const ntjump = Math.ceil(nt / 10);
  const nljump = Math.ceil(nl / 10);
  // stl.f: spans at least 3 and odd.
  ns = Math.max(3, ns);
  nt = Math.max(3, nt);
  nl = Math.max(3, nl);
  if (ns % 2 === 0) ns++;
  if (nt % 2 === 0) nt++;
  if (nl % 2 === 0) nl++;
  const trend = new Float64Array(n);
  const season = new Float64Array(n);
  const rw = new Float64Array(n).fill(1);
  let userw = false;
  for (let k = 0; ; k++) {
    // stlstp: ni inner passes.
    for (let pass = 0; pass < ni; pass++) {
      const detrended = new Float64Array(n);
      for (let i = 0; i < n; i++) detrended[i] = y[i] - trend[i];
      const cycle = new Float64Array(n + 2 * np);
      smoothSubseries(detrended, n, np, ns, isdeg, nsjump, userw ? rw : null, cycle);
      const ma = movingAverage(movingAverage(movingAverage(cycle, n + 2 * np, np), n + np + 1, np), n + 2, 3);
      const low = new Float64Array(n);
      smooth(ma, n, nl, ildeg, nljump, null, low, 0);
      for (let i = 0; i < n; i++) season[i] = cycle[np + i] - low[i];
      const deseason = new Float64Array(n);
      for (let i = 0; i < n; i++) deseason[i] = y[i] - season[i];
      smooth(deseason, n, nt, itdeg, ntjump, userw ? rw : null, trend, 0);
    }
    if (k + 1 > no) break;
    const fit = new Float64Array(n);
    for (let i = 0; i < n; i++) fit[i] = trend[i] + season[i];
    robustnessWeights(y, fit, rw);
    userw = true;
  }
  if (!robust) rw.fill(1);
  const seasonal = Array.from(season);
  if (periodic) {
    // R: the seasonal part made exactly periodic, the mean of each position in the cycle.
    const sums = new Float64Array(np);
    const counts = new Float64Array(np);
    for (let i = 0; i < n; i++) {
      sums[i % np] += seasonal[i];
      counts[i % np]++;
    }
    for (let i = 0; i < n; i++) seasonal[i] = sums[i % np] / counts[i % np];
  }
  const trendOut = Array.from(trend);
  return { seasonal, trend: trendOut, remainder: y.map((v, i) => v - seasonal[i] - trendOut[i]), weights: Array.from(rw) };
}
