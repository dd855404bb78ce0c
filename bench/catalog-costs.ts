/**
 * Scenario `catalog-costs` (diagnostic, run by name only): prices what the product-detail path
 * adds to a bare Fastify route, one layer at a time (see bench/bare-server.ts BARE_STEP), then the
 * real instance, all under the same load generator in one run. Each variant is measured twice,
 * interleaved, and the better run kept, to damp the noise of a shared machine.
 *
 *   npx salescale bench catalog-costs
 */
import path from 'node:path';
import { load, startChild } from './lib.ts';
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
    const measure = async (url: string) => {
      const w = await wrk({ url, connections: ctx.connections, durationSeconds: seconds });
      if (w.available) return w.requestsPerSecond;
      return (await load({ url, connections: ctx.connections, durationSeconds: seconds })).requestsPerSecond;
    };
    const targets: Array<{ name: string; url: string }> = [];
    for (const [i, name] of STEPS.entries()) {
      const child = await startChild(path.resolve(import.meta.dirname, 'bare-server.ts'), [], { BARE_STEP: String(i) });
      ctx.onCleanup(child.stop);
      targets.push({ name, url: `${child.url}/products/1` });
    }
    const database = await ctx.database({ products: 100 });
    const app = await ctx.startApp(database);
    targets.push({ name: 'salescale product detail (cached)', url: `${app.url}/api/v1/products/1` });

    for (const t of targets) await measure(t.url); // warm-up
    const best = new Map<string, number>();
    for (let round = 0; round < 2; round++) {
      for (const t of targets) {
        const rps = await measure(t.url);
        best.set(t.name, Math.max(best.get(t.name) ?? 0, rps));
        ctx.log(`${t.name}: ${Math.round(rps)} req/s`);
      }
    }
    const rows = targets.map((t, i) => {
      const rps = best.get(t.name)!;
      const previous = i === 0 ? undefined : best.get(targets[i - 1]!.name)!;
      return { layer: t.name, reqPerS: Math.round(rps), usPerRequest: round(1e6 / rps), addedUs: previous === undefined ? 0 : round(1e6 / rps - 1e6 / previous) };
    });
    const first = rows[0]!;
    const last = rows[rows.length - 1]!;
    return {
      figures: Object.fromEntries(rows.map((r, i) => [`step${i}ReqPerS`, r.reqPerS])),
      ratios: { appVsBare: round(last.reqPerS / first.reqPerS), ladderTopVsBare: round(rows[rows.length - 2]!.reqPerS / first.reqPerS) },
      checks: [],
      details: { rows, note: 'µs per request = 1e6 ÷ req/s of a saturated single-threaded server (64 connections); added = difference to the line above' },
    };
  },
};
