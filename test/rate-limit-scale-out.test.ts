import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { SESSION_COOKIE } from '../src/modules/customers/index.ts';
import { SEED_DEPLOYMENT_SPEC } from '../src/scaling/manifests/deployment-spec.ts';
import { renderDigitalOcean } from '../src/scaling/manifests/render-paas.ts';
import { getObject } from '../src/scaling/manifests/validate/rendered-objects.ts';
import { testEnv } from './helpers/app.ts';
import { createTestDatabase, type TestDatabase } from './helpers/db.ts';
import { request } from './helpers/http.ts';
import { startInstance, type Instance } from './helpers/instances.ts';

const LIMIT = 6;

/** Two `salescale serve` processes sharing one database and one Redis prefix. */
async function startPair(database: TestDatabase, extra: Record<string, string>): Promise<Instance[]> {
  const env = testEnv(database.url, {
    LOG_LEVEL: 'warn',
    RATE_LIMIT_GENERAL_MAX: String(LIMIT),
    RATE_LIMIT_GENERAL_WINDOW_MS: '600000',
    ...extra,
  });
  // A minute to start: child processes are slow to boot on a shared 2-core machine.
  return Promise.all([startInstance({ env, timeoutMs: 60_000 }), startInstance({ env, timeoutMs: 60_000 })]);
}

describe('rate limits shared across instances (real sockets)', () => {
  let database: TestDatabase;
  let direct: Instance[] = [];
  let proxied: Instance[] = [];

  before(async () => {
    database = await createTestDatabase();
    [direct, proxied] = await Promise.all([startPair(database, {}), startPair(database, { TRUST_PROXY: '127.0.0.1' })]);
  });
  after(async () => {
    await Promise.all([...direct, ...proxied].map((instance) => instance.stop()));
    await database.drop();
  });

  const get = (instance: Instance, headers: Record<string, string> = {}) => request(`${instance.url}/api/v1/categories`, { headers });

  it('limits a client spreading requests over two instances at the configured total, and ignores a forged X-Forwarded-For', async () => {
    const statuses: number[] = [];
    for (let i = 0; i < LIMIT; i++) statuses.push((await get(direct[i % 2]!)).status);
    assert.deepEqual(statuses, Array(LIMIT).fill(200));
    // Over the total on both instances, even with a fresh forged address on every request.
    for (let i = 0; i < 6; i++) {
      const reply = await get(direct[i % 2]!, { 'x-forwarded-for': `203.0.113.${100 + i}` });
      assert.equal(reply.status, 429, `request ${LIMIT + i + 1}`);
      assert.equal(reply.body.error.code, 'RATE_LIMITED');
      assert.ok(Number(reply.headers.get('retry-after')) >= 1);
      assert.equal(reply.headers.get('ratelimit-policy'), `"general";q=${LIMIT};w=600`);
    }
    // Probes are never limited.
    for (const instance of direct) assert.equal((await request(`${instance.url}/ready`)).status, 200);
  });

  it('honours X-Forwarded-For from a trusted proxy: two forwarded clients get separate budgets', async () => {
    const clientA = { 'x-forwarded-for': '203.0.113.10' };
    for (let i = 0; i < LIMIT; i++) assert.equal((await get(proxied[i % 2]!, clientA)).status, 200, `client A request ${i + 1}`);
    assert.equal((await get(proxied[0]!, clientA)).status, 429);
    // Client A forging a leftmost entry still arrives as itself: the trusted proxy appended its real address.
    assert.equal((await get(proxied[1]!, { 'x-forwarded-for': '198.51.100.77, 203.0.113.10' })).status, 429);
    const clientB = await get(proxied[1]!, { 'x-forwarded-for': '203.0.113.11' });
    assert.equal(clientB.status, 200);
    assert.equal(clientB.headers.get('ratelimit'), `"general";r=${LIMIT - 1};t=100`);
  });
});

