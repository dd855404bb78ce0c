// Catalog read benchmark: cached product detail and listing through one `salescale serve`
// instance, against a bare Fastify route measured in the same run (ratios, not absolute figures,
// are what carry across machines). Loopback only, bounded in time; stops what it starts.
import path from 'node:path';
import pg from 'pg';
import { seedCatalog } from '../src/modules/catalog/index.ts';
import { TEST_REDIS_URL, createTestDatabase, testPrefix } from '../test/helpers/db.ts';
import { load, machineFacts, startChild, writeResult } from './lib.ts';

const DURATION_S = Number(process.env.BENCH_DURATION_S ?? 10);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 64);
const MAIN = path.resolve(import.meta.dirname, '../src/main.ts');

const database = await createTestDatabase();
const stops: Array<() => Promise<void>> = [];
try {
  const pool = new pg.Pool({ connectionString: database.url, max: 2 });
  await seedCatalog(pool, { products: 10_000, categories: 24 });
  await pool.end();

  const bare = await startChild(path.resolve(import.meta.dirname, 'bare-server.ts'), [], {});
  stops.push(bare.stop);
  const app = await startChild(MAIN, ['serve'], {
    DATABASE_URL: database.url,
    REDIS_URL: TEST_REDIS_URL,
    REDIS_PREFIX: testPrefix(),
    LOG_LEVEL: 'warn',
    ADMIN_API_TOKEN: 'bench-admin-token-0123456789',
    SESSION_SECRET: 'bench-session-secret-0123456789abcdef',
    // One load generator on one address measures catalog throughput, not the 429/503 refusal paths.
    RATE_LIMIT_ENABLED: 'false',
    LOAD_SHED_ENABLED: 'false',
  }, '/ready');
  stops.push(app.stop);

  const detailPaths = Array.from({ length: 100 }, (_, i) => `/api/v1/products/${i + 1}`);
  // Warm up: JIT, connection pools, and every cache entry the measured runs read.
  await load({ url: bare.url, connections: CONNECTIONS, durationSeconds: 3 });
  await load({ url: app.url, paths: [...detailPaths, '/api/v1/products?limit=20'], connections: CONNECTIONS, durationSeconds: 3 });

  const reference = await load({ url: bare.url, connections: CONNECTIONS, durationSeconds: DURATION_S });
  const detail = await load({ url: app.url, paths: detailPaths, connections: CONNECTIONS, durationSeconds: DURATION_S });
  const listing = await load({ url: app.url, paths: ['/api/v1/products?limit=20'], connections: CONNECTIONS, durationSeconds: DURATION_S });

  const result = {
    scenario: 'catalog',
    machine: machineFacts(),
    settings: { durationSeconds: DURATION_S, connections: CONNECTIONS, products: 10_000, loadGenerator: 'autocannon (same machine)' },
    reference: { name: 'bare Fastify route, small JSON', ...reference },
    productDetailCached: detail,
    productListingCached: listing,
    ratios: {
      detailVsBare: Math.round((detail.requestsPerSecond / reference.requestsPerSecond) * 1000) / 1000,
      listingVsBare: Math.round((listing.requestsPerSecond / reference.requestsPerSecond) * 1000) / 1000,
    },
    targets: { detailVsBare: '≥ 0.8', detailP99Ms: '< 5 at 64 connections' },
  };
  const file = await writeResult('catalog', result);
  const row = (name: string, r: typeof reference) =>
    `${name.padEnd(26)} ${String(Math.round(r.requestsPerSecond)).padStart(8)} req/s   p50 ${r.latencyMs.p50} ms   p99 ${r.latencyMs.p99} ms   non-2xx ${r.non2xx}`;
  process.stdout.write(
    [
      row('bare Fastify (reference)', reference),
      row('product detail (cached)', detail),
      row('product listing (cached)', listing),
      `ratio detail/bare ${result.ratios.detailVsBare}, listing/bare ${result.ratios.listingVsBare}`,
      `written to ${file}`,
      '',
    ].join('\n'),
  );
} finally {
  for (const stop of stops.reverse()) await stop();
  await database.drop();
}
