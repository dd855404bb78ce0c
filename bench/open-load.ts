/**
 * An open-model (arrival-rate) load generator, as k6's `ramping-arrival-rate` executor: requests
 * arrive on a schedule that does not wait for responses, so a slow server faces a growing queue
 * instead of a politely slowing client (autocannon and wrk are closed-model: they hide saturation).
 * Latency is measured from each request's *scheduled* arrival time, so time spent queued in this
 * client (a busy event loop, all sockets taken) counts too: no coordinated omission.
 */
import http from 'node:http';

/** Rate changes linearly from `fromRps` to `toRps` over the phase. */
export interface Phase {
  name: string;
  seconds: number;
  fromRps: number;
  toRps: number;
}

export interface OpenRequest {
  /** Group for the per-kind table (e.g. browse, cart, checkout). */
  kind: string;
  method: 'GET' | 'POST' | 'PUT' | 'DELETE';
  path: string;
  headers?: Record<string, string>;
  body?: unknown;
  /** Statuses that are expected refusals, not errors (e.g. 409 OUT_OF_STOCK). @defaultValue [] */
  refusals?: number[];
}

export interface LatencySummary {
  requests: number;
  errors: number;
  refusals: number;
  errorRate: number;
  p50Ms: number;
  p95Ms: number;
  p99Ms: number;
  maxMs: number;
  /** Arrivals per second the schedule asked for, averaged over the phase. */
  offeredRps: number;
  /** Responses per second actually completed. */
  achievedRps: number;
}

export interface OpenLoadResult {
  phases: Array<{ phase: string } & LatencySummary>;
  kinds: Array<{ kind: string } & LatencySummary>;
  /** One row per second: for charts. */
  timeline: Array<{ second: number; phase: string; offeredRps: number; completed: number; errors: number; p95Ms: number }>;
  /** Errors by cause, e.g. `status 503`, `timeout`, `ECONNRESET`, `client saturated`. */
  errorCauses: Record<string, number>;
  total: LatencySummary;
}

export interface OpenLoadOptions {
  baseUrl: string;
  phases: Phase[];
  /** Called once per arrival; the i-th request of the run. */
  next: (i: number) => OpenRequest;
  /** A request unanswered after this counts as an error. @defaultValue 5000 */
  timeoutMs?: number;
  /** Sockets to the server (keep-alive). @defaultValue 256 */
  maxSockets?: number;
  /** Arrivals beyond this many outstanding are counted as errors (`client saturated`), like k6's dropped iterations. @defaultValue 5000 */
  maxInFlight?: number;
}

/** Nearest-rank percentile of a sorted array. */
export function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return 0;
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[rank]!;
}

/** Seconds (from the run's start) at which the k-th arrival is due, for piecewise-linear rates. */
export function arrivalSchedule(phases: Phase[]): { total: number; at: (k: number) => number } {
  const starts: Array<{ t0: number; n0: number; phase: Phase }> = [];
  let t = 0;
  let n = 0;
  for (const phase of phases) {
    starts.push({ t0: t, n0: n, phase });
    n += ((phase.fromRps + phase.toRps) / 2) * phase.seconds;
    t += phase.seconds;
  }
  return {
    total: Math.floor(n),
    at(k: number): number {
      // Arrival k is due when the integral of the rate reaches k + 1 (the first one after 1/rate).
      const target = k + 1;
      let seg = starts[0]!;
      for (const s of starts) if (s.n0 < target) seg = s;
      const a = seg.phase.fromRps;
      const b = (seg.phase.toRps - seg.phase.fromRps) / seg.phase.seconds;
      const need = target - seg.n0;
      // a·x + b·x²/2 = need
      const x = Math.abs(b) < 1e-9 ? need / a : (-a + Math.sqrt(Math.max(0, a * a + 2 * b * need))) / b;
      return seg.t0 + Math.min(Math.max(x, 0), seg.phase.seconds);
    },
  };
}

function summarize(latencies: number[], errors: number, refusals: number, seconds: number, offered: number): LatencySummary {
  const sorted = Float64Array.from(latencies).sort();
  const arr = Array.from(sorted);
  const requests = latencies.length + errors;
  return {
    requests,
    errors,
    refusals,
    errorRate: requests === 0 ? 0 : Math.round((errors / requests) * 100_000) / 100_000,
    p50Ms: Math.round(percentile(arr, 50) * 10) / 10,
    p95Ms: Math.round(percentile(arr, 95) * 10) / 10,
    p99Ms: Math.round(percentile(arr, 99) * 10) / 10,
    maxMs: Math.round((arr[arr.length - 1] ?? 0) * 10) / 10,
    offeredRps: Math.round(offered / Math.max(seconds, 1e-9)),
    achievedRps: Math.round(latencies.length / Math.max(seconds, 1e-9)),
  };
}

