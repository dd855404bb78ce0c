import assert from 'node:assert/strict';
import { request as httpRequest, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { eq } from 'drizzle-orm';
import { Type } from 'typebox';
import { saleEvents } from '../../modules/sale-events/index.ts';
import { createAppWithRoutes, type AppWithRoutes } from '../../../test/helpers/app-with-routes.ts';
import { createTestApp, type TestApp } from '../../../test/helpers/app.ts';
import { sendRaw } from '../../../test/helpers/sockets.ts';
import { sessionCookieOf } from '../../../test/helpers/commerce.ts';
import { waitFor } from '../../../test/helpers/queues.ts';

const HOUR = 3_600_000;

describe('rate limits (in-process, real Redis)', () => {
  let t: AppWithRoutes;
  /** Slow attempts whose replies have been sent (hung up on or not): the limiter's hooks have run for them. */
  let slowSent = 0;

  before(async () => {
    t = await createAppWithRoutes(
      {
        RATE_LIMIT_GENERAL_MAX: '1000',
        RATE_LIMIT_CHECKOUT_MAX: '3',
        RATE_LIMIT_SALE_MAX: '3',
        RATE_LIMIT_SALE_WINDOW_MS: '60000',
        RATE_LIMIT_SALE_REFRESH_MS: '0',
        LOAD_SHED_ENABLED: 'false',
      },
      (app) => {
        // A checkout-style route that fails or succeeds on demand.
        const schema = { querystring: Type.Object({ ok: Type.Optional(Type.String()) }, { additionalProperties: false }) };
        app.post('/test/attempt', { schema, config: { rateLimit: { limiters: ['checkout'] } } }, async (request, reply) => {
          const ok = (request.query as { ok?: string }).ok === 'true';
          return ok ? { placed: true } : reply.code(422).send({ error: { code: 'PAYMENT_DECLINED', message: 'declined', requestId: request.id } });
        });
        // A checkout refused by the shop's state (sold out: 409) or failing on the server's side (503).
        const refusalSchema = { querystring: Type.Object({ status: Type.Union([Type.Literal('409'), Type.Literal('503')]) }, { additionalProperties: false }) };
        app.post('/test/refused', { schema: refusalSchema, config: { rateLimit: { limiters: ['checkout'], notFailures: [409] } } }, async (request, reply) => {
          const status = Number((request.query as { status: string }).status);
          return reply.code(status).send({ error: { code: status === 409 ? 'OUT_OF_STOCK' : 'DATABASE_BUSY', message: 'refused', requestId: request.id } });
        });
        // The same, taking 200 ms (a payment provider's answer, a password hash) before it answers.
        // (A route's onSend runs after the app's: the limiter has given the unit back, or sent it on its way, by then.)
        const sent = (_request: unknown, _reply: unknown, payload: unknown, done: (error: null, payload: unknown) => void) => {
          slowSent += 1;
          done(null, payload);
        };
        app.post('/test/slow-attempt', { schema, onSend: sent, config: { rateLimit: { limiters: ['checkout'] } } }, async (request, reply) => {
          await new Promise((resolve) => setTimeout(resolve, 200));
          const ok = (request.query as { ok?: string }).ok === 'true';
          return ok ? { placed: true } : reply.code(422).send({ error: { code: 'PAYMENT_DECLINED', message: 'declined', requestId: request.id } });
        });
      },
    );
  });
  after(() => t.close());

  const attempt = (ip: string, ok: boolean) => t.app.inject({ method: 'POST', url: `/test/attempt?ok=${ok}`, remoteAddress: ip });
  const browse = (ip: string) => t.app.inject({ method: 'GET', url: '/api/v1/categories', remoteAddress: ip });

  it('sends the IETF draft RateLimit-Policy and RateLimit headers, and none on health, readiness and metrics', async () => {
    const reply = await browse('198.51.100.1');
    assert.equal(reply.statusCode, 200);
    assert.equal(reply.headers['ratelimit-policy'], '"general";q=1000;w=900');
    assert.equal(reply.headers.ratelimit, '"general";r=999;t=1');
    const second = await browse('198.51.100.1');
    assert.equal(second.headers.ratelimit, '"general";r=998;t=2');
    for (const url of ['/health', '/ready', '/metrics']) {
      const probe = await t.app.inject({ method: 'GET', url, remoteAddress: '198.51.100.1' });
      assert.equal(probe.headers['ratelimit-policy'], undefined, url);
    }
  });

  it('counts only failed checkout attempts: successes never use the budget, the fourth failure is refused', async () => {
    const ip = '198.51.100.2';
    for (let i = 0; i < 8; i++) assert.equal((await attempt(ip, true)).statusCode, 200, `success ${i + 1}`);
    for (let i = 0; i < 3; i++) assert.equal((await attempt(ip, false)).statusCode, 422, `failure ${i + 1}`);
    const refused = await attempt(ip, true);
    assert.equal(refused.statusCode, 429);
    assert.equal(refused.json().error.code, 'RATE_LIMITED');
    assert.deepEqual(refused.json().error.details.limiters, ['checkout']);
    assert.ok(Number(refused.headers['retry-after']) >= 1);
    assert.match(String(refused.headers['ratelimit-policy']), /"checkout";q=3;w=900/);
    assert.match(String(refused.headers.ratelimit), /"checkout";r=0;/);
    // Another client's budget is untouched, and browsing for this client is not affected.
    assert.equal((await attempt('198.51.100.3', false)).statusCode, 422);
    assert.equal((await browse(ip)).statusCode, 200);
    const metrics = await t.app.inject({ method: 'GET', url: '/metrics' });
    assert.match(metrics.body, /rate_limit_rejections_total\{limiter="checkout"[^}]*\} 1/);
  });

  it("does not count a sold-out refusal or the server's own failure as a failed attempt", async () => {
    // During a sale a whole carrier's or office's guests share one address: ten 'sold out' replies, or ten 503s
    // of an overloaded database, must not lock them all out of checkout for the window.
    const ip = '198.51.100.7';
    for (const status of ['409', '503']) {
      for (let i = 0; i < 5; i++) {
        const reply = await t.app.inject({ method: 'POST', url: `/test/refused?status=${status}`, remoteAddress: ip });
        assert.equal(reply.statusCode, Number(status), `${status} #${i + 1}: ${reply.body}`);
      }
    }
    for (let i = 0; i < 3; i++) assert.equal((await attempt(ip, false)).statusCode, 422, `failure ${i + 1}`);
    assert.equal((await attempt(ip, false)).statusCode, 429);
  });

  it('lets no more failed attempts through than the limit when they arrive at once', async () => {
    const ip = '198.51.100.5';
    const slow = (ok: boolean) => t.app.inject({ method: 'POST', url: `/test/slow-attempt?ok=${ok}`, remoteAddress: ip });
    const statuses = (await Promise.all(Array.from({ length: 20 }, () => slow(false)))).map((reply) => reply.statusCode);
    assert.equal(statuses.filter((status) => status === 422).length, 3, `statuses: ${statuses.join(',')}`);
    assert.equal(statuses.filter((status) => status === 429).length, 17);
    // And the budget they used is the limit's, not twenty attempts' worth: the refusal asks for one
    // interval (5 min), not for the window of 17 more failures.
    const refused = await attempt(ip, true);
    assert.equal(refused.statusCode, 429);
    assert.ok(Number(refused.headers['retry-after']) <= 300, `retry-after ${refused.headers['retry-after']}`);
  });

  it('gives a successful attempt its unit back, also while others are in flight', async () => {
    const ip = '198.51.100.6';
    const slow = (ok: boolean) => t.app.inject({ method: 'POST', url: `/test/slow-attempt?ok=${ok}`, remoteAddress: ip });
    const statuses = (await Promise.all([slow(true), slow(true), slow(false)])).map((reply) => reply.statusCode);
    assert.deepEqual(statuses, [200, 200, 422]);
    for (let i = 0; i < 2; i++) assert.equal((await attempt(ip, false)).statusCode, 422, `failure ${i + 2}`);
    assert.equal((await attempt(ip, true)).statusCode, 429);
  });

  it('applies the sale limit exactly while a sale event is live', async () => {
    const ip = '198.51.100.4';
    // An edit of the events is read in the background (each request answers from the last read): probe
    // from other addresses until the instance has read it, then count `ip`'s requests.
    let probes = 0;
    const untilSaleLimit = async (applies: boolean) => {
      for (let i = 0; i < 100; i++) {
        const reply = await browse(`203.0.113.${++probes}`);
        if (/"sale"/.test(String(reply.headers['ratelimit-policy'])) === applies) return;
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
      assert.fail(`the sale limit never ${applies ? 'applied' : 'stopped'}`);
    };
    const now = Date.now();
    // A sale that has not started yet: no sale limit.
    const [event] = await t.platform.db.primary
      .insert(saleEvents)
      .values({ name: 'Later', startsAt: new Date(now + HOUR), endsAt: new Date(now + 2 * HOUR) })
      .returning({ id: saleEvents.id });
    for (let i = 0; i < 5; i++) {
      const reply = await browse(ip);
      assert.equal(reply.statusCode, 200);
      assert.doesNotMatch(String(reply.headers['ratelimit-policy']), /sale/);
    }
    // Live now: three more requests, then 429 from the sale limiter.
    await t.platform.db.primary
      .update(saleEvents)
      .set({ startsAt: new Date(now - HOUR), endsAt: new Date(now + HOUR) })
      .where(eq(saleEvents.id, event!.id));
    await untilSaleLimit(true);
    for (let i = 0; i < 3; i++) {
      const reply = await browse(ip);
      assert.equal(reply.statusCode, 200, `sale request ${i + 1}`);
      assert.match(String(reply.headers['ratelimit-policy']), /"sale";q=3;w=60/);
    }
    const limited = await browse(ip);
    assert.equal(limited.statusCode, 429);
    assert.deepEqual(limited.json().error.details.limiters, ['sale']);
    // Over: the sale limit no longer applies.
    await t.platform.db.primary
      .update(saleEvents)
      .set({ startsAt: new Date(now - 2 * HOUR), endsAt: new Date(now - HOUR) })
      .where(eq(saleEvents.id, event!.id));
    await untilSaleLimit(false);
    const after = await browse(ip);
    assert.equal(after.statusCode, 200);
    assert.doesNotMatch(String(after.headers['ratelimit-policy']), /sale/);
  });

  it('gives a successful attempt its unit back when the client hung up before the reply (a reload while checkout waits)', async () => {
    await t.app.listen({ port: 0, host: '127.0.0.1' });
    const { port } = t.app.server.address() as AddressInfo;
    // Three presses of "Place order", each abandoned once the server has received it (a reload, a dropped mobile
    // connection) while the checkout takes 200 ms; each one succeeds on the server. (Not a hang-up after a fixed 50 ms:
    // on a loaded machine it could come before the server read the request, which it then never sees.)
    const sentBefore = slowSent;
    for (let i = 0; i < 3; i++) {
      const marker = `abandoned-attempt-${i}`;
      await new Promise<void>((resolve) => {
        const abandoned = httpRequest({ host: '127.0.0.1', port, method: 'POST', path: '/test/slow-attempt?ok=true', headers: { 'x-test-abandoned': marker } });
        const received = (request: IncomingMessage) => {
          if (request.headers['x-test-abandoned'] !== marker) return;
          t.app.server.off('request', received);
          abandoned.destroy();
        };
        t.app.server.on('request', received);
        abandoned.on('error', () => resolve());
        abandoned.on('close', () => resolve());
        abandoned.end();
      });
    }
    // The server finishes the three (polled: on a loaded machine, later than their 200 ms).
    await waitFor('the three abandoned attempts answered', () => slowSent >= sentBefore + 3 || null);
    // Three successes used no budget: the buyer's next attempt is answered, not refused.
    const next = await attempt('127.0.0.1', false);
    assert.equal(next.statusCode, 422, `after three abandoned successes: ${next.statusCode} ${next.body}`);
  });
});

describe('rate limits and the admin API', () => {
  let t: TestApp;
  before(async () => {
    t = await createTestApp({ RATE_LIMIT_GENERAL_MAX: '5', RATE_LIMIT_SALE_MAX: '3', RATE_LIMIT_SALE_WINDOW_MS: '60000', RATE_LIMIT_SALE_REFRESH_MS: '0' });
  });
  after(() => t.close());

  it('never throttles an operator holding the admin token, during a sale either; requests without it still count', async () => {
    const now = Date.now();
    await t.platform.db.primary.insert(saleEvents).values({ name: 'Live', startsAt: new Date(now - HOUR), endsAt: new Date(now + HOUR) });
    const created = await t.app.inject({ method: 'POST', url: '/api/v1/admin/products', headers: t.admin, payload: { sku: 'OPS-1', name: 'Ops', priceCents: 100, available: 1 }, remoteAddress: '203.0.113.7' });
    assert.equal(created.statusCode, 201, created.body);
    // The sale is live: an operator restocks, pages through orders and forces a mode, from the office's one address.
    for (let i = 0; i < 12; i++) {
      const replies = await Promise.all([
        t.app.inject({ method: 'PUT', url: `/api/v1/admin/products/${created.json().id}/stock`, headers: t.admin, payload: { available: 10 + i }, remoteAddress: '203.0.113.7' }),
        t.app.inject({ method: 'GET', url: '/api/v1/admin/orders', headers: t.admin, remoteAddress: '203.0.113.7' }),
      ]);
      for (const reply of replies) assert.equal(reply.statusCode, 200, `admin request ${i + 1}: ${reply.body}`);
    }
    const mode = await t.app.inject({ method: 'PUT', url: '/api/v1/admin/mode', headers: t.admin, payload: { mode: 'auto' }, remoteAddress: '203.0.113.7' });
    assert.equal(mode.statusCode, 200, mode.body);
    // The shoppers behind that address keep their own budget.
    assert.equal((await t.app.inject({ method: 'GET', url: '/api/v1/categories', remoteAddress: '203.0.113.7' })).statusCode, 200);

    // Without the token (or with a wrong one) the admin paths are limited as any other: no free guessing.
    const guesses = [];
    for (let i = 0; i < 4; i++) guesses.push(await t.app.inject({ method: 'GET', url: '/api/v1/admin/orders', headers: { authorization: `Bearer wrong-${i}` }, remoteAddress: '203.0.113.99' }));
    assert.deepEqual(
      guesses.map((reply) => reply.statusCode),
      [401, 401, 401, 429],
    );
  });
});

const statusOf = (reply: string) => Number(/^HTTP\/1\.1 (\d{3}) /.exec(reply)?.[1]);

/**
 * README "Rate limits and load shedding": every request but the probes, docs, webhooks and the admin API with its token
 * counts against `general`, its refusals included. Those answered before the rate-limit hook — a URL the router refuses
 * (400 BAD_URL through `frameworkErrors`), the web role's own first onRequest checks (a missing or doubled Host, an
 * asterisk-form target other than OPTIONS, a malformed query string), a state-changing request a browser says comes from
 * another site (403 CROSS_SITE_REQUEST) — are requests too: answered first, an address over its budget could send them
 * without end (each counted in the cluster's requests/min, which the degrade signal trusts no single client to push past
 * its rate limit). Each test spends the budget of its own address; the real-socket one is 127.0.0.1's.
 */
describe('refusals answered before the rate-limit hook and the general budget', () => {
  let t: TestApp;
  let port: number;
  /** A form a page on another site posts to sign the shopper out (text/plain, no custom header). */
  const crossSite = { origin: 'https://evil.example', 'sec-fetch-site': 'cross-site', 'content-type': 'text/plain' };

  before(async () => {
    t = await createTestApp({ RATE_LIMIT_GENERAL_MAX: '3', RATE_LIMIT_LOGIN_MAX: '1' });
    await t.app.listen({ port: 0, host: '127.0.0.1' });
    port = (t.app.server.address() as AddressInfo).port;
  });
  after(async () => {
    await t?.close();
  });

  const get = (remoteAddress: string) => t.app.inject({ url: '/api/v1/no-such-path', remoteAddress });
  const crossSitePost = (remoteAddress: string) => t.app.inject({ method: 'DELETE', url: '/api/v1/sessions', remoteAddress, headers: crossSite, payload: 'x=1' });

  it('a URL the router refuses spends the budget and is refused with 429 RATE_LIMITED like any other request', async () => {
    const address = '198.51.100.13';
    const statuses: number[] = [];
    for (let i = 0; i < 5; i++) statuses.push((await t.app.inject({ method: 'GET', url: '/api/v1/products/%zz', remoteAddress: address })).statusCode);
    assert.deepEqual(statuses, [400, 400, 400, 429, 429], 'the fourth and fifth malformed URLs are over the budget of 3');
    const next = await get(address);
    assert.equal(next.statusCode, 429, 'the budget spent on malformed URLs is the address’s');
    assert.equal(next.json().error.code, 'RATE_LIMITED');
  });

  it('requests refused by the early onRequest checks are refused with 429 RATE_LIMITED once the address has spent its budget (real sockets)', async () => {
    const spend = Array.from({ length: 3 }, () => 'GET /no-such-path HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
    for (const bytes of spend) assert.equal(statusOf(await sendRaw(port, bytes)), 404, 'within the budget of 3');
    assert.equal(statusOf(await sendRaw(port, 'GET /no-such-path HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n')), 429, 'the budget is spent');

    const early = [
      { name: 'a malformed query', bytes: 'GET /api/v1/products?q=%zz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n' },
      { name: 'no Host', bytes: 'GET /api/v1/categories HTTP/1.1\r\nConnection: close\r\n\r\n' },
      { name: 'two Hosts', bytes: 'GET /api/v1/categories HTTP/1.1\r\nHost: a\r\nHost: b\r\nConnection: close\r\n\r\n' },
      { name: 'GET *', bytes: 'GET * HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n' },
    ];
    const statuses: Record<string, number> = {};
    for (const c of early) statuses[c.name] = statusOf(await sendRaw(port, c.bytes));
    assert.deepEqual(statuses, { 'a malformed query': 429, 'no Host': 429, 'two Hosts': 429, 'GET *': 429 }, 'each answered although the address is over its budget');
  });

  describe('cross-site state-changing requests', () => {
    it('are refused with 429 RATE_LIMITED once the address has spent its budget', async () => {
      const address = '198.51.100.10';
      for (let i = 0; i < 3; i++) assert.equal((await get(address)).statusCode, 404, 'within the budget of 3');
      assert.equal((await get(address)).statusCode, 429, 'the budget is spent');

      const statuses = [];
      for (let i = 0; i < 3; i++) statuses.push((await crossSitePost(address)).statusCode);
      assert.deepEqual(statuses, [429, 429, 429], 'cross-site POSTs from an address over its budget');
    });

    it('are refused with 403 CROSS_SITE_REQUEST under the budget, and each spends one unit', async () => {
      const address = '198.51.100.11';
      const refused = await crossSitePost(address);
      assert.equal(refused.statusCode, 403, refused.body);
      assert.equal(refused.json().error.code, 'CROSS_SITE_REQUEST');
      assert.match(String(refused.headers.ratelimit), /^"general";r=2;t=\d+$/, 'one unit of 3 spent');
      assert.equal((await crossSitePost(address)).statusCode, 403);
      assert.equal((await crossSitePost(address)).statusCode, 403);
      assert.equal((await get(address)).statusCode, 429, 'three cross-site refusals spent the budget of 3');
    });

    it("are no failed sign-in attempts: a page of another site cannot lock a shopper's address out of signing in", async () => {
      const address = '198.51.100.12';
      const signIn = (headers: Record<string, string>, payload: string) => t.app.inject({ method: 'POST', url: '/api/v1/sessions', remoteAddress: address, headers, payload });
      const forged = await signIn(crossSite, 'email=victim@example.com&password=x');
      assert.equal(forged.statusCode, 403, forged.body);
      const credentials = JSON.stringify({ email: 'nobody@example.com', password: 'a wrong password' });
      const own = await signIn({ 'content-type': 'application/json' }, credentials);
      assert.equal(own.statusCode, 401, `the login budget of 1 is still whole: ${own.body}`);
      assert.equal((await signIn({ 'content-type': 'application/json' }, credentials)).statusCode, 429, 'the failed attempt spent it');
    });
  });
});

/**
 * README "Rate limits and load shedding", Who is counted: the address is `request.ip`, X-Forwarded-For believed from
 * the proxies in `TRUST_PROXY`. Fastify builds the request of a URL its router refuses (`frameworkErrors`) without
 * its trust setting, so behind the load balancer such a request counted against the balancer's own address: a client
 * over its budget got the 400 instead of the 429, and every client's malformed URLs spent one budget together.
 */
describe('a URL the router refuses, behind a trusted proxy', () => {
  let t: TestApp;

  before(async () => {
    t = await createTestApp({ TRUST_PROXY: '127.0.0.1', RATE_LIMIT_GENERAL_MAX: '3' });
  });
  after(async () => {
    await t?.close();
  });

  const viaProxy = (url: string, client: string) => t.app.inject({ url, remoteAddress: '127.0.0.1', headers: { 'x-forwarded-for': client } });

  it("is counted against the forwarded client's budget, not the proxy's", async () => {
    const spender = '198.51.100.30';
    for (let i = 0; i < 3; i++) assert.equal((await viaProxy('/api/v1/no-such-path', spender)).statusCode, 404, 'within the budget of 3');
    const over = await viaProxy('/api/v1/products/%zz', spender);
    assert.equal(over.statusCode, 429, `the client is over its budget: ${over.body}`);
    assert.equal(over.json().error.code, 'RATE_LIMITED');

    for (const other of ['198.51.100.31', '198.51.100.32']) {
      const refused = await viaProxy('/api/v1/products/%zz', other);
      assert.equal(refused.statusCode, 400, refused.body);
      assert.match(String(refused.headers.ratelimit), /^"general";r=2;t=\d+$/, `${other}: one unit of its own 3 spent, none of another client's`);
    }
  });
});

/**
 * README, Environment variables: RATE_LIMIT_LOGIN_MAX counts failed sign-ins "per client address, and per account". A
 * signed-in client's were counted against its customer id instead, so each account an address registers (20 an hour)
 * brought a fresh budget of guesses at other customers' passwords, and the address's own budget stayed whole.
 */
describe('failed sign-ins from a signed-in client', () => {
  let t: TestApp;

  before(async () => {
    t = await createTestApp({ RATE_LIMIT_LOGIN_MAX: '2' });
  });
  after(async () => {
    await t?.close();
  });

  const signIn = (remoteAddress: string, email: string, cookie?: string) =>
    t.app.inject({ method: 'POST', url: '/api/v1/sessions', remoteAddress, headers: cookie ? { cookie } : {}, payload: { email, password: 'a wrong password' } });

  it("spend the address's login budget, not the account's", async () => {
    const address = '198.51.100.40';
    const registered = await t.app.inject({ method: 'POST', url: '/api/v1/customers', remoteAddress: address, payload: { email: 'guesser@example.com', password: 'a long password', name: 'Guesser' } });
    assert.equal(registered.statusCode, 201, registered.body);
    const cookie = sessionCookieOf(registered.headers['set-cookie']);
    assert.ok(cookie);
    for (const victim of ['victim1@example.com', 'victim2@example.com']) assert.equal((await signIn(address, victim, cookie)).statusCode, 401, 'within the budget of 2');
    const anonymous = await signIn(address, 'victim3@example.com');
    assert.equal(anonymous.statusCode, 429, `the address spent its budget of 2 while signed in: ${anonymous.body}`);
    assert.deepEqual(anonymous.json().error.details.limiters, ['login']);
  });
});

/**
 * TRUST_PROXY names proxies by address or subnet, as proxy-addr (Fastify's) compiles them: an IPv6 subnet never takes in
 * an IPv4 peer unless it is an IPv4-mapped subnet (`::ffff:10.0.0.0/104`). `::/64` (any IPv6 subnet whose first 80 bits
 * are zero, which the configuration accepts) holds `::ffff:0:0/96`, every IPv4 address mapped: read through node:net's
 * BlockList, every IPv4 client was a trusted proxy, and its own X-Forwarded-For a fresh budget per request.
 */
describe('an IPv6 subnet in TRUST_PROXY', () => {
  let t: TestApp;

  before(async () => {
    t = await createTestApp({ TRUST_PROXY: '::/64', RATE_LIMIT_GENERAL_MAX: '3' });
  });
  after(async () => {
    await t?.close();
  });

  it('does not make an IPv4 client a trusted proxy: its X-Forwarded-For is not believed', async () => {
    const client = '198.51.100.50';
    for (let i = 0; i < 3; i++) {
      const reply = await t.app.inject({ url: '/api/v1/no-such-path', remoteAddress: client, headers: { 'x-forwarded-for': `203.0.113.${i + 1}` } });
      assert.equal(reply.statusCode, 404, 'within the budget of 3');
    }
    const over = await t.app.inject({ url: '/api/v1/no-such-path', remoteAddress: client, headers: { 'x-forwarded-for': '203.0.113.9' } });
    assert.equal(over.statusCode, 429, `a spoofed X-Forwarded-For is no fresh budget: ${over.body}`);
    const mapped = await t.app.inject({ url: '/api/v1/products/%zz', remoteAddress: `::ffff:${client}`, headers: { 'x-forwarded-for': '203.0.113.10' } });
    assert.equal(mapped.statusCode, 429, `nor through the router's refusals, from its IPv4-mapped address: ${mapped.body}`);
  });
});
