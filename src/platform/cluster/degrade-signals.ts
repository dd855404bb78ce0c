import { RecentRequests } from '../metrics/recent-requests.ts';

/** Distinct clients kept per one-second bucket: beyond it a bucket counts as "many". */
const MAX_CLIENTS_PER_BUCKET = 1000;

export interface DegradeSignalSummary {
  requests: number;
  requestsPerMinute: number;
  p95Ms: number;
  /** Server faults as a share of requests. */
  errorRatePercent: number;
  /** Distinct clients over the window, and those among them that hit a server fault. */
  clients: number;
  faultClients: number;
}

/**
 * This instance's share of the degrade-mode signal over a sliding window: request rate, latency,
 * server faults, and how many distinct clients are behind them (so one client hammering a failing
 * route is seen as one client, not as a cluster in trouble).
 */
export class DegradeSignals {
  readonly #recent: RecentRequests;
  readonly #windowSeconds: number;
  readonly #now: () => number;
  readonly #clients: { second: number; all: Set<string>; faults: Set<string> }[];

  constructor(options: { windowSeconds: number; now?: () => number }) {
    this.#windowSeconds = options.windowSeconds;
    this.#now = options.now ?? Date.now;
    this.#recent = new RecentRequests({ windowSeconds: options.windowSeconds, now: this.#now });
    this.#clients = Array.from({ length: options.windowSeconds }, () => ({ second: -1, all: new Set<string>(), faults: new Set<string>() }));
  }

  /** One answered request: `fault` when it was a server fault (not a refusal, not the client's error). */
  record(durationMs: number, fault: boolean, client: string): void {
    this.#recent.record(durationMs, fault ? 500 : 200);
    const second = Math.floor(this.#now() / 1000);
    const bucket = this.#clients[second % this.#windowSeconds]!;
    if (bucket.second !== second) {
      bucket.second = second;
      bucket.all.clear();
      bucket.faults.clear();
    }
    if (bucket.all.size < MAX_CLIENTS_PER_BUCKET) bucket.all.add(client);
    if (fault && bucket.faults.size < MAX_CLIENTS_PER_BUCKET) bucket.faults.add(client);
  }

  summary(): DegradeSignalSummary {
    const s = this.#recent.summary();
    const nowSecond = Math.floor(this.#now() / 1000);
    const all = new Set<string>();
    const faults = new Set<string>();
    for (const bucket of this.#clients) {
      if (bucket.second <= nowSecond - this.#windowSeconds || bucket.second > nowSecond) continue;
      for (const client of bucket.all) all.add(client);
      for (const client of bucket.faults) faults.add(client);
    }
    return { requests: s.requests, requestsPerMinute: s.requestsPerSecond * 60, p95Ms: s.p95Ms, errorRatePercent: s.errorRatePercent, clients: all.size, faultClients: faults.size };
  }
}

/**
 * Whether a dependency is down for this instance: set by every request that failed on one and by a
 * failed `/ready` check, cleared `holdMs` after the last such report.
 */
export class DependencyOutage {
  #lastReportAt = Number.NEGATIVE_INFINITY;
  readonly #holdMs: number;
  readonly #now: () => number;

  constructor(options: { holdMs?: number; now?: () => number } = {}) {
    this.#holdMs = options.holdMs ?? 5000;
    this.#now = options.now ?? Date.now;
  }

  report(): void {
    this.#lastReportAt = this.#now();
  }

  active(): boolean {
    return this.#now() - this.#lastReportAt < this.#holdMs;
  }
}
