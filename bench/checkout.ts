/**
 * Checkout under a stampede on one hot product (`npm run bench:checkout`; also the `checkout-hot`
 * and `sold-out` scenarios of `npm run bench`).
 *
 * `salescale serve` instances (one at a time under load), many signed-in buyers (sessions minted
 * through the app's own session store), every order with its own Idempotency-Key, over loopback.
 * In the same run:
 *  - the chosen design: stock split across STOCK_SHARDS rows taken with SKIP LOCKED, concurrent
 *    orders gathered into one statement and commit (CHECKOUT_BATCH_MAX);
 *  - each half of it alone (sharded, one order per statement; single row, batched);
 *  - the baseline: the stock in a single row (conditional UPDATE), one order per statement;
 *  - pgbench running that single-row conditional UPDATE alone at its best client count;
 *  - for sold-out replies, a bare Fastify route on the same runtime (GET, the target's reference),
 *    and the same bare server answering the order POST with the sold-out 409 after the same schemas
 *    (the HTTP POST pipeline alone), under autocannon and wrk.
 * Each design first sells from a deep stock (successful orders/s and latency), then sells out a
 * small stock under the same load (sold-out replies/s, and the oversell check: units in 201
 * replies == units gone from PostgreSQL == the stock, never more).
 */
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { sql } from 'drizzle-orm';
import autocannon from 'autocannon';
import { Redis } from 'ioredis';
import { createInventoryRepository, createStockGate } from '../src/modules/inventory/index.ts';
import { createDatabase, type Db } from '../src/platform/db/client.ts';
import { insertCustomers, mintSessionCookies } from '../test/helpers/commerce.ts';
import { pairedMedianRatio, startChild, startCpuMeter } from './lib.ts';
import { measurePgbenchSingleRow } from './pgbench.ts';
import { check, round, skip, type BenchContext, type Scenario, type ScenarioResult } from './scenario.ts';
import { benchEnv, type BenchDatabase } from './stack.ts';
import { betterWrk, countingScript, expectedPerSecond, unexpectedReplies, WRK_MISSING, wrk, type WrkResult, type WrkRun } from './wrk.ts';

const BUYERS = 2000;
const SHARDS = 8;
const DEEP_STOCK = 10_000_000;
/** Requests autocannon abandons at the end of a phase may still commit: wait for them before counting. */
const DRAIN_MS = 1500;
/** Alternating wrk rounds of the sold-out scenario (bare GET, sold-out POST, bare POST 409). */
const WRK_ROUNDS = 3;
/** The order every buyer of the bench places: one unit of `productId` (autocannon and wrk send the same). */
const orderBody = (productId: number) => JSON.stringify({ items: [{ productId, quantity: 1 }] });
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

interface Phase {
  seconds: number;
  statuses: Record<string, number>;
  ordersPerSecond: number;
  soldOutPerSecond: number;
  unitsOrdered: number;
  latencyMs: { p50: number; p95: number; p99: number };
  errors: number;
}

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

/** Closed-model load: `connections` buyers, each order from a rotating session with a fresh key. */
export async function orderLoad(url: string, productId: number, cookies: string[], connections: number, seconds: number): Promise<Phase> {
  let n = 0;
  const latencies: number[] = [];
  const statuses: Record<string, number> = {};
  let unitsOrdered = 0;
  const body = orderBody(productId);
  let finish!: (result: autocannon.Result) => void;
  let fail!: (error: Error) => void;
  const done = new Promise<autocannon.Result>((resolve, reject) => {
    finish = resolve;
    fail = reject;
  });
  const instance = autocannon(
    {
    url,
    connections,
    duration: seconds,
    requests: [
      {
        method: 'POST',
        path: '/api/v1/orders',
        setupRequest: (request) => {
          n++;
          return {
            ...request,
            headers: { 'content-type': 'application/json', cookie: cookies[n % cookies.length]!, 'idempotency-key': `bench-${productId}-${n}-${Math.random()}` },
            body,
          };
        },
      },
    ],
    },
    (error, result) => (error ? fail(error) : finish(result)),
  );
  instance.on('response', (_client: unknown, statusCode: number, _bytes: number, responseTime: number) => {
    statuses[statusCode] = (statuses[statusCode] ?? 0) + 1;
    if (statusCode === 201) unitsOrdered++;
    latencies.push(responseTime);
  });
  const result = await done;
  latencies.sort((a, b) => a - b);
  return {
    seconds,
    statuses,
    ordersPerSecond: round((statuses['201'] ?? 0) / seconds),
    soldOutPerSecond: round((statuses['409'] ?? 0) / seconds),
    unitsOrdered,
    latencyMs: { p50: round(percentile(latencies, 50)), p95: round(percentile(latencies, 95)), p99: round(percentile(latencies, 99)) },
    errors: result.errors + result.timeouts,
  };
}

