import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import { databaseBefore } from '../../../test/helpers/migrations.ts';
import { createOrdersRepository } from './orders.repository.ts';

const PER_SALE_CAPS = '0010_per_sale_caps';
const BUYER_CAPS = '0013_buyer_purchase_caps';

/**
 * Upgrading a database while a sale is live: the migration that introduces per-sale counts counts
 * what orders placed during each live event still hold, so the event's cap keeps holding.
 */
describe('per-sale caps migration', () => {
  it('counts the units that orders placed during a sale before the upgrade still hold, in that sale only', async () => {
    const upgrade = await databaseBefore(PER_SALE_CAPS);
    const { q } = upgrade;
    try {
      const [ann, bob] = await q(`insert into customers (email, name, password_hash) values ('ann@example.com', 'Ann', 'x'), ('bob@example.com', 'Bob', 'x') returning id`);
      const [inSale, notInSale] = await q(`insert into products (sku, name, price_cents) values ('up-1', 'In sale', 100), ('up-2', 'Not in sale', 100) returning id`);
      const [live, past] = await q(`insert into sale_events (name, starts_at, ends_at, max_per_customer) values
        ('Live', now() - interval '1 hour', now() + interval '1 hour', 3),
        ('Past', now() - interval '3 days', now() - interval '2 days', 3) returning id`);
      await q('insert into sale_event_products (sale_event_id, product_id) values ($1, $3), ($2, $3)', [live.id, past.id, inSale.id]);
      const order = async (customerId: number, status: string, placedAgo: string, lines: [number, number][]) => {
        const [row] = await q(
          `insert into orders (customer_id, status, total_cents, currency, reservation, created_at) values ($1, $2, 100, 'USD', $3, now() - $4::interval) returning id`,
          [customerId, status, randomBytes(8).toString('hex'), placedAgo],
        );
        for (const [productId, quantity] of lines) await q('insert into order_items (order_id, product_id, quantity, price_cents) values ($1, $2, $3, 100)', [row.id, productId, quantity]);
        return Number(row.id);
      };
      const annLive = await order(ann.id, 'pending_payment', '10 minutes', [
        [inSale.id, 2],
        [notInSale.id, 5],
      ]);
      await order(ann.id, 'paid', '20 minutes', [[inSale.id, 1]]);
      await order(ann.id, 'expired', '30 minutes', [[inSale.id, 3]]); // holds nothing any more
      await order(ann.id, 'paid', '2 hours', [[inSale.id, 4]]); // before the live sale started
      const annPast = await order(ann.id, 'fulfilled', '60 hours', [[inSale.id, 2]]); // during the past sale
      await order(bob.id, 'cancelled', '5 minutes', [[inSale.id, 1]]);

      assert.equal(await upgrade.upgrade(), upgrade.upgrades);
      const counts = await q('select sale_event_id::int as event, customer_id::int as customer, product_id::int as product, quantity from sale_event_purchases order by 1, 2, 3');
      assert.deepEqual(counts, [
        { event: Number(live.id), customer: Number(ann.id), product: Number(inSale.id), quantity: 3 },
        { event: Number(past.id), customer: Number(ann.id), product: Number(inSale.id), quantity: 2 },
      ]);
      const marked = await q('select order_id::int as "order", product_id::int as product, sale_event_ids from order_items where sale_event_ids <> $1 order by 1', ['{}']);
      assert.deepEqual(
        marked.map((row) => [row.order, row.product, row.sale_event_ids.map(Number)]),
        [
          [annPast, Number(inSale.id), [Number(past.id)]],
          [annLive, Number(inSale.id), [Number(live.id)]],
          [annLive + 1, Number(inSale.id), [Number(live.id)]],
        ].sort((a, b) => (a[0] as number) - (b[0] as number)),
      );
      // The live sale's cap (3) now holds against what Ann bought before the upgrade.
      await assert.rejects(
        q(`select * from place_order($1, $2::jsonb, null, 'after-upgrade', 'order', 'expire-order')`, [ann.id, JSON.stringify([{ productId: Number(inSale.id), quantity: 1 }])]),
        (error: { message: string; detail: string }) => error.message === 'PURCHASE_LIMIT_EXCEEDED' && JSON.parse(error.detail).saleEventId === Number(live.id),
      );
    } finally {
      await upgrade.drop();
    }
  });
});

/**
 * The migration that counts caps per buyer (the email, lower-cased) instead of per customers row: an
 * account and the guest record of its email hold what both held, so neither gets a second cap.
 */
