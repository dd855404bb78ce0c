/**
 * A checkout process for tests that need several real processes placing orders in one PostgreSQL:
 * the orders module's own batcher and repository (what `salescale serve` uses, without HTTP and the
 * Redis gate), an open stream of concurrent orders for DURATION_MS, and a client's behaviour on an
 * error it cannot judge (connection lost, backend terminated): place the order again with the same
 * Idempotency-Key and a fresh reservation, and take the order already committed under that key if
 * there is one. Prints one JSON line: the committed orders it was told about (id → units per product)
 * and its outcomes.
 *
 * Run: `node test/helpers/order-placer-process.ts` with DATABASE_URL, PRODUCT_IDS, CUSTOMER_IDS (comma
 * separated), DURATION_MS, TAG.
 */
import { randomUUID } from 'node:crypto';
import pino from 'pino';
import { sql } from 'drizzle-orm';
import { createDatabase } from '../../src/platform/db/client.ts';
import { pgError, PG_RAISE_EXCEPTION, PG_UNIQUE_VIOLATION } from '../../src/platform/db/errors.ts';
import { createOrderBatcher, createOrdersRepository } from '../../src/modules/orders/index.ts';

const env = process.env;
const productIds = (env.PRODUCT_IDS ?? '').split(',').map(Number);
const customerIds = (env.CUSTOMER_IDS ?? '').split(',').map(Number);
const durationMs = Number(env.DURATION_MS ?? 3000);
const tag = env.TAG ?? 'p';

const db = createDatabase({ url: env.DATABASE_URL ?? '', poolMin: 0, poolMax: 6, statementTimeoutMs: 0, applicationName: 'order-placer-process' });
const repo = createOrdersRepository();
const placer = createOrderBatcher({ db: () => db.primary, repo, maxBatch: 32, maxInFlight: 4, logger: pino({ level: 'silent' }) });

const committed = new Map<number, Record<number, number>>();
const outcomes: Record<string, number> = {};
const count = (outcome: string) => (outcomes[outcome] = (outcomes[outcome] ?? 0) + 1);

async function orderUnderKey(customerId: number, key: string): Promise<number | undefined> {
  const result = await db.primary.execute<{ id: number }>(sql`select id from orders where customer_id = ${customerId} and idempotency_key = ${key}`);
  return result.rows[0]?.id;
}

/** One shopper's order, placed again on an unknown outcome (at most 20 tries). */
async function shop(n: number): Promise<void> {
  const customerId = customerIds[n % customerIds.length]!;
  const productId = productIds[Math.floor(Math.random() * productIds.length)]!;
  const quantity = 1 + Math.floor(Math.random() * 2);
  const key = `${tag}-${n}`;
  for (let attempt = 0; attempt < 20; attempt++) {
    if (attempt > 0) {
      // An earlier attempt may have committed although its reply was lost: look before placing again
      // (placing again could be refused before it reaches the key, e.g. sold out since).
      const id = await orderUnderKey(customerId, key).catch(() => undefined);
      if (id !== undefined) {
        committed.set(id, { [productId]: quantity });
        count('committed-but-unreported');
        return;
      }
    }
    try {
      const order = await placer.place({ customerId, lines: [{ productId, quantity }], idempotencyKey: key, reservation: randomUUID() });
      committed.set(order.id, Object.fromEntries(order.items.map((item) => [item.productId, item.quantity])));
      count('placed');
      return;
    } catch (error) {
      const pg = pgError(error);
      if (pg?.code === PG_RAISE_EXCEPTION) {
        count(pg.message ?? PG_RAISE_EXCEPTION);
        return;
      }
      if (pg?.code === PG_UNIQUE_VIOLATION) {
        // An earlier attempt committed although its reply was lost: that order is this one.
        const id = await orderUnderKey(customerId, key).catch(() => undefined);
        if (id !== undefined) {
          committed.set(id, { [productId]: quantity });
          count('committed-but-unreported');
          return;
        }
      }
      count(`retried:${pg?.code ?? (error as Error).message.slice(0, 40)}`);
      await new Promise((resolve) => setTimeout(resolve, 20 + Math.random() * 50));
    }
  }
  count('gave-up');
}

const shoppers: Promise<void>[] = [];
const started = Date.now();
for (let n = 0; Date.now() - started < durationMs; n++) {
  shoppers.push(shop(n));
  // About 400 orders a second per process, whatever the replies (an open model, like a sale).
  await new Promise((resolve) => setTimeout(resolve, 2.5));
}
await Promise.all(shoppers);
await db.close();
process.stdout.write(`${JSON.stringify({ committed: [...committed], outcomes })}\n`);
