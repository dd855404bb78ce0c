/**
 * Scenario `catalog`: cached product detail and listing through one `salescale serve` instance,
 * against a bare Fastify route measured in the same run (ratios, not absolute figures, carry across
 * machines). autocannon measures; wrk, when installed, cross-checks detail and the reference.
 *
 *   npm run bench:catalog    (= salescale bench catalog; BENCH_DURATION_S, BENCH_CONNECTIONS)
 */
import path from 'node:path';
import { load, startChild } from './lib.ts';
import { check, round, type Scenario } from './scenario.ts';
import { wrk } from './wrk.ts';

const PRODUCTS = 10_000;

export const catalogScenario: Scenario = {
  name: 'catalog',
  describe: 'cached product detail and listing vs a bare Fastify route (autocannon, wrk cross-check)',
  async run(ctx) {
    const database = await ctx.database({ products: PRODUCTS });
    const bare = await startChild(path.resolve(import.meta.dirname, 'bare-server.ts'), [], {});
    ctx.onCleanup(bare.stop);
    const app = await ctx.startApp(database);

    const detailPaths = Array.from({ length: 100 }, (_, i) => `/api/v1/products/${i + 1}`);
    const listingPath = '/api/v1/products?limit=20';
    const c = ctx.connections;
    ctx.log('warming up (JIT, pools, every cache entry the measured runs read)');
    await load({ url: bare.url, connections: c, durationSeconds: 3 });
    await load({ url: app.url, paths: [...detailPaths, listingPath], connections: c, durationSeconds: 3 });

    ctx.log(`measuring: ${c} connections, ${ctx.durationSeconds} s per target`);
    const reference = await load({ url: bare.url, connections: c, durationSeconds: ctx.durationSeconds });
    const detail = await load({ url: app.url, paths: detailPaths, connections: c, durationSeconds: ctx.durationSeconds });
    const listing = await load({ url: app.url, paths: [listingPath], connections: c, durationSeconds: ctx.durationSeconds });

    // wrk is a C load generator: a second opinion that the ratio is not an autocannon artefact.
    const wrkDuration = Math.max(3, Math.round(ctx.durationSeconds / 2));
    const wrkBare = await wrk({ url: bare.url, connections: c, durationSeconds: wrkDuration });
    const wrkDetail = wrkBare.available ? await wrk({ url: `${app.url}/api/v1/products/1`, connections: c, durationSeconds: wrkDuration }) : wrkBare;

    const detailRatio = detail.requestsPerSecond / reference.requestsPerSecond;
    const figures: Record<string, number> = {
      bareReqPerS: round(reference.requestsPerSecond),
      detailReqPerS: round(detail.requestsPerSecond),
      detailP50Ms: detail.latencyMs.p50,
      detailP99Ms: detail.latencyMs.p99,
      listingReqPerS: round(listing.requestsPerSecond),
      listingP99Ms: listing.latencyMs.p99,
      detailNon2xx: detail.non2xx + detail.errors,
    };
    const ratios: Record<string, number> = { detailVsBare: round(detailRatio), listingVsBare: round(listing.requestsPerSecond / reference.requestsPerSecond) };
    if (wrkBare.available && wrkDetail.available) {
      figures.wrkBareReqPerS = round(wrkBare.requestsPerSecond);
      figures.wrkDetailReqPerS = round(wrkDetail.requestsPerSecond);
      ratios.wrkDetailVsBare = round(wrkDetail.requestsPerSecond / wrkBare.requestsPerSecond);
    }
    return {
      figures,
      ratios,
      checks: [
        check('cached detail req/s ÷ bare Fastify req/s', detailRatio, '>=', 0.8),
        check(`cached detail p99 ms at ${c} connections`, detail.latencyMs.p99, '<', 5),
        check('detail non-2xx + errors', detail.non2xx + detail.errors, '==', 0),
      ],
      details: {
        settings: { connections: c, durationSeconds: ctx.durationSeconds, products: PRODUCTS, loadGenerator: 'autocannon in the runner process (same machine)' },
        reference: { name: 'bare Fastify route, small JSON (bench/bare-server.ts)', ...reference },
        productDetailCached: detail,
        productListingCached: listing,
        wrk: wrkBare.available ? { bare: wrkBare, detail: wrkDetail } : { skipped: wrkBare.reason },
      },
    };
  },
};
