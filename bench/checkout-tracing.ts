/**
 * What tracing costs checkout (`npx salescale bench checkout-tracing`): the same hot-product load
 * as `checkout-hot` (sharded stock, batched statements, 64 connections, a fresh Idempotency-Key per
 * order) against two `salescale serve` instances, one without OTEL_* variables and one exporting every
 * span (always-on sampling, the SDK's default batching, OTLP over HTTP/protobuf) to a local receiver
 * that accepts and discards them. The phases alternate in a balanced order (off, on, on, off, on, off,
 * off, on: each side first as often as second, so a linear drift and the phase order cancel out) so that
 * drift on the shared machine hits both alike; the figure is the ratio of successful orders/s, target ≥ 0.9 (cost < 10 %).
 */
import { createServer } from 'node:http';
import { sql } from 'drizzle-orm';
import { createDatabase } from '../src/platform/db/client.ts';
import { freePort } from '../src/platform/local/local-stack.ts';
import { insertCustomers, mintSessionCookies } from '../test/helpers/commerce.ts';
import { orderLoad, setStock, type Setup } from './checkout.ts';
import { median, startCpuMeter } from './lib.ts';
import { check, round, type Scenario, type ScenarioResult } from './scenario.ts';
import { benchEnv } from './stack.ts';

const BUYERS = 2000;
const SHARDS = 8;
const DEEP_STOCK = 10_000_000;
/** Tracing off/on per phase: each side runs first in a pair as often as second (phases of one run differed by up to 13 % with two pairs). */
const PHASE_ORDER = [false, true, true, false, true, false, false, true];
/**
 * Load on each instance before the phases. With 2 s the traced instance's first phase was its slowest in
 * four runs of four (1,236–1,367 orders/s against 1,247–1,597 in its later phases; the untraced one's first
 * phase was not): the tracing code and the exporter's connection still warming up, which a serving
 * instance does once in its life.
 */
const WARM_UP_SECONDS = 6;

/** An OTLP/HTTP endpoint that answers every export with an empty (valid) response and keeps only counts. */
async function startDiscardingReceiver(): Promise<{ url: string; exports: () => number; bytes: () => number; close: () => Promise<void> }> {
  let exports = 0;
  let bytes = 0;
  const server = createServer((request, response) => {
    request.on('data', (chunk: Buffer) => (bytes += chunk.length));
    request.on('end', () => {
      exports++;
      response.writeHead(200, { 'content-type': String(request.headers['content-type'] ?? 'application/x-protobuf') }).end();
    });
  });
  const port = await freePort();
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${port}`,
    exports: () => exports,
    bytes: () => bytes,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

export const checkoutTracingScenario: Scenario = {
  name: 'checkout-tracing',
  describe: 'checkout throughput with OpenTelemetry tracing on (every span exported over OTLP/HTTP) vs off, alternating phases',
  async run(ctx): Promise<ScenarioResult> {
    const receiver = await startDiscardingReceiver();
    ctx.onCleanup(() => receiver.close());
    const database = await ctx.database();
    const handle = createDatabase({ url: database.url, poolMin: 0, poolMax: 4, statementTimeoutMs: 0, applicationName: 'salescale-bench' });
    ctx.onCleanup(() => handle.close());
    const db = handle.primary;
    const cookies = await mintSessionCookies(benchEnv(database), await insertCustomers(db, BUYERS, 'bench'));
    const created = await db.execute<{ id: string }>(sql`insert into products (sku, name, price_cents) values ('hot-traced', 'Hot item', 4999) returning id`);
    const productId = Number(created.rows[0]!.id);
    const env = { STOCK_SHARDS: String(SHARDS), DB_POOL_MAX: '20' };
    const off = await ctx.startApp(database, { env });
    const on = await ctx.startApp(database, { env: { ...env, OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url, OTEL_SERVICE_NAME: 'salescale-bench' } });
    const s: Setup = { url: off.url, unbatchedUrl: off.url, cookies, db, products: { sharded: productId, single: productId } };
    await setStock(s, database, productId, DEEP_STOCK, SHARDS);

    ctx.log('checkout-tracing: warm-up of both instances');
    await orderLoad(off.url, productId, cookies, ctx.connections, WARM_UP_SECONDS);
    const warmOn = await orderLoad(on.url, productId, cookies, ctx.connections, WARM_UP_SECONDS);
    // Every request the traced instance answered exported its spans (unless the SDK's queue dropped some).
    let tracedRequests = Object.values(warmOn.statuses).reduce((n, c) => n + c, 0);
    const phases: { tracing: boolean; ordersPerSecond: number; p95Ms: number; errors: number; instanceCpuUsPerOrder: number }[] = [];
    for (const tracing of PHASE_ORDER) {
      ctx.log(`checkout-tracing: tracing ${tracing ? 'on' : 'off'}, ${ctx.durationSeconds} s`);
      const instance = tracing ? on : off;
      const cpuPerOrder = startCpuMeter(instance.pid);
      const phase = await orderLoad(instance.url, productId, cookies, ctx.connections, ctx.durationSeconds);
      const instanceCpuUsPerOrder = round(cpuPerOrder(phase.statuses['201'] ?? 0));
      if (tracing) tracedRequests += Object.values(phase.statuses).reduce((n, c) => n + c, 0);
      phases.push({ tracing, ordersPerSecond: phase.ordersPerSecond, p95Ms: phase.latencyMs.p95, errors: phase.errors + Object.entries(phase.statuses).filter(([status]) => status !== '201').reduce((n, [, c]) => n + c, 0), instanceCpuUsPerOrder });
    }
    const mean = (tracing: boolean) => phases.filter((p) => p.tracing === tracing).reduce((sum, p) => sum + p.ordersPerSecond, 0) / PHASE_ORDER.filter((t) => t === tracing).length;
    const offRate = mean(false);
    const onRate = mean(true);
    // Let the last batch of spans leave the instance before reading the receiver's counters.
    await new Promise((resolve) => setTimeout(resolve, 6000));
    const ratio = onRate / offRate;
    return {
      figures: {
        ordersPerSecondTracingOff: round(offRate),
        ordersPerSecondTracingOn: round(onRate),
        p95MsTracingOff: round(Math.max(...phases.filter((p) => !p.tracing).map((p) => p.p95Ms))),
        p95MsTracingOn: round(Math.max(...phases.filter((p) => p.tracing).map((p) => p.p95Ms))),
        otlpExports: receiver.exports(),
        otlpBytes: receiver.bytes(),
        // A fall in this figure between runs means spans were dropped (the SDK's queue full), not exported.
        otlpBytesPerTracedRequest: round(receiver.bytes() / Math.max(tracedRequests, 1)),
        failedOrders: phases.reduce((n, p) => n + p.errors, 0),
        // The instance's own CPU (all threads) per successful order, median of its phases: steadier than orders/s on a shared machine.
        instanceCpuUsPerOrderTracingOff: round(median(phases.filter((p) => !p.tracing).map((p) => p.instanceCpuUsPerOrder))),
        instanceCpuUsPerOrderTracingOn: round(median(phases.filter((p) => p.tracing).map((p) => p.instanceCpuUsPerOrder))),
      },
      ratios: { tracingOnVsOff: round(ratio) },
      checks: [
        check('orders/s with tracing on ÷ off (cost < 10 %)', ratio, '>=', 0.9),
        check('spans exported while tracing is on', receiver.exports() > 0 ? 1 : 0, '==', 1),
      ],
      details: { phases },
    };
  },
};
