import assert from 'node:assert/strict';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { createTestApp, type TestApp } from '../helpers/app.ts';
import { request } from '../helpers/http.ts';
import { parsePrometheusText, total } from '../helpers/prometheus-text.ts';
import { waitFor } from '../helpers/queues.ts';
import { createQueuedProduct, createQueuedSale } from '../helpers/waiting-room.ts';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * `salescale_waiting_room_wait_seconds` measures how long the line kept a visitor: from joining, or from the
 * sale's start for a visitor who joined before it. Time in the pre-queue is waiting for the sale, not for
 * capacity (counted, it fired WaitingRoomLongWait at the start of every sale whose line opened early).
 */
describe('waiting-room wait metric', () => {
  let t: TestApp;
  let url: string;

  before(async () => {
    t = await createTestApp({ WAITING_ROOM_EVENTS_REFRESH_MS: '100', WAITING_ROOM_TICK_MS: '20', WAITING_ROOM_TICKETS_PER_ADDRESS: '100' });
    await t.app.listen({ port: 0, host: '127.0.0.1' });
    url = `http://127.0.0.1:${(t.app.server.address() as AddressInfo).port}`;
  });
  after(async () => {
    await t?.close();
  });

  interface Visitor {
    ticket: string;
    cookie: string;
    /** Date.now() before and after the join request: Redis recorded the join in between (same machine, same clock). */
    joinedAfter: number;
    joinedBefore: number;
  }

  async function join(eventId: number): Promise<Visitor> {
    const joinedAfter = Date.now();
    const reply = await request(`${url}/api/v1/sale-events/${eventId}/queue`, { method: 'POST' });
    const joinedBefore = Date.now();
    assert.equal(reply.status, 201, JSON.stringify(reply.body));
    const cookie = reply.headers.getSetCookie().find((c) => c.startsWith('salescale_visitor='))!.split(';')[0]!;
    return { ticket: reply.body.ticket, cookie, joinedAfter, joinedBefore };
  }

  async function admittedAt(eventId: number, v: Visitor): Promise<number> {
    for (let i = 0; i < 300; i++) {
      const reply = await request(`${url}/api/v1/sale-events/${eventId}/queue/${encodeURIComponent(v.ticket)}`, { headers: { cookie: v.cookie } });
      assert.equal(reply.status, 200, JSON.stringify(reply.body));
      if (reply.body.state === 'admitted') return Date.parse(reply.body.admittedAt);
      await sleep(50);
    }
    throw new Error('never admitted');
  }

  it('measures a pre-queue visitor from the start and a later arrival from joining', async () => {
    const productId = await createQueuedProduct(url, t.admin, { available: 100 });
    // Two admissions a second: the pre-queue of three takes about 1.5 s after the start, the later arrival waits behind it.
    // The start leaves room for the instance's re-read of the rooms (awaited by createQueuedSale) and the three joins
    // before it, seconds on a loaded machine (2.5 s could pass before the pre-queue joined).
    const eventId = await createQueuedSale(url, t.admin, [{ url }], { productIds: [productId], startsInMs: 6000, admissionPerSecond: 2 });
    const startsAt = Date.parse((await request(`${url}/api/v1/sale-events/${eventId}/queue`)).body.startsAt);

    const early = [await join(eventId), await join(eventId), await join(eventId)];
    assert.ok(early.every((v) => v.joinedBefore < startsAt), 'the pre-queue joined before the start');
    // The later arrival joins once the pre-queue is drawn (by the admission step, late on a loaded machine): before
    // that it would be drawn with the pre-queue and measured from the start.
    while (Date.now() < startsAt + 300) await sleep(20);
    await waitFor('the pre-queue drawn', async () => {
      const status = (await request(`${url}/api/v1/sale-events/${eventId}/queue/${encodeURIComponent(early[0]!.ticket)}`, { headers: { cookie: early[0]!.cookie } })).body;
      return typeof status.position === 'number' || status.state === 'admitted' || null;
    }, 15_000);
    const late = await join(eventId);

    const earlyAdmitted = await Promise.all(early.map((v) => admittedAt(eventId, v)));
    const lateAdmitted = await admittedAt(eventId, late);
    assert.ok(earlyAdmitted.every((at) => at >= startsAt) && lateAdmitted > late.joinedBefore);

    const samples = parsePrometheusText((await t.app.inject({ method: 'GET', url: '/metrics' })).body);
    const label = { sale_event: String(eventId) };
    assert.equal(total(samples, 'salescale_waiting_room_wait_seconds_count', label), 4);
    const recorded = total(samples, 'salescale_waiting_room_wait_seconds_sum', label);

    // Pre-queue: admission − start, exactly (both on Redis's clock). Later arrival: admission − its join.
    const fromStart = earlyAdmitted.reduce((sum, at) => sum + (at - startsAt), 0) / 1000;
    const lateLeast = (lateAdmitted - late.joinedBefore) / 1000;
    const lateMost = (lateAdmitted - late.joinedAfter) / 1000;
    assert.ok(
      recorded >= fromStart + lateLeast - 0.002 && recorded <= fromStart + lateMost + 0.002,
      `recorded ${recorded} s; expected ${fromStart} s for the pre-queue (from the start) + ${lateLeast}…${lateMost} s for the later arrival (from joining)`,
    );
    // Counted from joining, the pre-queue alone would have carried its ≥ 2 s before the start.
    const fromJoining = earlyAdmitted.reduce((sum, at, i) => sum + (at - early[i]!.joinedBefore), 0) / 1000;
    assert.ok(recorded < fromJoining, `the time before the start is not counted (${recorded} s < ${fromJoining} s)`);
  });
});
