/**
 * Scenario `catalog-costs` (diagnostic, run by name only): prices what the product-detail path
 * adds to a bare Fastify route, one layer at a time (see bench/bare-server.ts BARE_STEP), then the
 * real instance, all under the same load generator in one run. Each variant is measured twice,
 * interleaved, and the better run kept, to damp the noise of a shared machine.
 *
 *   npx salescale bench catalog-costs
 */
import path from 'node:path';
import { load, startChild, startCpuMeter } from './lib.ts';
import { round, type Scenario } from './scenario.ts';
import { wrk } from './wrk.ts';

const STEPS = [
  'bare route, small JSON',
  '+ request id (randomUUID, header hook)',
  '+ async onSend hook',
  '+ onResponse: histogram + logger below level',
  '+ 2 more onResponse hooks (counters)',
  '+ params validation, product body through a response schema',
  '+ one setImmediate turn (local cache decision)',
];

export const catalogCostsScenario: Scenario = {
  name: 'catalog-costs',
  describe: 'what each layer of the product-detail path costs per request (bare Fastify ladder vs the real instance)',
  optional: true,
  async run(ctx) {
    const seconds = Math.max(3, Math.round(ctx.durationSeconds / 2));
    // CPU time the server spent per request: steady on a shared machine, unlike requests/s.
    const measure = async (t: { url: string; pid: number }) => {
      const cpuUsPer = startCpuMeter(t.pid);
      const w = await wrk({ url: t.url, connections: ctx.connections, durationSeconds: seconds });
      const r = w.available ? { rps: w.requestsPerSecond, requests: w.requests } : await load({ url: t.url, connections: ctx.connections, durationSeconds: seconds }).then((a) => ({ rps: a.requestsPerSecond, requests: a.total }));
      return { rps: r.rps, cpuUs: cpuUsPer(r.requests) };
    };
    const targets: Array<{ name: string; url: string; pid: number }> = [];
    for (const [i, name] of STEPS.entries()) {
      const child = await startChild(path.resolve(import.meta.dirname, 'bare-server.ts'), [], { BARE_STEP: String(i) });
      ctx.onCleanup(child.stop);
      targets.push({ name, url: `${child.url}/products/1`, pid: child.pid });
    }
    const database = await ctx.database({ products: 100 });
    const app = await ctx.startApp(database);
    targets.push({ name: 'salescale product detail (cached)', url: `${app.url}/api/v1/products/1`, pid: app.pid });

    for (const t of targets) await measure(t); // warm-up
    const best = new Map<string, { rps: number; cpuUs: number }>();
    for (let round = 0; round < 2; round++) {
      for (const t of targets) {
        const m = await measure(t);
        const prev = best.get(t.name);
        best.set(t.name, { rps: Math.max(prev?.rps ?? 0, m.rps), cpuUs: Math.min(prev?.cpuUs ?? Number.POSITIVE_INFINITY, m.cpuUs) });
        ctx.log(`${t.name}: ${Math.round(m.rps)} req/s, ${m.cpuUs.toFixed(1)} µs CPU per request`);
      }
    }
    const rows = targets.map((t, i) => {
      const m = best.get(t.name)!;
      const previous = i === 0 ? undefined : best.get(targets[i - 1]!.name)!;
      return { layer: t.name, reqPerS: Math.round(m.rps), cpuUsPerRequest: round(m.cpuUs), addedCpuUs: previous === undefined ? 0 : round(m.cpuUs - previous.cpuUs) };
    });
    const first = rows[0]!;
    const last = rows[rows.length - 1]!;
    return {
      figures: Object.fromEntries(rows.map((r, i) => [`step${i}CpuUsPerRequest`, r.cpuUsPerRequest])),
      ratios: { appCpuEfficiencyVsBare: round(first.cpuUsPerRequest / last.cpuUsPerRequest), ladderTopCpuEfficiencyVsBare: round(first.cpuUsPerRequest / rows[rows.length - 2]!.cpuUsPerRequest), appReqPerSVsBare: round(last.reqPerS / first.reqPerS) },
      checks: [],
      details: { rows, note: 'CPU µs per request = server process user+system CPU during the run ÷ requests answered (best of two); added = difference to the line above' },
    };
  },
};
