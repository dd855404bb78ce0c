import type { IncomingHttpHeaders } from 'node:http';
import type { FastifyBaseLogger, FastifyInstance, FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import { adminAuditTrail, noteAdminAction, type AuditService } from '../../modules/audit/index.ts';
import type { QueueSet } from '../../platform/queue/queues.ts';
import { isRetriableState, retryAllAfresh, retryJobAfresh } from '../../platform/queue/retry.ts';
import { sendError } from '../../platform/http/error-reply.ts';
import { requireAdminToken } from './admin-auth.ts';

export const QUEUE_BOARD_PATH = '/admin/queues';

/** Jobs the dashboard's retry-all tries per request: a request's work is bounded, the rest waits for the next press. */
export const BOARD_RETRY_ALL_MAX_JOBS = 5000;

/** Names each forwarded request, so that a failure inside the board finds its way back to it. */
const FORWARD_ID = 'x-salescale-board-forward';

/** The board's retry routes (`@bull-board/api` routes.js), answered by `buildBoard`'s own retry. */
const BOARD_RETRY_JOB = `${QUEUE_BOARD_PATH}/api/queues/:queueName/:jobId/retry`;
const BOARD_RETRY_ALL = `${QUEUE_BOARD_PATH}/api/queues/:queueName/retry/:queueStatus`;

/** Marks the board's reply to a path it has no route for (see `buildBoard`). */
const NOT_FOUND_MARK = 'x-salescale-board-not-found';

/** Hop-by-hop and length headers: the forwarding side sets its own. */
const NOT_FORWARDED = new Set(['connection', 'content-length', 'keep-alive', 'transfer-encoding', 'date']);

function forwardable(headers: IncomingHttpHeaders | Record<string, string | string[] | number | undefined>): Record<string, string | string[] | number> {
  const kept: Record<string, string | string[] | number> = {};
  for (const [name, value] of Object.entries(headers)) if (value !== undefined && !NOT_FORWARDED.has(name.toLowerCase())) kept[name] = value;
  return kept;
}

/**
 * The board's reply headers as the web app sends them: without its own Cache-Control, so every reply keeps the
 * `no-store` all replies start with. Its static files came as `public, max-age=0` (@fastify/static): `public` lets a
 * shared cache (a CDN put in front for a sale) store a reply to a request that carried the admin token.
 */
function boardReplyHeaders(headers: Record<string, string | string[] | number | undefined>): Record<string, string | string[] | number> {
  const kept = forwardable(headers);
  for (const name of Object.keys(kept)) if (name.toLowerCase() === 'cache-control') delete kept[name];
  return kept;
}

/**
 * Bull Board (inspect, retry, promote and clean jobs) at /admin/queues. It has no authentication of
 * its own, so every request to it (pages, API, static files) passes the admin bearer token first.
 *
 * The board (Bull Board, its UI server, @fastify/static, @fastify/view, ejs: ~150 ms of module loading)
 * is loaded at its first authorised request, not at start-up: a new web instance serves sooner
 * (test/startup-imports.test.ts). It then runs as its own Fastify instance, which the routes here
 * forward to in-process (`inject`), with the request's raw body and the board's reply as they are. A failure
 * inside the board (Redis not answering) is rethrown here, so the web app's error handler answers it (a generic
 * 5xx with the request id, the cause logged), never the board's own reply, which would show the cause.
 *
 * Its changes (a job added, retried, promoted or deleted; a state cleaned; a queue paused or resumed) are admin
 * actions like the API's: each successful POST/PUT/PATCH/DELETE is one `admin_actions` row with the
 * caller's `X-Admin-Actor`, the board's own route (`/admin/queues/api/queues/:queueName/:jobId/clean`, not the
 * forwarding catch-all) and its target: the queue, the job (the new job's id for an add) and the state cleaned or
 * retried, as far as the route names them.
 */
export function queueBoard(deps: {
  queues: QueueSet;
  adminToken: string;
  /** Where the board's changes are recorded: required, a board whose changes go unaudited is not an option. */
  audit: AuditService;
}): FastifyPluginAsync {
  return async (app) => {
    let board: Promise<Board> | undefined;
    let forwarded = 0;
    const loadBoard = () => {
      // A failed load (a module missing) is tried again at the next request.
      board ??= buildBoard(deps.queues, app.log).catch((error: unknown) => {
        board = undefined;
        throw error;
      });
      return board;
    };
    app.addHook('onClose', async () => {
      if (board) await (await board.catch(() => undefined))?.instance.close();
    });

    await app.register(
      async (scope) => {
        // Part of the operator's console during an overload (is the backlog draining?): never shed, as the admin API.
        scope.addHook('onRoute', (route) => {
          route.config = { ...route.config, shed: false };
        });
        scope.addHook('onRequest', requireAdminToken(deps.adminToken));
        await scope.register(adminAuditTrail(deps.audit));
        // The body goes to the board as it came: the board parses it.
        scope.removeAllContentTypeParsers();
        scope.addContentTypeParser('*', { parseAs: 'buffer' }, (_request, body, done) => done(null, body));

        const forward = async (request: FastifyRequest, reply: FastifyReply) => {
          const { instance, failures, routes } = await loadBoard();
          const id = String(++forwarded);
          try {
            const response = await instance.inject({
              method: request.method as 'GET',
              url: request.url,
              headers: { ...(forwardable(request.headers) as Record<string, string>), [FORWARD_ID]: id },
              payload: Buffer.isBuffer(request.body) ? request.body : undefined,
            });
            const failure = failures.get(id);
            if (failure) throw failure;
            const matched = routes.get(id);
            if (matched) noteAdminAction(request, { route: matched.route, target: getBoardTarget(matched.params, response.payload) });
            // A path the board has no route (or static file) for: the API's 404, in the error shape.
            if (response.headers[NOT_FOUND_MARK] !== undefined) return sendError(reply, 404, 'ROUTE_NOT_FOUND', `no route ${request.method} ${request.url.split('?')[0]}`);
            return reply.code(response.statusCode).headers(boardReplyHeaders(response.headers)).send(response.rawPayload);
          } finally {
            failures.delete(id);
            routes.delete(id);
          }
        };
        const methods = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE'];
        scope.route({ method: methods, url: '/', schema: { hide: true }, handler: forward });
        scope.route({ method: methods, url: '/*', schema: { hide: true }, handler: forward });
      },
      { prefix: QUEUE_BOARD_PATH },
    );
  };
}

interface Board {
  instance: FastifyInstance;
  /** The board's 5xx failures by forwarded request, until the forwarding route takes them. */
  failures: Map<string, Error>;
  /** The board's route each forwarded mutation matched, and its params, until the forwarding route takes them. */
  routes: Map<string, { route: string; params: Record<string, string> }>;
}

/** The board's params, named as the audit trail's targets are; plus the id of a job the request added. */
function getBoardTarget(params: Record<string, string>, payload: string): Record<string, unknown> {
  const target: Record<string, unknown> = {};
  if (params.queueName !== undefined) target.queue = params.queueName;
  if (params.jobId !== undefined) target.jobId = params.jobId;
  if (params.queueStatus !== undefined) target.state = params.queueStatus;
  if (params.schedulerId !== undefined) target.schedulerId = params.schedulerId;
  if (target.jobId === undefined && target.queue !== undefined) {
    try {
      const added = (JSON.parse(payload) as { job?: { id?: unknown } }).job?.id;
      if (typeof added === 'string' || typeof added === 'number') target.jobId = String(added);
    } catch {
      // not JSON (an empty 204): no job to name
    }
  }
  return target;
}

/** The board itself, on its own Fastify instance (no logger: the web app logs the forwarded request). */
async function buildBoard(queues: QueueSet, log: FastifyBaseLogger): Promise<Board> {
  const [{ default: fastify }, { createBullBoard }, { BullMQAdapter }, { FastifyAdapter }] = await Promise.all([
    import('fastify'),
    import('@bull-board/api'),
    import('@bull-board/api/bullMQAdapter'),
    import('@bull-board/fastify'),
  ]);
  const serverAdapter = new FastifyAdapter();
  serverAdapter.setBasePath(QUEUE_BOARD_PATH);
  createBullBoard({ queues: queues.all().map((queue) => new BullMQAdapter(queue)), serverAdapter, options: { uiConfig: { boardTitle: 'Salescale queues' } } });
  // Replaces the board's own error reply, which shows the cause's message: a 5xx is answered blank here and handed back
  // to the forwarding route (the onError hook below), which rethrows it; a refusal the board raised with its status
  // keeps the board's reply (the body its own handler gives).
  serverAdapter.setErrorHandler((error: Error & { statusCode?: number }) => {
    const status = error.statusCode ?? 500;
    if (status >= 500) return { status: 500, body: {} };
    return { status: status as 400, body: { error: { key: 'ERRORS.INTERNAL_SERVER_ERROR' }, message: error.message } };
  });
  const instance = fastify({ logger: false });
  // Fastify's default 404 body ({message, error, statusCode}) is not the API's error shape: the forwarding route
  // answers ROUTE_NOT_FOUND instead. The board's own API refusals (`{"error":{"key":"ERRORS.QUEUE_NOT_FOUND"}}`) are
  // kept: its UI shows them by that translation key.
  instance.setNotFoundHandler((_request, reply) => reply.code(404).header(NOT_FOUND_MARK, '1').send());
  const failures = new Map<string, Error>();
  const routes: Board['routes'] = new Map();
  instance.addHook('onRequest', async (request) => {
    const id = request.headers[FORWARD_ID];
    if (typeof id === 'string' && request.method !== 'GET' && request.method !== 'HEAD') {
      routes.set(id, { route: request.routeOptions.url ?? 'unmatched', params: (request.params ?? {}) as Record<string, string> });
    }
  });
  // The board's retry and retry-all call BullMQ's `Job.retry(state)`, which keeps `attemptsMade`: a job retried there got
  // one try and no backoff. Both are answered here instead, with the retry `queues retry-failed` uses (attempts counted
  // afresh), in the board's reply shapes; what they cannot act on (an unknown queue or job, a state not retriable)
  // goes on to the board's handler and its refusal.
  instance.addHook('preHandler', async (request, reply) => {
    const route = request.routeOptions.url;
    if (request.method !== 'PUT' || (route !== BOARD_RETRY_JOB && route !== BOARD_RETRY_ALL)) return;
    const params = request.params as { queueName: string; jobId?: string; queueStatus?: string };
    const queue = queues.all().find((candidate) => candidate.name === params.queueName);
    if (!queue) return;
    if (route === BOARD_RETRY_ALL) {
      if (!params.queueStatus || !isRetriableState(params.queueStatus)) return;
      // What was retried is answered (and audited) even when some jobs could not be: each of those is logged and
      // counted as skipped, left where it was. At most BOARD_RETRY_ALL_MAX_JOBS per request (`more`: press again).
      const { retried, failures, more } = await retryAllAfresh(queue, params.queueStatus, 1000, BOARD_RETRY_ALL_MAX_JOBS);
      for (const { jobId, error } of failures) log.warn({ err: error, queue: queue.name, jobId }, 'queue dashboard: a job could not be retried');
      return reply.code(200).send({ retried, skipped: failures.length, ...(more ? { more } : {}) });
    }
    const job = params.jobId === undefined ? undefined : await queue.getJob(params.jobId);
    const state = job ? await job.getState() : undefined;
    if (!job || !state || !isRetriableState(state)) return;
    await retryJobAfresh(job, state);
    return reply.code(204).send();
  });
  // Runs before the error handler above, with the request: a failure without a status of its own is a 5xx there.
  instance.addHook('onError', async (request, _reply, error: Error & { statusCode?: number }) => {
    const id = request.headers[FORWARD_ID];
    if (typeof id === 'string' && (error.statusCode ?? 500) >= 500) failures.set(id, error);
  });
  await instance.register(serverAdapter.registerPlugin(), { prefix: QUEUE_BOARD_PATH });
  await instance.ready();
  return { instance, failures, routes };
}