export interface Setup {
  /** The instance with the order batcher (the default). */
  url: string;
  /** Its process id, for CPU accounting (set by this file's set-up). */
  pid?: number;
  /** An instance placing every order in its own statement (CHECKOUT_BATCH_MAX=1). */
  unbatchedUrl: string;
  cookies: string[];
  db: Db;
  products: { sharded: number; single: number };
}

async function setUp(ctx: BenchContext, database: BenchDatabase): Promise<Setup> {
  const handle = createDatabase({ url: database.url, poolMin: 0, poolMax: 4, statementTimeoutMs: 0, applicationName: 'salescale-bench' });
  ctx.onCleanup(() => handle.close());
  const db = handle.primary;
  const customerIds = await insertCustomers(db, BUYERS, 'bench');
  const cookies = await mintSessionCookies(benchEnv(database), customerIds);
  const created = await db.execute<{ id: string }>(sql`
    insert into products (sku, name, price_cents) values ('hot-sharded', 'Hot item (sharded stock)', 4999), ('hot-single', 'Hot item (single-row stock)', 4999)
    returning id`);
  const [sharded, single] = created.rows.map((r) => Number(r.id)) as [number, number];
  // BENCH_CPU_PROF=<dir>: the instance writes a V8 CPU profile there when it stops (profile, don't guess).
  const profileDir = process.env.BENCH_CPU_PROF;
  const nodeArgs = profileDir ? ['--cpu-prof', `--cpu-prof-dir=${profileDir}`] : [];
  const app = await ctx.startApp(database, { env: { STOCK_SHARDS: String(SHARDS), DB_POOL_MAX: '20' }, nodeArgs });
  const unbatched = await ctx.startApp(database, { env: { STOCK_SHARDS: String(SHARDS), DB_POOL_MAX: '20', CHECKOUT_BATCH_MAX: '1' }, nodeArgs });
  return { url: app.url, pid: app.pid, unbatchedUrl: unbatched.url, cookies, db, products: { sharded, single } };
}

/** Puts `units` in stock in `shards` rows and drops the gate: the admin API's own two steps. */
export async function setStock(s: Setup, database: BenchDatabase, productId: number, units: number, shards: number): Promise<void> {
  const inventory = createInventoryRepository({ shards });
  await inventory.set(s.db, productId, units);
  const redis = new Redis(benchEnv(database).REDIS_URL!);
  try {
    const gate = createStockGate({ redis, prefix: database.redisPrefix, snapshot: (id, tokens) => inventory.snapshot(s.db, id, tokens) });
    await gate.invalidate(productId);
  } finally {
    redis.disconnect();
  }
}

export async function unitsSold(s: Setup, productId: number): Promise<{ sold: number; left: number }> {
  const result = await s.db.execute<{ sold: string; left: string }>(sql`
    select (select coalesce(sum(quantity), 0) from order_items where product_id = ${productId}) as sold,
           (select coalesce(sum(available), 0) from product_stock where product_id = ${productId}) as left`);
  return { sold: Number(result.rows[0]!.sold), left: Number(result.rows[0]!.left) };
}

