import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Job } from 'bullmq';
import { eq } from 'drizzle-orm';
import { outbox } from '../src/platform/outbox/outbox.tables.ts';
import { closeRedis, createRedis } from '../src/platform/redis/redis.ts';
import { ADMIN_TOKEN } from './helpers/app.ts';
import { insertCustomers, mintSessionCookies } from './helpers/commerce.ts';
import { TEST_REDIS_URL } from './helpers/db.ts';
import { request, type Json } from './helpers/http.ts';
import { startInstance, type Instance } from './helpers/instances.ts';
import { createQueueFixture, waitFor, type QueueFixture } from './helpers/queues.ts';

const admin = { authorization: `Bearer ${ADMIN_TOKEN}` };
const getMode = async (instance: Instance): Promise<Json> => (await request(`${instance.url}/api/v1/admin/mode`, { headers: admin })).body;
const putMode = (instance: Instance, body: unknown, headers: Record<string, string> = admin) => request(`${instance.url}/api/v1/admin/mode`, { method: 'PUT', headers, body });
const metricsOf = async (instance: Instance) => (await fetch(`${instance.url}/metrics`)).text();

/** Resolves with the ms it took until `instance` reports `mode`; fails after `withinMs`. */
async function followsWithin(instance: Instance, mode: string, withinMs: number): Promise<number> {
  const started = Date.now();
  await waitFor(`${instance.url} in ${mode}`, async () => (await getMode(instance)).mode === mode, withinMs);
  return Date.now() - started;
}

/** Polls every 500 ms: the polls are requests too, and must stay far below the RPM threshold under test. */
async function slowlyUntil(what: string, check: () => Promise<boolean>, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
}

/** Child processes start slowly on a shared 2-core machine: allow a minute. */
const start = (env: Record<string, string>, command = 'serve') => startInstance({ env, command, timeoutMs: 60_000 });

async function deleteClusterKeys(prefix: string): Promise<void> {
  const redis = createRedis(TEST_REDIS_URL, { name: 'salescale-test-cleanup', role: 'queue' });
  try {
    const keys = await redis.keys(`${prefix}:*`);
    if (keys.length > 0) await redis.del(...keys);
  } finally {
    await closeRedis(redis);
  }
}

// Latency/error thresholds off (a busy CI machine must not change the level); short beats so tests are quick.
const QUIET = { LOAD_SHED_ENABLED: 'false', LOG_LEVEL: 'warn', CLUSTER_HEARTBEAT_MS: '300', DEGRADE_MIN_SAMPLE_REQUESTS: '100000000', RATE_LIMIT_GENERAL_MAX: '100000' };

