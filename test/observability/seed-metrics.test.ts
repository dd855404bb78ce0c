/**
 * Acceptance: traffic through two `salescale serve` instances and one worker; every seed-strategy
 * metric is present on each instance with sensible values (checkout rate = orders placed, DB pool
 * waiting > 0 under pool exhaustion with DB_POOL_MAX=1, active users = distinct sessions, …).
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { QUEUE_NAMES } from '../../src/platform/queue/queue-definitions.ts';
import { createTestApp, type TestApp } from '../helpers/app.ts';
import { request, type Json } from '../helpers/http.ts';
import { startInstance, type Instance } from '../helpers/instances.ts';
import { parsePrometheusText, select, total, type Sample } from '../helpers/prometheus-text.ts';

let t: TestApp;
let a: Instance;
let b: Instance;
let worker: Instance;
let dataDir: string;
const admin = () => ({ authorization: t.admin.authorization });
const scrape = async (instance: Instance): Promise<Sample[]> => parsePrometheusText(await (await fetch(`${instance.url}/metrics`)).text());
const value = (samples: Sample[], name: string, where: Record<string, string> = {}) => {
  const found = select(samples, name, where);
  assert.ok(found.length > 0, `${name}${JSON.stringify(where)} missing`);
  return found.reduce((sum, s) => sum + s.value, 0);
};
async function eventually<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const result = await probe();
    if (result !== undefined) return result;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

before(async () => {
  t = await createTestApp();
  dataDir = mkdtempSync(path.join(tmpdir(), 'salescale-data-'));
  const env = {
    ...t.env,
    DB_POOL_MAX: '1',
    RATE_LIMIT_ENABLED: 'false',
    RATE_LIMIT_SALE_REFRESH_MS: '0',
    DATA_DIR: dataDir,
    ANALYTICS_FLUSH_INTERVAL_MS: '500',
    CLUSTER_HEARTBEAT_MS: '500',
  };
  // One after the other, so that a failed start leaves no process behind (the machine may be busy).
  a = await startInstance({ env: { ...env, INSTANCE_ID: 'web-a' }, timeoutMs: 60_000 });
  b = await startInstance({ env: { ...env, INSTANCE_ID: 'web-b' }, timeoutMs: 60_000 });
  // Its port (PORT and WORKER_PORT) is found by startInstance, which starts it again on another one if it was taken.
  worker = await startInstance({ env: { ...env, INSTANCE_ID: 'worker-1' }, command: 'worker', timeoutMs: 60_000 });
});
after(async () => {
  await Promise.all([a?.stop(), b?.stop(), worker?.stop()]);
  await t?.close();
  if (dataDir) rmSync(dataDir, { recursive: true, force: true });
});

describe('seed metrics on two web instances and a worker', () => {
  const products: number[] = [];
  const sessions: string[] = [];
  let ordersPlaced = 0;

  it('drive traffic: browsing, sign-ups, orders, a refused order', async () => {
    for (let i = 0; i < 3; i++) {
      const created = await request(`${a.url}/api/v1/admin/products`, { method: 'POST', headers: admin(), body: { sku: `OBS-${i}`, name: `Observed ${i}`, priceCents: 1000 + i, available: 50 } });
      assert.equal(created.status, 201, JSON.stringify(created.body));
      products.push(created.body.id);
    }
    for (const instance of [a, b]) {
      for (const id of products) assert.equal((await request(`${instance.url}/api/v1/products/${id}`)).status, 200);
      assert.equal((await request(`${instance.url}/api/v1/products/999999`)).status, 404);
    }
    // Three customers, each signed in on one instance and browsing on both.
    for (let i = 0; i < 3; i++) {
      const response = await fetch(`${(i % 2 ? b : a).url}/api/v1/customers`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ email: `obs-${i}-${randomUUID()}@example.com`, password: 'correct horse battery', name: `Buyer ${i}` }),
      });
      assert.equal(response.status, 201, await response.text());
      const cookie = response.headers.getSetCookie().map((c) => c.split(';')[0]).join('; ');
      sessions.push(cookie);
      for (const instance of [a, b]) assert.equal((await request(`${instance.url}/api/v1/me`, { headers: { cookie } })).status, 200);
    }
    // Four orders (two per instance) and one refused for lack of stock.
    for (let i = 0; i < 4; i++) {
      const placed = await request(`${(i % 2 ? b : a).url}/api/v1/orders`, {
        method: 'POST',
        headers: { cookie: sessions[i % sessions.length]!, 'idempotency-key': randomUUID() },
        body: { items: [{ productId: products[i % products.length]!, quantity: 1 }] },
      });
      assert.equal(placed.status, 201, JSON.stringify(placed.body));
      ordersPlaced++;
    }
    const refused = await request(`${a.url}/api/v1/orders`, {
      method: 'POST',
      headers: { cookie: sessions[0]!, 'idempotency-key': randomUUID() },
      body: { items: [{ productId: products[0]!, quantity: 1000 }] },
    });
    assert.equal(refused.status, 409, JSON.stringify(refused.body));
  });

  it('request duration histograms by route template, method and status, with buckets around the 500 ms / 1 s targets', async () => {
    for (const instance of [a, b]) {
      const samples = await scrape(instance);
      const buckets = select(samples, 'http_request_duration_seconds_bucket');
      const routes = new Set(buckets.map((s) => s.labels.route));
      assert.ok(routes.has('/api/v1/products/:id'), [...routes].join(' '));
      for (const route of routes) assert.doesNotMatch(route!, /\/\d+(\/|$)|\?/, `raw URL in a label: ${route}`);
      const les = new Set(buckets.map((s) => s.labels.le));
      for (const le of ['0.5', '1', '2']) assert.ok(les.has(le), `bucket le=${le}`);
      assert.ok(value(samples, 'http_request_duration_seconds_count', { route: '/api/v1/products/:id', status_code: '404' }) >= 1);
      // Throughput and error ratio are derived from the same counts (see the recording rules / dashboard).
      assert.equal(total(samples, 'http_request_duration_seconds_count', { status_code: '500' }), 0);
    }
  });

  it('process CPU, memory, event-loop delay, their limits, and the data directory disk', async () => {
    for (const instance of [a, b, worker]) {
      const samples = await scrape(instance);
      assert.ok(value(samples, 'process_cpu_seconds_total') > 0);
      assert.ok(value(samples, 'process_resident_memory_bytes') > 10e6);
      assert.ok(value(samples, 'process_memory_limit_bytes') >= value(samples, 'process_resident_memory_bytes'));
      assert.ok(value(samples, 'process_cpu_limit_cores') > 0);
      assert.ok(value(samples, 'nodejs_eventloop_lag_p99_seconds') >= 0);
      const size = value(samples, 'data_dir_filesystem_size_bytes', { path: dataDir });
      const available = value(samples, 'data_dir_filesystem_available_bytes', { path: dataDir });
      assert.ok(size > 0 && available > 0 && available <= size);
    }
  });

  it('DB pool total/idle/waiting/max, waiting > 0 under pool exhaustion, query durations and the slow-query counter', async () => {
    let stop = false;
    const load = Promise.all(
      Array.from({ length: 16 }, async (_, n) => {
        for (let i = 0; !stop; i++) {
          await fetch(`${a.url}/api/v1/admin/products/${2_000_000 + n * 10_000 + i}`, { headers: admin() }).then((r) => r.arrayBuffer(), () => undefined);
        }
      }),
    );
    let maxWaiting = 0;
    try {
      maxWaiting = await eventually('queued pool checkouts', async () => {
        const waiting = value(await scrape(a), 'db_pool_connections', { pool: 'primary', state: 'waiting' });
        return waiting > 0 ? waiting : undefined;
      });
    } finally {
      stop = true;
      await load;
    }
    assert.ok(maxWaiting > 0);
    for (const instance of [a, b, worker]) {
      const samples = await scrape(instance);
      assert.equal(value(samples, 'db_pool_connections', { pool: 'primary', state: 'max' }), 1);
      for (const state of ['total', 'idle', 'waiting']) assert.ok(value(samples, 'db_pool_connections', { pool: 'primary', state }) >= 0);
      assert.ok(value(samples, 'db_query_duration_seconds_count', { pool: 'primary' }) > 0);
      assert.ok(value(samples, 'db_query_duration_seconds_sum', { pool: 'primary' }) > 0);
    }
    const text = await (await fetch(`${a.url}/metrics`)).text();
    assert.match(text, /^# TYPE db_slow_queries_total counter$/m);
  });

  it('checkout rate equals orders placed; attempts by outcome; carts; active users = distinct sessions', async () => {
    const [sa, sb] = await Promise.all([scrape(a), scrape(b)]);
    const placed = total(sa, 'salescale_orders_placed_total') + total(sb, 'salescale_orders_placed_total');
    const attemptsPlaced = total(sa, 'salescale_checkout_attempts_total', { outcome: 'placed' }) + total(sb, 'salescale_checkout_attempts_total', { outcome: 'placed' });
    assert.equal(placed, ordersPlaced);
    assert.equal(attemptsPlaced, ordersPlaced);
    assert.equal(total(sa, 'salescale_checkout_attempts_total', { outcome: 'out_of_stock' }), 1);
    for (const samples of [sa, sb]) {
      assert.ok(value(samples, 'salescale_carts_active') >= 0);
      assert.ok(value(samples, 'salescale_carts_abandoned') >= 0);
    }
    // Cluster-wide: both instances report the same count of distinct sessions (HyperLogLog is exact at this size).
    await eventually('active users on both instances', async () => {
      const [ua, ub] = await Promise.all([scrape(a), scrape(b)]);
      const both = [total(ua, 'salescale_active_users'), total(ub, 'salescale_active_users')];
      return both[0] === sessions.length && both[1] === sessions.length ? both : undefined;
    });
  });

  it('queue depth per queue; processing time and failed jobs on the worker', async () => {
    // A queue whose counts Redis does not return within the collect timeout is left out of that
    // scrape (never reported as 0), so a busy machine may need a second scrape.
    for (const instance of [a, b, worker]) {
      await eventually(`queue depths on ${instance.url}`, async () => {
        const samples = await scrape(instance);
        return QUEUE_NAMES.every((queue) => select(samples, 'queue_jobs', { queue, state: 'waiting' }).length === 1) ? true : undefined;
      });
    }
    // Orders enqueue follow-ups through the outbox; the worker processes them.
    const processed = await eventually('jobs processed by the worker', async () => {
      const samples = await scrape(worker);
      const n = total(samples, 'queue_jobs_processed_total', { status: 'completed' });
      return n > 0 ? samples : undefined;
    });
    assert.ok(value(processed, 'queue_job_duration_seconds_count') > 0);
    assert.match(await (await fetch(`${worker.url}/metrics`)).text(), /^# TYPE queue_jobs_processed_total counter$/m);
  });

  it('current degrade mode, live instances by role, and whether a sale event is live', async () => {
    await eventually('two web and one worker heartbeat', async () => {
      const samples = await scrape(a);
      return value(samples, 'salescale_live_instances', { role: 'web' }) === 2 && value(samples, 'salescale_live_instances', { role: 'worker' }) === 1 ? true : undefined;
    });
    for (const instance of [a, b]) {
      const samples = await scrape(instance);
      const modes = select(samples, 'salescale_degrade_mode');
      assert.equal(modes.filter((s) => s.value === 1).length, 1, 'exactly one current mode');
      assert.equal(value(samples, 'salescale_degrade_mode', { mode: 'normal' }), 1);
      assert.equal(value(samples, 'salescale_sale_event_active'), 0);
    }
    const now = Date.now();
    const sale = await request(`${b.url}/api/v1/admin/sale-events`, {
      method: 'POST',
      headers: admin(),
      body: { name: 'Flash', startsAt: new Date(now - 60_000).toISOString(), endsAt: new Date(now + 3_600_000).toISOString() },
    });
    assert.equal(sale.status, 201, JSON.stringify(sale.body as Json));
    await eventually('sale event live on A', async () => (value(await scrape(a), 'salescale_sale_event_active') === 1 ? true : undefined));
  });
});