async function measureDesign(ctx: BenchContext, s: Setup, database: BenchDatabase, url: string, productId: number, shards: number, label: string, pid?: number) {
  await setStock(s, database, productId, DEEP_STOCK, shards);
  ctx.log(`${label}: warm-up`);
  await orderLoad(url, productId, s.cookies, ctx.connections, 2);
  ctx.log(`${label}: deep stock, ${ctx.durationSeconds} s`);
  const cpuUsPer = pid === undefined ? undefined : startCpuMeter(pid);
  const deep = await orderLoad(url, productId, s.cookies, ctx.connections, ctx.durationSeconds);
  // The instance's own CPU per order placed (sold-out replies are none here: the stock is deep).
  const instanceCpuUsPerOrder = cpuUsPer?.(deep.statuses['201'] ?? 0);
  await sleep(DRAIN_MS);

  // A stock that sells out within the first half of the phase at the rate just measured.
  const stock = Math.max(100, Math.floor((deep.ordersPerSecond * ctx.durationSeconds) / 2));
  const before = await unitsSold(s, productId);
  await setStock(s, database, productId, stock, shards);
  ctx.log(`${label}: selling out ${stock} units, ${ctx.durationSeconds} s`);
  const sellOut = await orderLoad(url, productId, s.cookies, ctx.connections, ctx.durationSeconds);
  await sleep(DRAIN_MS);
  const after = await unitsSold(s, productId);
  const soldInPhase = after.sold - before.sold;
  return {
    deep,
    instanceCpuUsPerOrder,
    sellOut,
    sellOutStock: stock,
    // Units promised by 201 replies beyond the stock, and units PostgreSQL lost beyond it: both must be 0.
    oversold: Math.max(0, sellOut.unitsOrdered - stock) + Math.max(0, soldInPhase - stock) + Math.max(0, -after.left),
    // Every unit gone from PostgreSQL is in an order, every 201 reply is one of those units (a reply
    // autocannon abandoned at the end is an order the client never saw: replies <= database).
    consistent: soldInPhase + after.left === stock && sellOut.unitsOrdered <= soldInPhase,
    soldOut: after.left === 0,
  };
}

/**
 * The fair reference for hot-SKU orders: bare Fastify validating the same body and running pgbench's
 * single-row conditional UPDATE per POST (`bare-order-server.ts`), under the same load, connections,
 * buyers' cookies and PostgreSQL as the instances, with its own CPU per order. pgbench's figure has no
 * HTTP at all. Informational: when it cannot run, the scenario records why and goes on.
 */
async function measureBareOrderEndpoint(ctx: BenchContext, s: Setup, database: BenchDatabase): Promise<{ available: true; phase: Phase; cpuUsPerOrder: number } | { available: false; reason: string }> {
  let bare: Awaited<ReturnType<typeof startChild>> | undefined;
  try {
    bare = await startChild(new URL('./bare-order-server.ts', import.meta.url).pathname, [], { DATABASE_URL: database.url, DB_POOL_MAX: '20' }, '/');
    await orderLoad(bare.url, s.products.sharded, s.cookies, ctx.connections, 2);
    ctx.log(`bare order endpoint (Fastify + one conditional UPDATE per order): ${ctx.durationSeconds} s`);
    const cpuUsPer = startCpuMeter(bare.pid);
    const phase = await orderLoad(bare.url, s.products.sharded, s.cookies, ctx.connections, ctx.durationSeconds);
    const placed = phase.statuses['201'] ?? 0;
    if (placed === 0) return { available: false, reason: `bare order endpoint placed no order (statuses ${JSON.stringify(phase.statuses)})` };
    return { available: true, phase, cpuUsPerOrder: round(cpuUsPer(placed)) };
  } catch (error) {
    return { available: false, reason: `bare order endpoint failed: ${(error as Error).message}` };
  } finally {
    await bare?.stop();
  }
}