describe('degrade mode forced by an admin, followed by every instance (real sockets)', () => {
  let fixture: QueueFixture;
  let a: Instance;
  let b: Instance;
  let worker: Instance;

  before(async () => {
    fixture = await createQueueFixture({ ...QUIET, DEGRADE_ELEVATED_RPM: '1000000', DEGRADE_CRITICAL_RPM: '2000000' });
    [a, b, worker] = await Promise.all([start(fixture.env), start(fixture.env), start(fixture.env, 'worker')]);
  });
  after(async () => {
    await Promise.all([a, b, worker].map((instance) => instance?.stop()));
    await fixture.close();
    await deleteClusterKeys(fixture.prefix);
  });

  it('refuses bad input on PUT /api/v1/admin/mode with stable codes, and needs the admin token', async () => {
    for (const body of [{ mode: 'panic' }, { mode: 'critical', force: true }, {}, { mode: 2 }, { mode: 'critical', reason: '' }]) {
      const reply = await putMode(a, body);
      assert.equal(reply.status, 400, JSON.stringify(body));
      assert.equal(reply.body.error.code, 'VALIDATION_FAILED');
    }
    const notJson = await putMode(a, '{"mode":', { ...admin, 'content-type': 'application/json' });
    assert.equal(notJson.status, 400);
    assert.equal(notJson.body.error.code, 'INVALID_JSON');
    assert.equal((await putMode(a, { mode: 'critical' }, {})).body.error.code, 'UNAUTHENTICATED');
    assert.equal((await request(`${b.url}/api/v1/admin/mode`)).status, 401);
    assert.equal((await getMode(b)).mode, 'normal', 'no bad request changed the mode');
  });

  it('reports every live instance by role through the heartbeat', async () => {
    await waitFor('2 web + 1 worker live', async () => {
      const live = (await getMode(b)).figures?.liveInstances;
      return live?.web === 2 && live?.worker === 1;
    });
    // Each instance reads the members on its own heartbeat: A's gauges may trail B's view by one beat.
    const webLine = /salescale_live_instances\{role="web"[^}]*\} 2/;
    const workerLine = /salescale_live_instances\{role="worker"[^}]*\} 1/;
    await waitFor('A reports 2 web + 1 worker', async () => {
      const text = await metricsOf(a);
      return webLine.test(text) && workerLine.test(text);
    });
    const text = await metricsOf(a);
    assert.match(text, webLine);
    assert.match(text, workerLine);
  });

  it('drops an instance that stops beating (SIGKILL) from the live set after three beats', async () => {
    const doomed = await start(fixture.env);
    await waitFor('3 web live', async () => (await getMode(b)).figures?.liveInstances.web === 3);
    await doomed.stop('SIGKILL');
    await waitFor('2 web live again', async () => (await getMode(b)).figures?.liveInstances.web === 2);
  });

  it('forced critical on A: B applies the TTLs, limits and delays soon after, a new instance starts in it, auto returns', async () => {
    const forced = await putMode(a, { mode: 'critical', reason: 'sale day drill' });
    assert.equal(forced.status, 200);
    assert.equal(forced.body.mode, 'critical');
    assert.equal(forced.body.source, 'admin');
    // Told at once by a message, or at the next 300 ms heartbeat: 10 s is ample on a loaded machine (how soon is bench's to measure).
    await followsWithin(b, 'critical', 10_000);
    const onB = await getMode(b);
    assert.deepEqual(onB.settings, {
      cacheTtl: { productS: 3600, categoriesS: 7200, popularS: 1800 },
      queueDelays: { emailMs: 30_000, analyticsMs: 60_000, inventoryMs: 1000 },
      rateLimitPercent: 50,
    });
    assert.match(onB.reason, /forced by admin: sale day drill/);

    // B's behaviour: half the general limit, and the categories cached for 7200 s (600 s in normal mode).
    const page = await request(`${b.url}/api/v1/categories`);
    assert.equal(page.status, 200);
    assert.equal(page.headers.get('ratelimit-policy'), '"general";q=50000;w=900');
    const redis = createRedis(TEST_REDIS_URL, { name: 'salescale-test-inspect', role: 'queue' });
    try {
      const entry = JSON.parse((await redis.get(`${fixture.prefix}:cache:e:categories:all`)) ?? '{}') as { s?: number };
      assert.ok(entry.s !== undefined && entry.s - Date.now() > 3600_000, `categories cached until ${entry.s}`);
    } finally {
      await closeRedis(redis);
    }

    // Checkout is unchanged in critical mode (an order through A), and the worker defers its follow-ups.
    const product = await request(`${a.url}/api/v1/admin/products`, { method: 'POST', headers: admin, body: { sku: 'mug-1', name: 'Mug', priceCents: 900, available: 5 } });
    assert.equal(product.status, 201, JSON.stringify(product.body));
    const [cookie] = await mintSessionCookies(fixture.env, await insertCustomers(fixture.db.primary, 1));
    const placed = await request(`${a.url}/api/v1/orders`, {
      method: 'POST',
      headers: { cookie: cookie!, 'idempotency-key': 'degraded-order-1' },
      body: { items: [{ productId: product.body.id, quantity: 2 }] },
    });
    assert.equal(placed.status, 201, JSON.stringify(placed.body));
    assert.equal(placed.body.totalCents, 1800);
    // The follow-ups (confirmation, analytics, stock sync) start once the order is paid.
    const paid = await request(`${a.url}/api/v1/orders/${placed.body.id}/pay`, { method: 'POST', headers: { cookie: cookie! }, body: { token: 'tok_ok' } });
    assert.equal(paid.status, 200, JSON.stringify(paid.body));
    const queues = await fixture.inspect();
    // Any state: the 1 s stock job may already have run.
    const delayedJob = (queue: 'email' | 'notifications' | 'inventory', name: string) =>
      waitFor(`${name} queued`, async () =>
        (await queues.get(queue).getJobs(['delayed', 'waiting', 'prioritized', 'active', 'completed', 'failed'])).find((job: Job) => job.name === name),
      );
    assert.equal((await delayedJob('email', 'send-order-confirmation')).opts.delay, 30_000);
    assert.equal((await delayedJob('notifications', 'update-analytics')).opts.delay, 60_000);
    const stock = await delayedJob('inventory', 'update-stock');
    assert.equal(stock.opts.delay, 1000);
    assert.equal(stock.opts.priority, 10);

    // One transition, counted where it was made, queued as a notification, processed by the worker.
    assert.match(await metricsOf(a), /salescale_degrade_transitions_total\{from="normal",to="critical",trigger="admin"[^}]*\} 1/);
    assert.doesNotMatch(await metricsOf(b), /salescale_degrade_transitions_total\{/);
    assert.match(await metricsOf(b), /salescale_degrade_mode\{mode="critical"[^}]*\} 1/);
    const notices = await fixture.db.primary.select().from(outbox).where(eq(outbox.name, 'degrade-mode-changed'));
    assert.equal(notices.length, 1);
    assert.deepEqual({ ...(notices[0]!.data as Json), at: undefined, instanceId: undefined }, {
      from: 'normal',
      to: 'critical',
      trigger: 'admin',
      reason: 'forced by admin: sale day drill',
      at: undefined,
      instanceId: undefined,
    });
    await waitFor('notification processed', async () => (await queues.get('notifications').getJob(`outbox-${notices[0]!.id}`))?.isCompleted());

    // A new instance starts in the current mode.
    const late = await start(fixture.env);
    try {
      assert.equal((await getMode(late)).mode, 'critical');
    } finally {
      await late.stop();
    }

    // Back to auto (normal under these thresholds), from B, followed by A.
    const auto = await putMode(b, { mode: 'auto' });
    assert.equal(auto.status, 200);
    assert.equal(auto.body.mode, 'normal');
    assert.equal(auto.body.forced, null);
    await followsWithin(a, 'normal', 10_000);
    assert.equal((await request(`${a.url}/api/v1/categories`)).headers.get('ratelimit-policy'), '"general";q=100000;w=900');
    assert.match(await metricsOf(b), /salescale_degrade_transitions_total\{from="critical",to="normal",trigger="admin"[^}]*\} 1/);
    assert.ok(worker.process.exitCode === null, 'the worker is still running');
  });
});