describe('per-buyer caps migration', () => {
  it('adds up the counts of an account and the guest record of its email, lifetime and per sale', async () => {
    const upgrade = await databaseBefore(BUYER_CAPS);
    const { q } = upgrade;
    try {
      const [fay, fayGuest, gus] = await q(`insert into customers (email, name, password_hash, guest) values
        ('Fay@Example.com', 'Fay', 'x', false), ('fay@example.COM', 'Guest', '', true), ('gus@example.com', 'Gus', 'x', false) returning id`);
      const [capped] = await q(`insert into products (sku, name, price_cents, max_per_customer) values ('up-3', 'Capped', 100, 3) returning id`);
      const [live] = await q(`insert into sale_events (name, starts_at, ends_at, max_per_customer) values ('Live', now() - interval '1 hour', now() + interval '1 hour', 5) returning id`);
      await q('insert into sale_event_products (sale_event_id, product_id) values ($1, $2)', [live.id, capped.id]);
      await q('insert into customer_purchases (customer_id, product_id, quantity) values ($1, $4, 2), ($2, $4, 1), ($3, $4, 1)', [fay.id, fayGuest.id, gus.id, capped.id]);
      await q('insert into sale_event_purchases (sale_event_id, customer_id, product_id, quantity) values ($1, $2, $4, 1), ($1, $3, $4, 1)', [live.id, fay.id, fayGuest.id, capped.id]);

      assert.equal(await upgrade.upgrade(), upgrade.upgrades);
      assert.deepEqual(await q('select buyer_email as buyer, product_id::int as product, quantity from buyer_purchases order by 1'), [
        { buyer: 'fay@example.com', product: Number(capped.id), quantity: 3 },
        { buyer: 'gus@example.com', product: Number(capped.id), quantity: 1 },
      ]);
      assert.deepEqual(await q('select sale_event_id::int as event, buyer_email as buyer, product_id::int as product, quantity from sale_event_buyer_purchases'), [
        { event: Number(live.id), buyer: 'fay@example.com', product: Number(capped.id), quantity: 2 },
      ]);
      // The product's cap (3) holds for Fay's account and her guest checkouts alike.
      for (const customer of [fay, fayGuest]) {
        await assert.rejects(
          q(`select * from place_order($1, $2::jsonb, null, $3, 'order', 'expire-order')`, [customer.id, JSON.stringify([{ productId: Number(capped.id), quantity: 1 }]), `after-${customer.id}`]),
          (error: { message: string; detail: string }) => {
            const detail = JSON.parse(error.detail);
            return error.message === 'PURCHASE_LIMIT_EXCEEDED' && detail.saleEventId === null && detail.alreadyPurchased === 3;
          },
        );
      }
    } finally {
      await upgrade.drop();
    }
  });
});

/**
 * The migration that counts a buyer without their +tag: what tagged emails held joins their mailbox's
 * counts, so a buyer who bought a cap per tag before the upgrade stays refused after it.
 */
describe('plus-tag caps migration', () => {
  it('moves the counts of tagged emails to their mailbox, lifetime and per sale', async () => {
    const upgrade = await databaseBefore('0017_buyer_plus_tags');
    const { q } = upgrade;
    try {
      const [hal] = await q(`insert into customers (email, name, password_hash) values ('hal+2@example.com', 'Hal', 'x') returning id`);
      const [capped] = await q(`insert into products (sku, name, price_cents, max_per_customer) values ('up-4', 'Capped', 100, 3) returning id`);
      const [live] = await q(`insert into sale_events (name, starts_at, ends_at, max_per_customer) values ('Live', now() - interval '1 hour', now() + interval '1 hour', 5) returning id`);
      await q('insert into sale_event_products (sale_event_id, product_id) values ($1, $2)', [live.id, capped.id]);
      await q(`insert into buyer_purchases (buyer_email, product_id, quantity) values ('hal@example.com', $1, 1), ('hal+1@example.com', $1, 1), ('hal+2@example.com', $1, 1), ('+x@example.com', $1, 1)`, [capped.id]);
      await q(`insert into sale_event_buyer_purchases (sale_event_id, buyer_email, product_id, quantity) values ($1, 'hal+1@example.com', $2, 2), ($1, 'hal+2@example.com', $2, 1)`, [live.id, capped.id]);

      assert.equal(await upgrade.upgrade(), upgrade.upgrades);
      assert.deepEqual(await q('select buyer_email as buyer, quantity from buyer_purchases order by 1'), [
        { buyer: '+x@example.com', quantity: 1 },
        { buyer: 'hal@example.com', quantity: 3 },
      ]);
      assert.deepEqual(await q('select buyer_email as buyer, quantity from sale_event_buyer_purchases'), [{ buyer: 'hal@example.com', quantity: 3 }]);
      await assert.rejects(
        q(`select * from place_order($1, $2::jsonb, null, 'after-tags', 'order', 'expire-order')`, [hal.id, JSON.stringify([{ productId: Number(capped.id), quantity: 1 }])]),
        (error: { message: string; detail: string }) => error.message === 'PURCHASE_LIMIT_EXCEEDED' && JSON.parse(error.detail).alreadyPurchased === 3,
      );
    } finally {
      await upgrade.drop();
    }
  });
});