export const checkoutHotScenario: Scenario = {
  name: 'checkout-hot',
  describe: 'one hot product, many buyers: sharded stock (SKIP LOCKED) with batched statements, each half alone, the single-row design, pgbench single-row UPDATE',
  async run(ctx): Promise<ScenarioResult> {
    const reference = await measurePgbenchSingleRow({ durationSeconds: Math.min(4, ctx.durationSeconds), log: ctx.log });
    const database = await ctx.database();
    const s = await setUp(ctx, database);
    // The chosen design (sharded stock + batched statements), each half of it alone, and the baseline.
    const designs = {
      shardedBatched: await measureDesign(ctx, s, database, s.url, s.products.sharded, SHARDS, 'sharded + batched', s.pid),
      shardedUnbatched: await measureDesign(ctx, s, database, s.unbatchedUrl, s.products.sharded, SHARDS, 'sharded, one order per statement'),
      singleRowBatched: await measureDesign(ctx, s, database, s.url, s.products.single, 1, 'single row + batched'),
      singleRow: await measureDesign(ctx, s, database, s.unbatchedUrl, s.products.single, 1, 'single-row baseline'),
    };
    const pgbenchTps = reference.available ? reference.bestTps : Number.NaN;
    const figures: Record<string, number> = { pgbenchSingleRowTps: pgbenchTps, connections: ctx.connections, buyers: BUYERS, shards: SHARDS };
    const ratios: Record<string, number> = {};
    const checks = [];
    for (const [name, d] of Object.entries(designs)) {
      figures[`${name}OrdersPerSecond`] = d.deep.ordersPerSecond;
      figures[`${name}P50Ms`] = d.deep.latencyMs.p50;
      figures[`${name}P95Ms`] = d.deep.latencyMs.p95;
      figures[`${name}P99Ms`] = d.deep.latencyMs.p99;
      figures[`${name}SoldOutRepliesPerSecond`] = d.sellOut.soldOutPerSecond;
      figures[`${name}Oversold`] = d.oversold;
      ratios[`${name}VsPgbench`] = round(d.deep.ordersPerSecond / pgbenchTps);
      checks.push(check(`oversold units (${name})`, d.oversold, '==', 0));
      checks.push(check(`sold + left == stock, 201 replies <= sold (${name})`, d.consistent ? 1 : 0, '==', 1));
      checks.push(check(`sold out within the phase (${name})`, d.soldOut ? 1 : 0, '==', 1));
    }
    ratios.chosenVsSingleRow = round(designs.shardedBatched.deep.ordersPerSecond / designs.singleRow.deep.ordersPerSecond);
    const bareOrders = await measureBareOrderEndpoint(ctx, s, database);
    figures.shardedBatchedInstanceCpuUsPerOrder = round(designs.shardedBatched.instanceCpuUsPerOrder ?? Number.NaN);
    if (bareOrders.available) {
      figures.bareOrderEndpointOrdersPerSecond = bareOrders.phase.ordersPerSecond;
      figures.bareOrderEndpointP99Ms = bareOrders.phase.latencyMs.p99;
      figures.bareOrderEndpointCpuUsPerOrder = bareOrders.cpuUsPerOrder;
      ratios.shardedBatchedVsBareOrderEndpoint = round(designs.shardedBatched.deep.ordersPerSecond / bareOrders.phase.ordersPerSecond);
    } else {
      ctx.log(`fair reference not measured: ${bareOrders.reason}`);
    }
    if (reference.available) checks.push(check('successful orders/s (sharded + batched) ÷ pgbench single-row tps', ratios.shardedBatchedVsPgbench!, '>=', 1));
    const notes = [reference.available ? undefined : reference.reason, bareOrders.available ? undefined : bareOrders.reason].filter(Boolean);
    return { figures, ratios, checks, details: { ...designs, bareOrderEndpoint: bareOrders, pgbench: reference, note: notes.length > 0 ? notes.join('; ') : undefined } };
  },
};

/** A sold-out load measured with its server's CPU time per reply (/proc): autocannon shares the cores and can bound req/s. */
async function withCpu<T extends { total: number }>(pid: number, run: () => Promise<T>): Promise<T & { cpuUsPerRequest: number }> {
  const cpuUsPer = startCpuMeter(pid);
  const result = await run();
  return { ...result, cpuUsPerRequest: round(cpuUsPer(result.total)) };
}

const repliesOf = (phase: Phase) => Object.values(phase.statuses).reduce((a, b) => a + b, 0);
type WrkRunWithCpu = WrkRun & { cpuUsPerRequest: number };

/** A wrk run with its server's CPU time per reply (/proc), or wrk's `{ available: false, reason }`. */
async function wrkWithCpu(pid: number, options: Parameters<typeof wrk>[0]): Promise<WrkRunWithCpu | { available: false; reason: string }> {
  const cpuUsPer = startCpuMeter(pid);
  const result = await wrk(options);
  if (!result.available) return result;
  return { ...result, cpuUsPerRequest: round(cpuUsPer(result.requests)) };
}

/** One alternating wrk round of the sold-out scenario: each side's run. */
interface WrkRound {
  bare: WrkRunWithCpu;
  soldOut: WrkRunWithCpu;
  barePost: WrkRunWithCpu;
}

