import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { sql } from 'drizzle-orm';
import { createTestApp, type TestApp } from '../helpers/app.ts';

/**
 * RFC 3339 allows any number of fractional digits, and the schema accepts them. A window whose `endsAt` is after
 * its `startsAt` only below the millisecond is a valid window by the documented rule (`endsAt` after `startsAt`),
 * yet the service truncates both to JavaScript milliseconds first and refuses it as 422 INVALID_SALE_WINDOW, with
 * details naming two equal instants the admin never sent. Either the instants are kept (PostgreSQL stores
 * microseconds) or a precision the API cannot keep is refused as such; not a window error for a valid window.
 */
describe('sale event window with sub-millisecond instants', () => {
  let t: TestApp;
  before(async () => {
    t = await createTestApp();
  });
  after(() => t.close());

  it('refuses a window whose end is after its start by under a millisecond as a precision error, not INVALID_SALE_WINDOW', async () => {
    const startsAt = '2030-06-01T10:00:00.0001Z';
    const endsAt = '2030-06-01T10:00:00.0009Z';
    const reply = await t.app.inject({ method: 'POST', url: '/api/v1/admin/sale-events', headers: t.admin, payload: { name: 'Micro drop', startsAt, endsAt } });
    assert.notEqual(
      reply.json().error?.code,
      'INVALID_SALE_WINDOW',
      `endsAt ${endsAt} is after startsAt ${startsAt}, yet the window is refused as ending before it starts: ${reply.body}`,
    );
    // Instants are kept to the millisecond: a digit below it is refused as such, on the field that has it.
    assert.equal(reply.statusCode, 400, reply.body);
    const error = reply.json().error;
    assert.equal(error.code, 'VALIDATION_FAILED');
    assert.equal(error.details.issues[0].path, '/startsAt');
    assert.match(error.details.issues[0].message, /millisecond/);
  });

  it('takes digits past the millisecond when they are zeros, as the instant they name', async () => {
    const startsAt = '2030-06-01T10:00:00.123000Z';
    const endsAt = '2030-06-01T11:00:00.000000000+00:00';
    const reply = await t.app.inject({ method: 'POST', url: '/api/v1/admin/sale-events', headers: t.admin, payload: { name: 'Zeros drop', startsAt, endsAt } });
    assert.equal(reply.statusCode, 201, reply.body);
    assert.equal(reply.json().startsAt, '2030-06-01T10:00:00.123Z');
    assert.equal(reply.json().endsAt, '2030-06-01T11:00:00.000Z');
    const stored = await t.platform.db.primary.execute<{ ok: boolean }>(sql`select ends_at > starts_at as ok from sale_events where id = ${reply.json().id}`);
    assert.equal(stored.rows[0]!.ok, true);
  });

  it('applies the same rule to the admin filters that take an instant', async () => {
    for (const url of ['/api/v1/admin/sale-events?activeAt=2030-06-01T10:00:00.0001Z', '/api/v1/admin/orders?from=2030-06-01T10:00:00.0001Z', '/api/v1/admin/orders?to=2030-06-01T10:00:00.1234Z']) {
      const reply = await t.app.inject({ method: 'GET', url, headers: t.admin });
      assert.equal(reply.statusCode, 400, `${url}: ${reply.body}`);
      assert.equal(reply.json().error.code, 'VALIDATION_FAILED');
      assert.match(reply.json().error.details.issues[0].message, /millisecond/);
    }
    const zeros = await t.app.inject({ method: 'GET', url: '/api/v1/admin/orders?from=2030-06-01T10:00:00.100000Z', headers: t.admin });
    assert.equal(zeros.statusCode, 200, zeros.body);
  });
});