describe('rate limits behind a router of no fixed address: TRUST_PROXY as a hop count (real sockets)', () => {
  let database: TestDatabase;
  let routed: Instance[] = [];

  before(async () => {
    database = await createTestDatabase();
    // The test plays Heroku's router: it appends the address it saw to whatever X-Forwarded-For the client sent.
    routed = await startPair(database, { TRUST_PROXY: '1' });
  });
  after(async () => {
    await Promise.all(routed.map((instance) => instance.stop()));
    await database.drop();
  });

  const viaRouter = (instance: Instance, client: string, sent?: string) =>
    request(`${instance.url}/api/v1/categories`, { headers: { 'x-forwarded-for': sent === undefined ? client : `${sent}, ${client}` } });

  it('keys each shopper by the address the router appended: one busy client does not spend everyone\u2019s budget', async () => {
    for (let i = 0; i < LIMIT; i++) assert.equal((await viaRouter(routed[i % 2]!, '203.0.113.20')).status, 200, `client A request ${i + 1}`);
    assert.equal((await viaRouter(routed[0]!, '203.0.113.20')).status, 429);
    const clientB = await viaRouter(routed[1]!, '203.0.113.21');
    assert.equal(clientB.status, 200, 'a second shopper behind the same router shares the first one\u2019s budget');
    assert.equal(clientB.headers.get('ratelimit'), `"general";r=${LIMIT - 1};t=100`);
  });

  it('ignores what a client writes in front of the router\u2019s entry: a forged X-Forwarded-For buys no fresh budget, nor another shopper\u2019s', async () => {
    for (let i = 0; i < 4; i++) {
      const reply = await viaRouter(routed[i % 2]!, '203.0.113.20', `198.51.100.${i + 1}, 192.0.2.${i + 1}`);
      assert.equal(reply.status, 429, `forged chain ${i + 1}`);
    }
    // Naming another shopper in front does not spend that shopper's budget either.
    const victim = await viaRouter(routed[0]!, '203.0.113.22', '203.0.113.20');
    assert.equal(victim.status, 200);
    assert.equal(victim.headers.get('ratelimit'), `"general";r=${LIMIT - 1};t=100`);
    assert.match((await viaRouter(routed[1]!, '203.0.113.21')).headers.get('ratelimit') ?? '', new RegExp(`^"general";r=${LIMIT - 2};`));
  });
});

/** The settings of the web service in the generated App Platform spec (.do/app.yaml) that say who the client is. */
function appPlatformClientEnv(): Record<string, string> {
  const app = getObject(renderDigitalOcean(SEED_DEPLOYMENT_SPEC), '.do/app.yaml') as { services: { name: string; envs: { key: string; value?: string }[] }[] };
  const web = app.services.find((s) => s.name === 'web');
  const wanted = new Set(['TRUST_PROXY', 'CLIENT_ADDRESS_HEADER']);
  return Object.fromEntries((web?.envs ?? []).filter((v) => wanted.has(v.key) && v.value !== undefined).map((v) => [v.key, v.value as string]));
}

describe('rate limits on DigitalOcean App Platform: the client named in DO-Connecting-IP, as the generated app spec says (real sockets)', () => {
  let database: TestDatabase;
  let edge: Instance[] = [];

  before(async () => {
    database = await createTestDatabase();
    // The test plays App Platform's edge: it names the client it saw in DO-Connecting-IP, whatever the client sent.
    edge = await startPair(database, appPlatformClientEnv());
  });
  after(async () => {
    await Promise.all(edge.map((instance) => instance.stop()));
    await database.drop();
  });

  const viaEdge = (instance: Instance, client: string, forged: Record<string, string> = {}) =>
    request(`${instance.url}/api/v1/categories`, { headers: { ...forged, 'do-connecting-ip': client } });

  it('keys each shopper by DO-Connecting-IP: one busy shopper does not spend everyone\u2019s budget', async () => {
    for (let i = 0; i < LIMIT; i++) assert.equal((await viaEdge(edge[i % 2]!, '203.0.113.30')).status, 200, `client A request ${i + 1}`);
    assert.equal((await viaEdge(edge[0]!, '203.0.113.30')).status, 429);
    const clientB = await viaEdge(edge[1]!, '203.0.113.31');
    assert.equal(clientB.status, 200, 'a second shopper behind App Platform\u2019s edge shares the first one\u2019s budget');
    assert.equal(clientB.headers.get('ratelimit'), `"general";r=${LIMIT - 1};t=100`);
  });

  it('ignores X-Forwarded-For there: a forged one buys no fresh budget', async () => {
    for (let i = 0; i < 3; i++) {
      const reply = await viaEdge(edge[i % 2]!, '203.0.113.30', { 'x-forwarded-for': `198.51.100.${i + 1}` });
      assert.equal(reply.status, 429, `forged X-Forwarded-For ${i + 1}`);
    }
  });
});