export const soldOutScenario: Scenario = {
  name: 'sold-out',
  describe: 'the hot product after it sold out: every order answered 409 by the Redis stock gate, vs bare Fastify (autocannon, wrk cross-check; bare Fastify POST 409 as the fair reference)',
  async run(ctx): Promise<ScenarioResult> {
    // The bare server answers GET / (the target's reference) and POST /api/v1/orders with the sold-out
    // 409 after the same header and body schemas (the HTTP POST pipeline alone: how much of the gap is ours).
    const bare = await startChild(new URL('./bare-server.ts', import.meta.url).pathname, [], {}, '/');
    ctx.onCleanup(() => bare.stop());
    const database = await ctx.database();
    const s = await setUp(ctx, database);
    await setStock(s, database, s.products.sharded, 0, SHARDS);
    const c = ctx.connections;
    await orderLoad(s.url, s.products.sharded, s.cookies, c, 2);
    await orderLoad(bare.url, s.products.sharded, s.cookies, c, 2);
    ctx.log(`sold-out: ${ctx.durationSeconds} s`);
    const pid = s.pid!;
    const soldOut = await withCpu(pid, async () => {
      const phase = await orderLoad(s.url, s.products.sharded, s.cookies, c, ctx.durationSeconds);
      return { ...phase, total: repliesOf(phase) };
    });
    const reference = await withCpu(bare.pid, async () => {
      const result = await autocannon({ url: `${bare.url}/`, connections: c, duration: ctx.durationSeconds });
      return { requestsPerSecond: result.requests.average, total: result.requests.total, non2xx: result.non2xx, errors: result.errors + result.timeouts };
    });
    ctx.log(`bare Fastify POST 409 (same body schema, no Redis): ${ctx.durationSeconds} s`);
    const barePost = await withCpu(bare.pid, async () => {
      const phase = await orderLoad(bare.url, s.products.sharded, s.cookies, c, ctx.durationSeconds);
      return { ...phase, total: repliesOf(phase) };
    });

    // wrk (C, a few µs of CPU per request) in alternating rounds: bare GET, sold-out POST, bare POST 409,
    // all through one counting script (the GET too, so every side pays wrk's reply parsing alike).
    // The POSTs send the same body, a cookie each and a fresh key each.
    const scriptDir = await mkdtemp(path.join(os.tmpdir(), 'salescale-sold-out-'));
    ctx.onCleanup(() => rm(scriptDir, { recursive: true, force: true }));
    const script = path.join(scriptDir, 'order.lua');
    await writeFile(script, countingScript({ method: 'POST', body: orderBody(s.products.sharded), cookies: s.cookies, expect: { status: 409, code: 'OUT_OF_STOCK' } }));
    const getScript = path.join(scriptDir, 'get.lua');
    await writeFile(getScript, countingScript({ method: 'GET', expect: { status: 200 } }));
    const step = Math.max(3, Math.round(ctx.durationSeconds / WRK_ROUNDS));
    const runId = randomUUID().slice(0, 8);
    const post = (url: string, label: string) => ({ url: `${url}/api/v1/orders`, connections: c, durationSeconds: step, script, scriptArgs: [`${runId}-${label}`] });
    const rounds: WrkRound[] = [];
    const wrkFailures: string[] = [];
    let wrkInstalled = true;
    for (let i = 0; i < WRK_ROUNDS && wrkInstalled; i++) {
      ctx.log(`wrk round ${i + 1} of ${WRK_ROUNDS}: bare GET, sold-out POST, bare POST 409, ${step} s each`);
      const runs = [
        await wrkWithCpu(bare.pid, { url: `${bare.url}/`, connections: c, durationSeconds: step, script: getScript }),
        await wrkWithCpu(pid, post(s.url, `sold-out-${i}`)),
        await wrkWithCpu(bare.pid, post(bare.url, `bare-${i}`)),
      ] as const;
      const [b, t, f] = runs;
      if (b.available && t.available && f.available) rounds.push({ bare: b, soldOut: t, barePost: f });
      for (const r of runs) {
        if (r.available) continue;
        if (r.reason === WRK_MISSING) wrkInstalled = false;
        else wrkFailures.push(`round ${i + 1}: ${r.reason}`);
      }
    }
    const bestOf = (side: keyof WrkRound) => rounds.map((r) => r[side]).reduce<WrkResult>(betterWrk, { available: false, reason: 'no complete round' });
    const [wrkBare, wrkSoldOut, wrkBarePost] = [bestOf('bare'), bestOf('soldOut'), bestOf('barePost')];
    const wrkUnexpected = rounds.reduce((sum, r) => sum + unexpectedReplies(r.bare) + unexpectedReplies(r.soldOut) + unexpectedReplies(r.barePost), 0);
    // Diagnostic: the same POST without a session on the same instance, refused 401 by the route (through
    // the error handler) before any Redis or idempotency work: Salescale's request pipeline with none of
    // the sold-out reply's own work. It costs about as much CPU per reply as the sold-out reply itself.
    const anonymousScript = path.join(scriptDir, 'anonymous.lua');
    await writeFile(anonymousScript, countingScript({ method: 'POST', body: orderBody(s.products.sharded), cookies: ['none=1'], expect: { status: 401, code: 'NOT_SIGNED_IN' } }));
    const anonymous = rounds.length > 0 ? await wrkWithCpu(pid, { ...post(s.url, 'anonymous'), script: anonymousScript }) : wrkBare;
    const queries = await unitsSold(s, s.products.sharded);
    if ((soldOut.statuses['409'] ?? 0) === 0) return skip(`no sold-out replies (statuses ${JSON.stringify(soldOut.statuses)})`);
    const otherThan409 = (phase: Phase) => repliesOf(phase) - (phase.statuses['409'] ?? 0) + phase.errors;

    const figures: Record<string, number> = {
      soldOutRepliesPerSecond: soldOut.soldOutPerSecond,
      p50Ms: soldOut.latencyMs.p50,
      p95Ms: soldOut.latencyMs.p95,
      p99Ms: soldOut.latencyMs.p99,
      bareFastifyRequestsPerSecond: round(reference.requestsPerSecond),
      soldOutCpuUsPerReply: soldOut.cpuUsPerRequest,
      bareFastifyCpuUsPerRequest: reference.cpuUsPerRequest,
      ordersPlaced: queries.sold,
      bareFastifyPost409RepliesPerSecond: barePost.soldOutPerSecond,
      bareFastifyPost409CpuUsPerReply: barePost.cpuUsPerRequest,
      // Replies other than 409 and socket errors or timeouts, of both POST phases; and the GET reference's non-2xx and errors.
      non409Replies: otherThan409(soldOut) + otherThan409(barePost),
      bareFastifyNon2xx: reference.non2xx + reference.errors,
    };
    const ratios: Record<string, number> = {
      soldOutVsBareFastify: round(soldOut.soldOutPerSecond / reference.requestsPerSecond),
      soldOutCpuEfficiencyVsBare: round(reference.cpuUsPerRequest / soldOut.cpuUsPerRequest),
      soldOutVsBareFastifyPost409: round(soldOut.soldOutPerSecond / barePost.soldOutPerSecond),
      soldOutCpuEfficiencyVsBarePost409: round(barePost.cpuUsPerRequest / soldOut.cpuUsPerRequest),
    };
    const checks = [
      check('sold-out replies/s ÷ bare Fastify req/s', soldOut.soldOutPerSecond / reference.requestsPerSecond, '>=', 0.5, 'autocannon'),
      check('orders placed with no stock', queries.sold, '==', 0),
    ];
    if (wrkInstalled) checks.push(check('complete wrk rounds (bare GET, sold-out POST, bare POST 409)', rounds.length, '==', WRK_ROUNDS, wrkFailures.join('; ') || undefined));
    if (wrkBare.available && wrkSoldOut.available && wrkBarePost.available) {
      const [b, t, f] = [wrkBare as WrkRunWithCpu, wrkSoldOut as WrkRunWithCpu, wrkBarePost as WrkRunWithCpu];
      // Replies/s of the expected reply only (200 for the GET, 409 OUT_OF_STOCK for the POSTs), as autocannon's figures count.
      Object.assign(figures, {
        wrkBareReqPerS: round(expectedPerSecond(b)),
        wrkBareCpuUsPerRequest: b.cpuUsPerRequest,
        wrkSoldOutRepliesPerSecond: round(expectedPerSecond(t)),
        wrkSoldOutP50Ms: t.latencyMs.p50,
        wrkSoldOutP99Ms: t.latencyMs.p99,
        wrkSoldOutCpuUsPerReply: t.cpuUsPerRequest,
        wrkBarePost409RepliesPerSecond: round(expectedPerSecond(f)),
        wrkBarePost409CpuUsPerReply: f.cpuUsPerRequest,
        wrkUnexpectedReplies: wrkUnexpected,
      });
      if (anonymous.available) {
        const a = anonymous as WrkRunWithCpu;
        figures.wrkUnauthenticatedPost401RepliesPerSecond = round(expectedPerSecond(a));
        figures.wrkUnauthenticatedPost401CpuUsPerReply = a.cpuUsPerRequest;
        figures.wrkUnauthenticatedPost401Other = unexpectedReplies(a);
      }
      const paired = (n: (r: WrkRound) => WrkRun, d: (r: WrkRound) => WrkRun) => round(pairedMedianRatio(rounds, (r) => expectedPerSecond(n(r)), (r) => expectedPerSecond(d(r))));
      Object.assign(ratios, {
        // Median over rounds of the ratio within each round (judged), and each side's best round (as before).
        wrkSoldOutVsBare: paired((r) => r.soldOut, (r) => r.bare),
        wrkSoldOutVsBarePost409: paired((r) => r.soldOut, (r) => r.barePost),
        wrkBarePost409VsBare: paired((r) => r.barePost, (r) => r.bare),
        wrkSoldOutVsBareBestOfRounds: round(expectedPerSecond(t) / expectedPerSecond(b)),
        wrkSoldOutVsBarePost409BestOfRounds: round(expectedPerSecond(t) / expectedPerSecond(f)),
        wrkBarePost409VsBareBestOfRounds: round(expectedPerSecond(f) / expectedPerSecond(b)),
      });
      checks.unshift(check('sold-out replies/s ÷ bare Fastify req/s (wrk cross-check)', ratios.wrkSoldOutVsBare!, '>=', 0.5, `median of ${rounds.length} paired rounds; best of rounds per side ${ratios.wrkSoldOutVsBareBestOfRounds}`));
      checks.push(check('replies other than expected (wrk, every round: bare GET 200, POSTs 409 OUT_OF_STOCK)', wrkUnexpected, '==', 0));
    }
    checks.push(check('replies other than 409 (autocannon)', figures.non409Replies!, '==', 0));
    checks.push(check('bare Fastify GET non-2xx + errors (autocannon)', figures.bareFastifyNon2xx!, '==', 0));
    ctx.log(
      `sold-out ÷ bare Fastify GET: ${ratios.soldOutVsBareFastify} autocannon${ratios.wrkSoldOutVsBare === undefined ? '' : `, ${ratios.wrkSoldOutVsBare} wrk`}; ` +
        `÷ bare Fastify POST 409 (same body schema, no Redis; informational): ${ratios.soldOutVsBareFastifyPost409} autocannon${ratios.wrkSoldOutVsBarePost409 === undefined ? '' : `, ${ratios.wrkSoldOutVsBarePost409} wrk`}`,
    );
    if (figures.wrkSoldOutCpuUsPerReply !== undefined) {
      ctx.log(`CPU µs per reply under wrk: sold-out ${figures.wrkSoldOutCpuUsPerReply}, unauthenticated POST 401 ${figures.wrkUnauthenticatedPost401CpuUsPerReply ?? '—'}, bare POST 409 ${figures.wrkBarePost409CpuUsPerReply}, bare GET ${figures.wrkBareCpuUsPerRequest}`);
    }
    return {
      figures,
      ratios,
      checks,
      details: {
        statuses: soldOut.statuses,
        barePost409Statuses: barePost.statuses,
        settings: { connections: c, wrkRounds: WRK_ROUNDS, wrkSecondsPerRound: step, loadGenerators: 'autocannon in the runner process; wrk in alternating rounds (ratios: median of per-round ratios; figures: best round per side), every side through bench/wrk.ts countingScript' },
        wrk: wrkInstalled ? { rounds, bestOfRounds: { bare: wrkBare, soldOut: wrkSoldOut, barePost409: wrkBarePost }, unauthenticatedPost401: anonymous, failures: wrkFailures } : { skipped: WRK_MISSING },
      },
    };
  },
};
