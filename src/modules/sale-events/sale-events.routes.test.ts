import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { sql } from 'drizzle-orm';
import { createTestApp, type TestApp } from '../../../test/helpers/app.ts';
import { MAX_ADMISSION_PER_SECOND, MIN_ADMISSION_PER_SECOND } from './sale-events.schemas.ts';

describe('sale events API: the waiting room rate', () => {
  let t: TestApp;
  before(async () => {
    t = await createTestApp({ WAITING_ROOM_EVENTS_REFRESH_MS: '100' });
  });
  after(() => t.close());

  const event = (waitingRoom: unknown) => {
    const now = Date.now();
    return t.app.inject({
      method: 'POST',
      url: '/api/v1/admin/sale-events',
      headers: t.admin,
      payload: { name: `Drop ${Math.random()}`, startsAt: new Date(now - 60_000).toISOString(), endsAt: new Date(now + 3_600_000).toISOString(), waitingRoom },
    });
  };

  it(`refuses an admission rate below ${MIN_ADMISSION_PER_SECOND} visitor a second, on create and on update, and writes nothing`, async () => {
    for (const admissionPerSecond of [1e-300, 0.5, MIN_ADMISSION_PER_SECOND - 1e-9]) {
      const reply = await event({ enabled: true, admissionPerSecond });
      assert.equal(reply.statusCode, 400, `${admissionPerSecond}: ${reply.body}`);
      assert.equal(reply.json().error.code, 'VALIDATION_FAILED');
    }
    const events = await t.platform.db.primary.execute<{ n: number }>(sql`select count(*)::int as n from sale_events`);
    assert.equal(events.rows[0]!.n, 0);
    const created = await event({ enabled: true, admissionPerSecond: MIN_ADMISSION_PER_SECOND });
    assert.equal(created.statusCode, 201, created.body);
    const patch = await t.app.inject({ method: 'PATCH', url: `/api/v1/admin/sale-events/${created.json().id}`, headers: t.admin, payload: { waitingRoom: { enabled: true, admissionPerSecond: 1e-300 } } });
    assert.equal(patch.statusCode, 400, patch.body);
    assert.equal(patch.json().error.code, 'VALIDATION_FAILED');
    const kept = await t.app.inject({ url: `/api/v1/admin/sale-events/${created.json().id}`, headers: t.admin });
    assert.equal(kept.json().waitingRoom.admissionPerSecond, MIN_ADMISSION_PER_SECOND);
  });

  it(`refuses an admission rate above ${MAX_ADMISSION_PER_SECOND} visitors a second (what the admission steps run), naming the maximum`, async () => {
    const refused = await event({ enabled: true, admissionPerSecond: MAX_ADMISSION_PER_SECOND + 1 });
    assert.equal(refused.statusCode, 400, refused.body);
    assert.equal(refused.json().error.code, 'VALIDATION_FAILED');
    assert.match(refused.body, new RegExp(String(MAX_ADMISSION_PER_SECOND)));
    const created = await event({ enabled: true, admissionPerSecond: MAX_ADMISSION_PER_SECOND });
    assert.equal(created.statusCode, 201, created.body);
    const patch = await t.app.inject({ method: 'PATCH', url: `/api/v1/admin/sale-events/${created.json().id}`, headers: t.admin, payload: { waitingRoom: { enabled: true, admissionPerSecond: 1_000_000 } } });
    assert.equal(patch.statusCode, 400, patch.body);
    assert.equal(patch.json().error.code, 'VALIDATION_FAILED');
  });

  it('keeps the configured rate when a PATCH switches the room off and on without naming it; null returns to the derived rate', async () => {
    const created = await event({ enabled: true, admissionPerSecond: 250 });
    assert.equal(created.statusCode, 201, created.body);
    const id = created.json().id;
    const patch = (payload: Record<string, unknown>) => t.app.inject({ method: 'PATCH', url: `/api/v1/admin/sale-events/${id}`, headers: t.admin, payload });
    const off = await patch({ waitingRoom: { enabled: false } });
    assert.equal(off.statusCode, 200, off.body);
    assert.deepEqual(off.json().waitingRoom, { enabled: false, admissionPerSecond: 250, paused: false });
    const on = await patch({ waitingRoom: { enabled: true } });
    assert.equal(on.statusCode, 200, on.body);
    assert.deepEqual(on.json().waitingRoom, { enabled: true, admissionPerSecond: 250, paused: false }, 'the rate the admin configured survives switching the room off and on');
    const renamed = await patch({ name: 'Drop, renamed' });
    assert.deepEqual(renamed.json().waitingRoom, { enabled: true, admissionPerSecond: 250, paused: false });
    const derived = await patch({ waitingRoom: { enabled: true, admissionPerSecond: null } });
    assert.equal(derived.statusCode, 200, derived.body);
    assert.deepEqual(derived.json().waitingRoom, { enabled: true, admissionPerSecond: null, paused: false });
    const stored = await t.app.inject({ url: `/api/v1/admin/sale-events/${id}`, headers: t.admin });
    assert.deepEqual(stored.json().waitingRoom, { enabled: true, admissionPerSecond: null, paused: false });
  });

  it('admits and estimates at the minimum rate for an event stored with a lower one before the minimum existed', async () => {
    const created = await event({ enabled: true, admissionPerSecond: 5 });
    assert.equal(created.statusCode, 201, created.body);
    const id = created.json().id;
    await t.platform.db.primary.execute(sql`update sale_events set admission_per_second = 1e-300 where id = ${id}`);
    // The registry re-reads the rooms every WAITING_ROOM_EVENTS_REFRESH_MS.
    let room = await t.app.inject({ url: `/api/v1/sale-events/${id}/queue` });
    for (const deadline = Date.now() + 30_000; room.json().admissionPerSecond !== MIN_ADMISSION_PER_SECOND && Date.now() < deadline; ) {
      await new Promise((resolve) => setTimeout(resolve, 100));
      room = await t.app.inject({ url: `/api/v1/sale-events/${id}/queue` });
    }
    assert.equal(room.json().admissionPerSecond, MIN_ADMISSION_PER_SECOND, room.body);
    const joined = await t.app.inject({ method: 'POST', url: `/api/v1/sale-events/${id}/queue` });
    assert.equal(joined.statusCode, 201, joined.body);
    const ticket = joined.json();
    assert.equal(ticket.state, 'waiting', joined.body);
    assert.equal(ticket.etaSeconds, Math.ceil(ticket.position / MIN_ADMISSION_PER_SECOND), 'an estimate at the minimum rate (it was 1e300 s)');
  });

  it('pauses a room until a PATCH names paused: false again; anything but a boolean is refused', async () => {
    const created = await event({ enabled: true, admissionPerSecond: 50 });
    assert.equal(created.statusCode, 201, created.body);
    assert.equal(created.json().waitingRoom.paused, false);
    const id = created.json().id;
    const patch = (payload: Record<string, unknown>) => t.app.inject({ method: 'PATCH', url: `/api/v1/admin/sale-events/${id}`, headers: t.admin, payload });
    const held = await patch({ waitingRoom: { enabled: true, paused: true } });
    assert.equal(held.statusCode, 200, held.body);
    assert.deepEqual(held.json().waitingRoom, { enabled: true, admissionPerSecond: 50, paused: true });
    const rated = await patch({ waitingRoom: { enabled: true, admissionPerSecond: 20 } });
    assert.deepEqual(rated.json().waitingRoom, { enabled: true, admissionPerSecond: 20, paused: true }, 'a PATCH that leaves paused out keeps it');
    const bad = await patch({ waitingRoom: { enabled: true, paused: 'yes' } });
    assert.equal(bad.statusCode, 400, bad.body);
    assert.equal(bad.json().error.code, 'VALIDATION_FAILED');
    let room = await t.app.inject({ url: `/api/v1/sale-events/${id}/queue` });
    for (const deadline = Date.now() + 30_000; room.json().paused !== true && Date.now() < deadline; ) {
      await new Promise((resolve) => setTimeout(resolve, 100));
      room = await t.app.inject({ url: `/api/v1/sale-events/${id}/queue` });
    }
    assert.equal(room.json().paused, true, room.body);
    const resumed = await patch({ waitingRoom: { enabled: true, paused: false } });
    assert.deepEqual(resumed.json().waitingRoom, { enabled: true, admissionPerSecond: 20, paused: false });
  });
});
