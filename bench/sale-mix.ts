/**
 * Scenarios `capacity` and `sale-mix`, both open-model (bench/open-load.ts) on the flash-sale mix
 * (bench/sale-workload.ts) against one `salescale serve` instance.
 *
 * - capacity: 12 s steps of constant arrival rate, doubling until the SLO breaks (also in the step's
 *   last quarter, where a slowly growing queue shows), then bisecting; the highest passing rate must then
 *   hold for 45 s (a sale plateau), backing off 10 % until it does. That sustained rate is one instance's
 *   capacity, written to bench/results/capacity.json in the format `salescale plan` reads
 *   (src/scaling/capacity/bench-capacity.ts).
 * - sale-mix: a flash sale squeezed in time: normal traffic, a ramp to 10× within 30 s (a minute in
 *   the real shape), a plateau, a cool-down; the 10× peak is what `salescale plan` would give one
 *   instance at the sale's peak: the capacity measured earlier in the run (else capacity.json, else
 *   BENCH_SALE_PEAK_RPS as the peak itself) × the plan's target utilization (0.7). k6-style thresholds
 *   per phase fail the run. Not the capacity itself: at the knee of an open-model queue a run-to-run
 *   difference of 10 % on these shared cores decides between a queue that drains and one that never does
 *   (2026-12-04T03:33Z: capacity confirmed at 8,000/s for 45 s on the capacity's instance; a fresh
 *   instance's sale at 8,000/s was saturated from 7,400/s on, 28 % errors on the plateau).
 *
 * The load generator runs on the same cores as the instance, PostgreSQL and Redis, so the capacity is
 * a lower bound of what the instance does on a machine of its own.
 */
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { DEFAULT_BENCH_CAPACITY_PATH, parseBenchCapacity } from '../src/scaling/capacity/bench-capacity.ts';
import { DEFAULT_WEB_PLAN } from '../src/scaling/capacity/plan.ts';
import { RESULTS_DIR } from './lib.ts';
import { runOpenLoad, type LatencySummary, type Phase } from './open-load.ts';
import { prepareSaleWorkload, SLO } from './sale-workload.ts';
import { check, round, type BenchContext, type Check, type Scenario, type ScenarioResult } from './scenario.ts';
import type { BenchDatabase, RunningApp } from './stack.ts';

const PRODUCTS = 2000;

function withinSlo(s: LatencySummary): boolean {
  return s.errorRate < SLO.errorRate && s.p95Ms < SLO.p95Ms && s.p99Ms < SLO.p99Ms;
}

/**
 * A step passes when the whole step and its last quarter are within the SLO: just above what the
 * instance can serve, the open-model queue grows steadily, and the tail shows it before the average does.
 */
function stepWithinSlo(result: Awaited<ReturnType<typeof runOpenLoad>>): { ok: boolean; tailP95Ms: number } {
  const tail = result.timeline.slice(Math.floor((result.timeline.length * 3) / 4));
  const tailP95Ms = Math.max(0, ...tail.map((t) => t.p95Ms));
  const tailErrors = tail.reduce((n, t) => n + t.errors, 0);
  const tailOffered = tail.reduce((n, t) => n + t.offeredRps, 0);
  return { ok: withinSlo(result.total) && tailP95Ms < SLO.p95Ms && tailErrors < SLO.errorRate * Math.max(tailOffered, 1), tailP95Ms };
}

async function saleStack(ctx: BenchContext): Promise<{ database: BenchDatabase; app: RunningApp; workload: Awaited<ReturnType<typeof prepareSaleWorkload>> }> {
  const database = await ctx.database({ products: PRODUCTS });
  const app = await ctx.startApp(database);
  const workload = await prepareSaleWorkload({ database, appUrl: app.url });
  return { database, app, workload };
}

async function warmUp(ctx: BenchContext, app: RunningApp, workload: Awaited<ReturnType<typeof prepareSaleWorkload>>, rps: number): Promise<void> {
  ctx.log(`warming up at ${rps} arrivals/s`);
  await runOpenLoad({ baseUrl: app.url, phases: [{ name: 'warm-up', seconds: 5, fromRps: rps / 4, toRps: rps }], next: workload.next });
}

