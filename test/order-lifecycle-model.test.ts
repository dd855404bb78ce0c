import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { sql } from 'drizzle-orm';
import fc from 'fast-check';
import type { OrderExpiry } from '../src/modules/orders/index.ts';
import { createTestApp, type TestApp } from './helpers/app.ts';
import { insertCustomers, mintSessionCookies, stockViewNotices, stockViewNoticesHeard, workerExpiryFor } from './helpers/commerce.ts';

/**
 * Model-based test of the order lifecycle through the HTTP API (`app.inject` against the real
 * PostgreSQL and Redis): random sequences of checkouts (quantities above the stock included), their
 * replays, cancellations by buyer and admin, payments (approved and declined), fulfilments, refunds,
 * stock adjustments and settings, and reservations expiring, checked after every step against a
 * model of the shop:
 * - every reply is below 500, a refusal has the one error shape with the request id;
 * - per product, units on sale == what the model says, never negative, and units on sale + units held
 *   by live orders (waiting for payment, paid, shipped) == initial stock + every adjustment: never oversold,
 *   never lost;
 * - every order's status is the model's, so it only moved along the documented edges
 *   (pending_payment → paid → fulfilled; pending_payment → expired | cancelled; paid → refunded);
 * - a retry with the same idempotency key answers what the first call answered.
 *
 * Deterministic by default; `MODEL_SEED=<n>` or `MODEL_SEED=random` explores further, `MODEL_RUNS` sets the runs.
 */
const SEED = process.env.MODEL_SEED === 'random' ? Date.now() : Number(process.env.MODEL_SEED ?? 20261206);
const RUNS = Number(process.env.MODEL_RUNS ?? 40);
const PAYMENT_WINDOW_S = 600;

type Status = 'pending_payment' | 'paid' | 'fulfilled' | 'expired' | 'cancelled' | 'refunded';

interface ModelProduct {
  id: number;
  /** Initial stock plus every adjustment applied. */
  total: number;
  available: number;
}
interface ModelOrder {
  id: number;
  buyer: number;
  units: Map<number, number>;
  status: Status;
}
interface Model {
  products: ModelProduct[];
  buyers: string[];
  orders: ModelOrder[];
}
interface Real {
  t: TestApp;
  expiry: OrderExpiry;
}
type Reply = Awaited<ReturnType<TestApp['app']['inject']>>;

let t: TestApp;
let expiry: OrderExpiry;
let keySeq = 0;
/** Replies seen, by step and status: the sequences must reach every transition, not only refusals. */
const seen = new Map<string, number>();
const nextKey = (what: string) => `${what}-${process.pid}-${++keySeq}`;

/**
 * A reply below 500; a refusal in the one error shape, with the request id and the expected code. A replay
 * (`replayOf`) answers the first reply's status and body, with its own request id.
 */
