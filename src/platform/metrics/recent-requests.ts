/**
 * Request figures over a sliding window (default 60 s), kept in one-second buckets so that
 * `/health` can report live p95, average and error rate without querying Prometheus.
 */

// Upper bounds in ms; the last bucket is open-ended. Fine enough to place a p95 against 500 ms.
const BOUNDS_MS = [1, 2, 5, 10, 20, 50, 100, 200, 300, 500, 750, 1000, 2000, 5000, 10_000];

interface Bucket {
  second: number;
  count: number;
  errors: number;
  totalMs: number;
  histogram: number[];
}

export interface RecentSummary {
  windowSeconds: number;
  requests: number;
  /** Percentage of requests answered with a 5xx status. */
  errorRatePercent: number;
  averageMs: number;
  p95Ms: number;
  p99Ms: number;
  requestsPerSecond: number;
}

export class RecentRequests {
  readonly #windowSeconds: number;
  readonly #buckets: Bucket[];
  readonly #now: () => number;

  constructor(options: { windowSeconds?: number; now?: () => number } = {}) {
    this.#windowSeconds = options.windowSeconds ?? 60;
    this.#now = options.now ?? Date.now;
    this.#buckets = Array.from({ length: this.#windowSeconds }, () => ({ second: -1, count: 0, errors: 0, totalMs: 0, histogram: new Array(BOUNDS_MS.length + 1).fill(0) }));
  }

  record(durationMs: number, statusCode: number): void {
    const second = Math.floor(this.#now() / 1000);
    const bucket = this.#buckets[second % this.#windowSeconds]!;
    if (bucket.second !== second) {
      bucket.second = second;
      bucket.count = 0;
      bucket.errors = 0;
      bucket.totalMs = 0;
      bucket.histogram.fill(0);
    }
    bucket.count += 1;
    bucket.totalMs += durationMs;
    if (statusCode >= 500) bucket.errors += 1;
    let index = BOUNDS_MS.findIndex((bound) => durationMs <= bound);
    if (index === -1) index = BOUNDS_MS.length;
    bucket.histogram[index]! += 1;
  }

  summary(): RecentSummary {
    const nowSecond = Math.floor(this.#now() / 1000);
    const histogram = new Array(BOUNDS_MS.length + 1).fill(0);
    let count = 0;
    let errors = 0;
    let totalMs = 0;
    for (const bucket of this.#buckets) {
      if (bucket.second <= nowSecond - this.#windowSeconds || bucket.second > nowSecond) continue;
      count += bucket.count;
      errors += bucket.errors;
      totalMs += bucket.totalMs;
      bucket.histogram.forEach((n, i) => {
        histogram[i] += n;
      });
    }
    return {
      windowSeconds: this.#windowSeconds,
      requests: count,
      errorRatePercent: count === 0 ? 0 : (errors / count) * 100,
      averageMs: count === 0 ? 0 : totalMs / count,
      p95Ms: quantile(histogram, count, 0.95),
      p99Ms: quantile(histogram, count, 0.99),
      requestsPerSecond: count / this.#windowSeconds,
    };
  }
}

/** Upper bound of the bucket holding the q-quantile (conservative, like Prometheus without interpolation). */
function quantile(histogram: number[], count: number, q: number): number {
  if (count === 0) return 0;
  const rank = Math.ceil(q * count);
  let seen = 0;
  for (let i = 0; i < histogram.length; i++) {
    seen += histogram[i]!;
    if (seen >= rank) return i < BOUNDS_MS.length ? BOUNDS_MS[i]! : BOUNDS_MS[BOUNDS_MS.length - 1]! * 2;
  }
  return 0;
}
