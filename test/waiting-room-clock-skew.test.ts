import assert from 'node:assert/strict';
import { existsSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, it, type TestContext } from 'node:test';
import { createTestApp, type TestApp } from './helpers/app.ts';
import { request } from './helpers/http.ts';
import { startInstance, type Instance } from './helpers/instances.ts';
import { createQueuedProduct, createQueuedSale } from './helpers/waiting-room.ts';

/** Debian's libfaketime (package `faketime`), which shifts one process's clock; undefined without it. */
function findLibfaketime(): string | undefined {
  const lib = '/usr/lib';
  if (!existsSync(lib)) return undefined;
  for (const dir of [lib, ...readdirSync(lib).map((name) => path.join(lib, name))]) {
    const candidate = path.join(dir, 'faketime', 'libfaketimeMT.so.1');
    if (existsSync(candidate)) return candidate;
  }
  return undefined;
}

/**
 * The waiting room on instances whose clocks disagree (a VM whose NTP stopped): whether a queued sale
 * is live is decided on Redis's clock, the one admission runs on, not on each instance's own.
 * Three real `salescale serve` processes: one on time, one 30 s behind, one 30 s ahead (libfaketime).
 */
describe('waiting room on instances with skewed clocks', () => {
  const libfaketime = findLibfaketime();
  let t: TestApp;
  let onTime: Instance;
  let behind: Instance;
  let ahead: Instance;
  let address = 0;
  const nextAddress = () => `10.88.0.${++address}`;

  const skipWithout = (context: TestContext) => {
    if (libfaketime) return false;
    const reason = 'libfaketime not installed (apt-get install faketime)';
    if (process.env.CI === 'true') throw new Error(`${reason} — CI must run the clock-skew tests`);
    context.skip(reason);
    return true;
  };

  before(async () => {
    if (!libfaketime) return;
    t = await createTestApp({ RATE_LIMIT_GENERAL_MAX: '1000000', RATE_LIMIT_CHECKOUT_MAX: '1000000', TRUST_PROXY: '127.0.0.1', WAITING_ROOM_EVENTS_REFRESH_MS: '200' });
    const env = { ...t.env, DB_POOL_MAX: '4', LOG_LEVEL: process.env.DEBUG_INSTANCES ? 'warn' : 'silent' };
    const skewed = (offset: string) => ({ ...env, LD_PRELOAD: libfaketime, FAKETIME: offset });
    [onTime, behind, ahead] = await Promise.all([startInstance({ env }), startInstance({ env: skewed('-30s') }), startInstance({ env: skewed('+30s') })]);
    const clocks = await Promise.all([onTime, behind, ahead].map((i) => fetch(`${i.url}/health`).then((r) => Date.parse(r.headers.get('date') ?? ''))));
    assert.ok(clocks[1]! < clocks[0]! - 20_000 && clocks[2]! > clocks[0]! + 20_000, `the instances' clocks are skewed: ${clocks.map((c) => new Date(c).toISOString())}`);
  });
  after(async () => {
    await Promise.all([onTime?.stop(), behind?.stop(), ahead?.stop()]);
    if (process.env.DEBUG_INSTANCES) console.log(onTime?.output(), behind?.output(), ahead?.output());
    await t?.close();
  });

  async function queuedSale(startsInMs: number): Promise<{ eventId: number; productId: number }> {
    const productId = await createQueuedProduct(onTime.url, t.admin, { available: 100, priceCents: 700, skuPrefix: 'skew' });
    const eventId = await createQueuedSale(onTime.url, t.admin, [onTime, behind, ahead], { productIds: [productId], startsInMs, endsInMs: 3_600_000, admissionPerSecond: 10 });
    return { eventId, productId };
  }

  const guestOrder = (on: Instance, productId: number) =>
    request(`${on.url}/api/v1/orders`, {
      method: 'POST',
      headers: { 'x-forwarded-for': nextAddress(), 'idempotency-key': `skew-${Math.random()}` },
      body: { email: `skew-${address}@example.com`, items: [{ productId, quantity: 1 }] },
    });

  it('needs a pass on every instance once the sale is live, even on one whose clock is behind', async (context) => {
    if (skipWithout(context)) return;
    const { productId } = await queuedSale(-1000);
    for (const instance of [onTime, behind, ahead]) {
      const reply = await guestOrder(instance, productId);
      assert.equal(reply.status, 403, `${instance === behind ? 'the instance 30 s behind' : 'an instance'} sold a queued product without a pass: ${JSON.stringify(reply.body)}`);
      assert.equal(reply.body.error.code, 'PASS_REQUIRED');
    }
  });

  // Before the start nobody holds a pass: the product is refused SALE_NOT_STARTED, not PASS_REQUIRED (the live sale's
  // refusal), on the room's clock, also on an instance whose own clock has already passed the start.
  it('refuses the products as not started on every instance before the sale starts, even on one whose clock is ahead', async (context) => {
    if (skipWithout(context)) return;
    const { eventId, productId } = await queuedSale(20_000);
    for (const instance of [onTime, behind, ahead]) {
      const reply = await guestOrder(instance, productId);
      assert.equal(reply.status, 403, `${instance === ahead ? 'the instance 30 s ahead' : 'an instance'} sold a product whose sale has not begun: ${JSON.stringify(reply.body)}`);
      assert.equal(reply.body.error.code, 'SALE_NOT_STARTED', `${instance === ahead ? 'the instance 30 s ahead' : 'an instance'} took the sale for live: ${JSON.stringify(reply.body)}`);
      assert.equal(reply.body.error.details.saleEventId, eventId);
    }
  });
});