export const capacityScenario: Scenario = {
  name: 'capacity',
  describe: 'highest arrival rate (sale mix, open model) one web instance serves within the SLO; writes bench/results/capacity.json',
  async run(ctx): Promise<ScenarioResult> {
    const stepSeconds = Number(process.env.BENCH_CAPACITY_STEP_S ?? 12);
    const confirmSeconds = Number(process.env.BENCH_CAPACITY_CONFIRM_S ?? 45);
    const maxSteps = 9;
    const { app, workload } = await saleStack(ctx);
    let rate = Number(process.env.BENCH_CAPACITY_START_RPS ?? 200);
    await warmUp(ctx, app, workload, rate);
    const steps: Array<{ rps: number; pass: boolean; seconds: number; tailP95Ms: number } & LatencySummary> = [];
    let pass: number | undefined;
    let fail: number | undefined;
    for (let i = 0; i < maxSteps; i++) {
      const result = await runOpenLoad({ baseUrl: app.url, phases: [{ name: `${rate}/s`, seconds: stepSeconds, fromRps: rate, toRps: rate }], next: workload.next });
      const { ok, tailP95Ms } = stepWithinSlo(result);
      steps.push({ rps: rate, pass: ok, seconds: stepSeconds, tailP95Ms, ...result.total });
      ctx.log(`${rate} arrivals/s: ${ok ? 'within' : 'over'} SLO (errors ${(result.total.errorRate * 100).toFixed(2)} %, p95 ${result.total.p95Ms} ms, last-quarter p95 ${tailP95Ms} ms, p99 ${result.total.p99Ms} ms, achieved ${result.total.achievedRps}/s)`);
      if (ok) pass = Math.max(pass ?? 0, rate);
      else fail = Math.min(fail ?? Number.POSITIVE_INFINITY, rate);
      // Let a queue built by an overloaded step drain before the next one.
      await new Promise((resolve) => setTimeout(resolve, ok ? 1000 : 3000));
      if (fail === undefined) rate *= 2;
      else if (pass === undefined) rate = Math.max(10, Math.round(fail / 2));
      else if (fail - pass <= Math.max(25, pass * 0.08)) break;
      else rate = Math.round((pass + fail) / 2);
    }
    // "Sustains": the rate found must hold for a sale-plateau-long run; back off 10 % until one does.
    for (let attempt = 0; pass !== undefined && attempt < 4; attempt++) {
      const result = await runOpenLoad({ baseUrl: app.url, phases: [{ name: `confirm ${pass}/s`, seconds: confirmSeconds, fromRps: pass, toRps: pass }], next: workload.next });
      const { ok, tailP95Ms } = stepWithinSlo(result);
      steps.push({ rps: pass, pass: ok, seconds: confirmSeconds, tailP95Ms, ...result.total });
      ctx.log(`confirming ${pass} arrivals/s for ${confirmSeconds} s: ${ok ? 'sustained' : 'not sustained'} (errors ${(result.total.errorRate * 100).toFixed(2)} %, p95 ${result.total.p95Ms} ms, last-quarter p95 ${tailP95Ms} ms, p99 ${result.total.p99Ms} ms)`);
      if (ok) break;
      await new Promise((resolve) => setTimeout(resolve, 3000));
      pass = attempt === 3 ? undefined : Math.round(pass * 0.9);
    }
    if (pass === undefined) {
      return { figures: {}, ratios: {}, checks: [check('a rate sustained within the SLO was found', 0, '==', 1)], details: { steps } };
    }
    const at = steps.filter((s) => s.rps === pass && s.pass).at(-1)!;
    const capacity = {
      requestsPerSecondPerInstance: pass,
      measuredAt: new Date().toISOString(),
      p95Ms: at.p95Ms,
      p99Ms: at.p99Ms,
      errorRate: at.errorRate,
      sloP95Ms: SLO.p95Ms,
      sloP99Ms: SLO.p99Ms,
      sloErrorRate: SLO.errorRate,
      scenario: `sale mix, open model: ${workload.describe}`,
      instance: 'one `salescale serve` process on a shared machine (see the run file for its CPUs); load generator on the same cores',
      firstFailingRps: fail ?? null,
      steps: steps.map((s) => ({ rps: s.rps, seconds: s.seconds, pass: s.pass, errorRate: s.errorRate, p95Ms: s.p95Ms, lastQuarterP95Ms: s.tailP95Ms, p99Ms: s.p99Ms, achievedRps: s.achievedRps })),
    };
    parseBenchCapacity(capacity); // the file must stay readable by `salescale plan`
    const file = path.join(RESULTS_DIR, path.basename(DEFAULT_BENCH_CAPACITY_PATH));
    await writeFile(file, JSON.stringify(capacity, null, 2) + '\n');
    ctx.log(`capacity ${pass} requests/s per instance written to ${file}`);
    return {
      figures: { requestsPerSecondPerInstance: pass, p95MsAtCapacity: at.p95Ms, p99MsAtCapacity: at.p99Ms, firstFailingRps: fail ?? 0 },
      ratios: {},
      checks: [],
      details: { steps, file },
    };
  },
};

