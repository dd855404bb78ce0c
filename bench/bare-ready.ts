// The start-up references of the `startup` scenario: a process that answers 200 on every path as soon
// as it listens on PORT. BARE_READY=node (the default) imports nothing but node:http; BARE_READY=fastify
// answers from a bare Fastify instance (no plugins, logging off) on the same runtime as Salescale.
import { createServer } from 'node:http';

const port = Number(process.env.PORT);
const host = process.env.HOST ?? '127.0.0.1';
if (process.env.BARE_READY === 'fastify') {
  const { default: Fastify } = await import('fastify');
  const app = Fastify({ logger: false });
  app.get('/*', async () => ({ status: 'ready' }));
  await app.listen({ port, host });
} else {
  createServer((_request, response) => {
    response.writeHead(200, { 'content-type': 'application/json' });
    response.end('{"status":"ready"}');
  }).listen(port, host);
}
