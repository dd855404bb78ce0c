// The fair reference for the hot-SKU checkout (`checkout-hot`): the least an HTTP order endpoint
// can do on this runtime. Fastify (logging off) validates the same headers and JSON body as
// `POST /api/v1/orders` (the route's own schemas, compiled by Salescale's schema compiler; the web
// server's unstorable-text check is deliberately left out) and runs pgbench's statement — the
// single-row conditional UPDATE — once per order on a pool of DB_POOL_MAX connections, answering 201
// or 409. No session, idempotency, gate, order rows or outbox:
// what checkout adds on top of this is what the ratio against it prices, under the same load
// generator, connections and PostgreSQL as the real instance.
//
//   DATABASE_URL=… PORT=… node bench/bare-order-server.ts   (creates its table, prints its address)
import Fastify from 'fastify';
import pg from 'pg';
import { CreateOrderBody, IdempotencyHeaders } from '../src/modules/orders/orders.schemas.ts';
import { createSchemaCompiler } from '../src/platform/http/validation.ts';

const BARE_ORDER_TABLE = 'bench_bare_order_stock';

const pool = new pg.Pool({ connectionString: process.env.DATABASE_URL, max: Number(process.env.DB_POOL_MAX ?? 20) });
await pool.query(`CREATE TABLE IF NOT EXISTS ${BARE_ORDER_TABLE} (id int PRIMARY KEY, available bigint NOT NULL)`);
await pool.query(`INSERT INTO ${BARE_ORDER_TABLE} VALUES (1, 1000000000000) ON CONFLICT (id) DO UPDATE SET available = EXCLUDED.available`);

const take = { name: 'bare-take', text: `UPDATE ${BARE_ORDER_TABLE} SET available = available - $1 WHERE id = 1 AND available >= $1` };

const app = Fastify({ logger: false });
app.setValidatorCompiler(createSchemaCompiler());
app.get('/', async () => ({ ok: true }));
app.post<{ Body: CreateOrderBody }>('/api/v1/orders', { schema: { headers: IdempotencyHeaders, body: CreateOrderBody } }, async (request, reply) => {
  // The bench always sends items; an order from the cart (no items) orders nothing here and is refused.
  const quantity = (request.body.items ?? []).reduce((sum, item) => sum + item.quantity, 0);
  if (quantity === 0) return reply.code(409).send({ error: { code: 'OUT_OF_STOCK' } });
  const result = await pool.query({ ...take, values: [quantity] });
  if (result.rowCount === 1) return reply.code(201).send({ status: 'placed', quantity });
  return reply.code(409).send({ error: { code: 'OUT_OF_STOCK' } });
});
const address = await app.listen({ host: '127.0.0.1', port: Number(process.env.PORT ?? 0) });
process.stdout.write(`${address}\n`);
process.once('SIGTERM', () => {
  void app
    .close()
    .then(() => pool.end())
    .then(() => process.exit(0));
});
