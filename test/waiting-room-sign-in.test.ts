import { and, eq, sql } from 'drizzle-orm';
import assert from 'node:assert/strict';
import { hash } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import pg from 'pg';
import type { TestApp } from './helpers/app.ts';
import { insertCustomers, mintSessionCookies } from './helpers/commerce.ts';
import { request } from './helpers/http.ts';
import { ROOM_PARTS, roomKeys } from '../src/modules/waiting-room/waiting-room.scripts.ts';
import { createWaitingRoomRepository, waitingRoomSpentPasses } from '../src/modules/waiting-room/index.ts';
import { createTokenSigner } from '../src/modules/waiting-room/waiting-room.tokens.ts';
import { createQueuedProduct, createQueuedSale, listeningWaitingRoomApp } from './helpers/waiting-room.ts';
import { waitFor } from './helpers/queues.ts';

/**
 * One shopper, one place: a guest ticket taken on a second device, then signing in there to an account that
 * already holds a ticket, leaves the shopper one place in line (the better of the two), on one in-process
 * instance with real PostgreSQL and Redis.
 */
describe('waiting room: signing in with a guest ticket', () => {
  let t: TestApp;
  let url: string;

  before(async () => {
    ({ t, url } = await listeningWaitingRoomApp({ TRUST_PROXY: '127.0.0.1' }));
  });
  after(async () => {
    await t?.close();
  });

  const repo = createWaitingRoomRepository();
  /** The spent-passes row of one ticket of a sale, as PostgreSQL holds it. */
  const spentRows = (saleEventId: number, ticketId: string) =>
    t.platform.db.primary
      .select({ orderRef: waitingRoomSpentPasses.orderRef, replacedBy: waitingRoomSpentPasses.replacedBy })
      .from(waitingRoomSpentPasses)
      .where(and(eq(waitingRoomSpentPasses.saleEventId, saleEventId), eq(waitingRoomSpentPasses.ticketId, ticketId)));
  const visitorCookie = (setCookie: string[]) => setCookie.find((c) => c.startsWith('salescale_visitor='))!.split(';')[0]!;

  /**
   * A queued sale of one product (100 units) admitting at once, and a shopper with an account (`customerId`, `session`: device 1).
   * `join(headers)` joins its line; `admitted(ticket, cookie)` waits up to 30 s for a ticket's admission and returns
   * its status; `order(cookie, pass, key)` places one unit with a pass (the key scoped to the sale).
   */
  async function saleWithShopper(label: string) {
    const productId = await createQueuedProduct(url, t.admin, { available: 100, skuPrefix: label });
    const eventId = await createQueuedSale(url, t.admin, [{ url }], { productIds: [productId], startsInMs: 0, admissionPerSecond: 1000 });
    const [customerId] = await insertCustomers(t.platform.db.primary, 1, label);
    const [session] = await mintSessionCookies(t.env, [customerId!]);
    const join = (headers: Record<string, string>) => request(`${url}/api/v1/sale-events/${eventId}/queue`, { method: 'POST', headers });
    const admitted = async (ticket: string, cookie: string) => {
      for (const deadline = Date.now() + 30_000; ; ) {
        const status = await request(`${url}/api/v1/sale-events/${eventId}/queue/${encodeURIComponent(ticket)}`, { headers: { cookie } });
        if (status.body.state === 'admitted') return status.body as { pass: string };
        assert.ok(Date.now() < deadline, JSON.stringify(status.body));
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    };
    const order = (cookie: string, pass: string, key: string) =>
      request(`${url}/api/v1/orders`, { method: 'POST', headers: { cookie, 'idempotency-key': `${key}-${eventId}`, 'waiting-room-pass': pass }, body: { items: [{ productId, quantity: 1 }] } });
    return { productId, eventId, customerId: customerId!, session: session!, join, admitted, order };
  }

  /**
   * Device 2 takes a guest ticket from `address`, is admitted, then signs in there and joins again: the merge must keep
   * the guest ticket (admitted last), in `state`: `admitted`, or `used` when the account ticket's pass was spent (the
   * merge counts the kept ticket's pass spent on that order, and the join answers as the poll does). Returns device 2's
   * cookies, the join's answer and the pass the guest ticket was admitted with before the merge.
   */
  async function guestAdmittedThenSignedIn(sale: Awaited<ReturnType<typeof saleWithShopper>>, address: string, state: 'admitted' | 'used' = 'admitted') {
    const guest = await sale.join({ 'x-forwarded-for': address });
    assert.equal(guest.status, 201, JSON.stringify(guest.body));
    const guestCookie = visitorCookie(guest.headers.getSetCookie());
    const { pass: guestPass } = await sale.admitted(guest.body.ticket, guestCookie);
    const device2 = `${sale.session}; ${guestCookie}`;
    const merged = await sale.join({ cookie: device2, 'x-forwarded-for': address });
    assert.equal(merged.status, 201, JSON.stringify(merged.body));
    assert.equal(merged.body.ticket, guest.body.ticket, JSON.stringify(merged.body));
    assert.equal(merged.body.state, state, JSON.stringify(merged.body));
    if (state === 'used') assert.equal(merged.body.pass, undefined, 'no spent pass offered to buy again');
    return { device2, merged: merged.body as { ticket: string; pass: string }, guestPass };
  }

  it('keeps the better of the account ticket and the guest ticket and drops the other from the line', async () => {
    const signer = createTokenSigner(t.env.SESSION_SECRET!);
    const productId = await createQueuedProduct(url, t.admin, { available: 100, skuPrefix: 'sign-in' });
    // In an hour: the pre-queue, where nobody is admitted yet and each place is a draw.
    const eventId = await createQueuedSale(url, t.admin, [{ url }], { productIds: [productId], startsInMs: 3_600_000, admissionPerSecond: 10 });
    const [customerId] = await insertCustomers(t.platform.db.primary, 1, 'sign-in');
    const [session] = await mintSessionCookies(t.env, [customerId!]);

    // Device 1, signed in.
    const first = await request(`${url}/api/v1/sale-events/${eventId}/queue`, { method: 'POST', headers: { cookie: session!, 'x-forwarded-for': '10.7.0.1' } });
    assert.equal(first.status, 201, JSON.stringify(first.body));
    const device1 = `${session!}; ${visitorCookie(first.headers.getSetCookie())}`;
    // Device 2, a guest at another address.
    const guest = await request(`${url}/api/v1/sale-events/${eventId}/queue`, { method: 'POST', headers: { 'x-forwarded-for': '10.7.0.2' } });
    assert.equal(guest.status, 201, JSON.stringify(guest.body));
    const guestCookie = visitorCookie(guest.headers.getSetCookie());
    assert.notEqual(guest.body.ticket, first.body.ticket);
    assert.equal((await request(`${url}/api/v1/sale-events/${eventId}/queue`)).body.waiting, 2);

    // Device 2 signs in to the same account and joins again.
    const device2 = `${session!}; ${guestCookie}`;
    const merged = await request(`${url}/api/v1/sale-events/${eventId}/queue`, { method: 'POST', headers: { cookie: device2, 'x-forwarded-for': '10.7.0.2' } });
    assert.equal(merged.status, 201, JSON.stringify(merged.body));
    const draw = (ticket: string) => Number(signer.preQueueScore(eventId, signer.verifyTicket(eventId, ticket)!.id));
    const better = draw(first.body.ticket) < draw(guest.body.ticket) ? first.body.ticket : guest.body.ticket;
    const worse = better === first.body.ticket ? guest.body.ticket : first.body.ticket;
    assert.equal(merged.body.ticket, better, 'the shopper keeps the better drawn place');
    assert.equal((await request(`${url}/api/v1/sale-events/${eventId}/queue`)).body.waiting, 1, 'one shopper holds one place in line');

    // Both devices now hold that one ticket; the other is out of the line, whoever presents it.
    for (const cookie of [device1, device2, guestCookie]) {
      const again = await request(`${url}/api/v1/sale-events/${eventId}/queue`, { method: 'POST', headers: { cookie, 'x-forwarded-for': '10.7.0.2' } });
      assert.equal(again.body.ticket, better, `a join with ${cookie} returns the kept ticket`);
    }
    // Its status says so: to the shopper's devices (the holders the merge bound to the kept ticket), it names the kept
    // ticket, whose place lives on (a device following the dropped one, told only "expired", gave up or rejoined at
    // the back); to anyone else holding only the dropped ticket's text, it is expired and names nothing.
    const readers: [Record<string, string>, string | undefined][] = [
      [{ cookie: device1 }, better],
      [{ cookie: device2 }, better],
      [{ cookie: 'salescale_visitor=AAAAAAAAAAAAAAAAAAAAAA' }, undefined],
      [{}, undefined],
    ];
    for (const [headers, replacedBy] of readers) {
      const path = `${url}/api/v1/sale-events/${eventId}/queue/${encodeURIComponent(worse)}`;
      const dropped = await request(path, { headers });
      assert.equal(dropped.status, 200, JSON.stringify(dropped.body));
      assert.equal(dropped.body.state, 'expired', `the dropped ticket read with ${JSON.stringify(headers)}: ${JSON.stringify(dropped.body)}`);
      assert.equal(dropped.body.replacedBy, replacedBy, `the dropped ticket's status read with ${JSON.stringify(headers)} names the kept ticket only to the shopper: ${JSON.stringify(dropped.body)}`);
      // The same on its event stream, which ends with that one frame.
      const stream = await fetch(`${path}/events`, { headers });
      assert.equal(stream.status, 200);
      const frames = (await stream.text()).split('\n').filter((line) => line.startsWith('data: ')).map((line) => JSON.parse(line.slice(6)));
      assert.deepEqual(frames.map((frame) => [frame.state, frame.replacedBy]), [['expired', replacedBy]], `the dropped ticket's stream with ${JSON.stringify(headers)}`);
    }
    assert.equal((await request(`${url}/api/v1/sale-events/${eventId}/queue`)).body.waiting, 1, 'presenting the dropped ticket does not put it back in line');
  });

  it('merges the two tickets when the signed-in device only reads its guest ticket (status or stream), so the shopper holds one place', async () => {
    const signer = createTokenSigner(t.env.SESSION_SECRET!);
    const productId = await createQueuedProduct(url, t.admin, { available: 100, skuPrefix: 'sign-in-read' });
    const eventId = await createQueuedSale(url, t.admin, [{ url }], { productIds: [productId], startsInMs: 3_600_000, admissionPerSecond: 10 });
    const waiting = async () => (await request(`${url}/api/v1/sale-events/${eventId}/queue`)).body.waiting;
    const draw = (ticket: string) => Number(signer.preQueueScore(eventId, signer.verifyTicket(eventId, ticket)!.id));
    const customers = await insertCustomers(t.platform.db.primary, 2, 'sign-in-read');
    const sessions = await mintSessionCookies(t.env, customers);

    // Two shoppers, each with an account ticket on device 1 and a guest ticket on device 2, who sign in on device 2
    // and then only read the guest ticket: one by polling its status, the other through its event stream.
    for (const [i, via] of (['status', 'stream'] as const).entries()) {
      const session = sessions[i]!;
      const first = await request(`${url}/api/v1/sale-events/${eventId}/queue`, { method: 'POST', headers: { cookie: session, 'x-forwarded-for': `10.7.2.${i * 2 + 1}` } });
      assert.equal(first.status, 201, JSON.stringify(first.body));
      const guest = await request(`${url}/api/v1/sale-events/${eventId}/queue`, { method: 'POST', headers: { 'x-forwarded-for': `10.7.2.${i * 2 + 2}` } });
      assert.equal(guest.status, 201, JSON.stringify(guest.body));
      assert.equal(await waiting(), i + 2);
      const device2 = `${session}; ${visitorCookie(guest.headers.getSetCookie())}`;
      const path = `${url}/api/v1/sale-events/${eventId}/queue/${encodeURIComponent(guest.body.ticket)}`;
      if (via === 'status') {
        const read = await request(path, { headers: { cookie: device2 } });
        assert.equal(read.status, 200, JSON.stringify(read.body));
      } else {
        const stream = await fetch(`${path}/events`, { headers: { cookie: device2 } });
        assert.equal(stream.status, 200);
        await stream.body?.cancel();
      }
      assert.equal(await waiting(), i + 1, `a shopper reading their guest ticket signed in (${via}) holds one place in line`);
      const better = draw(first.body.ticket) < draw(guest.body.ticket) ? first.body.ticket : guest.body.ticket;
      const worse = better === first.body.ticket ? guest.body.ticket : first.body.ticket;
      for (const cookie of [session, device2]) {
        const kept = await request(`${url}/api/v1/sale-events/${eventId}/queue/${encodeURIComponent(better)}`, { headers: { cookie } });
        assert.equal(kept.body.state, 'waiting', JSON.stringify(kept.body));
        const dropped = await request(`${url}/api/v1/sale-events/${eventId}/queue/${encodeURIComponent(worse)}`, { headers: { cookie } });
        assert.equal(dropped.body.state, 'expired', JSON.stringify(dropped.body));
        assert.equal(dropped.body.replacedBy, better, JSON.stringify(dropped.body));
      }
      const again = await request(`${url}/api/v1/sale-events/${eventId}/queue`, { method: 'POST', headers: { cookie: device2, 'x-forwarded-for': `10.7.2.${i * 2 + 2}` } });
      assert.equal(again.body.ticket, better, 'a join returns the kept ticket');
    }
  });

  it('keeps the ticket already admitted and drops the waiting guest ticket, so the guest ticket takes no admission and buys no order', async () => {
    const productId = await createQueuedProduct(url, t.admin, { available: 100, skuPrefix: 'sign-in-live' });
    const eventId = await createQueuedSale(url, t.admin, [{ url }], { productIds: [productId], startsInMs: 0, admissionPerSecond: 1000 });
    const [customerId] = await insertCustomers(t.platform.db.primary, 1, 'sign-in-live');
    const [session] = await mintSessionCookies(t.env, [customerId!]);
    const first = await request(`${url}/api/v1/sale-events/${eventId}/queue`, { method: 'POST', headers: { cookie: session!, 'x-forwarded-for': '10.7.1.1' } });
    assert.equal(first.status, 201, JSON.stringify(first.body));
    // The account's ticket is admitted; the admin pauses the room, and a guest joins on a second device.
    await waitFor('the account\'s ticket admitted', async () => {
      const status = await request(`${url}/api/v1/sale-events/${eventId}/queue/${encodeURIComponent(first.body.ticket)}`, { headers: { cookie: session! } });
      return status.body.state === 'admitted';
    });
    const paused = await request(`${url}/api/v1/admin/sale-events/${eventId}`, { method: 'PATCH', headers: { ...t.admin, 'x-admin-actor': 'ops' }, body: { waitingRoom: { enabled: true, paused: true } } });
    assert.equal(paused.status, 200, JSON.stringify(paused.body));
    // The instance re-reads the room in its own time (a loaded machine's may be late): the guest joins once it reads it paused.
    await waitFor('the instance to read the room paused', async () => (await request(`${url}/api/v1/sale-events/${eventId}/queue`)).body.paused === true);
    const guest = await request(`${url}/api/v1/sale-events/${eventId}/queue`, { method: 'POST', headers: { 'x-forwarded-for': '10.7.1.2' } });
    assert.equal(guest.status, 201, JSON.stringify(guest.body));
    assert.equal(guest.body.state, 'waiting', JSON.stringify(guest.body));
    const device2 = `${session!}; ${visitorCookie(guest.headers.getSetCookie())}`;

    const merged = await request(`${url}/api/v1/sale-events/${eventId}/queue`, { method: 'POST', headers: { cookie: device2, 'x-forwarded-for': '10.7.1.2' } });
    assert.equal(merged.body.ticket, first.body.ticket, JSON.stringify(merged.body));
    assert.equal(merged.body.state, 'admitted');
    assert.equal((await request(`${url}/api/v1/sale-events/${eventId}/queue`)).body.waiting, 0, 'the guest ticket left the line');
    const dropped = await request(`${url}/api/v1/sale-events/${eventId}/queue/${encodeURIComponent(guest.body.ticket)}`, { headers: { cookie: device2 } });
    assert.equal(dropped.body.state, 'expired', JSON.stringify(dropped.body));
    assert.equal(dropped.body.replacedBy, first.body.ticket, 'the dropped guest ticket names the admitted one, where the pass is');
  });

  it('keeps the admission whose pass is still good when both tickets were admitted, and the dropped one names it', async () => {
    const productId = await createQueuedProduct(url, t.admin, { available: 100, skuPrefix: 'sign-in-both' });
    const eventId = await createQueuedSale(url, t.admin, [{ url }], { productIds: [productId], startsInMs: 0, admissionPerSecond: 1000 });
    const [customerId] = await insertCustomers(t.platform.db.primary, 1, 'sign-in-both');
    const [session] = await mintSessionCookies(t.env, [customerId!]);
    const admitted = async (ticket: string, cookie: string) => {
      for (const deadline = Date.now() + 30_000; ; ) {
        const status = await request(`${url}/api/v1/sale-events/${eventId}/queue/${encodeURIComponent(ticket)}`, { headers: { cookie } });
        if (status.body.state === 'admitted') return status.body;
        assert.ok(Date.now() < deadline, JSON.stringify(status.body));
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    };
    // The account's ticket, on device 1, and a guest ticket, on device 2: both admitted.
    const first = await request(`${url}/api/v1/sale-events/${eventId}/queue`, { method: 'POST', headers: { cookie: session!, 'x-forwarded-for': '10.7.3.1' } });
    assert.equal(first.status, 201, JSON.stringify(first.body));
    await admitted(first.body.ticket, session!);
    const guest = await request(`${url}/api/v1/sale-events/${eventId}/queue`, { method: 'POST', headers: { 'x-forwarded-for': '10.7.3.2' } });
    assert.equal(guest.status, 201, JSON.stringify(guest.body));
    const guestCookie = visitorCookie(guest.headers.getSetCookie());
    await admitted(guest.body.ticket, guestCookie);
    // The account's admission is older than a pass lasts (the shopper was away from device 1): its pass ran out unused.
    const firstId = first.body.ticket.split('.')[0];
    await t.platform.redis.hset(`{${t.config.redis.prefix}:wr:${eventId}}:admitted`, firstId, Date.now() - t.config.waitingRoom.passS * 1000 - 60_000);

    // Device 2 signs in: one shopper, one ticket, and the pass it carries is the one still good.
    const device2 = `${session!}; ${guestCookie}`;
    const merged = await request(`${url}/api/v1/sale-events/${eventId}/queue`, { method: 'POST', headers: { cookie: device2, 'x-forwarded-for': '10.7.3.2' } });
    assert.equal(merged.status, 201, JSON.stringify(merged.body));
    assert.equal(merged.body.ticket, guest.body.ticket, `the shopper keeps the admission whose pass is good: ${JSON.stringify(merged.body)}`);
    assert.equal(merged.body.state, 'admitted', JSON.stringify(merged.body));
    const order = await request(`${url}/api/v1/orders`, {
      method: 'POST',
      headers: { cookie: device2, 'idempotency-key': `both-${eventId}`, 'waiting-room-pass': merged.body.pass },
      body: { email: `both-${eventId}@example.com`, items: [{ productId, quantity: 1 }] },
    });
    assert.equal(order.status, 201, JSON.stringify(order.body));
    // Device 1, still following the account's ticket, is sent to the kept one.
    for (const cookie of [session!, device2]) {
      const dropped = await request(`${url}/api/v1/sale-events/${eventId}/queue/${encodeURIComponent(first.body.ticket)}`, { headers: { cookie } });
      assert.equal(dropped.body.state, 'expired', JSON.stringify(dropped.body));
      assert.equal(dropped.body.replacedBy, guest.body.ticket, `the dropped ticket names the kept one: ${JSON.stringify(dropped.body)}`);
    }
  });

  // The merge dropped the other ticket's admission in Redis, but the pass already handed out for it (a signed token)
  // still bought an order: a shopper holding both passes placed two orders with them.
  it("refuses the pass of a ticket merged away (PASS_REPLACED), while the kept ticket's pass buys", async () => {
    const sale = await saleWithShopper('sign-in-two-passes');
    // Device 1 (the account) and device 2 (a guest) are both admitted, each holding its pass; device 2 signs in: the
    // merge keeps the later admission (the guest ticket) and drops the account's.
    const first = await sale.join({ cookie: sale.session, 'x-forwarded-for': '10.7.4.1' });
    assert.equal(first.status, 201, JSON.stringify(first.body));
    const accountPass = (await sale.admitted(first.body.ticket, sale.session)).pass;
    const { device2, merged } = await guestAdmittedThenSignedIn(sale, '10.7.4.2');

    // Device 1 still holds the account ticket's pass, issued before the merge: it buys nothing now.
    const stale = await sale.order(sale.session, accountPass, 'dropped');
    assert.equal(stale.status, 403, JSON.stringify(stale.body));
    assert.equal(stale.body.error.code, 'PASS_REPLACED');
    assert.deepEqual(stale.body.error.details, { saleEventId: sale.eventId });
    // The kept ticket's pass buys the shopper's one order.
    const kept = await sale.order(device2, merged.pass, 'kept');
    assert.equal(kept.status, 201, JSON.stringify(kept.body));
    const again = await sale.order(sale.session, accountPass, 'dropped-again');
    assert.equal(again.status, 403, JSON.stringify(again.body));
  });

  // The merge was recorded only in the room's Redis `merged` hash: once Redis lost the room (restarted without
  // persistence), the dropped ticket's pass, a signed token good on its face, bought a second order.
  it("still refuses the pass of a ticket merged away once Redis lost the room, while the kept ticket's pass buys", async () => {
    const sale = await saleWithShopper('sign-in-lost-merge');
    const { eventId } = sale;
    const first = await sale.join({ cookie: sale.session, 'x-forwarded-for': '10.7.5.1' });
    assert.equal(first.status, 201, JSON.stringify(first.body));
    const accountPass = (await sale.admitted(first.body.ticket, sale.session)).pass;
    const { device2, merged } = await guestAdmittedThenSignedIn(sale, '10.7.5.2');

    // Redis loses this room (only this test's keys: the server is shared).
    await t.platform.redis.del(...ROOM_PARTS.map((part) => roomKeys(t.config.redis.prefix).key(eventId, part)));
    assert.equal(await t.platform.redis.exists(roomKeys(t.config.redis.prefix).key(eventId, 'merged')), 0);

    const stale = await sale.order(sale.session, accountPass, 'lost-dropped');
    assert.equal(stale.status, 403, JSON.stringify(stale.body));
    assert.equal(stale.body.error.code, 'PASS_REPLACED');
    assert.deepEqual(stale.body.error.details, { saleEventId: eventId });
    const kept = await sale.order(device2, merged.pass, 'lost-kept');
    assert.equal(kept.status, 201, JSON.stringify(kept.body));
  });

  // The account ticket's pass bought an order; the shopper then took a guest ticket on a second device, was admitted
  // again, and signed in there: the merge kept the guest ticket (admitted last), whose pass bought a second order.
  it("counts the kept ticket's pass as spent when the ticket merged away had bought an order (PASS_USED)", async () => {
    const sale = await saleWithShopper('sign-in-spent-first');
    // Device 1, the account: admitted, and its pass buys an order.
    const first = await sale.join({ cookie: sale.session, 'x-forwarded-for': '10.7.6.1' });
    assert.equal(first.status, 201, JSON.stringify(first.body));
    const accountPass = (await sale.admitted(first.body.ticket, sale.session)).pass;
    const bought = await sale.order(sale.session, accountPass, 'spent-first');
    assert.equal(bought.status, 201, JSON.stringify(bought.body));
    // Device 2, a guest: admitted later, then signed in; the merge keeps the later admission, the guest ticket, whose
    // join answers `used`.
    const { device2, guestPass } = await guestAdmittedThenSignedIn(sale, '10.7.6.2', 'used');

    // One shopper, one order in the sale: the kept ticket's pass (handed out before the merge) buys nothing more.
    const second = await sale.order(device2, guestPass, 'spent-second');
    assert.equal(second.status, 403, JSON.stringify(second.body));
    assert.equal(second.body.error.code, 'PASS_USED');
    assert.deepEqual(second.body.error.details, { saleEventId: sale.eventId });
    // The first order's retry (same key) still replays it.
    const retry = await sale.order(sale.session, accountPass, 'spent-first');
    assert.equal(retry.status, 201, JSON.stringify(retry.body));
    assert.equal(retry.body.id, bought.body.id);
  });

  // A pass bought an order, then expired. A retry of the order with its key was refused PASS_EXPIRED by the pass's
  // expiry, read before the order's idempotency record and before the pass found spent on this very order: the order
  // exists, and its retry must replay it, with its record or without (its retention ran out, the first reply was a 5xx,
  // which keeps none, Redis lost it).
  it('replays an order placed with a pass that expired since, with or without its idempotency record; another order with it is PASS_EXPIRED', async () => {
    const sale = await saleWithShopper('retry-expired');
    const joined = await sale.join({ cookie: sale.session, 'x-forwarded-for': '10.7.12.1' });
    assert.equal(joined.status, 201, JSON.stringify(joined.body));
    const pass = (await sale.admitted(joined.body.ticket, sale.session)).pass;
    const bought = await sale.order(sale.session, pass, 'retry-expired');
    assert.equal(bought.status, 201, JSON.stringify(bought.body));
    // The same pass past its expiry (signed with the deployment's secret, as the room signed it): its ticket, spent.
    const signer = createTokenSigner(t.env.SESSION_SECRET!);
    const expired = signer.pass({ ...signer.verifyPass(pass)!, x: Date.now() - 60_000 });

    const kept = await sale.order(sale.session, expired, 'retry-expired');
    assert.equal(kept.status, 201, JSON.stringify(kept.body));
    assert.equal(kept.body.id, bought.body.id);
    assert.equal(kept.headers.get('idempotent-replayed'), 'true');
    // The order's idempotency record is gone (only this one: the server is shared; its key is unique to this sale).
    const record = `${t.config.redis.prefix}:idem:customer:${sale.customerId}:${hash('sha256', `retry-expired-${sale.eventId}`, 'base64url')}`;
    assert.equal(await t.platform.redis.del(record), 1);
    const retry = await sale.order(sale.session, expired, 'retry-expired');
    assert.equal(retry.status, 201, JSON.stringify(retry.body));
    assert.equal(retry.body.id, bought.body.id);
    assert.equal(retry.headers.get('idempotent-replayed'), 'true');

    // Another order with the expired pass is refused, and the refusal is not kept under its key.
    const other = await sale.order(sale.session, expired, 'retry-expired-other');
    assert.equal(other.status, 403, JSON.stringify(other.body));
    assert.equal(other.body.error.code, 'PASS_EXPIRED');
    const otherRecord = `${t.config.redis.prefix}:idem:customer:${sale.customerId}:${hash('sha256', `retry-expired-other-${sale.eventId}`, 'base64url')}`;
    assert.equal(await t.platform.redis.exists(otherRecord), 0);
  });

  // The account ticket's pass bought an order, then the merge dropped that ticket. A retry of the order with its key
  // that finds no idempotency record (its retention ran out, or the first reply was a 5xx, which keeps none) was
  // refused PASS_REPLACED by the room's `merged`, before the pass found spent on this very order and the order under
  // this key could answer: the order exists, and its retry must replay it.
  it('replays an order placed with the pass of a ticket merged away since, when its retry finds no idempotency record', async () => {
    const sale = await saleWithShopper('sign-in-retry-merged');
    const first = await sale.join({ cookie: sale.session, 'x-forwarded-for': '10.7.11.1' });
    assert.equal(first.status, 201, JSON.stringify(first.body));
    const accountPass = (await sale.admitted(first.body.ticket, sale.session)).pass;
    const bought = await sale.order(sale.session, accountPass, 'retry-merged');
    assert.equal(bought.status, 201, JSON.stringify(bought.body));
    await guestAdmittedThenSignedIn(sale, '10.7.11.2', 'used');
    // The order's idempotency record is gone (only this one: the server is shared; its key is unique to this sale).
    const record = `${t.config.redis.prefix}:idem:customer:${sale.customerId}:${hash('sha256', `retry-merged-${sale.eventId}`, 'base64url')}`;
    assert.equal(await t.platform.redis.del(record), 1);

    const retry = await sale.order(sale.session, accountPass, 'retry-merged');
    assert.equal(retry.status, 201, JSON.stringify(retry.body));
    assert.equal(retry.body.id, bought.body.id);
    assert.equal(retry.headers.get('idempotent-replayed'), 'true');
    // Another order with that pass is still refused: its ticket was merged away.
    const other = await sale.order(sale.session, accountPass, 'retry-merged-other');
    assert.equal(other.status, 403, JSON.stringify(other.body));
    assert.equal(other.body.error.code, 'PASS_REPLACED');
  });

  // The account ticket's pass was spent on an order still in flight when device 2 signed in: the merge spent the kept
  // ticket's pass on that order too, and when the order was then refused (out of stock, a payment window, a bad
  // line) only the dropped ticket's pass was given back: the kept pass stayed spent on an order that never was, and
  // the shopper could buy nothing.
  it("leaves the kept ticket's pass unspent when the dropped ticket's order in flight at the merge is refused", async () => {
    const sale = await saleWithShopper('sign-in-refused-in-flight');
    const first = await sale.join({ cookie: sale.session, 'x-forwarded-for': '10.7.7.1' });
    assert.equal(first.status, 201, JSON.stringify(first.body));
    const accountPass = (await sale.admitted(first.body.ticket, sale.session)).pass;
    // Checkout's steps for an order with the account's pass (waiting-room.checkout.ts `spend`): the pass is spent…
    const dropped = createTokenSigner(t.env.SESSION_SECRET!).verifyPass(accountPass)!;
    const ref = { saleEventId: sale.eventId, ticketId: dropped.t };
    const orderRef = `in-flight ${sale.eventId}`;
    assert.equal(await repo.spend(t.platform.db.primary, ref, orderRef), 'spent');
    // …device 2 signs in while the order is placed (the merge drops the account ticket, and its join answers `used`:
    // the pass is spent on that order for now)…
    const { device2, merged } = await guestAdmittedThenSignedIn(sale, '10.7.7.2', 'used');
    // …and the order is refused: its pass is given back, and the kept ticket reads admitted again, with a pass that buys.
    assert.equal(await repo.giveBack(t.platform.db.primary, ref, orderRef), true);
    const again = await sale.admitted(merged.ticket, device2);

    const kept = await sale.order(device2, again.pass, 'after-refused');
    assert.equal(kept.status, 201, JSON.stringify(kept.body));
    // The dropped ticket stays merged away in PostgreSQL (whatever Redis loses): its pass buys nothing.
    assert.deepEqual(await spentRows(sale.eventId, dropped.t), [{ orderRef: null, replacedBy: merged.ticket.split('.')[0] }]);
    const stale = await sale.order(sale.session, accountPass, 'dropped-after-refused');
    assert.equal(stale.status, 403, JSON.stringify(stale.body));
    assert.equal(stale.body.error.code, 'PASS_REPLACED');
  });

  // The account ticket's pass was being spent (its row inserted, not yet committed) as device 2 signed in: the merge
  // read the spent rows before that commit, found none, and its own row for the dropped ticket then met the spend and
  // did nothing, so the kept ticket was not spent on that order and its pass bought a second one.
  it("counts the kept ticket's pass as spent when the dropped ticket's pass was being spent as the merge recorded it", async () => {
    const sale = await saleWithShopper('sign-in-spend-racing');
    const first = await sale.join({ cookie: sale.session, 'x-forwarded-for': '10.7.8.1' });
    assert.equal(first.status, 201, JSON.stringify(first.body));
    const accountPass = (await sale.admitted(first.body.ticket, sale.session)).pass;
    const dropped = createTokenSigner(t.env.SESSION_SECRET!).verifyPass(accountPass)!;
    const guest = await sale.join({ 'x-forwarded-for': '10.7.8.2' });
    assert.equal(guest.status, 201, JSON.stringify(guest.body));
    const guestCookie = visitorCookie(guest.headers.getSetCookie());
    const { pass: guestPass } = await sale.admitted(guest.body.ticket, guestCookie);

    // The spend of the account's pass, held uncommitted (as checkout's INSERT is for the moment it runs).
    const spender = new pg.Client({ connectionString: t.env.DATABASE_URL });
    await spender.connect();
    try {
      await spender.query('BEGIN');
      await spender.query('INSERT INTO waiting_room_spent_passes (sale_event_id, ticket_id, order_ref) VALUES ($1, $2, $3)', [sale.eventId, dropped.t, `racing ${sale.eventId}`]);
      // Device 2 signs in: the merge drops the account ticket and records it, meeting the spend in flight.
      const device2 = `${sale.session}; ${guestCookie}`;
      const joining = sale.join({ cookie: device2, 'x-forwarded-for': '10.7.8.2' });
      // Waiting on a lock in this test's own database: only the merge's write can be (its query text may read `begin`).
      for (const deadline = Date.now() + 30_000; ; ) {
        const { rows } = await spender.query(
          "SELECT 1 FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock' AND pid <> pg_backend_pid()",
        );
        if (rows.length > 0) break;
        assert.ok(Date.now() < deadline, 'the merge never waited for the spend in flight');
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
      await spender.query('COMMIT');
      const merged = await joining;
      assert.equal(merged.status, 201, JSON.stringify(merged.body));
      assert.equal(merged.body.ticket, guest.body.ticket, JSON.stringify(merged.body));
      assert.equal(merged.body.state, 'used', JSON.stringify(merged.body));

      // One shopper, one order in the sale: the kept ticket's pass (handed out before the merge) buys nothing more.
      const second = await sale.order(device2, guestPass, 'after-racing-spend');
      assert.equal(second.status, 403, JSON.stringify(second.body));
      assert.equal(second.body.error.code, 'PASS_USED');
    } finally {
      await spender.end();
    }
  });

  // PostgreSQL refused the merge's record (an outage, a failover): it was logged and never written again, so the dropped
  // ticket's pass was refused by Redis alone, and bought an order once Redis lost the room.
  it('records a merge in PostgreSQL once it can, when the first write of it failed', async () => {
    const sale = await saleWithShopper('sign-in-record-retried');
    const first = await sale.join({ cookie: sale.session, 'x-forwarded-for': '10.7.9.1' });
    assert.equal(first.status, 201, JSON.stringify(first.body));
    const accountPass = (await sale.admitted(first.body.ticket, sale.session)).pass;
    const dropped = createTokenSigner(t.env.SESSION_SECRET!).verifyPass(accountPass)!;
    // This test's database refuses any merge record while the trigger is there.
    const db = t.platform.db.primary;
    await db.execute(sql`CREATE FUNCTION refuse_merge_records() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN IF NEW.replaced_by IS NOT NULL THEN RAISE EXCEPTION 'merge records refused by the test'; END IF; RETURN NEW; END $$`);
    await db.execute(sql`CREATE TRIGGER refuse_merge_records BEFORE INSERT ON waiting_room_spent_passes FOR EACH ROW EXECUTE FUNCTION refuse_merge_records()`);
    let merged: { ticket: string };
    try {
      ({ merged } = await guestAdmittedThenSignedIn(sale, '10.7.9.2'));
      assert.deepEqual(await spentRows(sale.eventId, dropped.t), [], 'the first write failed');
    } finally {
      await db.execute(sql`DROP TRIGGER refuse_merge_records ON waiting_room_spent_passes`);
      await db.execute(sql`DROP FUNCTION refuse_merge_records()`);
    }
    for (const deadline = Date.now() + 30_000; ; ) {
      const rows = await spentRows(sale.eventId, dropped.t);
      if (rows.length > 0) {
        assert.deepEqual(rows, [{ orderRef: null, replacedBy: merged.ticket.split('.')[0] }]);
        break;
      }
      assert.ok(Date.now() < deadline, 'the merge was never recorded in PostgreSQL');
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  });

  // Redis lost the room after a merge; device 1, still following the dropped ticket, read it first: the line put it
  // back, bound to the account, so the kept ticket could not come back (`expired`), the shopper's join returned the
  // dropped ticket, and its pass was refused (PASS_REPLACED): a dead ticket in line, and a shopper who could not buy.
  it('does not put a ticket merged away back in the line after Redis lost the room, so the kept ticket comes back', async () => {
    const sale = await saleWithShopper('sign-in-restored-dropped');
    const { eventId } = sale;
    const first = await sale.join({ cookie: sale.session, 'x-forwarded-for': '10.7.10.1' });
    assert.equal(first.status, 201, JSON.stringify(first.body));
    await sale.admitted(first.body.ticket, sale.session);
    const { device2, merged } = await guestAdmittedThenSignedIn(sale, '10.7.10.2');
    await t.platform.redis.del(...ROOM_PARTS.map((part) => roomKeys(t.config.redis.prefix).key(eventId, part)));
    const read = (ticket: string, cookie: string) => request(`${url}/api/v1/sale-events/${eventId}/queue/${encodeURIComponent(ticket)}`, { headers: { cookie } });

    // Device 1 reads the dropped ticket first: it stays out of the line.
    const dropped = await read(first.body.ticket, sale.session);
    assert.equal(dropped.status, 200, JSON.stringify(dropped.body));
    assert.equal(dropped.body.state, 'expired', JSON.stringify(dropped.body));
    assert.equal((await request(`${url}/api/v1/sale-events/${eventId}/queue`)).body.waiting, 0);
    // Device 2's kept ticket comes back at its place, and its pass buys the shopper's order.
    const kept = await read(merged.ticket, device2);
    assert.equal(kept.status, 200, JSON.stringify(kept.body));
    assert.notEqual(kept.body.state, 'expired', JSON.stringify(kept.body));
    const again = await sale.join({ cookie: device2, 'x-forwarded-for': '10.7.10.2' });
    assert.equal(again.body.ticket, merged.ticket, JSON.stringify(again.body));
    const pass = (await sale.admitted(merged.ticket, device2)).pass;
    const bought = await sale.order(device2, pass, 'after-restore');
    assert.equal(bought.status, 201, JSON.stringify(bought.body));
  });

  // The same, with the line's admission step running while the status read asks PostgreSQL whether the ticket it put
  // back was merged away: the ticket put back (near the head: it had been admitted) was admitted meanwhile, and taking
  // it out of the line left it admitted: a pass refused at checkout for device 1, and one admission taken from the sale.
  it('takes a ticket merged away out again after Redis lost the room, also when it was admitted meanwhile', async () => {
    const sale = await saleWithShopper('sign-in-restored-admitted');
    const { eventId } = sale;
    const first = await sale.join({ cookie: sale.session, 'x-forwarded-for': '10.7.11.1' });
    assert.equal(first.status, 201, JSON.stringify(first.body));
    await sale.admitted(first.body.ticket, sale.session);
    const { device2, merged } = await guestAdmittedThenSignedIn(sale, '10.7.11.2');
    const keys = roomKeys(t.config.redis.prefix);
    await t.platform.redis.del(...ROOM_PARTS.map((part) => keys.key(eventId, part)));
    const read = (ticket: string, cookie: string) => request(`${url}/api/v1/sale-events/${eventId}/queue/${encodeURIComponent(ticket)}`, { headers: { cookie } });
    const droppedId = first.body.ticket.split('.')[0]!;

    // The table is locked while device 1's read puts the dropped ticket back: its question to PostgreSQL waits until
    // the admission step admitted the ticket.
    const locker = new pg.Client({ connectionString: t.database.url });
    await locker.connect();
    let reading: ReturnType<typeof read> | undefined;
    try {
      await locker.query('BEGIN');
      await locker.query('LOCK TABLE waiting_room_spent_passes IN ACCESS EXCLUSIVE MODE');
      reading = read(first.body.ticket, sale.session);
      for (const deadline = Date.now() + 30_000; (await t.platform.redis.hget(keys.key(eventId, 'admitted'), droppedId)) === null; ) {
        assert.ok(Date.now() < deadline, 'the ticket put back was never admitted');
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    } finally {
      await locker.query('COMMIT').catch(() => undefined);
      await locker.end();
    }
    const dropped = await reading!;
    assert.equal(dropped.status, 200, JSON.stringify(dropped.body));
    assert.equal(dropped.body.state, 'expired', JSON.stringify(dropped.body));

    // Device 2's kept ticket comes back, and device 1, reading the dropped ticket again, is not told it is admitted.
    const kept = await read(merged.ticket, device2);
    assert.equal(kept.status, 200, JSON.stringify(kept.body));
    assert.notEqual(kept.body.state, 'expired', JSON.stringify(kept.body));
    const again = await read(first.body.ticket, sale.session);
    assert.equal(again.status, 200, JSON.stringify(again.body));
    assert.notEqual(again.body.state, 'admitted', JSON.stringify(again.body));
    assert.equal(await t.platform.redis.hget(keys.key(eventId, 'admitted'), droppedId), null, 'the ticket merged away holds no admission');
    const pass = (await sale.admitted(merged.ticket, device2)).pass;
    const bought = await sale.order(device2, pass, 'after-restore-admitted');
    assert.equal(bought.status, 201, JSON.stringify(bought.body));
  });

  it('signing out gives the browser a new visitor: the next person there is not answered with the signed-out shopper\'s pass, nor can buy with it; the account still can', async () => {
    const sale = await saleWithShopper('sign-out');
    const address = '10.7.6.1';
    const joined = await sale.join({ cookie: sale.session, 'x-forwarded-for': address });
    assert.equal(joined.status, 201, JSON.stringify(joined.body));
    const visitor = visitorCookie(joined.headers.getSetCookie());
    const browser = `${sale.session}; ${visitor}`;
    const { pass } = await sale.admitted(joined.body.ticket, browser);

    const signedOut = await request(`${url}/api/v1/sessions`, { method: 'DELETE', headers: { cookie: browser } });
    assert.equal(signedOut.status, 204, JSON.stringify(signedOut.body));
    const setCookie = signedOut.headers.getSetCookie();
    const fresh = setCookie.find((c) => c.startsWith('salescale_visitor='));
    assert.ok(fresh !== undefined, `sign-out replaces the visitor cookie: ${JSON.stringify(setCookie)}`);
    // The same attributes as when the cookie is first issued.
    assert.deepEqual(fresh.split(';').slice(1).map((a) => a.trim().toLowerCase()).sort(), ['httponly', 'max-age=2592000', 'path=/', 'samesite=lax']);
    const next = fresh.split(';')[0]!;
    assert.match(next, /^salescale_visitor=[A-Za-z0-9_-]{22}$/);
    assert.notEqual(next, visitor);
    // The browser's cookie jar after sign-out: the session cleared, the new visitor.
    const jar = next;

    // The next person at that browser joins: a ticket of their own, not the signed-out shopper's admitted one.
    const again = await sale.join({ cookie: jar, 'x-forwarded-for': address });
    assert.equal(again.status, 201, JSON.stringify(again.body));
    assert.notEqual(again.body.ticket, joined.body.ticket, JSON.stringify(again.body));
    assert.notEqual(again.body.pass, pass, JSON.stringify(again.body));
    // (The old ticket's text, a bearer secret, lived only in the signed-out shopper's page: the storefront stores no ticket.)
    // Nor does the old pass buy from there.
    const refused = await request(`${url}/api/v1/orders`, {
      method: 'POST',
      headers: { cookie: jar, 'idempotency-key': `after-sign-out-${sale.eventId}`, 'waiting-room-pass': pass },
      body: { items: [{ productId: sale.productId, quantity: 1 }], email: `next-person-${sale.eventId}@example.test` },
    });
    assert.equal(refused.status, 403, JSON.stringify(refused.body));
    assert.equal(refused.body.error.code, 'PASS_INVALID', JSON.stringify(refused.body));

    // The signed-out shopper signs in again (in that browser): the pass, still valid, is theirs and buys.
    const [session] = await mintSessionCookies(t.env, [sale.customerId]);
    const bought = await sale.order(`${session!}; ${jar}`, pass, 'signed-in-again');
    assert.equal(bought.status, 201, JSON.stringify(bought.body));
  });
});

describe('waiting room: a sale far ahead', () => {
  let t: TestApp;
  let url: string;
  before(async () => {
    ({ t, url } = await listeningWaitingRoomApp());
  });
  after(async () => {
    await t?.close();
  });

  it('opens the line a day before the start: an earlier join is refused with when it opens, and holds nothing in Redis', async () => {
    const productId = await createQueuedProduct(url, t.admin, { available: 10, skuPrefix: 'far' });
    const inAYear = 365 * 86_400_000;
    const eventId = await createQueuedSale(url, t.admin, [{ url }], { productIds: [productId], startsInMs: inAYear, admissionPerSecond: 10 });
    const joined = await request(`${url}/api/v1/sale-events/${eventId}/queue`, { method: 'POST' });
    assert.equal(joined.status, 409, JSON.stringify(joined.body));
    assert.equal(joined.body.error.code, 'WAITING_ROOM_NOT_OPEN');
    const info = await request(`${url}/api/v1/sale-events/${eventId}/queue`);
    assert.equal(joined.body.error.details.opensAt, new Date(Date.parse(info.body.startsAt) - 86_400_000).toISOString());
    assert.equal(info.body.waiting, 0);

    // Within the day before the start, the line takes visitors.
    const soon = await createQueuedSale(url, t.admin, [{ url }], { productIds: [productId], startsInMs: 86_400_000 - 60_000, admissionPerSecond: 10 });
    const early = await request(`${url}/api/v1/sale-events/${soon}/queue`, { method: 'POST' });
    assert.equal(early.status, 201, JSON.stringify(early.body));
  });
});
