// The reference for the catalog benchmark: a bare Fastify route returning a small JSON object,
// on the same runtime and Fastify version as Salescale, with logging off.
import Fastify from 'fastify';

const app = Fastify({ logger: false });
const body = { id: 1, sku: 'SKU-0000001', name: 'Reference', priceCents: 1000, currency: 'USD', available: 5 };
app.get('/', async () => body);
const address = await app.listen({ host: '127.0.0.1', port: Number(process.env.PORT ?? 0) });
process.stdout.write(`${address}\n`);
process.once('SIGTERM', () => app.close().then(() => process.exit(0)));
