import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { ADMIN_TOKEN } from './helpers/app.ts';
import { deleteRedisKeys } from './helpers/db.ts';
import { request, type Json } from './helpers/http.ts';
import { startInstance, type Instance } from './helpers/instances.ts';
import { createQueueFixture, type QueueFixture } from './helpers/queues.ts';
import { startTcpProxy, type TcpProxy } from './helpers/tcp-proxy.ts';

const admin = { authorization: `Bearer ${ADMIN_TOKEN}` };
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const modeOf = async (instance: Instance): Promise<Json> => (await request(`${instance.url}/api/v1/admin/mode`, { headers: admin })).body;

/**
 * Thresholds scaled down so that a few hundred requests on a test machine would cross them: 2 % server
 * faults or p95 over the limit, on 20 requests, from 3 clients, for 2 s. The request-rate and cost
 * thresholds are out of reach. Clients are told apart by X-Forwarded-For from a trusted proxy (the
 * test stands for the load balancer).
 */
const SIGNAL_ENV = {
  LOAD_SHED_ENABLED: 'false',
  LOG_LEVEL: 'warn',
  CLUSTER_HEARTBEAT_MS: '300',
  TRUST_PROXY: '127.0.0.1',
  RATE_LIMIT_GENERAL_MAX: '1000000',
  DEGRADE_WINDOW_S: '10',
  DEGRADE_MIN_SAMPLE_REQUESTS: '20',
  DEGRADE_MIN_CLIENTS: '3',
  DEGRADE_SUSTAIN_S: '2',
  DEGRADE_MIN_HOLD_MS: '0',
  DEGRADE_HOLD_FACTOR: '0',
  DEGRADE_ELEVATED_ERROR_PERCENT: '2',
  DEGRADE_CRITICAL_ERROR_PERCENT: '50',
  DEGRADE_ELEVATED_RPM: '100000000',
  DEGRADE_CRITICAL_RPM: '200000000',
  DEGRADE_ELEVATED_COST_HOUR_USD: '1000000',
  DEGRADE_CRITICAL_COST_HOUR_USD: '2000000',
  DEGRADE_ELEVATED_COST_DAY_USD: '1000000',
  DEGRADE_CRITICAL_COST_DAY_USD: '2000000',
};

/** Polls every 250 ms for `ms` and returns every mode seen on either instance. */
async function modesDuring(instances: Instance[], ms: number): Promise<Set<string>> {
  const seen = new Set<string>();
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    for (const instance of instances) seen.add((await modeOf(instance)).mode);
    await sleep(250);
  }
  return seen;
}