/** The sale's 10× peak for one instance: the plan's load per instance at its target utilization. */
async function peakRps(ctx: BenchContext): Promise<{ rps: number; source: string }> {
  const planned = (capacity: number, from: string) => ({
    rps: Math.round(capacity * DEFAULT_WEB_PLAN.targetUtilization),
    source: `${DEFAULT_WEB_PLAN.targetUtilization} × the capacity of ${capacity}/s ${from}`,
  });
  const measured = ctx.earlier.get('capacity')?.figures.requestsPerSecondPerInstance;
  if (measured) return planned(measured, 'measured earlier in this run');
  if (process.env.BENCH_SALE_PEAK_RPS) return { rps: Number(process.env.BENCH_SALE_PEAK_RPS), source: 'BENCH_SALE_PEAK_RPS' };
  try {
    const file = path.join(RESULTS_DIR, path.basename(DEFAULT_BENCH_CAPACITY_PATH));
    const saved = parseBenchCapacity(JSON.parse(await readFile(file, 'utf8')), file);
    return planned(saved.requestsPerSecondPerInstance, `from ${file} (measured ${saved.measuredAt})`);
  } catch {
    return { rps: 300, source: 'default 300/s (no capacity measured: run `salescale bench capacity sale-mix`)' };
  }
}

export const saleMixScenario: Scenario = {
  name: 'sale-mix',
  describe: 'open-model flash-sale spike (normal → 10× in 30 s → plateau → cool-down) on the browse/cart/checkout mix, k6-style thresholds per phase',
  async run(ctx) {
    const { rps: peak, source } = await peakRps(ctx);
    const normal = Math.max(1, Math.round(peak / 10));
    const scale = Number(process.env.BENCH_SALE_TIME_SCALE ?? 1);
    const s = (seconds: number) => Math.max(2, Math.round(seconds * scale));
    const phases: Phase[] = [
      { name: 'normal', seconds: s(20), fromRps: normal, toRps: normal },
      { name: 'ramp to 10×', seconds: s(30), fromRps: normal, toRps: peak },
      { name: 'plateau (10×)', seconds: s(50), fromRps: peak, toRps: peak },
      { name: 'cool-down', seconds: s(20), fromRps: peak, toRps: normal },
      { name: 'after', seconds: s(15), fromRps: normal, toRps: normal },
    ];
    const { app, workload } = await saleStack(ctx);
    await warmUp(ctx, app, workload, normal * 2);
    ctx.log(`spike: ${normal}/s → ${peak}/s (peak from ${source}), ${phases.reduce((n, p) => n + p.seconds, 0)} s`);
    const result = await runOpenLoad({ baseUrl: app.url, phases, next: workload.next });
    const checks: Check[] = [];
    for (const p of result.phases) {
      checks.push(check(`${p.phase}: error rate %`, p.errorRate * 100, '<', SLO.errorRate * 100));
      checks.push(check(`${p.phase}: p95 ms`, p.p95Ms, '<', SLO.p95Ms));
      checks.push(check(`${p.phase}: p99 ms`, p.p99Ms, '<', SLO.p99Ms));
    }
    for (const p of result.phases) ctx.log(`${p.phase.padEnd(14)} offered ${p.offeredRps}/s achieved ${p.achievedRps}/s errors ${(p.errorRate * 100).toFixed(2)} % p95 ${p.p95Ms} ms p99 ${p.p99Ms} ms`);
    const plateau = result.phases.find((p) => p.phase.startsWith('plateau'))!;
    return {
      figures: {
        normalRps: normal,
        peakRps: peak,
        plateauAchievedRps: plateau.achievedRps,
        plateauErrorRatePercent: round(plateau.errorRate * 100),
        plateauP95Ms: plateau.p95Ms,
        plateauP99Ms: plateau.p99Ms,
        totalRequests: result.total.requests,
        checkoutRefusals: result.kinds.find((k) => k.kind === 'checkout')?.refusals ?? 0,
      },
      ratios: { plateauAchievedVsOffered: round(plateau.achievedRps / Math.max(plateau.offeredRps, 1)) },
      checks,
      details: { peakSource: source, mix: workload.describe, phases: result.phases, kinds: result.kinds, errorCauses: result.errorCauses, timeline: result.timeline },
    };
  },
};