/**
 * The migration that gives order lines their product's name and SKU as bought adds both columns nullable, with no
 * back-fill (expand/contract): the previous release's `place_order`, still serving during a rolling update, inserts
 * lines without them and keeps working, and every read shows the product's current name for a line without one.
 */
describe('order lines that record what was bought: the migration', () => {
  it("adds the columns without touching the lines placed before; those read their product's current name, later ones the name they were bought under", async () => {
    const upgrade = await databaseBefore('0037_order_lines_bought');
    const { q } = upgrade;
    const repository = createOrdersRepository();
    const lines = async (id: string | number) => {
      const orderId = Number(id);
      const [placed, admin] = await Promise.all([repository.loadPlaced(upgrade.orm, orderId), repository.findAdmin(upgrade.orm, orderId)]);
      assert.deepEqual(
        admin?.items.map(({ productId, name }) => ({ productId, name })),
        placed?.items.map(({ productId, name }) => ({ productId, name })),
      );
      return placed?.items.map(({ productId, name, sku }) => ({ productId, name, sku }));
    };
    try {
      const [ann] = await q(`insert into customers (email, name, password_hash) values ('ann@example.com', 'Ann', 'x') returning id`);
      const [mug, plate] = await q(`insert into products (sku, name, price_cents) values ('MUG-1', 'Blue mug', 100), ('PLATE-1', 'Plate', 100) returning id`);
      await q('insert into product_stock (product_id, shard, available) values ($1, 0, 10)', [mug.id]);
      const [before] = await q(`insert into orders (customer_id, total_cents, currency, reservation) values ($1, 300, 'USD', 'r-lines') returning id`, [ann.id]);
      await q('insert into order_items (order_id, product_id, quantity, price_cents) values ($1, $2, 1, 100), ($1, $3, 2, 100)', [before.id, mug.id, plate.id]);

      assert.equal(await upgrade.upgrade(), upgrade.upgrades);
      // No back-fill: the lines placed before have neither.
      assert.deepEqual(await q('select product_name, product_sku from order_items where order_id = $1', [before.id]), [
        { product_name: null, product_sku: null },
        { product_name: null, product_sku: null },
      ]);
      // What the previous release's place_order inserts (no name, no SKU) is still taken after the migration.
      const [during] = await q(`insert into orders (customer_id, total_cents, currency, reservation) values ($1, 100, 'USD', 'r-lines-2') returning id`, [ann.id]);
      await q('insert into order_items (order_id, product_id, quantity, price_cents) values ($1, $2, 1, 100)', [during.id, mug.id]);
      // The new place_order keeps the name and SKU on the line.
      const [after] = await q(`select placed_order_id as id from place_order($1, $2::jsonb, null, 'r-lines-3', 'order', 'expire-order')`, [
        ann.id,
        JSON.stringify([{ productId: Number(mug.id), quantity: 1 }]),
      ]);
      assert.deepEqual(await q('select product_name, product_sku from order_items where order_id = $1', [after.id]), [{ product_name: 'Blue mug', product_sku: 'MUG-1' }]);

      await q(`update products set name = 'Red mug', sku = 'MUG-2' where id = $1`, [mug.id]);
      // Lines without a name read their product's current one, as every line did before the upgrade.
      assert.deepEqual(await lines(before.id), [
        { productId: Number(mug.id), name: 'Red mug', sku: 'MUG-2' },
        { productId: Number(plate.id), name: 'Plate', sku: 'PLATE-1' },
      ]);
      assert.deepEqual(await lines(during.id), [{ productId: Number(mug.id), name: 'Red mug', sku: 'MUG-2' }]);
      // A line placed after the upgrade keeps the name and SKU it was bought under.
      assert.deepEqual(await lines(after.id), [{ productId: Number(mug.id), name: 'Blue mug', sku: 'MUG-1' }]);
    } finally {
      await upgrade.drop();
    }
  });
});
