import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { sql } from 'drizzle-orm';
import { createTestApp, type TestApp } from '../helpers/app.ts';

/**
 * `trafficMultiplier` is traffic relative to a normal hour: only "above 0" was checked, so a denormal such as 1e-320
 * was stored, a figure no sale plans for that the forecast then scales by. The lowest taken is 0.01 (1 % of a normal
 * hour), on create and on update.
 */
describe('sale event traffic multiplier lower bound', () => {
  let t: TestApp;
  before(async () => {
    t = await createTestApp();
  });
  after(() => t.close());

  const window = { startsAt: '2030-06-01T10:00:00Z', endsAt: '2030-06-01T12:00:00Z' };

  it('refuses a multiplier below 0.01 on create and on update, and takes 0.01', async () => {
    for (const trafficMultiplier of [1e-320, 1e-9, 0.009]) {
      const reply = await t.app.inject({ method: 'POST', url: '/api/v1/admin/sale-events', headers: t.admin, payload: { name: 'Tiny', ...window, trafficMultiplier } });
      assert.equal(reply.statusCode, 400, `${trafficMultiplier}: ${reply.body}`);
      assert.equal(reply.json().error.code, 'VALIDATION_FAILED');
      assert.equal(reply.json().error.details.issues[0].path, '/trafficMultiplier');
    }
    const events = await t.platform.db.primary.execute<{ n: number }>(sql`select count(*)::int as n from sale_events`);
    assert.equal(events.rows[0]!.n, 0);

    const created = await t.app.inject({ method: 'POST', url: '/api/v1/admin/sale-events', headers: t.admin, payload: { name: 'Quiet', ...window, trafficMultiplier: 0.01 } });
    assert.equal(created.statusCode, 201, created.body);
    const patch = await t.app.inject({ method: 'PATCH', url: `/api/v1/admin/sale-events/${created.json().id}`, headers: t.admin, payload: { trafficMultiplier: 1e-320 } });
    assert.equal(patch.statusCode, 400, patch.body);
    assert.equal(patch.json().error.code, 'VALIDATION_FAILED');
    const kept = await t.app.inject({ url: `/api/v1/admin/sale-events/${created.json().id}`, headers: t.admin });
    assert.equal(kept.json().trafficMultiplier, 0.01);
  });
});