/**
 * A signed-in customer gets a budget of their own, so accounts are the one thing an address must not mint freely:
 * with a sign-up costing one request, one address registered hundreds of accounts and got hundreds of budgets.
 */
describe('accounts registered per address, across instances (real sockets)', () => {
  const SIGNUPS = 3;
  let database: TestDatabase;
  let pair: Instance[] = [];

  before(async () => {
    database = await createTestDatabase();
    pair = await startPair(database, { TRUST_PROXY: '127.0.0.1', RATE_LIMIT_GENERAL_MAX: '1000', RATE_LIMIT_SIGNUP_MAX: String(SIGNUPS), RATE_LIMIT_SIGNUP_WINDOW_MS: '3600000' });
  });
  after(async () => {
    await Promise.all(pair.map((instance) => instance.stop()));
    await database.drop();
  });

  let n = 0;
  const register = (instance: Instance, address: string, extra: { email?: string; cookie?: string } = {}) =>
    request(`${instance.url}/api/v1/customers`, {
      method: 'POST',
      headers: { 'x-forwarded-for': address, ...(extra.cookie ? { cookie: extra.cookie } : {}) },
      body: { email: extra.email ?? `signup-${++n}-${Date.now()}@example.com`, password: 'correct horse battery staple', name: `Shopper ${n}` },
    });

  it('lets an address register RATE_LIMIT_SIGNUP_MAX accounts over both instances, then answers 429 SIGNUP_RATE_LIMITED, signed in or not', async () => {
    const address = '203.0.113.50';
    const first = await register(pair[0]!, address);
    assert.equal(first.status, 201, JSON.stringify(first.body));
    // A refused registration (the email taken) is not an account: it costs the `login` budget, not this one.
    const taken = await register(pair[1]!, address, { email: first.body.email });
    assert.equal(taken.status, 409, JSON.stringify(taken.body));
    let cookie = '';
    for (let i = 1; i < SIGNUPS; i++) {
      const reply = await register(pair[i % 2]!, address);
      assert.equal(reply.status, 201, `registration ${i + 1}: ${JSON.stringify(reply.body)}`);
      cookie = reply.headers.getSetCookie().find((c) => c.startsWith(`${SESSION_COOKIE}=`))!.split(';')[0]!;
    }
    const statuses = [];
    for (const instance of pair) {
      for (const extra of [{}, { cookie }]) {
        const reply = await register(instance, address, extra);
        statuses.push({ status: reply.status, code: reply.body?.error?.code, retryAfter: Number(reply.headers.get('retry-after')) >= 1 });
      }
    }
    assert.deepEqual(statuses, Array(4).fill({ status: 429, code: 'SIGNUP_RATE_LIMITED', retryAfter: true }), 'no more accounts from this address, signed in or not');
    // Another address has its own budget; the limited one still browses.
    assert.equal((await register(pair[1]!, '203.0.113.51')).status, 201);
    assert.equal((await request(`${pair[0]!.url}/api/v1/categories`, { headers: { 'x-forwarded-for': address } })).status, 200);
  });
});
