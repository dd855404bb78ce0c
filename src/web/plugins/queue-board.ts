import type { IncomingHttpHeaders } from 'node:http';
import type { FastifyInstance, FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import type { QueueSet } from '../../platform/queue/queues.ts';
import { requireAdminToken } from './admin-auth.ts';

export const QUEUE_BOARD_PATH = '/admin/queues';

/** Hop-by-hop and length headers: the forwarding side sets its own. */
const NOT_FORWARDED = new Set(['connection', 'content-length', 'keep-alive', 'transfer-encoding', 'date']);

function forwardable(headers: IncomingHttpHeaders | Record<string, string | string[] | number | undefined>): Record<string, string | string[] | number> {
  const kept: Record<string, string | string[] | number> = {};
  for (const [name, value] of Object.entries(headers)) if (value !== undefined && !NOT_FORWARDED.has(name.toLowerCase())) kept[name] = value;
  return kept;
}

/**
 * Bull Board (inspect, retry, promote and clean jobs) at /admin/queues. It has no authentication of
 * its own, so every request to it (pages, API, static files) passes the admin bearer token first.
 *
 * The board (Bull Board, its UI server, @fastify/static, @fastify/view, ejs: ~150 ms of module loading)
 * is loaded at its first authorised request, not at start-up: a new web instance serves sooner
 * (test/startup-imports.test.ts). It then runs as its own Fastify instance, which the routes here
 * forward to in-process (`inject`), with the request's raw body and the board's reply as they are.
 */
export function queueBoard(deps: { queues: QueueSet; adminToken: string }): FastifyPluginAsync {
  return async (app) => {
    let board: Promise<FastifyInstance> | undefined;
    const loadBoard = () => {
      // A failed load (a module missing) is tried again at the next request.
      board ??= buildBoard(deps.queues).catch((error: unknown) => {
        board = undefined;
        throw error;
      });
      return board;
    };
    app.addHook('onClose', async () => {
      if (board) await (await board.catch(() => undefined))?.close();
    });

    await app.register(
      async (scope) => {
        // Part of the operator's console during an overload (is the backlog draining?): never shed, as the admin API.
        scope.addHook('onRoute', (route) => {
          route.config = { ...route.config, shed: false };
        });
        scope.addHook('onRequest', requireAdminToken(deps.adminToken));
        // The body goes to the board as it came: the board parses it.
        scope.removeAllContentTypeParsers();
        scope.addContentTypeParser('*', { parseAs: 'buffer' }, (_request, body, done) => done(null, body));

        const forward = async (request: FastifyRequest, reply: FastifyReply) => {
          const response = await (await loadBoard()).inject({
            method: request.method as 'GET',
            url: request.url,
            headers: forwardable(request.headers) as Record<string, string>,
            payload: Buffer.isBuffer(request.body) ? request.body : undefined,
          });
          return reply.code(response.statusCode).headers(forwardable(response.headers)).send(response.rawPayload);
        };
        const methods = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE'];
        scope.route({ method: methods, url: '/', schema: { hide: true }, handler: forward });
        scope.route({ method: methods, url: '/*', schema: { hide: true }, handler: forward });
      },
      { prefix: QUEUE_BOARD_PATH },
    );
  };
}

/** The board itself, on its own Fastify instance (no logger: the web app logs the forwarded request). */
async function buildBoard(queues: QueueSet): Promise<FastifyInstance> {
  const [{ default: fastify }, { createBullBoard }, { BullMQAdapter }, { FastifyAdapter }] = await Promise.all([
    import('fastify'),
    import('@bull-board/api'),
    import('@bull-board/api/bullMQAdapter'),
    import('@bull-board/fastify'),
  ]);
  const serverAdapter = new FastifyAdapter();
  serverAdapter.setBasePath(QUEUE_BOARD_PATH);
  createBullBoard({ queues: queues.all().map((queue) => new BullMQAdapter(queue)), serverAdapter, options: { uiConfig: { boardTitle: 'Salescale queues' } } });
  const board = fastify({ logger: false });
  await board.register(serverAdapter.registerPlugin(), { prefix: QUEUE_BOARD_PATH });
  await board.ready();
  return board;
}