function checkReply(reply: Reply, what: string, expected: { status: number; code?: string; replayOf?: Reply }): void {
  const where = `${what} → ${reply.statusCode} ${reply.body.slice(0, 400)}`;
  assert.ok(reply.statusCode < 500, where);
  const step = what.split(/[( ]/)[0]!;
  seen.set(`${step} ${reply.statusCode}`, (seen.get(`${step} ${reply.statusCode}`) ?? 0) + 1);
  if (reply.statusCode >= 400) {
    const body = reply.json();
    assert.match(body.error?.code ?? '', /^[A-Z][A-Z0-9_]+$/, where);
    assert.equal(typeof body.error.message, 'string', where);
    assert.equal(body.error.requestId, reply.headers['x-request-id'], where);
  }
  if (expected.replayOf) {
    assert.equal(reply.headers['idempotent-replayed'], 'true', where);
    const withoutRequestId = (r: Reply) => (r.statusCode >= 400 ? { ...r.json(), error: { ...r.json().error, requestId: undefined } } : r.json());
    assert.deepEqual(withoutRequestId(reply), withoutRequestId(expected.replayOf), where);
  }
  assert.equal(reply.statusCode, expected.status, where);
  if (expected.code !== undefined) assert.equal(reply.json().error.code, expected.code, where);
}

/** The stock and the orders in PostgreSQL and through the API agree with the model. */
async function checkInvariants(m: Model, r: Real, after: string): Promise<void> {
  const db = r.t.platform.db.primary;
  for (const p of m.products) {
    const rows = await db.execute<{ available: string; held: string; negative: string }>(sql`
      select (select coalesce(sum(available), 0) from product_stock where product_id = ${p.id}) as available,
        (select count(*) from product_stock where product_id = ${p.id} and available < 0) as negative,
        (select coalesce(sum(i.quantity), 0) from order_items i join orders o on o.id = i.order_id
          where i.product_id = ${p.id} and o.status in ('pending_payment', 'paid', 'fulfilled')) as held`);
    const row = rows.rows[0]!;
    const available = Number(row.available);
    assert.equal(Number(row.negative), 0, `after ${after}: product ${p.id} has a negative stock row`);
    assert.equal(available, p.available, `after ${after}: product ${p.id} has ${available} on sale, the model ${p.available}`);
    assert.equal(available + Number(row.held), p.total, `after ${after}: product ${p.id}: ${available} on sale + ${row.held} held != ${p.total} stocked`);
    const shown = await r.t.app.inject({ method: 'GET', url: `/api/v1/admin/products/${p.id}`, headers: r.t.admin });
    checkReply(shown, `show(product ${p.id})`, { status: 200 });
    assert.equal(shown.json().available, p.available, `after ${after}: the admin API shows product ${p.id} with ${shown.json().available} on sale`);
  }
  if (m.orders.length === 0) return;
  const statuses = await db.execute<{ id: string; status: Status }>(sql`select id, status from orders where id = any(${`{${m.orders.map((o) => o.id).join(',')}}`}::bigint[])`);
  const byId = new Map(statuses.rows.map((row) => [Number(row.id), row.status]));
  for (const o of m.orders) assert.equal(byId.get(o.id), o.status, `after ${after}: order ${o.id} is ${byId.get(o.id)}, the model ${o.status}`);
}

function giveBack(m: Model, order: ModelOrder): void {
  for (const [index, units] of order.units) m.products[index]!.available += units;
}

abstract class Step implements fc.AsyncCommand<Model, Real> {
  abstract apply(m: Model, r: Real): Promise<void>;
  abstract toString(): string;
  check(): true {
    return true;
  }
  async run(m: Model, r: Real): Promise<void> {
    await this.apply(m, r);
    await checkInvariants(m, r, this.toString());
  }
}

/** Steps on an order pick one of the orders placed so far, counting back from the latest (none yet: nothing to do). */
abstract class OrderStep extends Step {
  readonly pick: number;
  constructor(pick: number) {
    super();
    this.pick = pick;
  }
  override async run(m: Model, r: Real): Promise<void> {
    if (m.orders.length === 0) return;
    await super.run(m, r);
  }
  order(m: Model): ModelOrder {
    return m.orders[m.orders.length - 1 - (this.pick % m.orders.length)]!;
  }
}

class PlaceOrder extends Step {
  readonly buyer: number;
  readonly lines: { product: number; quantity: number }[];
  constructor(buyer: number, lines: { product: number; quantity: number }[]) {
    super();
    this.buyer = buyer;
    this.lines = lines;
  }
  toString() {
    return `place(buyer ${this.buyer}, ${this.lines.map((l) => `${l.quantity}×p${l.product}`).join(' ')})`;
  }
  async apply(m: Model, r: Real) {
    const wanted = new Map<number, number>();
    for (const line of this.lines) wanted.set(line.product, (wanted.get(line.product) ?? 0) + line.quantity);
    const fits = [...wanted].every(([index, units]) => units <= m.products[index]!.available);
    const request = {
      method: 'POST' as const,
      url: '/api/v1/orders',
      headers: { cookie: m.buyers[this.buyer]!, 'idempotency-key': nextKey('order') },
      payload: { items: this.lines.map((l) => ({ productId: m.products[l.product]!.id, quantity: l.quantity })) },
    };
    const reply = await r.t.app.inject(request);
    checkReply(reply, this.toString(), fits ? { status: 201 } : { status: 409, code: 'OUT_OF_STOCK' });
    if (fits) {
      const order = reply.json();
      assert.equal(order.status, 'pending_payment');
      for (const [index, units] of wanted) m.products[index]!.available -= units;
      m.orders.push({ id: order.id, buyer: this.buyer, units: wanted, status: 'pending_payment' });
    }
    const again = await r.t.app.inject(request);
    checkReply(again, `replay of ${this}`, { status: reply.statusCode, replayOf: reply });
  }
}

class Cancel extends OrderStep {
  readonly byAdmin: boolean;
  constructor(pick: number, byAdmin: boolean) {
    super(pick);
    this.byAdmin = byAdmin;
  }
  toString() {
    return `cancel(order #${this.pick}${this.byAdmin ? ', admin' : ''})`;
  }
  async apply(m: Model, r: Real) {
    const o = this.order(m);
    const url = this.byAdmin ? `/api/v1/admin/orders/${o.id}/cancel` : `/api/v1/orders/${o.id}/cancel`;
    const headers = this.byAdmin ? r.t.admin : { cookie: m.buyers[o.buyer]! };
    const reply = await r.t.app.inject({ method: 'POST', url, headers });
    const allowed = o.status === 'pending_payment' || o.status === 'cancelled';
    checkReply(reply, `${this} of ${o.status} order ${o.id}`, allowed ? { status: 200 } : { status: 409, code: 'ORDER_NOT_CANCELLABLE' });
    if (o.status === 'pending_payment') giveBack(m, o);
    if (allowed) {
      o.status = 'cancelled';
      assert.equal(reply.json().status, 'cancelled');
    }
  }
}

class Pay extends OrderStep {
  readonly approved: boolean;
  constructor(pick: number, approved: boolean) {
    super(pick);
    this.approved = approved;
  }
  toString() {
    return `pay(order #${this.pick}, ${this.approved ? 'tok_ok' : 'tok_declined'})`;
  }
  async apply(m: Model, r: Real) {
    const o = this.order(m);
    const request = {
      method: 'POST' as const,
      url: `/api/v1/orders/${o.id}/pay`,
      headers: { cookie: m.buyers[o.buyer]!, 'idempotency-key': nextKey('pay') },
      payload: { token: this.approved ? 'tok_ok' : 'tok_declined' },
    };
    const reply = await r.t.app.inject(request);
    const what = `${this} of ${o.status} order ${o.id}`;
    if (o.status === 'pending_payment') {
      checkReply(reply, what, this.approved ? { status: 200 } : { status: 402, code: 'PAYMENT_DECLINED' });
      if (this.approved) {
        o.status = 'paid';
        assert.equal(reply.json().status, 'paid', what);
        const again = await r.t.app.inject(request);
        checkReply(again, `replay of ${what}`, { status: 200 });
        assert.equal(again.json().status, 'paid', `replay of ${what}`);
      }
    } else {
      const code = o.status === 'expired' ? 'ORDER_EXPIRED' : o.status === 'paid' || o.status === 'fulfilled' ? 'ORDER_ALREADY_PAID' : 'ORDER_NOT_PAYABLE';
      checkReply(reply, what, { status: 409, code });
    }
  }
}

class Fulfil extends OrderStep {
  toString() {
    return `fulfil(order #${this.pick})`;
  }
  async apply(m: Model, r: Real) {
    const o = this.order(m);
    const reply = await r.t.app.inject({ method: 'POST', url: `/api/v1/admin/orders/${o.id}/fulfill`, headers: r.t.admin });
    const allowed = o.status === 'paid' || o.status === 'fulfilled';
    checkReply(reply, `${this} of ${o.status} order ${o.id}`, allowed ? { status: 200 } : { status: 409, code: 'ORDER_NOT_FULFILLABLE' });
    if (allowed) {
      o.status = 'fulfilled';
      assert.equal(reply.json().status, 'fulfilled');
    }
  }
}

class Refund extends OrderStep {
  toString() {
    return `refund(order #${this.pick})`;
  }
  async apply(m: Model, r: Real) {
    const o = this.order(m);
    const reply = await r.t.app.inject({ method: 'POST', url: `/api/v1/admin/orders/${o.id}/refund`, headers: r.t.admin });
    const allowed = o.status === 'paid' || o.status === 'refunded';
    checkReply(reply, `${this} of ${o.status} order ${o.id}`, allowed ? { status: 200 } : { status: 409, code: 'ORDER_NOT_REFUNDABLE' });
    if (o.status === 'paid') giveBack(m, o);
    if (allowed) {
      o.status = 'refunded';
      assert.equal(reply.json().status, 'refunded');
    }
  }
}

/** The payment window of the order ends (its creation moved back past it) and the expiry sweep runs. */
class Expire extends OrderStep {
  toString() {
    return `expire(order #${this.pick})`;
  }
  async apply(m: Model, r: Real) {
    const o = this.order(m);
    await r.t.platform.db.primary.execute(
      sql`update orders set created_at = created_at - make_interval(secs => ${PAYMENT_WINDOW_S + 60}) where id = ${o.id} and status = 'pending_payment'`,
    );
    const { published: publishedBefore } = await stockViewNotices(r.t);
    const expired = await r.expiry.sweepOnce();
    seen.set(`expire ${expired}`, (seen.get(`expire ${expired}`) ?? 0) + 1);
    assert.equal(expired, o.status === 'pending_payment' ? 1 : 0, `${this} of ${o.status} order ${o.id}`);
    if (o.status === 'pending_payment') {
      giveBack(m, o);
      o.status = 'expired';
      // The sweep runs in the worker, another process: the web instance forgets its memory of the products when
      // the sweep's notice arrives over Redis pub/sub (stock-view-notices.ts), not when the sweep returns.
      await stockViewNoticesHeard(r.t, publishedBefore);
    }
  }
}

class AdjustStock extends Step {
  readonly product: number;
  readonly delta: number;
  constructor(product: number, delta: number) {
    super();
    this.product = product;
    this.delta = delta;
  }
  toString() {
    return `adjust(p${this.product}, ${this.delta > 0 ? '+' : ''}${this.delta})`;
  }
  async apply(m: Model, r: Real) {
    const p = m.products[this.product]!;
    const request = {
      method: 'POST' as const,
      url: `/api/v1/admin/products/${p.id}/stock/adjustments`,
      headers: { ...r.t.admin, 'idempotency-key': nextKey('adjust') },
      payload: { delta: this.delta },
    };
    const reply = await r.t.app.inject(request);
    // A zero delta changes nothing and is refused as such (400), before the stock is looked at.
    const applies = this.delta !== 0 && p.available + this.delta >= 0;
    checkReply(reply, this.toString(), this.delta === 0 ? { status: 400, code: 'VALIDATION_FAILED' } : applies ? { status: 200 } : { status: 409, code: 'STOCK_OUT_OF_RANGE' });
    if (applies) {
      p.available += this.delta;
      p.total += this.delta;
      assert.equal(reply.json().available, p.available, this.toString());
    }
    const again = await r.t.app.inject(request);
    checkReply(again, `replay of ${this}`, { status: reply.statusCode });
    if (applies) {
      assert.equal(again.headers['idempotent-replayed'], 'true', `replay of ${this}`);
      assert.equal(again.json().available, p.available, `replay of ${this} applied it twice`);
    }
  }
}

class SetStock extends Step {
  readonly product: number;
  readonly available: number;
  constructor(product: number, available: number) {
    super();
    this.product = product;
    this.available = available;
  }
  toString() {
    return `set-stock(p${this.product}, ${this.available})`;
  }
  async apply(m: Model, r: Real) {
    const p = m.products[this.product]!;
    const reply = await r.t.app.inject({ method: 'PUT', url: `/api/v1/admin/products/${p.id}/stock`, headers: r.t.admin, payload: { available: this.available } });
    checkReply(reply, this.toString(), { status: 200 });
    assert.equal(reply.json().available, this.available, this.toString());
    p.total += this.available - p.available;
    p.available = this.available;
  }
}

const PRODUCTS = 2;
const BUYERS = 2;
/** Mostly the latest order, so that sequences take one order through payment, shipping or a refund. */
const pick = fc.oneof({ weight: 3, arbitrary: fc.constant(0) }, { weight: 2, arbitrary: fc.nat({ max: 20 }) });
/** Mostly one or two units, sometimes more than there are. */
const quantity = fc.oneof({ weight: 4, arbitrary: fc.integer({ min: 1, max: 2 }) }, { weight: 1, arbitrary: fc.integer({ min: 3, max: 12 }) });
const place = fc
  .tuple(fc.nat({ max: BUYERS - 1 }), fc.array(fc.record({ product: fc.nat({ max: PRODUCTS - 1 }), quantity }), { minLength: 1, maxLength: 3 }))
  .map(([buyer, lines]) => new PlaceOrder(buyer, lines));
const pay = fc.tuple(pick, fc.oneof({ weight: 4, arbitrary: fc.constant(true) }, { weight: 1, arbitrary: fc.constant(false) })).map(([n, ok]) => new Pay(n, ok));
// Checkouts and payments are listed twice: most sequences then reach paid, shipped and refunded orders.
const commands = [
  place,
  place,
  fc.tuple(pick, fc.boolean()).map(([n, admin]) => new Cancel(n, admin)),
  pay,
  pay,
  pick.map((n) => new Fulfil(n)),
  pick.map((n) => new Refund(n)),
  pick.map((n) => new Expire(n)),
  fc.tuple(fc.nat({ max: PRODUCTS - 1 }), fc.integer({ min: -6, max: 6 })).map(([p, delta]) => new AdjustStock(p, delta)),
  fc.tuple(fc.nat({ max: PRODUCTS - 1 }), fc.nat({ max: 8 })).map(([p, n]) => new SetStock(p, n)),
];

before(async () => {
  t = await createTestApp({ RATE_LIMIT_ENABLED: 'false', PAYMENT_WINDOW_S: String(PAYMENT_WINDOW_S) });
  expiry = workerExpiryFor(t, PAYMENT_WINDOW_S);
});
after(async () => {
  await t?.close();
});

describe('the order lifecycle against a model of the shop', () => {
  it('keeps stock, statuses and replies consistent over random sequences of API calls', async () => {
    let run = 0;
    await fc.assert(
      fc.asyncProperty(fc.array(fc.nat({ max: 8 }), { minLength: PRODUCTS, maxLength: PRODUCTS }), fc.commands(commands, { maxCommands: 20, size: 'large' }), async (initial, steps) => {
        run++;
        const products: ModelProduct[] = [];
        for (const [i, stock] of initial.entries()) {
          const created = await t.app.inject({
            method: 'POST',
            url: '/api/v1/admin/products',
            headers: t.admin,
            payload: { sku: `MODEL-${process.pid}-${run}-${i}-${Math.random().toString(36).slice(2, 8)}`, name: `Model ${i}`, priceCents: 250 + i, available: stock },
          });
          checkReply(created, 'create product', { status: 201 });
          products.push({ id: created.json().id, total: stock, available: stock });
        }
        const buyers = await mintSessionCookies(t.env, await insertCustomers(t.platform.db.primary, BUYERS, `model-${run}`));
        await fc.asyncModelRun(() => ({ model: { products, buyers, orders: [] }, real: { t, expiry } }), steps);
      }),
      { numRuns: RUNS, seed: SEED, endOnFailure: true },
    );
    for (const reached of ['place 201', 'place 409', 'cancel 200', 'cancel 409', 'pay 200', 'pay 402', 'fulfil 200', 'refund 200', 'adjust 200', 'adjust 409', 'set-stock 200', 'expire 1']) {
      assert.ok(seen.has(reached), `no step reached ${reached}: ${JSON.stringify([...seen])}`);
    }
    console.log(`model seed ${SEED}: ${run} runs, replies ${JSON.stringify(Object.fromEntries([...seen].sort()))}`);
  });
});
