import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { sql } from 'drizzle-orm';
import { createTokenSigner } from '../src/modules/waiting-room/index.ts';
import { createTestApp, type TestApp } from './helpers/app.ts';
import { insertCustomers, mintSessionCookies } from './helpers/commerce.ts';
import { request, type JsonReply } from './helpers/http.ts';
import { startInstance, type Instance } from './helpers/instances.ts';
import { createQueuedProduct, createQueuedSale } from './helpers/waiting-room.ts';
import { openSse, type SseStream } from './helpers/sse.ts';
import { waitFor } from './helpers/queues.ts';

/**
 * The waiting room's claims on two real `salescale serve` processes sharing one PostgreSQL and Redis:
 * admission order and rate, the pass rule at checkout, sell-out and re-opening pushed to every stream.
 * Visitors come from distinct addresses (X-Forwarded-For through a trusted proxy), as they would.
 */
describe('waiting room on two instances', () => {
  let t: TestApp;
  let a: Instance;
  let b: Instance;
  const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
  const instances = () => [a, b];
  let address = 0;
  const nextAddress = () => {
    address += 1;
    return `10.${(address >> 16) & 255}.${(address >> 8) & 255}.${address & 255}`;
  };
  const LIMITS = {
    RATE_LIMIT_GENERAL_MAX: '1000000',
    RATE_LIMIT_CUSTOMER_MAX: '1000000',
    RATE_LIMIT_SALE_MAX: '1000000',
    RATE_LIMIT_CHECKOUT_MAX: '1000000',
    TRUST_PROXY: '127.0.0.1',
    WAITING_ROOM_EVENTS_REFRESH_MS: '200',
    WAITING_ROOM_STREAM_REFRESH_MS: '500',
    // Admission steps every 20 ms on each instance: the pre-queue check below needs distinct admission times.
    // At the default 100 ms the 80 early visitors (at 100/s) were admitted at 19–23 distinct times on a quiet
    // machine, and the check (which needs more than 10) failed once in CI on a loaded one (2026-12-04); at
    // 20 ms, at 76.
    WAITING_ROOM_TICK_MS: '20',
    STOCK_VIEW_REFRESH_MS: '100',
    // Unpaid reservations expire (once a worker runs: only the sell-out test starts one).
    PAYMENT_WINDOW_S: '5',
    PAYMENT_SWEEP_INTERVAL_MS: '500',
  };

  before(async () => {
    t = await createTestApp(LIMITS);
    const env = { ...t.env, DB_POOL_MAX: '10', LOG_LEVEL: process.env.DEBUG_INSTANCES ? 'warn' : 'silent' };
    [a, b] = await Promise.all([startInstance({ env }), startInstance({ env })]);
  });
  after(async () => {
    await Promise.all([a?.stop(), b?.stop()]);
    if (process.env.DEBUG_INSTANCES) console.log(a?.output(), b?.output());
    await t.close();
  });

  const createProduct = (available: number) => createQueuedProduct(a.url, t.admin, { available });
  const createEvent = (productIds: number[], startsInMs: number, admissionPerSecond: number) =>
    createQueuedSale(b.url, t.admin, instances(), { productIds, startsInMs, admissionPerSecond });

  interface Visitor {
    headers: Record<string, string>;
    instance: Instance;
    ticket?: string;
    stream?: SseStream;
  }

  function visitor(i: number, cookie?: string): Visitor {
    return { headers: { 'x-forwarded-for': nextAddress(), ...(cookie ? { cookie } : {}) }, instance: instances()[i % 2]! };
  }

  async function join(eventId: number, v: Visitor, on: Instance = v.instance): Promise<JsonReply> {
    const reply = await request(`${on.url}/api/v1/sale-events/${eventId}/queue`, { method: 'POST', headers: v.headers });
    if (reply.status === 201) {
      v.ticket = reply.body.ticket;
      const visitorCookie = reply.headers.getSetCookie().find((c) => c.startsWith('salescale_visitor='));
      if (visitorCookie) v.headers.cookie = [v.headers.cookie, visitorCookie.split(';')[0]].filter(Boolean).join('; ');
    }
    return reply;
  }

  async function listen(eventId: number, v: Visitor, on: Instance = v.instance): Promise<SseStream> {
    const stream = await openSse(`${on.url}/api/v1/sale-events/${eventId}/queue/${encodeURIComponent(v.ticket!)}/events`, v.headers);
    assert.equal(stream.status, 200);
    v.stream = stream;
    return stream;
  }

  function order(on: Instance, cookie: string, productId: number, pass?: string, key = `k-${Math.random()}`): Promise<JsonReply> {
    return request(`${on.url}/api/v1/orders`, {
      method: 'POST',
      headers: { cookie, 'idempotency-key': key, ...(pass ? { 'waiting-room-pass': pass } : {}) },
      body: { items: [{ productId, quantity: 1 }] },
    });
  }

  it('admits visitors in ticket order at the set rate: the pre-queue shuffled once, later arrivals in arrival order', async () => {
    const RATE = 100;
    const productId = await createProduct(1_000_000);
    const eventId = await createEvent([productId], 3_600_000, RATE);

    // Before the start: a pre-queue, positions hidden.
    const early = Array.from({ length: 80 }, (_, i) => visitor(i));
    for (const v of early) {
      const reply = await join(eventId, v);
      assert.equal(reply.status, 201, JSON.stringify(reply.body));
      assert.equal(reply.body.state, 'waiting');
      assert.equal(reply.body.position, null, 'no place in line before the start');
      assert.ok(reply.body.etaSeconds > 0);
    }
    await Promise.all(early.map((v) => listen(eventId, v)));

    // The admin brings the start forward; every instance picks it up within WAITING_ROOM_EVENTS_REFRESH_MS.
    const startsAt = Date.now() + 500;
    const patched = await request(`${a.url}/api/v1/admin/sale-events/${eventId}`, { method: 'PATCH', headers: t.admin, body: { startsAt: new Date(startsAt).toISOString() } });
    assert.equal(patched.status, 200, JSON.stringify(patched.body));

    // After the start: arrivals in order, one after another, alternating instances. A second past the start, and
    // then until both instances tell the new start and the pre-queue is drawn (a joiner before that would be drawn
    // with it): on a loaded machine the re-read and the admission step come late.
    while (Date.now() < startsAt + 1000) await sleep(50);
    await waitFor('both instances past the new start and the pre-queue drawn', async () => {
      const rooms = await Promise.all(instances().map(async (on) => (await request(`${on.url}/api/v1/sale-events/${eventId}/queue`)).body));
      if (!rooms.every((room) => Date.parse(room.startsAt) === startsAt)) return null;
      return early.every((v) => v.stream!.messages.some((m) => typeof m.data.position === 'number' || m.data.state === 'admitted')) || null;
    }, 15_000);
    const late = Array.from({ length: 320 }, (_, i) => visitor(i));
    for (const v of late) {
      const reply = await join(eventId, v);
      assert.equal(reply.status, 201, JSON.stringify(reply.body));
      if (reply.body.state === 'waiting') assert.ok(reply.body.position >= 1);
    }
    await Promise.all(late.map((v) => listen(eventId, v)));
    const everyone = [...early, ...late];
    const admitted = await Promise.all(everyone.map((v) => v.stream!.next((m) => m.data.state === 'admitted', 60_000)));
    for (const v of everyone) v.stream!.close();
    const at = admitted.map((m) => Date.parse(m.data.admittedAt));

    // Later arrivals: admitted in arrival order, and only after the whole pre-queue.
    const lastEarly = Math.max(...at.slice(0, early.length));
    const lateAt = at.slice(early.length);
    assert.ok(lateAt.every((x) => x >= lastEarly), 'no later arrival admitted before a pre-queue visitor');
    let outOfOrder = 0;
    for (let i = 1; i < lateAt.length; i++) if (lateAt[i]! < lateAt[i - 1]!) outOfOrder += 1;
    assert.equal(outOfOrder, 0, 'later arrivals admitted in arrival order');

    // The pre-queue: randomised, not arrival order (80! orders; the arrival order is one of them).
    const earlyOrder = at
      .slice(0, early.length)
      .map((x, i) => ({ x, i }))
      .sort((p, q) => p.x - q.x || p.i - q.i);
    let ascending = 0;
    for (let i = 1; i < earlyOrder.length; i++) if (earlyOrder[i]!.i > earlyOrder[i - 1]!.i && earlyOrder[i]!.x !== earlyOrder[i - 1]!.x) ascending += 1;
    const distinctSteps = earlyOrder.filter((p, i) => i > 0 && p.x !== earlyOrder[i - 1]!.x).length;
    assert.ok(distinctSteps > 10 && ascending < distinctSteps, 'the pre-queue is not admitted in arrival order');

    // Never faster than the set rate (one second of burst at most), counted from the start on Redis's clock.
    const sorted = [...at].sort((p, q) => p - q);
    const first = sorted[0]!;
    for (const [k, x] of sorted.entries()) assert.ok(k + 1 <= (RATE * (x - first)) / 1000 + RATE + 1, `admission ${k + 1} at +${x - first} ms is faster than ${RATE}/s`);
    const achieved = ((sorted.length - 1) * 1000) / (sorted[sorted.length - 1]! - first);
    console.log(`waiting room: ${sorted.length} admitted, achieved ${achieved.toFixed(1)}/s for ${RATE}/s set`);

    // Each admitted visitor got a pass for this event.
    assert.ok(admitted.every((m) => typeof m.data.pass === 'string' && Date.parse(m.data.passExpiresAt) > Date.now()));
  });

  it('lets no one check out the event’s products without a valid pass of their own', async () => {
    const productId = await createProduct(100);
    const other = await createProduct(100);
    const eventId = await createEvent([productId], 0, 50);
    const [alice, bob] = await insertCustomers(t.platform.db.primary, 2, 'pass');
    const [aliceCookie, bobCookie] = await mintSessionCookies(t.env, [alice!, bob!]);

    const noPass = await order(a, aliceCookie!, productId);
    assert.equal(noPass.status, 403);
    assert.equal(noPass.body.error.code, 'PASS_REQUIRED');
    assert.equal((await order(b, aliceCookie!, other)).status, 201, 'products outside the sale need no pass');

    const forged = await order(b, aliceCookie!, productId, 'eyJlIjoxfQ.bm90LWEtc2lnbmF0dXJl');
    assert.equal(forged.status, 403);
    assert.equal(forged.body.error.code, 'PASS_INVALID');

    const v = visitor(0, aliceCookie);
    assert.equal((await join(eventId, v)).status, 201);
    const admitted = await (await listen(eventId, v, b)).next((m) => m.data.state === 'admitted', 20_000);
    const pass = admitted.data.pass as string;

    // A pass with a changed expiry no longer matches its signature.
    const [payload, signature] = pass.split('.');
    const tampered = JSON.parse(Buffer.from(payload!, 'base64url').toString());
    tampered.x += 3_600_000;
    const tamperedReply = await order(a, aliceCookie!, productId, `${Buffer.from(JSON.stringify(tampered)).toString('base64url')}.${signature}`);
    assert.equal(tamperedReply.body.error.code, 'PASS_INVALID');

    // Correctly signed but expired (signed here with the deployment's secret, as a stale pass would be).
    const signer = createTokenSigner(t.env.SESSION_SECRET!);
    const expired = signer.pass({ ...tampered, x: Date.now() - 1000 });
    const expiredReply = await order(a, aliceCookie!, productId, expired);
    assert.equal(expiredReply.status, 403);
    assert.equal(expiredReply.body.error.code, 'PASS_EXPIRED');

    // Someone else's pass does not work for Bob.
    const stolen = await order(b, bobCookie!, productId, pass);
    assert.equal(stolen.status, 403);
    assert.equal(stolen.body.error.code, 'PASS_INVALID');
    // ... nor once it has expired: it was never his, so it is invalid for him, not expired.
    const stolenExpired = await order(b, bobCookie!, productId, expired);
    assert.equal(stolenExpired.status, 403);
    assert.equal(stolenExpired.body.error.code, 'PASS_INVALID');

    // Alice's own pass, on either instance; a refused key can be retried once she has it.
    const bought = await order(a, aliceCookie!, productId, pass);
    assert.equal(bought.status, 201, JSON.stringify(bought.body));
    // It bought its order: a second one needs a place in line of its own.
    const again = await order(b, aliceCookie!, productId, pass);
    assert.equal(again.status, 403);
    assert.equal(again.body.error.code, 'PASS_USED');

    const metrics = await fetch(`${a.url}/metrics`).then((r) => r.text());
    assert.match(metrics, /salescale_waiting_room_checkouts_refused_total\{[^}]*code="PASS_REQUIRED"[^}]*\} [1-9]/);
  });

  it('lets one pass buy one order, however many clients and instances present copies of it at once; a refused order gives it back', async () => {
    const productId = await createProduct(5);
    const eventId = await createEvent([productId], 0, 50);
    const customers = await insertCustomers(t.platform.db.primary, 6, 'copy');
    const [aliceCookie, ...others] = await mintSessionCookies(t.env, customers);
    const alice = visitor(0, aliceCookie);
    assert.equal((await join(eventId, alice)).status, 201);
    const admitted = await (await listen(eventId, alice)).next((m) => m.data.state === 'admitted', 20_000);
    alice.stream!.close();
    const pass = admitted.data.pass as string;
    const visitorCookie = alice.headers.cookie!.split('; ').find((c) => c.startsWith('salescale_visitor='))!;

    // A refusal (more units than the stock) leaves the pass unspent.
    const tooMany = await request(`${a.url}/api/v1/orders`, {
      method: 'POST',
      headers: { cookie: alice.headers.cookie!, 'idempotency-key': `too-many-${eventId}`, 'waiting-room-pass': pass },
      body: { items: [{ productId, quantity: 6 }] },
    });
    assert.equal(tooMany.status, 409, JSON.stringify(tooMany.body));
    assert.equal(tooMany.body.error.code, 'OUT_OF_STOCK');

    // Then everyone holding a copy tries at once, on both instances: Alice's own tabs, guests with her
    // visitor cookie and fresh emails, other accounts with her visitor cookie.
    const attempts = [
      ...Array.from({ length: 6 }, (_, i) => ({ on: instances()[i % 2]!, cookie: alice.headers.cookie!, extra: {} })),
      ...Array.from({ length: 6 }, (_, i) => ({ on: instances()[i % 2]!, cookie: visitorCookie, extra: { email: `copy-${eventId}-${i}@example.com` } })),
      ...others.map((cookie, i) => ({ on: instances()[i % 2]!, cookie: `${cookie}; ${visitorCookie}`, extra: {} })),
    ].map((attempt, i) => ({ ...attempt, key: `copy-${eventId}-${i}` }));
    const replies = await Promise.all(
      attempts.map((attempt) =>
        request(`${attempt.on.url}/api/v1/orders`, {
          method: 'POST',
          headers: { cookie: attempt.cookie, 'idempotency-key': attempt.key, 'waiting-room-pass': pass },
          body: { items: [{ productId, quantity: 1 }], ...attempt.extra },
        }),
      ),
    );
    const placed = replies.filter((r) => r.status === 201);
    assert.equal(placed.length, 1, `orders placed with one pass: ${replies.map((r) => r.status === 201 ? 201 : r.body.error.code).join(' ')}`);
    assert.ok(replies.every((r) => r.status === 201 || (r.status === 403 && r.body.error.code === 'PASS_USED')));
    const units = await t.platform.db.primary.execute<{ n: string }>(sql`select count(*) as n from order_items where product_id = ${productId}`);
    assert.equal(Number(units.rows[0]!.n), 1, 'one order of the queued product in PostgreSQL');

    // The buying request retried with its key is its own order again, not a second one.
    const winner = attempts[replies.indexOf(placed[0]!)]!;
    const retried = await request(`${winner.on === a ? b.url : a.url}/api/v1/orders`, {
      method: 'POST',
      headers: { cookie: winner.cookie, 'idempotency-key': winner.key, 'waiting-room-pass': pass },
      body: { items: [{ productId, quantity: 1 }], ...winner.extra },
    });
    assert.equal(retried.status, 201);
    assert.equal(retried.body.id, placed[0]!.body.id);
  });

  it('takes a pass of any live queued sale that lists the product (two sales can share one)', async () => {
    const shared = await createProduct(100);
    const own = await createProduct(100);
    const whole = await createEvent([shared], 0, 50);
    const drop = await createEvent([shared, own], 0, 50);
    const [buyer] = await insertCustomers(t.platform.db.primary, 1, 'overlap');
    const [cookie] = await mintSessionCookies(t.env, [buyer!]);
    const v = visitor(0, cookie);
    assert.equal((await join(drop, v)).status, 201);
    const admitted = await (await listen(drop, v)).next((m) => m.data.state === 'admitted', 20_000);
    v.stream!.close();
    const pass = admitted.data.pass as string;

    const bought = await order(b, v.headers.cookie!, shared, pass);
    assert.equal(bought.status, 201, `admitted to sale ${drop}, which lists the product: ${JSON.stringify(bought.body)}`);
    // Without any pass the refusal names a sale that queues the product.
    const refused = await order(a, v.headers.cookie!, shared);
    assert.equal(refused.status, 403);
    assert.equal(refused.body.error.code, 'PASS_REQUIRED');
    assert.ok([whole, drop].includes(refused.body.error.details.saleEventId));
  });

  it('checks out the cart it checked the pass for: a queued product added meanwhile is not bought without a pass', async () => {
    const queued = await createProduct(1000);
    await createEvent([queued], 0, 1);
    const [buyer] = await insertCustomers(t.platform.db.primary, 1, 'race');
    const [cookie] = await mintSessionCookies(t.env, [buyer!]);
    // One client flips the queued product in and out of the cart on one instance while another places
    // orders of the cart on the other: each order must see the cart once (with it: refused; without it: empty).
    let stop = false;
    const cartUrl = `${b.url}/api/v1/cart/items/${queued}`;
    const flipper = (async () => {
      while (!stop) {
        await request(cartUrl, { method: 'PUT', headers: { cookie: cookie! }, body: { quantity: 1 } });
        await request(cartUrl, { method: 'DELETE', headers: { cookie: cookie! } });
      }
    })();
    const codes = new Map<string, number>();
    try {
      for (let i = 0; i < 200; i++) {
        const reply = await request(`${a.url}/api/v1/orders`, { method: 'POST', headers: { cookie: cookie!, 'idempotency-key': `race-${i}` }, body: {} });
        const code = reply.status === 201 ? 'PLACED' : String(reply.body.error.code);
        codes.set(code, (codes.get(code) ?? 0) + 1);
      }
    } finally {
      stop = true;
      await flipper;
    }
    assert.ok((codes.get('PASS_REQUIRED') ?? 0) > 0 && (codes.get('EMPTY_CART') ?? 0) > 0, `both cart states were seen: ${JSON.stringify([...codes])}`);
    assert.equal(codes.get('PLACED') ?? 0, 0, `orders of the queued product placed without a pass: ${JSON.stringify([...codes])}`);
  });

  it('tells every one of hundreds of waiting streams on both instances of the sell-out, and re-opens admission in order when a unit comes back (cancellation, then reservation expiry)', async () => {
    const productId = await createProduct(3);
    const customers = await insertCustomers(t.platform.db.primary, 303, 'sell');
    const cookies = await mintSessionCookies(t.env, customers);
    const eventId = await createEvent([productId], 0, 2);
    const buyers = cookies.slice(0, 3).map((cookie, i) => visitor(i, cookie));
    for (const v of buyers) assert.equal((await join(eventId, v)).status, 201);
    // The crowd behind them joins 50 at a time (signed in: whoever is re-admitted later buys).
    const crowd = Array.from({ length: 300 }, (_, i) => visitor(i, cookies[3 + i]));
    for (let i = 0; i < crowd.length; i += 50) {
      const replies = await Promise.all(crowd.slice(i, i + 50).map((v) => join(eventId, v)));
      assert.ok(replies.every((r) => r.status === 201));
    }
    const everyone = [...buyers, ...crowd];
    // The line's head, read where the room keeps it (with no place in line while sold out, the streams do not say).
    const firstInLine = async () => {
      const [ticketId] = await t.platform.redis.zrange(`{${t.config.redis.prefix}:wr:${eventId}}:q`, '0', '0');
      const found = crowd.find((v) => v.ticket?.startsWith(`${ticketId}.`));
      assert.ok(found, `the head of the line (${ticketId}) is one of the crowd`);
      return found;
    };
    for (let i = 0; i < everyone.length; i += 50) await Promise.all(everyone.slice(i, i + 50).map((v) => listen(eventId, v)));
    try {
      const orderIds: number[] = [];
      let soldAt = 0;
      for (const [i, v] of buyers.entries()) {
        const admitted = await v.stream!.next((m) => m.data.state === 'admitted', 20_000);
        // The clock starts when the last unit is asked for (the gate reaches zero while that order runs).
        soldAt = Date.now();
        const reply = await order(instances()[i % 2]!, cookies[i]!, productId, admitted.data.pass);
        assert.equal(reply.status, 201, JSON.stringify(reply.body));
        orderIds.push(reply.body.id);
      }
      // Everyone still in line, on either instance, hears it soon after the last unit goes: usually well within
      // 2 s (printed below), but a timed test on a loaded CI machine (other test files running) has seen 4.3 s, and
      // CI may run on one twice as slow, so the bound is 20 s (ten times the usual); how fast it is belongs in a
      // benchmark, what is asserted here is that every stream is told.
      const admittedSoFar = (v: Visitor) => v.stream!.messages.some((m) => m.data.state === 'admitted');
      const stillWaiting = crowd.filter((v) => !admittedSoFar(v));
      assert.ok(stillWaiting.length > 250, `most visitors were still waiting (${stillWaiting.length})`);
      assert.ok(stillWaiting.some((v) => v.instance === a) && stillWaiting.some((v) => v.instance === b));
      const told = await Promise.all(stillWaiting.map((v) => v.stream!.next((m) => m.data.state === 'sold_out', 30_000)));
      const slowest = Math.max(...told.map((m) => m.at - soldAt));
      console.log(`waiting room: sell-out reached ${told.length} streams on two instances, the last ${slowest} ms after the last unit was ordered`);
      assert.ok(slowest <= 20_000, `every waiting stream told within 20 s (slowest ${slowest} ms)`);
      // The same for everyone (no place in line while sold out), and the status reads agree with the streams.
      assert.ok(told.every((m) => m.data.position === null && m.data.etaSeconds === null));
      const polled = await request(`${b.url}/api/v1/sale-events/${eventId}/queue/${encodeURIComponent(stillWaiting[0]!.ticket!)}`);
      const { now, ...polledStatus } = polled.body;
      assert.equal(typeof now, 'number', 'the reply carries the room clock');
      assert.deepEqual(polledStatus, { state: 'sold_out', position: null, etaSeconds: null, pollAfterSeconds: 15 });

      // Nobody is admitted while sold out.
      await sleep(1500);
      assert.ok(stillWaiting.every((v) => !admittedSoFar(v)));

      // A cancellation returns a unit: the first still in line is admitted next, and the line moves again.
      const inLine = (v: Visitor) => !admittedSoFar(v);
      const next = await firstInLine();
      const cancel = await request(`${b.url}/api/v1/admin/orders/${orderIds[0]}/cancel`, { method: 'POST', headers: t.admin });
      assert.equal(cancel.status, 200);
      const readmitted = await next.stream!.next((m) => m.data.state === 'admitted', 10_000);
      assert.ok(readmitted.data.pass);
      const firstAdmittedAgain = Math.min(...stillWaiting.filter(admittedSoFar).map((v) => Date.parse(v.stream!.messages.find((m) => m.data.state === 'admitted')!.data.admittedAt)));
      assert.equal(Date.parse(readmitted.data.admittedAt), firstAdmittedAgain, 'the first in line is the first admitted after the re-opening');
      const crowdWaiting = crowd.filter(inLine);
      await Promise.all(crowdWaiting.slice(-5).map((v) => v.stream!.next((m) => m.data.state === 'waiting' && m.at > readmitted.at - 2000, 15_000)));

      // The re-admitted visitor buys the returned unit: sold out again, everyone still waiting is told again.
      const rebought = await order(next.instance, next.headers.cookie!, productId, readmitted.data.pass);
      assert.equal(rebought.status, 201, JSON.stringify(rebought.body));
      // Read again on each look: at 2/s the line moved on while the unit was bought, and one admitted just before the
      // sell-out (its `admitted` frame still on its way when the line was first read) is not in line to be told.
      const waitingNow = () => crowd.filter(inLine);
      const lastState = (v: Visitor) => v.stream!.messages.at(-1)?.data.state;
      for (let i = 0; waitingNow().some((v) => lastState(v) !== 'sold_out'); i++) {
        assert.ok(i < 100, `still told waiting: ${JSON.stringify(waitingNow().filter((v) => lastState(v) !== 'sold_out').map(lastState))}`);
        await sleep(100);
      }
      assert.ok(waitingNow().length > 200);

      // Two unpaid reservations outlive their payment window: the worker expires them, the units come back,
      // and the line moves again in order.
      const nextAfterExpiry = await firstInLine();
      const worker = await startInstance({ env: { ...t.env, LOG_LEVEL: 'silent' }, command: 'worker', timeoutMs: 60_000 });
      try {
        const afterExpiry = await nextAfterExpiry.stream!.next((m) => m.data.state === 'admitted', 30_000);
        assert.ok(afterExpiry.data.pass);
        const expired = await request(`${a.url}/api/v1/orders/${orderIds[1]}`, { headers: { cookie: cookies[1]! } });
        assert.equal(expired.body.status, 'expired', JSON.stringify(expired.body));
      } finally {
        await worker.stop();
      }
    } finally {
      for (const v of everyone) v.stream?.close();
    }
  });

  it('gives a session one ticket, refuses a second guest ticket from an address class but not signed-in customers behind it, and 404s a forged ticket', async () => {
    const productId = await createProduct(10);
    const eventId = await createEvent([productId], 60_000, 10);
    const [customer] = await insertCustomers(t.platform.db.primary, 1, 'once');
    const [cookie] = await mintSessionCookies(t.env, [customer!]);
    const v = visitor(0, cookie);
    const first = await join(eventId, v, a);
    assert.equal(first.status, 201);
    const second = await request(`${b.url}/api/v1/sale-events/${eventId}/queue`, { method: 'POST', headers: { cookie: cookie!, 'x-forwarded-for': nextAddress() } });
    assert.equal(second.status, 201);
    assert.equal(second.body.ticket, first.body.ticket, 'the same session gets its first ticket back, from any instance');
    assert.equal(second.headers.get('idempotent-replayed'), 'true');

    // A guest keeps its ticket through its visitor cookie; a new visitor from the same address gets none.
    const guest = visitor(1);
    const guestFirst = await join(eventId, guest);
    assert.equal((await join(eventId, guest, a)).body.ticket, guestFirst.body.ticket);
    const sameAddress = await request(`${a.url}/api/v1/sale-events/${eventId}/queue`, { method: 'POST', headers: { 'x-forwarded-for': guest.headers['x-forwarded-for']! } });
    assert.equal(sameAddress.status, 429);
    assert.equal(sameAddress.body.error.code, 'TICKET_LIMIT_REACHED');
    assert.match(sameAddress.body.error.message, /sign in/);
    // Signed in, buyers behind that same address (a carrier's NAT, an office) each get their own ticket, and
    // take none of the guests' allowance.
    const neighbours = await insertCustomers(t.platform.db.primary, 2, 'shared-address');
    const neighbourCookies = await mintSessionCookies(t.env, neighbours);
    const signedIn = await Promise.all(
      neighbourCookies.map((c, i) => request(`${[a, b][i]!.url}/api/v1/sale-events/${eventId}/queue`, { method: 'POST', headers: { cookie: c!, 'x-forwarded-for': guest.headers['x-forwarded-for']! } })),
    );
    assert.deepEqual(signedIn.map((r) => r.status), [201, 201]);
    assert.notEqual(signedIn[0]!.body.ticket, signedIn[1]!.body.ticket);
    assert.equal((await request(`${b.url}/api/v1/sale-events/${eventId}/queue`, { method: 'POST', headers: { 'x-forwarded-for': guest.headers['x-forwarded-for']! } })).status, 429);

    const [id] = first.body.ticket.split('.');
    const forged = await request(`${a.url}/api/v1/sale-events/${eventId}/queue/${id}.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA`);
    assert.equal(forged.status, 404);
    assert.equal(forged.body.error.code, 'TICKET_NOT_FOUND');
    const status = await request(`${b.url}/api/v1/sale-events/${eventId}/queue/${encodeURIComponent(first.body.ticket)}`);
    assert.equal(status.status, 200);
    assert.equal(status.body.state, 'waiting');
  });
});
