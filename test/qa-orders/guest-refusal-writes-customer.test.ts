import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { sql } from 'drizzle-orm';
import { createTestApp, type TestApp } from '../helpers/app.ts';

/**
 * A refused request writes nothing: a guest checkout that can place no order (an empty guest cart, 422 `EMPTY_CART`)
 * must not leave a customer record behind for the email it named. Today the route upserts the guest record
 * (`customers.guestId`) before it looks at the lines, so any address posted with an empty cart gets a row in
 * `customers`, although nothing was ordered (and anyone can fill the table with addresses that never bought).
 */
describe('guest checkout refused EMPTY_CART', () => {
  let t: TestApp;
  before(async () => {
    t = await createTestApp({ RATE_LIMIT_CHECKOUT_MAX: '1000' });
  });
  after(() => t.close());

  const customerRowsFor = async (email: string) =>
    Number((await t.platform.db.primary.execute<{ n: string }>(sql`select count(*) as n from customers where lower(email) = ${email}`)).rows[0]!.n);

  it('answers 422 EMPTY_CART and writes no guest customer record', async () => {
    const email = 'qa-empty-cart-guest@example.com';
    const reply = await t.app.inject({ method: 'POST', url: '/api/v1/orders', headers: { 'idempotency-key': 'qa-empty-guest-1' }, payload: { email } });
    assert.equal(reply.statusCode, 422, reply.body);
    assert.equal(reply.json().error.code, 'EMPTY_CART');
    assert.equal(await customerRowsFor(email), 0, 'a refused guest checkout left a customer record for its email');
  });
});
