import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { sql } from 'drizzle-orm';
import pino from 'pino';
import { createAppWithRoutes } from '../../../test/helpers/app-with-routes.ts';
import type { Db } from '../../platform/db/client.ts';
import { createOrderBatcher } from './order-batcher.ts';
import type { OrdersRepository, PlacedOrder } from './orders.repository.ts';

const placed: PlacedOrder = { id: 1, createdAt: new Date(), totalCents: 100, currency: 'USD', items: [] };
const input = { customerId: 1, lines: [{ productId: 1, quantity: 1 }], idempotencyKey: 'k', reservation: 'r' };

/** How Drizzle reports a PostgreSQL error: its own error, with pg's as the cause. */
function drizzleError(code: string): Error {
  return new Error('Failed query: select * from place_order(…)', { cause: Object.assign(new Error('deadlock detected'), { code, severity: 'ERROR' }) });
}

describe('order placement retries', () => {
  it('places again an order PostgreSQL rolled back for a deadlock, and gives up after three attempts', async () => {
    let calls = 0;
    const failing = (failures: number) =>
      ({
        place: async () => {
          calls++;
          if (calls <= failures) throw drizzleError('40P01');
          return placed;
        },
      }) as unknown as OrdersRepository;
    const options = { db: () => ({}) as Db, maxBatch: 1, maxInFlight: 1, logger: pino({ level: 'silent' }) };
    assert.equal(await createOrderBatcher({ ...options, repo: failing(2) }).place(input), placed);
    assert.equal(calls, 3);
    calls = 0;
    await assert.rejects(createOrderBatcher({ ...options, repo: failing(3) }).place(input), /Failed query/);
    assert.equal(calls, 3);
    calls = 0;
    const refused = {
      place: async () => {
        calls++;
        throw drizzleError('P0001');
      },
    } as unknown as OrdersRepository;
    await assert.rejects(createOrderBatcher({ ...options, repo: refused }).place(input));
    assert.equal(calls, 1, 'a refusal is not retried');
  });

  it('answers 503 DATABASE_CONFLICT, never 500, for a deadlock that reaches the client', async () => {
    const t = await createAppWithRoutes({}, (app) => {
      app.get('/test/deadlock', async () => {
        await t.platform.db.primary.execute(sql`DO $$ BEGIN RAISE EXCEPTION 'deadlock detected' USING ERRCODE = '40P01'; END $$`);
        return {};
      });
    });
    try {
      const reply = await t.app.inject({ method: 'GET', url: '/test/deadlock' });
      assert.equal(reply.statusCode, 503);
      assert.equal(reply.json().error.code, 'DATABASE_CONFLICT');
      assert.equal(reply.headers['retry-after'], '1');
    } finally {
      await t.close();
    }
  });
});