describe('degrade mode chosen automatically from cluster-wide request rate (real sockets)', () => {
  let fixture: QueueFixture;
  let instances: Instance[] = [];

  before(async () => {
    // 600 requests/min over a 5 s window: each instance below it alone, both together above.
    fixture = await createQueueFixture({ ...QUIET, DEGRADE_WINDOW_S: '5', DEGRADE_ELEVATED_RPM: '600', DEGRADE_CRITICAL_RPM: '1000000', DEGRADE_SUSTAIN_S: '1', DEGRADE_MIN_HOLD_MS: '0', DEGRADE_HOLD_FACTOR: '0' });
    instances = await Promise.all([start(fixture.env), start(fixture.env)]);
  });
  after(async () => {
    await Promise.all(instances.map((instance) => instance.stop()));
    await fixture.close();
    await deleteClusterKeys(fixture.prefix);
  });

  it('moves to elevated while synthetic load crosses the RPM threshold, and back to normal when it stops', async () => {
    assert.equal((await getMode(instances[0]!)).mode, 'normal');
    // About 8 requests/s per instance (~480/min each, ~960/min together).
    const timers = instances.map((instance) => setInterval(() => void fetch(`${instance.url}/api/v1/categories`).then((r) => r.arrayBuffer(), () => {}), 125));
    try {
      await slowlyUntil('auto mode elevated', async () => (await getMode(instances[1]!)).mode === 'elevated', 30_000);
    } finally {
      for (const timer of timers) clearInterval(timer);
    }
    const elevated = await getMode(instances[0]!);
    assert.equal(elevated.source, 'auto');
    assert.match(elevated.reason, /^auto: requests\/min \d+(\.\d+)? > 600 for \d+ s$/);
    assert.equal(elevated.settings.rateLimitPercent, 75);

    await slowlyUntil('auto mode back to normal', async () => (await getMode(instances[0]!)).mode === 'normal', 30_000);
    assert.match((await getMode(instances[1]!)).reason, /^auto: every figure below 80% of the elevated thresholds/);

    const counted = async (to: string) => {
      let sum = 0;
      for (const instance of instances) {
        const match = new RegExp(`salescale_degrade_transitions_total\\{from="[a-z]+",to="${to}",trigger="auto"[^}]*\\} (\\d+)`).exec(await metricsOf(instance));
        sum += Number(match?.[1] ?? 0);
      }
      return sum;
    };
    assert.equal(await counted('elevated'), 1);
    assert.equal(await counted('normal'), 1);
    const notices = await fixture.db.primary.select().from(outbox).where(eq(outbox.name, 'degrade-mode-changed'));
    assert.deepEqual(
      notices.map((row) => [(row.data as Json).from, (row.data as Json).to, (row.data as Json).trigger]),
      [
        ['normal', 'elevated', 'auto'],
        ['elevated', 'normal', 'auto'],
      ],
    );
  });

  it('keeps evaluating when the leader is killed: the survivor takes the lease and reacts to load', async () => {
    // The lease holds the leader's INSTANCE_ID.
    const redis = createRedis(TEST_REDIS_URL, { name: 'salescale-test-inspect', role: 'queue' });
    const holder = await redis.get(`${fixture.prefix}:{cluster}:leader`).finally(() => closeRedis(redis));
    const leader = instances.find((instance) => holder === instance.instanceId);
    assert.ok(leader, `leader ${holder} is one of the instances`);
    await leader.stop('SIGKILL');
    const survivor = instances.find((instance) => instance !== leader)!;
    await slowlyUntil('1 web live', async () => (await getMode(survivor)).figures?.liveInstances.web === 1, 15_000);
    // About 16 requests/s on the one instance left (~960/min).
    const timer = setInterval(() => void fetch(`${survivor.url}/api/v1/categories`).then((r) => r.arrayBuffer(), () => {}), 62);
    try {
      await slowlyUntil('auto mode elevated on the survivor', async () => (await getMode(survivor)).mode === 'elevated', 30_000);
    } finally {
      clearInterval(timer);
    }
    await slowlyUntil('auto mode back to normal on the survivor', async () => (await getMode(survivor)).mode === 'normal', 30_000);
  });
});
