import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { sql } from 'drizzle-orm';
import { createTestApp, type TestApp } from '../../../test/helpers/app.ts';
import { createSaleEventService } from './sale-events.service.ts';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;

describe('reading the sale events of a shop with a long history', () => {
  let t: TestApp;
  let product: number;
  const now = Date.now();

  before(async () => {
    t = await createTestApp();
    const created = await t.app.inject({ method: 'POST', url: '/api/v1/admin/products', headers: t.admin, payload: { sku: `hist-${randomUUID()}`, name: 'Staple', priceCents: 500, available: 10 } });
    assert.equal(created.statusCode, 201, created.body);
    product = created.json().id;
  });
  after(() => t?.close());

  const admin = (url: string) => t.app.inject({ url: `/api/v1/admin${url}`, headers: t.admin });

  it('pages GET /admin/sale-events as the products list does (limit, cursor → { items, nextCursor })', async () => {
    const ids: number[] = [];
    for (let i = 0; i < 5; i++) {
      const created = await t.app.inject({
        method: 'POST',
        url: '/api/v1/admin/sale-events',
        headers: t.admin,
        payload: { name: `Sale ${i}`, startsAt: new Date(now + (5 - i) * DAY).toISOString(), endsAt: new Date(now + (5 - i) * DAY + HOUR).toISOString() },
      });
      assert.equal(created.statusCode, 201, created.body);
      ids.push(created.json().id);
    }
    const seen: number[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const reply = await admin(`/sale-events?limit=2${cursor ? `&cursor=${cursor}` : ''}`);
      assert.equal(reply.statusCode, 200, reply.body);
      const page = reply.json() as { items: { id: number }[]; nextCursor: string | null };
      assert.ok(page.items.length <= 2);
      seen.push(...page.items.map((e) => e.id));
      cursor = page.nextCursor;
      pages++;
    } while (cursor !== null && pages < 10);
    assert.deepEqual(seen, ids, 'every event once, in id order');
    assert.equal(pages, 3);

    const first = await admin('/sale-events');
    assert.equal(first.json().items.length, 5, 'the default limit (20) holds them all');
    assert.equal(first.json().nextCursor, null);
    for (const bad of ['limit=0', 'limit=101']) assert.equal((await admin(`/sale-events?${bad}`)).statusCode, 400, bad);
    const forged = await admin('/sale-events?cursor=not-a-cursor');
    assert.equal(forged.statusCode, 400, forged.body);
    assert.equal(forged.json().error.code, 'INVALID_CURSOR');
    const live = await admin(`/sale-events?activeAt=${encodeURIComponent(new Date(now + 5 * DAY + 60_000).toISOString())}`);
    assert.deepEqual(
      live.json().items.map((e: { id: number }) => e.id),
      [ids[0]],
    );
    await t.platform.db.primary.execute(sql`delete from sale_events`);
  });

  it('reads for the storefront and the waiting room only the events not ended (or, for the waiting room, ended within the day), not the history', async () => {
    // Three years of weekly sales, every one with a waiting room and the product.
    await t.platform.db.primary.execute(sql`
      with past as (
        insert into sale_events (name, starts_at, ends_at, waiting_room_enabled)
        select 'Past ' || g, now() - make_interval(days => 2 + g * 7), now() - make_interval(days => 2 + g * 7) + interval '1 hour', true
        from generate_series(1, 150) g
        returning id)
      insert into sale_event_products (sale_event_id, product_id) select id, ${product} from past`);
    const service = createSaleEventService({ db: t.platform.db });
    const add = async (name: string, startsAt: number, endsAt: number) =>
      (await service.create({ name, startsAt: new Date(startsAt).toISOString(), endsAt: new Date(endsAt).toISOString(), productIds: [product], waitingRoom: { enabled: true } })).saleEvent.id;
    const endedAnHourAgo = await add('Ended an hour ago', now - 2 * HOUR, now - HOUR);
    const live = await add('Live', now - HOUR, now + HOUR);
    const upcoming = await add('Upcoming', now + DAY, now + DAY + HOUR);

    const storefront = await service.listCurrent(new Date(now));
    assert.deepEqual(
      storefront.map((e) => e.id),
      [live, upcoming],
      'the storefront shows live and upcoming sales only',
    );
    assert.deepEqual(storefront[0]!.productIds, [product]);

    const rooms = await service.listWaitingRooms(new Date(now - DAY));
    assert.deepEqual(
      rooms.map((e) => e.id),
      [endedAnHourAgo, live, upcoming],
      'the waiting room keeps a room a day after its end, no older',
    );
  });
});
