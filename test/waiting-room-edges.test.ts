import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { connect, type AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { sql } from 'drizzle-orm';
import { createTestApp, type TestApp } from './helpers/app.ts';
import { insertCustomers, mintSessionCookies } from './helpers/commerce.ts';
import { request } from './helpers/http.ts';
import { startInstance } from './helpers/instances.ts';
import { waitFor } from './helpers/queues.ts';
import { parsePrometheusText, total } from './helpers/prometheus-text.ts';
import { openSse } from './helpers/sse.ts';
import { roomKeys } from '../src/modules/waiting-room/waiting-room.scripts.ts';
import { createTokenSigner } from '../src/modules/waiting-room/waiting-room.tokens.ts';
import { createQueuedProduct, createQueuedSale, listeningWaitingRoomApp } from './helpers/waiting-room.ts';
import type { WebServices } from '../src/web/compose.ts';

/**
 * The waiting room at its edges, on one in-process instance listening on a real socket: what its routes
 * and the checkout answer to input no client of ours sends.
 */
/** An app listening on a free port, its limits out of the way and its room ticking fast. */
const listeningApp = (extraEnv: Record<string, string> = {}) =>
  listeningWaitingRoomApp({ RATE_LIMIT_CHECKOUT_MAX: '1000000', WAITING_ROOM_TICKETS_PER_ADDRESS: '1000', ...extraEnv });

describe('waiting room at its edges', () => {
  let t: TestApp;
  let url: string;

  before(async () => {
    ({ t, url } = await listeningApp());
  });
  after(async () => {
    await t?.close();
  });

  const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
  const streamsOpen = async (eventId: number) =>
    total(parsePrometheusText((await t.app.inject({ method: 'GET', url: '/metrics' })).body), 'salescale_waiting_room_streams_open', { sale_event: String(eventId) });

  /** A live queued sale of one new product: its ids. */
  /** `alsoOn`: other instances that must know the sale's room before a visitor joins there (they re-read the rooms on a timer). */
  async function liveSale(o: { admissionPerSecond?: number; alsoOn?: readonly { url: string }[] } = {}): Promise<{ eventId: number; productId: number }> {
    const productId = await createQueuedProduct(url, t.admin, { available: 100, skuPrefix: 'edge' });
    const eventId = await createQueuedSale(url, t.admin, [{ url }, ...(o.alsoOn ?? [])], { productIds: [productId], startsInMs: 0, admissionPerSecond: o.admissionPerSecond ?? 1000 });
    return { eventId, productId };
  }

  it('answers a ticket or a pass whose signature holds a non-ASCII character with 404 / 403, not 500', async () => {
    const { eventId, productId } = await liveSale();
    const joined = await request(`${url}/api/v1/sale-events/${eventId}/queue`, { method: 'POST' });
    assert.equal(joined.status, 201, JSON.stringify(joined.body));
    // The signature is 43 characters; one of them swapped for 'é' keeps 43 characters but not 43 bytes.
    const ticket = `${joined.body.ticket.slice(0, -1)}é`;
    for (const suffix of ['', '/events']) {
      const reply = await t.app.inject({ method: 'GET', url: `/api/v1/sale-events/${eventId}/queue/${encodeURIComponent(ticket)}${suffix}` });
      assert.equal(reply.statusCode, 404, `GET …/queue/<ticket>${suffix}: ${reply.body}`);
      assert.equal(reply.json().error.code, 'TICKET_NOT_FOUND');
      assert.deepEqual(reply.json().error.details, { saleEventId: eventId }, 'the details name the sale, not "of sale event N" as an id');
    }

    const [customerId] = await insertCustomers(t.platform.db.primary, 1, 'edge-pass');
    const [session] = await mintSessionCookies(t.env, [customerId!]);
    const pass = `${'e30'}.${'A'.repeat(42)}é`;
    const order = await t.app.inject({
      method: 'POST',
      url: '/api/v1/orders',
      headers: { cookie: session!, 'idempotency-key': `edge-${eventId}`, 'waiting-room-pass': pass, 'content-type': 'application/json' },
      payload: JSON.stringify({ items: [{ productId, quantity: 1 }] }),
    });
    assert.equal(order.statusCode, 403, `checkout with a pass holding 'é': ${order.body}`);
    assert.equal(order.json().error.code, 'PASS_INVALID');
  });

  it('does not hold a stream whose visitor left while its first status was being read', async () => {
    // A rate of 1 a second: the visitors behind the first stay waiting, so their streams stay open while they are there.
    const { eventId } = await liveSale({ admissionPerSecond: 1 });
    const visitors = [];
    for (let i = 0; i < 30; i++) {
      const joined = await request(`${url}/api/v1/sale-events/${eventId}/queue`, { method: 'POST' });
      assert.equal(joined.status, 201, JSON.stringify(joined.body));
      visitors.push({ ticket: joined.body.ticket as string, cookie: joined.headers.getSetCookie()[0]!.split(';')[0]! });
    }
    // One stream kept open, so the event has streams here whatever happens to the others.
    const kept = await openSse(`${url}/api/v1/sale-events/${eventId}/queue/${encodeURIComponent(visitors.at(-1)!.ticket)}/events`, { cookie: visitors.at(-1)!.cookie });
    assert.equal(kept.status, 200);
    // Each of the others asks for its stream and hangs up at once (a tab closed, a phone losing its signal on a reconnect).
    await Promise.all(
      visitors.slice(0, -1).map(
        (v) =>
          new Promise<void>((resolve, reject) => {
            const socket = connect((t.app.server.address() as AddressInfo).port, '127.0.0.1', () => {
              socket.end(`GET /api/v1/sale-events/${eventId}/queue/${encodeURIComponent(v.ticket)}/events HTTP/1.1\r\nHost: x\r\nAccept: text/event-stream\r\nCookie: ${v.cookie}\r\n\r\n`, () => {
                socket.destroy();
                resolve();
              });
            });
            socket.on('error', reject);
          }),
      ),
    );
    // The hang-ups reach the instance in their own time on a loaded machine: half a second for them to arrive, then a poll.
    await sleep(500);
    await waitFor('the streams that hung up let go', async () => (await streamsOpen(eventId)) === 1 || null, 10_000).catch(() => undefined);
    assert.equal(await streamsOpen(eventId), 1, 'only the stream still connected is held');
    kept.close();
    await waitFor('the closed stream let go', async () => (await streamsOpen(eventId)) === 0 || null, 10_000).catch(() => undefined);
    assert.equal(await streamsOpen(eventId), 0, 'the closed stream is let go');
  });

  it('stays up when a stream ends while its response is still queued behind another (HTTP pipelining, or a client that stopped reading)', async () => {
    // Keep-alives every second (the least WAITING_ROOM_KEEPALIVE_MS takes), not every 15 s: the test waits for them.
    const instance = await startInstance({ env: { ...t.env, WAITING_ROOM_EVENTS_REFRESH_MS: '100', WAITING_ROOM_TICK_MS: '20', WAITING_ROOM_KEEPALIVE_MS: '1000', LOG_LEVEL: 'silent' } });
    try {
      // A sale an hour away (its stream stays open, waiting) and one live now that admits at once.
      const later = await createQueuedSale(instance.url, t.admin, [instance], { productIds: [(await liveSale()).productId], startsInMs: 3_600_000, admissionPerSecond: 1000 });
      const { eventId: now } = await liveSale({ alsoOn: [instance] });
      const tickets = [];
      for (const eventId of [later, now]) {
        const joined = await request(`${instance.url}/api/v1/sale-events/${eventId}/queue`, { method: 'POST' });
        assert.equal(joined.status, 201, JSON.stringify(joined.body));
        tickets.push({ eventId, ticket: joined.body.ticket as string, cookie: joined.headers.getSetCookie()[0]!.split(';')[0]! });
      }
      // Both streams on one connection: the second's response waits behind the first, which stays open, so
      // the second is ended (admitted) while nothing of it has been sent.
      const socket = connect(instance.port, '127.0.0.1');
      let received = '';
      socket.setEncoding('utf8');
      socket.on('data', (chunk: string) => (received += chunk));
      socket.on('error', () => undefined);
      socket.write(tickets.map((v) => `GET /api/v1/sale-events/${v.eventId}/queue/${encodeURIComponent(v.ticket)}/events HTTP/1.1\r\nHost: x\r\nAccept: text/event-stream\r\nCookie: ${v.cookie}\r\n\r\n`).join(''));
      for (let i = 0; !received.includes('"state":"waiting"'); i++) {
        assert.ok(i < 100, `the first stream opened: ${received}`);
        await sleep(50);
      }
      // Two of the streams' keep-alives go by, and the instance still writes the third (each one is written to the
      // first stream, on the socket, and offered to the ended second one).
      const keepAlives = () => received.split(': keep-alive\n\n').length - 1;
      let exited: string | undefined;
      void instance.exited.then((code) => (exited = `exited with ${code}`));
      for (let i = 0; keepAlives() < 3 && exited === undefined; i++) {
        assert.ok(i < 200, `three keep-alives within 10 s (WAITING_ROOM_KEEPALIVE_MS 1000): ${keepAlives()} in ${received}`);
        await sleep(50);
      }
      socket.destroy();
      assert.equal(exited, undefined, `the instance is up after two keep-alives: ${instance.output().slice(-2000)}`);
      assert.ok(keepAlives() >= 3, String(keepAlives()));
      assert.equal((await request(`${instance.url}/ready`)).status, 200);
    } finally {
      await instance.stop();
    }
  });

  // The page read the sales through its own list, reused for 2 s: a visitor who opened it as soon as the API served
  // the room (the queue info answered 200, a product page linked to it) was shown "This sale has no waiting room" and
  // never joined, for as long as the page stayed open.
  it('opens the waiting-room page of a sale as soon as the API serves its room', async () => {
    // The storefront's list of sales read now, before the sale exists.
    assert.equal((await fetch(`${url}/`)).status, 200);
    const { eventId, productId } = await liveSale();
    const page = await fetch(`${url}/sale/${eventId}/queue?product=${productId}`);
    const text = await page.text();
    assert.equal(page.status, 200, text.slice(0, 400));
    assert.match(text, /data-state/);
  });

  it('tells a waiting visitor that the line has closed, not that their ticket expired, when the room is switched off or the sale ends', async () => {
    const waiting = async () => {
      const { eventId } = await liveSale({ admissionPerSecond: 1 });
      // One visitor a second: the 20th waits for about 20 s.
      for (let i = 0; i < 19; i++) await request(`${url}/api/v1/sale-events/${eventId}/queue`, { method: 'POST' });
      const joined = await request(`${url}/api/v1/sale-events/${eventId}/queue`, { method: 'POST' });
      assert.equal(joined.body.state, 'waiting', JSON.stringify(joined.body));
      const cookie = joined.headers.getSetCookie()[0]!.split(';')[0]!;
      const stream = await openSse(`${url}/api/v1/sale-events/${eventId}/queue/${encodeURIComponent(joined.body.ticket)}/events`, { cookie });
      await stream.next((m) => m.data.state === 'waiting', 15_000);
      return { eventId, stream };
    };
    const switchedOff = await waiting();
    const off = await request(`${url}/api/v1/admin/sale-events/${switchedOff.eventId}`, { method: 'PATCH', headers: t.admin, body: { waitingRoom: { enabled: false } } });
    assert.equal(off.status, 200, JSON.stringify(off.body));
    const ended = await waiting();
    const end = await request(`${url}/api/v1/admin/sale-events/${ended.eventId}`, { method: 'PATCH', headers: t.admin, body: { endsAt: new Date(Date.now() + 200).toISOString() } });
    assert.equal(end.status, 200, JSON.stringify(end.body));
    for (const { stream } of [switchedOff, ended]) {
      const last = await stream.next((m) => m.data.state !== 'waiting', 15_000);
      assert.equal(last.data.state, 'closed', JSON.stringify(last.data));
      await stream.ended;
    }
  });

  it('tells an admitted visitor whose pass is still good that the line has closed once the admin ended the sale', async () => {
    const { eventId } = await liveSale({ admissionPerSecond: 1000 });
    const joined = await request(`${url}/api/v1/sale-events/${eventId}/queue`, { method: 'POST' });
    assert.equal(joined.status, 201, JSON.stringify(joined.body));
    const cookie = joined.headers.getSetCookie()[0]!.split(';')[0]!;
    const statusOf = () => request(`${url}/api/v1/sale-events/${eventId}/queue/${encodeURIComponent(joined.body.ticket)}`, { headers: { cookie } });
    const admitted = await waitFor('admission', async () => ((await statusOf()).body.state === 'admitted' ? true : null), 10_000);
    assert.ok(admitted);
    const endsAt = new Date(Date.now() + 200).toISOString();
    const end = await request(`${url}/api/v1/admin/sale-events/${eventId}`, { method: 'PATCH', headers: t.admin, body: { endsAt } });
    assert.equal(end.status, 200, JSON.stringify(end.body));
    // This instance has re-read the room with its new end, and the end has passed.
    await waitFor('the room to end', async () => {
      const room = await request(`${url}/api/v1/sale-events/${eventId}/queue`);
      return Date.parse(room.body.endsAt) === Date.parse(endsAt) && Date.now() > Date.parse(endsAt) + 100 ? true : null;
    }, 10_000);
    const after = await statusOf();
    assert.equal(after.status, 200, JSON.stringify(after.body));
    assert.equal(after.body.state, 'closed', `the sale ended with the pass still good: ${JSON.stringify({ state: after.body.state, passExpiresAt: after.body.passExpiresAt, pass: after.body.pass === undefined ? undefined : '(a pass)' })}`);
    assert.equal(after.body.pass, undefined, 'no pass for a sale that has ended');
  });

  // Only the streams open at the switch heard it: a stream opened again after (EventSource reconnecting after a dropped
  // connection or an instance's restart) and a status poll were 404 WAITING_ROOM_NOT_FOUND, and the storefront, which
  // reopens a refused stream with backoff, kept showing "You are in line" for good.
  it('tells a visitor who asks again after the room was switched off or the sale deleted that the line has closed', async () => {
    const waitingTicket = async () => {
      const { eventId } = await liveSale({ admissionPerSecond: 1 });
      for (let i = 0; i < 5; i++) await request(`${url}/api/v1/sale-events/${eventId}/queue`, { method: 'POST' });
      const joined = await request(`${url}/api/v1/sale-events/${eventId}/queue`, { method: 'POST' });
      assert.equal(joined.body.state, 'waiting', JSON.stringify(joined.body));
      return { eventId, ticket: joined.body.ticket as string, cookie: joined.headers.getSetCookie()[0]!.split(';')[0]! };
    };
    const [off, deleted] = [await waitingTicket(), await waitingTicket()];
    const switched = await request(`${url}/api/v1/admin/sale-events/${off.eventId}`, { method: 'PATCH', headers: t.admin, body: { waitingRoom: { enabled: false } } });
    assert.equal(switched.status, 200, JSON.stringify(switched.body));
    assert.equal((await request(`${url}/api/v1/admin/sale-events/${deleted.eventId}`, { method: 'DELETE', headers: t.admin })).status, 204);
    const statusOf = (v: { eventId: number; ticket: string; cookie: string }) => request(`${url}/api/v1/sale-events/${v.eventId}/queue/${encodeURIComponent(v.ticket)}`, { headers: { cookie: v.cookie } });
    // Every instance re-reads the rooms on a timer (polled; the assertions below name what it answers instead).
    await waitFor('the rooms re-read', async () => (await Promise.all([off, deleted].map(async (v) => (await statusOf(v)).body.state === 'closed'))).every(Boolean) || null, 15_000).catch(() => undefined);
    for (const [what, v] of [['switched off', off], ['deleted', deleted]] as const) {
      const status = await statusOf(v);
      assert.equal(status.status, 200, `${what}: GET …/queue/:ticket ${JSON.stringify(status.body)}`);
      assert.equal(status.body.state, 'closed', `${what}: ${JSON.stringify(status.body)}`);
      const stream = await openSse(`${url}/api/v1/sale-events/${v.eventId}/queue/${encodeURIComponent(v.ticket)}/events`, { cookie: v.cookie });
      assert.equal(stream.status, 200, `${what}: the stream opened again`);
      assert.equal((await stream.next(() => true, 15_000)).data.state, 'closed');
      await stream.ended;
    }
    // A ticket we did not sign is still nobody's.
    const forged = await request(`${url}/api/v1/sale-events/${off.eventId}/queue/${encodeURIComponent(`${off.ticket.slice(0, -2)}xx`)}`);
    assert.equal(forged.status, 404, JSON.stringify(forged.body));
  });

  it('tells a visitor in the pre-queue a wait that counts the pre-queue ahead of the draw, not only the time to the start', async () => {
    const productId = await createQueuedProduct(url, t.admin, { available: 100, skuPrefix: 'preq-eta' });
    // Two a second, starting in 20 s: a pre-queue of 30 is admitted within 15 s after the start.
    const eventId = await createQueuedSale(url, t.admin, [{ url }], { productIds: [productId], startsInMs: 20_000, admissionPerSecond: 2 });
    const replies = [];
    for (let i = 0; i < 30; i++) {
      const joined = await request(`${url}/api/v1/sale-events/${eventId}/queue`, { method: 'POST' });
      assert.equal(joined.status, 201, JSON.stringify(joined.body));
      replies.push(joined.body);
    }
    const info = await request(`${url}/api/v1/sale-events/${eventId}/queue`);
    const toStart = Math.ceil((Date.parse(info.body.startsAt) - Date.now()) / 1000);
    const status = await request(`${url}/api/v1/sale-events/${eventId}/queue/${encodeURIComponent(replies[0].ticket)}`);
    assert.equal(status.status, 200, JSON.stringify(status.body));
    assert.equal(status.body.position, null, 'the draw stays hidden until the start');
    // Every one of the 30 may be drawn last: the latest admission is the start plus the whole pre-queue at the rate.
    const eta = status.body.etaSeconds as number;
    assert.ok(eta >= toStart + 15 - 1 && eta <= toStart + 15 + 1, `pre-queue of 30 at 2/s, ${toStart} s to the start: told ${eta} s`);
  });

  it('refuses an order of a queued sale\'s products while its line is open and the sale has not started (items, cart, guest), and sells them as usual earlier than the line opens', async () => {
    const productId = await createQueuedProduct(url, t.admin, { available: 100, skuPrefix: 'prestart' });
    const farOff = await createQueuedProduct(url, t.admin, { available: 100, skuPrefix: 'prestart-far' });
    // The line of the first opens now (the sale starts within JOIN_OPENS_BEFORE_MS); the second's opens in a month.
    const eventId = await createQueuedSale(url, t.admin, [{ url }], { productIds: [productId], startsInMs: 3_600_000, admissionPerSecond: 1000 });
    await createQueuedSale(url, t.admin, [{ url }], { productIds: [farOff], startsInMs: 30 * 86_400_000, admissionPerSecond: 1000 });
    const joined = await request(`${url}/api/v1/sale-events/${eventId}/queue`, { method: 'POST' });
    assert.equal(joined.status, 201, `the line is open: ${JSON.stringify(joined.body)}`);
    const info = await request(`${url}/api/v1/sale-events/${eventId}/queue`);

    const [customerId] = await insertCustomers(t.platform.db.primary, 1, 'prestart');
    const [session] = await mintSessionCookies(t.env, [customerId!]);
    const order = (headers: Record<string, string>, body: object) =>
      t.app.inject({ method: 'POST', url: '/api/v1/orders', headers: { 'idempotency-key': `prestart-${randomBytes(6).toString('hex')}`, 'content-type': 'application/json', ...headers }, payload: JSON.stringify(body) });
    const refusedBeforeStart = (reply: Awaited<ReturnType<typeof order>>, what: string) => {
      assert.equal(reply.statusCode, 403, `${what}: ${reply.body}`);
      assert.equal(reply.json().error.code, 'SALE_NOT_STARTED', what);
      assert.deepEqual(reply.json().error.details, { saleEventId: eventId, startsAt: info.body.startsAt, productIds: [productId] }, what);
    };

    refusedBeforeStart(await order({ cookie: session! }, { items: [{ productId, quantity: 1 }] }), 'signed in, items');
    refusedBeforeStart(await order({}, { email: 'prestart-guest@example.com', items: [{ productId, quantity: 1 }] }), 'guest, items');
    const added = await t.app.inject({ method: 'POST', url: '/api/v1/cart/items', headers: { cookie: session!, 'content-type': 'application/json' }, payload: JSON.stringify({ productId, quantity: 1 }) });
    assert.ok(added.statusCode < 300, `added to the cart: ${added.body}`);
    refusedBeforeStart(await order({ cookie: session! }, {}), 'signed in, from the cart');

    // More than a day ahead, the line is not open and the product is sold as usual.
    const early = await order({ cookie: session! }, { items: [{ productId: farOff, quantity: 1 }] });
    assert.equal(early.statusCode, 201, `a product whose sale's line opens in a month: ${early.body}`);
  });

  it('tells a client that polls (a mobile app) when to ask again, at a pace within the sale and customer rate limits', async () => {
    // One a second, the line long enough that the last of 40 waits over half a minute.
    const { eventId } = await liveSale({ admissionPerSecond: 1 });
    const replies = [];
    for (let i = 0; i < 40; i++) {
      const joined = await request(`${url}/api/v1/sale-events/${eventId}/queue`, { method: 'POST' });
      assert.equal(joined.status, 201, JSON.stringify(joined.body));
      replies.push(joined.body);
    }
    const poll = async (ticket: string) => (await request(`${url}/api/v1/sale-events/${eventId}/queue/${encodeURIComponent(ticket)}`)).body;
    const last = await poll(replies[39].ticket);
    assert.equal(last.state, 'waiting', JSON.stringify(last));
    assert.equal(typeof replies[39].pollAfterSeconds, 'number', `the join's reply says when to poll: ${JSON.stringify(replies[39])}`);
    const every = last.pollAfterSeconds as number;
    assert.ok(Number.isInteger(every) && every >= 2 && every <= 30, `a waiting ticket is polled every 2 to 30 s: ${JSON.stringify(last)}`);
    assert.ok(every < last.etaSeconds, 'sooner than its turn');
    // At that pace a wait of any length costs at most 30 requests a minute: within RATE_LIMIT_SALE_MAX (100/min)
    // and RATE_LIMIT_CUSTOMER_MAX (1000 per 15 min), with room for the pages the buyer opens.
    assert.ok((60 / every) * 15 <= 450);
    for (const deadline = Date.now() + 30_000; (await poll(replies[0].ticket)).state !== 'admitted'; ) {
      assert.ok(Date.now() < deadline, 'the first is admitted');
      await sleep(50);
    }
    const admitted = await poll(replies[0].ticket);
    assert.equal(admitted.pollAfterSeconds, undefined, `nothing to poll for once admitted: ${JSON.stringify(admitted)}`);
  });

  it('tells a client that polls that its pass bought its order (used, as the stream says), and admitted again once a refused order gave it back', async () => {
    const productId = await createQueuedProduct(url, t.admin, { available: 1, skuPrefix: 'poll-used' });
    const eventId = await createQueuedSale(url, t.admin, [{ url }], { productIds: [productId], startsInMs: 0, admissionPerSecond: 1000 });
    const joined = await request(`${url}/api/v1/sale-events/${eventId}/queue`, { method: 'POST' });
    assert.equal(joined.status, 201, JSON.stringify(joined.body));
    const cookie = joined.headers.getSetCookie()[0]!.split(';')[0]!;
    const poll = async () => (await request(`${url}/api/v1/sale-events/${eventId}/queue/${encodeURIComponent(joined.body.ticket)}`, { headers: { cookie } })).body;
    const admitted = await waitFor('the ticket admitted', async () => {
      const status = await poll();
      return status.state === 'admitted' ? status : undefined;
    });
    const order = (key: string, quantity: number) =>
      request(`${url}/api/v1/orders`, {
        method: 'POST',
        headers: { cookie, 'idempotency-key': `${key}-${eventId}`, 'waiting-room-pass': admitted.pass as string },
        body: { items: [{ productId, quantity }], email: `poll-used-${eventId}@example.com` },
      });
    // More than the stock: refused, and the pass goes back.
    const refused = await order('poll-too-many', 2);
    assert.equal(refused.status, 409, JSON.stringify(refused.body));
    const again = await poll();
    assert.equal(again.state, 'admitted', `a pass given back after a refused order still buys: ${JSON.stringify(again)}`);
    assert.equal(again.pass, admitted.pass);

    const bought = await order('poll-bought', 1);
    assert.equal(bought.status, 201, JSON.stringify(bought.body));
    const used = await poll();
    assert.equal(used.state, 'used', `the pass bought an order, yet the poll says: ${JSON.stringify(used)}`);
    assert.equal(used.pass, undefined, 'no pass offered to buy again');
    assert.equal(used.position, null);
    assert.equal(used.etaSeconds, null);
    assert.equal(used.pollAfterSeconds, undefined, 'nothing left to poll for');
    assert.equal(typeof used.now, 'number');
  });

  it('answers a repeat join of a ticket whose pass bought an order with used, as the poll does, not admitted with the spent pass', async () => {
    const productId = await createQueuedProduct(url, t.admin, { available: 5, skuPrefix: 'join-used' });
    const eventId = await createQueuedSale(url, t.admin, [{ url }], { productIds: [productId], startsInMs: 0, admissionPerSecond: 1000 });
    const joined = await request(`${url}/api/v1/sale-events/${eventId}/queue`, { method: 'POST' });
    assert.equal(joined.status, 201, JSON.stringify(joined.body));
    const cookie = joined.headers.getSetCookie()[0]!.split(';')[0]!;
    const admitted = await waitFor('the ticket admitted', async () => {
      const status = (await request(`${url}/api/v1/sale-events/${eventId}/queue/${encodeURIComponent(joined.body.ticket)}`, { headers: { cookie } })).body;
      return status.state === 'admitted' ? status : undefined;
    });
    const bought = await request(`${url}/api/v1/orders`, {
      method: 'POST',
      headers: { cookie, 'idempotency-key': `join-used-${eventId}`, 'waiting-room-pass': admitted.pass as string },
      body: { items: [{ productId, quantity: 1 }], email: `join-used-${eventId}@example.com` },
    });
    assert.equal(bought.status, 201, JSON.stringify(bought.body));

    // Another tab of the same visitor joins again: the same ticket, and it says what the poll says.
    const again = await request(`${url}/api/v1/sale-events/${eventId}/queue`, { method: 'POST', headers: { cookie } });
    assert.equal(again.status, 201, JSON.stringify(again.body));
    assert.equal(again.headers.get('idempotent-replayed'), 'true');
    assert.equal(again.body.ticket, joined.body.ticket);
    assert.equal(again.body.state, 'used', `the pass bought an order, yet a repeat join says: ${JSON.stringify(again.body)}`);
    assert.equal(again.body.pass, undefined, 'no spent pass offered to buy again');
    assert.equal(again.body.position, null);
    assert.equal(again.body.etaSeconds, null);
  });

  it('keeps the visitors waiting in a live sale ahead of those who join while the admin has postponed its start', async () => {
    // One a second, 20 in line: those who joined while it was live are still waiting when it is live again, however slow the machine.
    const { eventId } = await liveSale({ admissionPerSecond: 1 });
    const join = async () => {
      const joined = await request(`${url}/api/v1/sale-events/${eventId}/queue`, { method: 'POST' });
      assert.equal(joined.status, 201, JSON.stringify(joined.body));
      return joined.body.ticket as string;
    };
    const early: string[] = [];
    for (let i = 0; i < 20; i++) early.push(await join());
    // Postponed by half an hour (the sale ends in an hour) while the late visitors join (however long the instance takes to see it), then brought
    // forward to a second after they joined.
    const startOn = async (at: number) => {
      const moved = await request(`${url}/api/v1/admin/sale-events/${eventId}`, { method: 'PATCH', headers: t.admin, body: { startsAt: new Date(at).toISOString() } });
      assert.equal(moved.status, 200, JSON.stringify(moved.body));
      await waitFor('the instance to re-read the window', async () => Date.parse((await request(`${url}/api/v1/sale-events/${eventId}/queue`)).body.startsAt) === at || null, 15_000);
    };
    const postponedTo = Date.now() + 1_800_000;
    await startOn(postponedTo);
    const late: string[] = [];
    for (let i = 0; i < 3; i++) late.push(await join());
    const room = (await request(`${url}/api/v1/sale-events/${eventId}/queue`)).body;
    assert.ok(Date.parse(room.startsAt) === postponedTo && room.now < postponedTo, `the late visitors joined while the sale was postponed: ${JSON.stringify(room)}`);
    const startsAt = Date.now() + 1000;
    await startOn(startsAt);
    const positions = async (tickets: string[]) =>
      Promise.all(tickets.map(async (ticket) => (await request(`${url}/api/v1/sale-events/${eventId}/queue/${encodeURIComponent(ticket)}`)).body.position as number | null));
    // Live again: the draw is shown (polled; the assertion below names a visitor without a place).
    await waitFor('the sale live again', async () => (Date.now() > startsAt && (await positions(late)).every((p) => p !== null)) || null, 15_000).catch(() => undefined);
    // One admission a second moves every place: the two lists are read again until no admission fell between their reads
    // (the early visitors' places read the same before and after the late ones'), else they compare two moments.
    const [before, behind] = await waitFor('places read between two admissions', async () => {
      const [first, lateOnes, second] = [await positions(early), await positions(late), await positions(early)];
      return JSON.stringify(first) === JSON.stringify(second) ? [first, lateOnes] : null;
    });
    const lastEarly = Math.max(...before.filter((p): p is number => p !== null));
    for (const position of behind) assert.ok(position !== null && position > lastEarly, `a visitor who joined during the postponement is behind those waiting before it: ${JSON.stringify({ early: before, late: behind })}`);
  });

  it('lets the keys of a room go a day after the sale ends early or is deleted, not a day after its planned end', async () => {
    const DAY_MS = 86_400_000;
    const parts = ['q', 'holders', 'owners', 'joined', 'addr', 'place', 'admitted', 'bucket', 'since'];
    const { key } = roomKeys(t.config.redis.prefix);
    // Two sales planned to run for a week; one is ended early by the admin, the other deleted.
    const sales: number[] = [];
    for (let i = 0; i < 2; i++) {
      const productId = await createQueuedProduct(url, t.admin, { available: 100, skuPrefix: 'edge-keys' });
      const eventId = await createQueuedSale(url, t.admin, [{ url }], { productIds: [productId], startsInMs: 0, endsInMs: 7 * DAY_MS, admissionPerSecond: 1 });
      // 30 in line at one a second: the line is not empty when the sale ends, however slow the machine.
      for (let j = 0; j < 30; j++) assert.equal((await request(`${url}/api/v1/sale-events/${eventId}/queue`, { method: 'POST' })).status, 201);
      sales.push(eventId);
    }
    const [ended, deleted] = sales as [number, number];
    const ttls = async (eventId: number) => Object.fromEntries(await Promise.all(parts.map(async (part) => [part, await t.platform.redis.pttl(key(eventId, part))] as const)));
    const allHold = async (holds: (ttl: number) => boolean) => (await Promise.all(sales.map(async (eventId) => Object.values(await ttls(eventId)).every(holds)))).every(Boolean) || null;
    // The first admitted, the others waiting: every key of the room is there (polled; the assertions below name a key that is not).
    await waitFor('every key of both rooms', () => allHold((ttl) => ttl > 6 * DAY_MS), 15_000).catch(() => undefined);
    for (const eventId of sales) {
      for (const [part, ttl] of Object.entries(await ttls(eventId))) assert.ok(ttl > 6 * DAY_MS, `${part} kept for the planned week (${ttl} ms)`);
    }

    const end = await request(`${url}/api/v1/admin/sale-events/${ended}`, { method: 'PATCH', headers: t.admin, body: { endsAt: new Date(Date.now() + 500).toISOString() } });
    assert.equal(end.status, 200, JSON.stringify(end.body));
    const removed = await request(`${url}/api/v1/admin/sale-events/${deleted}`, { method: 'DELETE', headers: t.admin });
    assert.equal(removed.status, 204, JSON.stringify(removed.body));
    const withinADay = (ttl: number) => ttl > 0 && ttl <= DAY_MS + 5000;
    await waitFor('every key of both rooms to go within a day', () => allHold(withinADay), 15_000).catch(() => undefined);
    for (const eventId of sales) {
      for (const [part, ttl] of Object.entries(await ttls(eventId))) {
        assert.ok(withinADay(ttl), `sale ${eventId === ended ? 'ended early' : 'deleted'}: ${part} goes within a day (${ttl} ms left)`);
      }
    }
  });
});

describe('waiting room: a pass that expired unused', () => {
  let t: TestApp;
  let url: string;
  const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

  before(async () => {
    ({ t, url } = await listeningApp({ WAITING_ROOM_PASS_S: '10' }));
  });
  after(async () => {
    await t?.close();
  });

  async function admitted(eventId: number, cookie: string, ticket: string) {
    for (const deadline = Date.now() + 30_000; ; ) {
      const status = await request(`${url}/api/v1/sale-events/${eventId}/queue/${encodeURIComponent(ticket)}`, { headers: { cookie } });
      if (status.body.state === 'admitted') return status.body;
      assert.ok(Date.now() < deadline, `admitted: ${JSON.stringify(status.body)}`);
      await sleep(50);
    }
  }

  it('sends a visitor whose pass expired unused to the back of the line when they join again; one whose pass bought an order stays out', async () => {
    const productId = await createQueuedProduct(url, t.admin, { available: 100, skuPrefix: 'edge-rejoin' });
    const eventId = await createQueuedSale(url, t.admin, [{ url }], { productIds: [productId], startsInMs: 0, admissionPerSecond: 1000 });
    const visitors = [];
    for (const name of ['slow', 'buyer']) {
      const joined = await request(`${url}/api/v1/sale-events/${eventId}/queue`, { method: 'POST' });
      assert.equal(joined.status, 201, JSON.stringify(joined.body));
      const cookie = joined.headers.getSetCookie()[0]!.split(';')[0]!;
      visitors.push({ name, cookie, ticket: joined.body.ticket as string, pass: (await admitted(eventId, cookie, joined.body.ticket)).pass as string });
    }
    const [slow, buyer] = visitors as [(typeof visitors)[0], (typeof visitors)[0]];
    const bought = await request(`${url}/api/v1/orders`, {
      method: 'POST',
      headers: { cookie: buyer.cookie, 'idempotency-key': `rejoin-${eventId}`, 'waiting-room-pass': buyer.pass },
      body: { items: [{ productId, quantity: 1 }], email: `rejoin-${eventId}@example.com` },
    });
    assert.equal(bought.status, 201, JSON.stringify(bought.body));

    // The slow visitor comes back after their pass's 10 s: their place is used up, stock is left.
    const slowStatus = () => request(`${url}/api/v1/sale-events/${eventId}/queue/${encodeURIComponent(slow.ticket)}`, { headers: { cookie: slow.cookie } });
    await sleep(10_000);
    await waitFor('the slow pass expired', async () => (await slowStatus()).body.state === 'expired' || null, 15_000).catch(() => undefined);
    const before = await slowStatus();
    assert.equal(before.body.state, 'expired');
    const again = await request(`${url}/api/v1/sale-events/${eventId}/queue`, { method: 'POST', headers: { cookie: slow.cookie } });
    assert.equal(again.status, 201, JSON.stringify(again.body));
    assert.notEqual(again.body.ticket, slow.ticket, `joining again gives a new ticket, not the expired one: ${JSON.stringify(again.body)}`);
    assert.ok(['waiting', 'admitted'].includes(again.body.state), JSON.stringify(again.body));
    const pass = (await admitted(eventId, slow.cookie, again.body.ticket)).pass as string;
    const order = await request(`${url}/api/v1/orders`, {
      method: 'POST',
      headers: { cookie: slow.cookie, 'idempotency-key': `rejoin-slow-${eventId}`, 'waiting-room-pass': pass },
      body: { items: [{ productId, quantity: 1 }], email: `rejoin-slow-${eventId}@example.com` },
    });
    assert.equal(order.status, 201, JSON.stringify(order.body));
    // Joining again once more returns the new ticket (one place at a time).
    const replay = await request(`${url}/api/v1/sale-events/${eventId}/queue`, { method: 'POST', headers: { cookie: slow.cookie } });
    assert.equal(replay.body.ticket, again.body.ticket);

    // The buyer's pass bought its order: a pass buys one order, and one visitor's places buy one order in a sale.
    const buyerAgain = await request(`${url}/api/v1/sale-events/${eventId}/queue`, { method: 'POST', headers: { cookie: buyer.cookie } });
    assert.equal(buyerAgain.status, 201);
    assert.equal(buyerAgain.body.ticket, buyer.ticket);
    assert.equal(buyerAgain.body.state, 'expired');
  });
});

/** Saves a sale live for the next hour with its waiting room on (10 a second), as an admin does; returns its id. */
async function saveLiveRoom(t: TestApp, name: string): Promise<number> {
  const now = Date.now();
  const created = await t.app.inject({
    method: 'POST',
    url: '/api/v1/admin/sale-events',
    headers: t.admin,
    payload: { name, startsAt: new Date(now - 60_000).toISOString(), endsAt: new Date(now + 3_600_000).toISOString(), waitingRoom: { enabled: true, admissionPerSecond: 10 } },
  });
  assert.equal(created.statusCode, 201, created.body);
  return created.json().id as number;
}

/**
 * Thousands of visitors of a deleted sale asking after their tickets at once (EventSource reconnecting,
 * polls): each instance re-reads the rooms for them at most once a second, and still says `closed`.
 */
describe('waiting room: tickets of a room that is gone', () => {
  let t: TestApp;
  before(async () => {
    // The periodic re-read out of the way: every read counted is one a status request asked for.
    t = await createTestApp({ RATE_LIMIT_GENERAL_MAX: '1000000', RATE_LIMIT_SALE_MAX: '1000000', WAITING_ROOM_EVENTS_REFRESH_MS: '60000' });
  });
  after(() => t.close());

  it('re-reads the rooms at most once a second for a crowd of tickets whose sale was deleted, answering closed', async () => {
    const id = await saveLiveRoom(t, 'Drop');
    assert.equal((await t.app.inject({ method: 'DELETE', url: `/api/v1/admin/sale-events/${id}`, headers: t.admin })).statusCode, 204);
    // Tickets the room signed (the same key as every instance's) before its sale was deleted.
    const signer = createTokenSigner(t.env.SESSION_SECRET!);
    const tickets = Array.from({ length: 40 }, (_, i) => signer.ticket(id, randomBytes(16).toString('base64url'), String(Date.now() * 1000 + i)));
    const pool = t.platform.db.pools.primary;
    const query = pool.query.bind(pool) as (...args: unknown[]) => unknown;
    let reads = 0;
    pool.query = ((...args: unknown[]) => {
      const text = typeof args[0] === 'string' ? args[0] : String((args[0] as { text?: string } | undefined)?.text ?? '');
      if (text.includes('waiting_room_enabled')) reads++;
      return query(...args);
    }) as typeof pool.query;
    const started = performance.now();
    try {
      // Back-to-back waves of concurrent requests for 2.5 s.
      while (performance.now() - started < 2500) {
        const replies = await Promise.all(tickets.map((ticket) => t.app.inject({ url: `/api/v1/sale-events/${id}/queue/${encodeURIComponent(ticket)}` })));
        for (const reply of replies) {
          assert.equal(reply.statusCode, 200, reply.body);
          assert.equal(reply.json().state, 'closed', reply.body);
        }
      }
    } finally {
      pool.query = query as typeof pool.query;
    }
    const seconds = (performance.now() - started) / 1000;
    assert.ok(reads >= 1, 'the rooms were re-read to confirm the room is gone');
    assert.ok(reads <= Math.ceil(seconds) + 1, `${reads} reads of the rooms in ${seconds.toFixed(1)} s`);
  });
});

/**
 * A room the admin has just saved, asked for on an instance whose periodic re-read has not run since (the
 * storefront's page, served from the database, joins at once): it answered 404 `WAITING_ROOM_NOT_FOUND` ("This sale
 * has no waiting room", which the page shows as final) until the next re-read.
 */
describe('waiting room: a room just saved, before the periodic re-read', () => {
  let t: TestApp;
  before(async () => {
    // The periodic re-read out of the way: the room is known only if the request itself asks for a read.
    t = await createTestApp({ RATE_LIMIT_GENERAL_MAX: '1000000', RATE_LIMIT_SALE_MAX: '1000000', WAITING_ROOM_EVENTS_REFRESH_MS: '60000' });
  });
  after(() => t.close());

  it('serves the room and lets a visitor join at once, and still answers 404 for a sale without one', async () => {
    const id = await saveLiveRoom(t, 'Fresh');
    const info = await t.app.inject({ url: `/api/v1/sale-events/${id}/queue` });
    assert.equal(info.statusCode, 200, info.body);
    assert.equal(info.json().saleEventId, id);
    const joined = await t.app.inject({ method: 'POST', url: `/api/v1/sale-events/${id}/queue` });
    assert.equal(joined.statusCode, 201, joined.body);
    assert.equal(typeof joined.json().ticket, 'string');
    const none = await t.app.inject({ method: 'POST', url: `/api/v1/sale-events/${id + 1000}/queue` });
    assert.equal(none.statusCode, 404, none.body);
    assert.equal(none.json().error.code, 'WAITING_ROOM_NOT_FOUND');
  });

  // The first read asked for, begun without waiting, left the shared promise in place for good: every later request
  // for a room not known got that first read's answer, never a new read (on a live instance, a room saved after the
  // first such request stayed 404 until the periodic re-read, and a deleted one's tickets read as before).
  it('looks again for each room saved later, not only the first', async () => {
    for (let i = 0; i < 3; i++) {
      const id = await saveLiveRoom(t, `Later ${i}`);
      const info = await t.app.inject({ url: `/api/v1/sale-events/${id}/queue` });
      assert.equal(info.statusCode, 200, `room ${i}: ${info.body}`);
    }
  });

  it("serves the storefront's waiting-room page at once, though the page's reused list of sales predates the room", async () => {
    const home = await t.app.inject({ url: '/', headers: { accept: 'text/html' } }); // the list of sales read and kept
    assert.equal(home.statusCode, 200);
    const id = await saveLiveRoom(t, 'Fresher');
    const page = await t.app.inject({ url: `/sale/${id}/queue`, headers: { accept: 'text/html' } });
    assert.equal(page.statusCode, 200, page.body.slice(0, 300));
    assert.match(page.body, /Fresher/);
    const none = await t.app.inject({ url: `/sale/${id + 1000}/queue`, headers: { accept: 'text/html' } });
    assert.equal(none.statusCode, 404);
  });
});

/** An admin who ends a sale and, thinking better of it, extends it again at once (every instance re-reading the rooms each second). */
describe('waiting room: a sale ended and extended again', () => {
  let t: TestApp;
  let url: string;
  before(async () => {
    ({ t, url } = await listeningApp({ WAITING_ROOM_EVENTS_REFRESH_MS: '1000' }));
  });
  after(async () => {
    await t?.close();
  });

  it('gives the keys of its room the expiry of the new end, not a day after the early one', async () => {
    const DAY_MS = 86_400_000;
    const parts = ['q', 'holders', 'owners', 'joined', 'addr', 'place', 'admitted', 'bucket', 'since'];
    const { key } = roomKeys(t.config.redis.prefix);
    const productId = await createQueuedProduct(url, t.admin, { available: 100, skuPrefix: 'edge-extend' });
    const eventId = await createQueuedSale(url, t.admin, [{ url }], { productIds: [productId], startsInMs: 0, endsInMs: 3_600_000, admissionPerSecond: 1 });
    // 30 in line at one a second: the line is not empty when the keys are checked, however slow the machine.
    for (let j = 0; j < 30; j++) assert.equal((await request(`${url}/api/v1/sale-events/${eventId}/queue`, { method: 'POST' })).status, 201);
    const ttls = async () => Object.fromEntries(await Promise.all(parts.map(async (part) => [part, await t.platform.redis.pttl(key(eventId, part))] as const)));
    // The first admitted, the others waiting: every key of the room is there (a key missing would pass the retirement poll below unseen).
    await waitFor('every key of the room', async () => Object.values(await ttls()).every((ttl) => ttl > 0) || null, 15_000).catch(() => undefined);
    for (const [part, ttl] of Object.entries(await ttls())) assert.ok(ttl > 0, `${part} is there before the early end (${ttl})`);

    const end = await request(`${url}/api/v1/admin/sale-events/${eventId}`, { method: 'PATCH', headers: t.admin, body: { endsAt: new Date(Date.now() + 300).toISOString() } });
    assert.equal(end.status, 200, JSON.stringify(end.body));
    // The room retires its keys: they go a day after the early end.
    await waitFor('the keys of the ended room set to go', async () => (await t.platform.redis.pttl(key(eventId, 'q'))) <= DAY_MS + 5000 || null, 15_000).catch(() => undefined);
    assert.ok((await t.platform.redis.pttl(key(eventId, 'q'))) <= DAY_MS + 5000, 'the keys of the ended room were never set to go');
    const extended = await request(`${url}/api/v1/admin/sale-events/${eventId}`, { method: 'PATCH', headers: t.admin, body: { endsAt: new Date(Date.now() + 3 * DAY_MS).toISOString() } });
    assert.equal(extended.status, 200, JSON.stringify(extended.body));
    // The instance re-reads the extended end in its own time (a loaded machine's may be seconds late), then gives every
    // key the new expiry (GT: the early end's retirement, which only shortens (LT), stops once the extension is read).
    await waitFor('the keys of the extended room kept until a day after the new end', async () => Object.values(await ttls()).every((ttl) => ttl > 3 * DAY_MS) || null, 30_000).catch(() => undefined);
    for (const [part, ttl] of Object.entries(await ttls())) assert.ok(ttl > 3 * DAY_MS, `${part} kept until a day after the new end (${ttl} ms left)`);
  });
});

describe('a queued sale listing thousands of products', () => {
  let t: TestApp;
  let url: string;
  before(async () => {
    ({ t, url } = await listeningApp());
  });
  after(async () => {
    await t?.close();
  });

  it('rebuilds its products’ stock gates a few at a time, not all at once (a burst that overflowed the pool: 503 to shoppers and admins)', async () => {
    const count = 400;
    // Products as `salescale seed` writes them: no stock gate in Redis yet.
    const inserted = await t.platform.db.primary.execute<{ id: string }>(sql`
      with p as (insert into products (sku, name, price_cents) select 'many-' || g, 'Many ' || g, 1000 from generate_series(1, ${count}) g returning id)
      insert into product_stock (product_id, shard, available) select id, 0, 5 from p returning product_id as id`);
    const productIds = inserted.rows.map((row) => Number(row.id));
    // Every gate rebuild reads its product's committed stock in one statement (`InventoryRepository.snapshot`):
    // counted at the pool, with how many are in flight at once.
    const pool = t.platform.db.pools.primary;
    const query = pool.query.bind(pool) as (...args: unknown[]) => Promise<unknown>;
    let inFlight = 0;
    let peak = 0;
    let reads = 0;
    (pool as { query: unknown }).query = (...args: unknown[]) => {
      const first = args[0] as string | { text?: string };
      const text = typeof first === 'string' ? first : (first?.text ?? '');
      if (!/select exists \(select 1 from "products"/.test(text)) return query(...args);
      reads++;
      peak = Math.max(peak, ++inFlight);
      return query(...args).finally(() => inFlight--);
    };
    try {
      await createQueuedSale(url, t.admin, [{ url }], { productIds, startsInMs: 0, admissionPerSecond: 100 });
      await waitFor('every product’s gate rebuilt', () => reads >= count, 120_000);
    } finally {
      (pool as { query: unknown }).query = query;
    }
    assert.ok(peak <= 16, `${peak} gate rebuilds read PostgreSQL at once`);
  });
});

describe('a live queued sale listing a product taken off sale', () => {
  let t: TestApp;
  let url: string;
  let web: WebServices;
  /** Admission steps that read the sale's stock gate, and `ensure` calls per product (each a PostgreSQL read when the product keeps no gate). */
  let steps = 0;
  const ensured = new Map<number, number>();
  let watched: readonly number[] = [];
  /** Called as each `ensure` starts, before its read (an invalidation heard while the read is in flight). */
  let duringEnsure: ((productId: number) => void) | undefined;
  /** Called at the start of each counted step, after counting it (what the previous steps left is settled). */
  let atStep: (() => void) | undefined;
  before(async () => {
    ({ t, url } = await listeningWaitingRoomApp(
      { RATE_LIMIT_CHECKOUT_MAX: '1000000', WAITING_ROOM_TICKETS_PER_ADDRESS: '1000' },
      {
        services: (composed) => {
          web = composed;
          const { peek, ensure } = composed.gate;
          composed.gate.peek = (productIds) => {
            if (watched.length > 0 && watched.every((id) => productIds.includes(id))) {
              steps++;
              atStep?.();
            }
            return peek(productIds);
          };
          composed.gate.ensure = (productId) => {
            ensured.set(productId, (ensured.get(productId) ?? 0) + 1);
            const read = ensure(productId);
            duringEnsure?.(productId);
            return read;
          };
        },
      },
    ));
  });
  after(async () => {
    await t?.close();
  });

  it('does not read an archived product from PostgreSQL at every admission step, and reopens the sale once it is back on sale', async () => {
    const soldOutProduct = await createQueuedProduct(url, t.admin, { available: 0, skuPrefix: 'pulled-a' });
    const pulled = await createQueuedProduct(url, t.admin, { available: 5, skuPrefix: 'pulled-b' });
    const eventId = await createQueuedSale(url, t.admin, [{ url }], { productIds: [soldOutProduct, pulled], startsInMs: 0, admissionPerSecond: 100 });
    const archived = await request(`${url}/api/v1/admin/products/${pulled}/archive`, { method: 'POST', headers: t.admin });
    assert.equal(archived.status, 200, JSON.stringify(archived.body));
    watched = [soldOutProduct, pulled];
    // The only units left were the archived product's: the sale is sold out.
    await waitFor('the sale called sold out', () => web.waitingRoom.room.soldOut().get(eventId) === true);
    const from = { steps, reads: ensured.get(pulled) ?? 0 };
    await waitFor('200 admission steps', () => steps - from.steps >= 200, 120_000);
    const reads = (ensured.get(pulled) ?? 0) - from.reads;
    // At a 20 ms tick, 200 steps take 4 s or more: the product is read again a few times at most, not at each step.
    assert.ok(reads <= 20, `the archived product was read ${reads} times in ${steps - from.steps} admission steps`);

    // Put back on sale just after a step read it as not for sale: whatever remembers that must forget it at once.
    const readsBefore = ensured.get(pulled) ?? 0;
    await waitFor('the archived product read again', () => (ensured.get(pulled) ?? 0) > readsBefore, 60_000);
    const reactivated = await request(`${url}/api/v1/admin/products/${pulled}`, { method: 'PATCH', headers: t.admin, body: { status: 'active' } });
    assert.equal(reactivated.status, 200, JSON.stringify(reactivated.body));
    const stepsAtReactivation = steps;
    // Taken at the first step that finds the sale reopened, not when a 50 ms poll of this test sees it.
    let reopenedAtStep: number | undefined;
    atStep = () => {
      if (reopenedAtStep === undefined && web.waitingRoom.room.soldOut().get(eventId) === false) reopenedAtStep = steps;
    };
    try {
      await waitFor('the sale reopened', () => reopenedAtStep !== undefined);
    } finally {
      atStep = undefined;
    }
    // Seen on the product's invalidation, within a few steps, not once a memory of it runs out (seconds: hundreds of steps).
    assert.ok(reopenedAtStep! - stepsAtReactivation <= 25, `the sale reopened ${reopenedAtStep! - stepsAtReactivation} admission steps after the product was back on sale`);
  });

  it('remembers an archived product while other products are invalidated at every step, and re-reads one invalidated during its own read', async () => {
    const soldOutProduct = await createQueuedProduct(url, t.admin, { available: 0, skuPrefix: 'busy-a' });
    const pulled = await createQueuedProduct(url, t.admin, { available: 5, skuPrefix: 'busy-b' });
    // A busy sale from its start: another product's gate is invalidated (a cancellation, an admin change) while every read is in flight.
    duringEnsure = () => web.stockView.forget([soldOutProduct]);
    try {
      const eventId = await createQueuedSale(url, t.admin, [{ url }], { productIds: [soldOutProduct, pulled], startsInMs: 0, admissionPerSecond: 100 });
      const archived = await request(`${url}/api/v1/admin/products/${pulled}/archive`, { method: 'POST', headers: t.admin });
      assert.equal(archived.status, 200, JSON.stringify(archived.body));
      watched = [soldOutProduct, pulled];
      await waitFor('the sale called sold out', () => web.waitingRoom.room.soldOut().get(eventId) === true);
      const from = { steps, reads: ensured.get(pulled) ?? 0 };
      await waitFor('200 admission steps', () => steps - from.steps >= 200, 120_000);
      const reads = (ensured.get(pulled) ?? 0) - from.reads;
      assert.ok(reads <= 20, `the archived product was read ${reads} times in ${steps - from.steps} admission steps while other products were invalidated`);

      // The archived product itself invalidated while it is being read: that read is not remembered, the next step reads it again.
      // Both steps are taken as the reads start, not when a poll of this test sees them (50 ms apart: two or three steps).
      let invalidatedAtStep: number | undefined;
      let rereadAtStep: number | undefined;
      duringEnsure = (productId) => {
        if (productId !== pulled || rereadAtStep !== undefined) return;
        if (invalidatedAtStep !== undefined) {
          rereadAtStep = steps;
          return;
        }
        invalidatedAtStep = steps;
        web.stockView.forget([pulled]);
      };
      web.stockView.forget([pulled]); // read at the next step, not once the memory of it runs out
      await waitFor('the archived product read, invalidated meanwhile, and read again', () => rereadAtStep !== undefined, 60_000);
      const stepsToReread = rereadAtStep! - invalidatedAtStep!;
      assert.ok(stepsToReread <= 2, `the archived product invalidated during its read was read again ${stepsToReread} admission steps later`);
    } finally {
      duringEnsure = undefined;
    }
  });

  it('forgets what its steps remembered of a sale once the sale is deleted', async () => {
    const pulled = await createQueuedProduct(url, t.admin, { available: 5, skuPrefix: 'gone-a' });
    const eventId = await createQueuedSale(url, t.admin, [{ url }], { productIds: [pulled], startsInMs: 0, admissionPerSecond: 100 });
    const archived = await request(`${url}/api/v1/admin/products/${pulled}/archive`, { method: 'POST', headers: t.admin });
    assert.equal(archived.status, 200, JSON.stringify(archived.body));
    const memory = () => web.waitingRoom.room.admissionMemory();
    await waitFor('the sale and its archived product remembered', () => memory().rebuildEvents.includes(eventId) && memory().notForSale.includes(pulled));
    const removed = await request(`${url}/api/v1/admin/sale-events/${eventId}`, { method: 'DELETE', headers: t.admin });
    assert.equal(removed.status, 204, JSON.stringify(removed.body));
    // A long-running instance steps thousands of sales in its life: none may stay in its memory once over.
    await waitFor('the deleted sale forgotten', () => !memory().rebuildEvents.includes(eventId) && !memory().notForSale.includes(pulled), 30_000).catch(() => undefined);
    assert.deepEqual(
      { rebuildEvents: memory().rebuildEvents.includes(eventId), notForSale: memory().notForSale.includes(pulled) },
      { rebuildEvents: false, notForSale: false },
      'what the steps remembered of the deleted sale',
    );
  });

  it("forgets a sale's sell-out once the sale has ended or is deleted", async () => {
    const memory = () => web.waitingRoom.room.admissionMemory();
    const soldOutSale = async (skuPrefix: string) => {
      const productId = await createQueuedProduct(url, t.admin, { available: 0, skuPrefix });
      return createQueuedSale(url, t.admin, [{ url }], { productIds: [productId], startsInMs: 0, admissionPerSecond: 100 });
    };
    const ended = await soldOutSale('over-ended');
    const deleted = await soldOutSale('over-deleted');
    await waitFor('both sales called sold out', () => web.waitingRoom.room.soldOut().get(ended) === true && web.waitingRoom.room.soldOut().get(deleted) === true);
    assert.ok(memory().soldOutEvents.includes(ended) && memory().soldOutEvents.includes(deleted), JSON.stringify(memory()));
    const end = await request(`${url}/api/v1/admin/sale-events/${ended}`, { method: 'PATCH', headers: t.admin, body: { endsAt: new Date(Date.now() + 300).toISOString() } });
    assert.equal(end.status, 200, JSON.stringify(end.body));
    const removed = await request(`${url}/api/v1/admin/sale-events/${deleted}`, { method: 'DELETE', headers: t.admin });
    assert.equal(removed.status, 204, JSON.stringify(removed.body));
    const kept = () => memory().soldOutEvents.filter((id) => id === ended || id === deleted);
    await waitFor('the sales over forgotten', () => kept().length === 0, 30_000).catch(() => undefined);
    assert.deepEqual(kept(), [], 'sales over whose sell-out the steps still remember');
  });
});