export async function runOpenLoad(options: OpenLoadOptions): Promise<OpenLoadResult> {
  const base = new URL(options.baseUrl);
  if (!['127.0.0.1', 'localhost', '[::1]'].includes(base.hostname)) throw new Error('benchmarks target loopback only');
  const timeoutMs = options.timeoutMs ?? 5000;
  const maxInFlight = options.maxInFlight ?? 5000;
  const agent = new http.Agent({ keepAlive: true, maxSockets: options.maxSockets ?? 256, maxFreeSockets: options.maxSockets ?? 256 });
  const schedule = arrivalSchedule(options.phases);
  const phaseEnds: number[] = [];
  let acc = 0;
  for (const p of options.phases) {
    acc += p.seconds;
    phaseEnds.push(acc);
  }
  const phaseOf = (t: number) => {
    const i = phaseEnds.findIndex((end) => t < end);
    return i === -1 ? phaseEnds.length - 1 : i;
  };
  const totalSeconds = acc;

  type Bucket = { latencies: number[]; errors: number; refusals: number; offered: number };
  const bucket = (): Bucket => ({ latencies: [], errors: 0, refusals: 0, offered: 0 });
  const byPhase = options.phases.map(bucket);
  const byKind = new Map<string, Bucket>();
  const bySecond = Array.from({ length: Math.ceil(totalSeconds) }, bucket);
  const causes: Record<string, number> = {};
  const all = bucket();
  let inFlight = 0;

  const record = (kind: string, dueS: number, latencyMs: number | undefined, outcome: 'ok' | 'refusal' | string) => {
    const kindBucket = byKind.get(kind) ?? bucket();
    byKind.set(kind, kindBucket);
    const targets = [byPhase[phaseOf(dueS)]!, kindBucket, bySecond[Math.min(Math.floor(dueS), bySecond.length - 1)]!, all];
    for (const b of targets) {
      if (outcome === 'ok' || outcome === 'refusal') {
        b.latencies.push(latencyMs!);
        if (outcome === 'refusal') b.refusals += 1;
      } else b.errors += 1;
    }
    if (outcome !== 'ok' && outcome !== 'refusal') causes[outcome] = (causes[outcome] ?? 0) + 1;
  };

  const fire = (spec: OpenRequest, dueS: number, dueAt: number) => {
    for (const b of [byPhase[phaseOf(dueS)]!, bySecond[Math.min(Math.floor(dueS), bySecond.length - 1)]!, all]) b.offered += 1;
    if (inFlight >= maxInFlight) {
      record(spec.kind, dueS, undefined, 'client saturated');
      return;
    }
    inFlight += 1;
    const payload = spec.body === undefined ? undefined : JSON.stringify(spec.body);
    const headers: Record<string, string> = { ...spec.headers };
    if (payload !== undefined) {
      headers['content-type'] = 'application/json';
      headers['content-length'] = String(Buffer.byteLength(payload));
    }
    let done = false;
    const finish = (outcome: string) => {
      if (done) return;
      done = true;
      inFlight -= 1;
      record(spec.kind, dueS, performance.now() - dueAt, outcome);
    };
    const req = http.request({ host: base.hostname, port: base.port, method: spec.method, path: spec.path, headers, agent, timeout: timeoutMs }, (res) => {
      res.resume();
      res.on('end', () => {
        const status = res.statusCode ?? 0;
        if (status < 400) finish('ok');
        else if (spec.refusals?.includes(status)) finish('refusal');
        else finish(`status ${status}`);
      });
      res.on('error', (error: NodeJS.ErrnoException) => finish(error.code ?? 'response error'));
    });
    req.on('timeout', () => {
      finish('timeout');
      req.destroy();
    });
    req.on('error', (error: NodeJS.ErrnoException) => finish(error.code ?? 'request error'));
    req.end(payload);
  };

  const started = performance.now();
  let k = 0;
  let nextDue = schedule.total > 0 ? schedule.at(0) : Number.POSITIVE_INFINITY;
  await new Promise<void>((resolve) => {
    const tick = () => {
      const elapsedS = (performance.now() - started) / 1000;
      while (k < schedule.total && nextDue <= elapsedS) {
        fire(options.next(k), nextDue, started + nextDue * 1000);
        k += 1;
        nextDue = k < schedule.total ? schedule.at(k) : Number.POSITIVE_INFINITY;
      }
      if (k >= schedule.total) {
        clearInterval(timer);
        resolve();
      }
    };
    const timer = setInterval(tick, 1);
  });
  // Let the last arrivals finish (or time out).
  for (const deadline = performance.now() + timeoutMs + 1000; inFlight > 0 && performance.now() < deadline; ) {
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  agent.destroy();

  return {
    phases: options.phases.map((p, i) => ({ phase: p.name, ...summarize(byPhase[i]!.latencies, byPhase[i]!.errors, byPhase[i]!.refusals, p.seconds, byPhase[i]!.offered) })),
    kinds: [...byKind].map(([kind, b]) => ({ kind, ...summarize(b.latencies, b.errors, b.refusals, totalSeconds, b.latencies.length + b.errors) })),
    timeline: bySecond.map((b, second) => {
      const sorted = Array.from(Float64Array.from(b.latencies).sort());
      return { second, phase: options.phases[phaseOf(second + 0.5)]!.name, offeredRps: b.offered, completed: b.latencies.length, errors: b.errors, p95Ms: Math.round(percentile(sorted, 95) * 10) / 10 };
    }),
    errorCauses: causes,
    total: summarize(all.latencies, all.errors, all.refusals, totalSeconds, all.offered),
  };
}
