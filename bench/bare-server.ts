// The reference for the catalog benchmark: a bare Fastify route returning a small JSON object,
// on the same runtime and Fastify version as Salescale, with logging off.
//
// With BARE_STEP=n (1…6) it adds, cumulatively, what Salescale's product-detail path adds per
// request, so the `catalog-costs` scenario can price each: 1 request id (randomUUID + header hook),
// 2 an async onSend hook, 3 an onResponse hook observing a prom-client histogram and calling a
// pino logger below its level, 4 two more async onResponse hooks of the same weight as the request
// counter and degrade-mode window (a Date and a Map update each), 5 params validation (ajv,
// coercion) and a product-sized body serialized through a response schema, 6 one setImmediate
// turn (the local cache layer's decision point).
//
// At every step it also answers `POST /api/v1/orders` with Salescale's sold-out 409: the same headers
// and JSON body schemas, compiled by Salescale's own schema compiler (`createSchemaCompiler`), and the error
// body through the same response schema — the HTTP POST pipeline alone (no session, no Redis), the
// fair reference of the `sold-out` scenario.
import { randomUUID } from 'node:crypto';
import { Ajv } from 'ajv';
import Fastify, { type FastifyReply, type FastifyRequest } from 'fastify';
import pino from 'pino';
import { Histogram, Registry } from 'prom-client';
import { CreateOrderBody, IdempotencyHeaders } from '../src/modules/orders/orders.schemas.ts';
import { ErrorResponse } from '../src/platform/http/schemas.ts';
import { createSchemaCompiler } from '../src/platform/http/validation.ts';

const step = Number(process.env.BARE_STEP ?? 0);
// BARE_HOOKS=callback: the same hooks written as `(request, reply, done)` callbacks instead of async
// functions, to price the promise each async hook costs per request.
const callbackHooks = process.env.BARE_HOOKS === 'callback';
type Hook = (request: FastifyRequest, reply: FastifyReply) => void;
const hook = (fn: Hook) =>
  callbackHooks
    ? (request: FastifyRequest, reply: FastifyReply, done: () => void) => {
        fn(request, reply);
        done();
      }
    : async (request: FastifyRequest, reply: FastifyReply) => fn(request, reply);
const app = Fastify({ logger: false, ...(step >= 1 ? { genReqId: () => randomUUID() } : {}) });
const small = { id: 1, sku: 'SKU-0000001', name: 'Reference', priceCents: 1000, currency: 'USD', available: 5 };
const product = {
  id: 1,
  sku: 'SKU-0000001',
  name: 'Ergonomic Steel Keyboard',
  description: 'A product description of about the length the demo catalog seeds, which is a sentence or two of text for the page.',
  priceCents: 4599,
  currency: 'USD',
  categoryId: 3,
  status: 'active',
  available: 120,
};

if (step >= 1) {
  app.addHook(
    'onRequest',
    hook((request, reply) => {
      reply.header('x-request-id', request.id);
    }),
  );
}
if (step >= 2) {
  let draining = false;
  process.once('SIGUSR2', () => {
    draining = true;
  });
  app.addHook(
    'onSend',
    callbackHooks
      ? (_request, reply, payload, done) => {
          if (draining) reply.header('connection', 'close');
          done(null, payload);
        }
      : async (_request, reply) => {
          if (draining) reply.header('connection', 'close');
        },
  );
}
if (step >= 3) {
  const registry = new Registry();
  const histogram = new Histogram({ name: 'http_request_duration_seconds', help: 'x', labelNames: ['route', 'method', 'status_code'], registers: [registry] });
  const log = pino({ level: 'warn' });
  app.addHook(
    'onResponse',
    hook((request, reply) => {
      const route = request.routeOptions.url ?? 'unmatched';
      histogram.observe({ route, method: request.method, status_code: String(reply.statusCode) }, reply.elapsedTime / 1000);
      log.info({ method: request.method, route, url: request.url, status: reply.statusCode }, 'request');
    }),
  );
}
if (step >= 4) {
  const hours = new Map<string, number>();
  const window = new Map<number, number>();
  app.addHook(
    'onResponse',
    hook(() => {
      const hour = new Date().toISOString().slice(0, 13);
      hours.set(hour, (hours.get(hour) ?? 0) + 1);
    }),
  );
  app.addHook(
    'onResponse',
    hook((_request, reply) => {
      const second = Math.floor(Date.now() / 1000);
      window.set(second, (window.get(second) ?? 0) + (reply.statusCode >= 500 ? 0 : 1));
    }),
  );
}
if (step >= 5) {
  const ajv = new Ajv({ coerceTypes: 'array', useDefaults: true, removeAdditional: false, strict: false });
  app.setValidatorCompiler(({ schema }) => ajv.compile(schema));
  const params = { type: 'object', properties: { id: { type: 'integer', minimum: 1 } }, required: ['id'], additionalProperties: false };
  const response = {
    type: 'object',
    properties: {
      id: { type: 'integer' },
      sku: { type: 'string' },
      name: { type: 'string' },
      description: { type: 'string' },
      priceCents: { type: 'integer' },
      currency: { type: 'string' },
      categoryId: { anyOf: [{ type: 'integer' }, { type: 'null' }] },
      status: { type: 'string' },
      available: { type: 'integer' },
    },
  };
  const defer = step >= 6 ? () => new Promise<void>((resolve) => setImmediate(resolve)) : async () => {};
  app.get('/', { schema: { response: { 200: response } } }, async () => product);
  app.get('/products/:id', { schema: { params, response: { 200: response } } }, async () => {
    await defer();
    return product;
  });
} else {
  app.get('/', async () => small);
  app.get('/products/:id', async () => small);
}
// Salescale's own schema compiler (JSON bodies keep their types, headers are coerced, unknown fields
// rejected), without the server's unstorable-text check in front of it: deliberately left out here.
app.post(
  '/api/v1/orders',
  {
    schema: { headers: IdempotencyHeaders, body: CreateOrderBody, response: { 409: ErrorResponse } },
    validatorCompiler: createSchemaCompiler(),
  },
  async (request, reply) => {
    const productId = (request.body as { items?: { productId: number; quantity: number }[] }).items?.[0]?.productId ?? 0;
    const shortage = { productId, requested: 1, available: 0 };
    return reply.code(409).send({ error: { code: 'OUT_OF_STOCK', message: `product ${productId} is sold out`, requestId: String(request.id), details: { ...shortage, shortages: [shortage] } } });
  },
);
const address = await app.listen({ host: '127.0.0.1', port: Number(process.env.PORT ?? 0) });
process.stdout.write(`${address}\n`);
process.once('SIGTERM', () => app.close().then(() => process.exit(0)));