describe('degrade mode that one client and a database blip cannot drive (two real instances)', () => {
  let fixture: QueueFixture;
  let proxy: TcpProxy;
  let instances: Instance[] = [];

  before(async () => {
    fixture = await createQueueFixture({ ...SIGNAL_ENV, DEGRADE_ELEVATED_P95_MS: '3000', DEGRADE_CRITICAL_P95_MS: '100000' });
    const url = new URL(fixture.env.DATABASE_URL!);
    proxy = await startTcpProxy(Number(url.port || 5432), 'postgres');
    url.port = String(proxy.port);
    const env = { ...fixture.env, DATABASE_URL: url.toString() };
    instances = [await startInstance({ env, timeoutMs: 60_000 }), await startInstance({ env, timeoutMs: 60_000 })];
  });
  after(async () => {
    await proxy?.restore();
    await Promise.all(instances.map((instance) => instance.stop()));
    await proxy?.close();
    await fixture?.close();
    if (fixture) await deleteRedisKeys(`${fixture.prefix}:*`);
  });

  it('stays normal under 150 malformed requests from one anonymous client', async () => {
    const statuses = new Map<number, number>();
    const malformed = [
      (base: string) => fetch(`${base}/api/v1/products?q=%00`),
      (base: string) => fetch(`${base}/api/v1/categories?__proto__[x]=1`),
      (base: string) => fetch(`${base}/api/v1/customers`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ email: 'x@example.com', password: 'a-long-password', name: 'a\u0000b' }) }),
      (base: string) => fetch(`${base}/api/v1/products/${'9'.repeat(400)}`),
      (base: string) => fetch(`${base}/api/v1/orders`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"items":' }),
    ];
    for (let i = 0; i < 150; i++) {
      const reply = await malformed[i % malformed.length]!(instances[i % 2]!.url);
      await reply.arrayBuffer();
      statuses.set(reply.status, (statuses.get(reply.status) ?? 0) + 1);
    }
    assert.deepEqual([...statuses.keys()].filter((status) => status >= 500), [], `replies by status: ${JSON.stringify([...statuses])}`);
    const seen = await modesDuring(instances, 4000);
    assert.deepEqual([...seen], ['normal']);
  });

  it('stays normal through a 5 s database outage under load from many clients, and answers no 500', async () => {
    const statuses = new Map<number, number>();
    let running = true;
    const seen = new Set<string>();
    // 12 clients, ~40 requests/s over both instances, on reads that need the database (unknown ids are not cached).
    const load = (async () => {
      for (let i = 0; running; i++) {
        const client = `203.0.113.${i % 12}`;
        void fetch(`${instances[i % 2]!.url}/api/v1/products/${100_000 + i}`, { headers: { 'x-forwarded-for': client } }).then(
          async (reply) => {
            await reply.arrayBuffer();
            statuses.set(reply.status, (statuses.get(reply.status) ?? 0) + 1);
          },
          () => {},
        );
        await sleep(25);
      }
    })();
    try {
      await sleep(2000);
      await proxy.cut();
      for (const mode of await modesDuring(instances, 5000)) seen.add(mode);
      await proxy.restore();
      for (const mode of await modesDuring(instances, 5000)) seen.add(mode);
    } finally {
      running = false;
      await load;
    }
    assert.equal(statuses.get(500) ?? 0, 0, `replies by status: ${JSON.stringify([...statuses])}`);
    assert.ok((statuses.get(503) ?? 0) > 0, `the outage was real: ${JSON.stringify([...statuses])}`);
    assert.deepEqual([...seen], ['normal']);
  });
});

describe('degrade mode raised by a sustained real overload across two instances', () => {
  let fixture: QueueFixture;
  let instances: Instance[] = [];

  before(async () => {
    // p95 over 5 ms on both instances, from many clients, for 2 s: what two tiny instances flooded with
    // concurrent requests reach, and what a quiet one does not.
    fixture = await createQueueFixture({ ...SIGNAL_ENV, DEGRADE_ELEVATED_P95_MS: '5', DEGRADE_CRITICAL_P95_MS: '100000' });
    instances = [await startInstance({ env: fixture.env, timeoutMs: 60_000 }), await startInstance({ env: fixture.env, timeoutMs: 60_000 })];
  });
  after(async () => {
    await Promise.all(instances.map((instance) => instance.stop()));
    await fixture?.close();
    if (fixture) await deleteRedisKeys(`${fixture.prefix}:*`);
  });

  it('moves to elevated on latency seen by both instances and many clients, and names it', async () => {
    let running = true;
    // 24 concurrent clients (each its own address), alternating instances, on database reads.
    const workers = Array.from({ length: 24 }, async (_, w) => {
      for (let i = 0; running; i++) {
        const reply = await fetch(`${instances[(w + i) % 2]!.url}/api/v1/products/${200_000 + i}`, { headers: { 'x-forwarded-for': `198.51.100.${w}` } }).catch(() => undefined);
        await reply?.arrayBuffer();
      }
    });
    try {
      const deadline = Date.now() + 60_000;
      let mode = await modeOf(instances[0]!);
      while (mode.mode === 'normal' && Date.now() < deadline) {
        await sleep(500);
        mode = await modeOf(instances[0]!);
      }
      assert.equal(mode.mode, 'elevated', JSON.stringify(mode));
      assert.match(mode.reason, /^auto: p95 ms \d+ > 5 for \d+ s$/);
      assert.ok(mode.figures.instances.length === 2 && mode.figures.clients >= 3, JSON.stringify(mode.figures));
    } finally {
      running = false;
      await Promise.all(workers);
    }
  });
});
