import { LogController, type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';

/**
 * `durationMs`: the reply's `elapsedTime`, or, for a reply Fastify did not time (the router's refusals, answered before
 * any hook: `elapsedTime` 0, though they may wait on the rate limits' Redis round trip), the time since the request
 * reached `incomingRequest`.
 */
type ReplyDoneHandler = (request: FastifyRequest, reply: FastifyReply, abandoned: boolean, durationMs: number) => void;

/** Each server's handlers, run by one watch per request: a hook per handler cost every request a hook turn each. */
const handlersByServer = new WeakMap<object, ReplyDoneHandler[]>();
/** Requests already handled as abandoned (rare): a set only they enter, so a normal reply pays one failed lookup. */
const abandonedDone = new WeakSet<FastifyRequest>();

function runAll(handlers: readonly ReplyDoneHandler[], request: FastifyRequest, reply: FastifyReply, abandoned: boolean, arrivedAt?: number): void {
  const elapsed = reply.elapsedTime;
  const durationMs = elapsed === 0 && arrivedAt !== undefined ? performance.now() - arrivedAt : elapsed;
  for (const run of handlers) {
    try {
      run(request, reply, abandoned, durationMs);
    } catch (error) {
      request.log.warn({ err: error }, abandoned ? 'could not record an abandoned request' : 'could not record a finished request');
    }
  }
}

/**
 * The web role's `logController`: Fastify calls its `incomingRequest` once for every request it builds — a route's,
 * a 404's, and the router's own refusals (`frameworkErrors`: a malformed URL, a path parameter over maxParamLength),
 * which are answered before any hook and run neither onSend nor onResponse. It is therefore the one place that sees
 * every reply of the app: each request's reply-done handlers (`onReplyDone`) are attached here to its response. (Node's own refusals — `clientErrorHandler`, `checkExpectation` — never become Fastify requests.)
 *
 * Options as Fastify's `LogController`'s (the web role disables Fastify's request lines: it writes its own).
 */
export class ReplyDoneLogController extends LogController {
  override incomingRequest(request: FastifyRequest, reply: FastifyReply, metadata?: Record<string, unknown>): void {
    super.incomingRequest(request, reply, metadata);
    const handlers = handlersByServer.get(request.server.server);
    if (handlers === undefined) return;
    const arrivedAt = performance.now();
    const response = reply.raw;
    const finished = () => {
      response.off('finish', finished).off('close', closed);
      if (!abandonedDone.has(request)) runAll(handlers, request, reply, false, arrivedAt);
    };
    // A response that closes unfinished emits 'close' alone — no 'finish', no 'error': the client hung up mid-reply,
    // or the reply's stream failed after the headers went out (Fastify's sendStream then destroys the response
    // without an error). Closed before the headers went out, the reply is still to come: onSend records it.
    const closed = () => {
      response.off('finish', finished).off('close', closed);
      if (response.writableFinished || !response.headersSent || abandonedDone.has(request)) return;
      abandonedDone.add(request);
      runAll(handlers, request, reply, true, arrivedAt);
    };
    response.on('finish', finished).on('close', closed);
  }
}

/**
 * The app's log controller. Fastify keeps it under a symbol it does not export (`fastify.logController`, 5.x): found by
 * its description, so that a Fastify that renames it makes `onReplyDone` throw at boot rather than go silent.
 */
function getLogController(app: FastifyInstance): unknown {
  const key = Object.getOwnPropertySymbols(app).find((symbol) => symbol.description === 'fastify.logController');
  return key === undefined ? undefined : (app as unknown as Record<symbol, unknown>)[key];
}

/**
 * Adds a handler that runs once per request when its reply is done: when its response finishes; for a client that
 * hung up before the reply (a reload, a closed tab, a load balancer's timeout), when the reply is sent, since no
 * response finishes then; for a response that closes unfinished after its headers went out (a client that hung up
 * mid-stream, a streamed body that failed mid-way), when it closes. Such a request still took the instance's time, and
 * at a sale's overload the slowest requests are the ones shoppers give up on: left out, they vanished from the latency
 * figures, the `/health` window, the degrade-mode signal and the access log. `abandoned` says the response never
 * finished (either of the last two cases).
 *
 * The app must be built with `logController: new ReplyDoneLogController(…)` (otherwise this throws), which runs the handlers for every request,
 * the router's refusals included (they run no hook, and Fastify times no such reply: `durationMs` times them instead).
 * Every handler of one server runs in the order they were added; a handler that throws is logged and the others still
 * run. Handlers are synchronous: they record, they do not wait. Call it on the root instance, or from a plugin that
 * skips encapsulation, as the callers do.
 */
export function onReplyDone(app: FastifyInstance, handler: ReplyDoneHandler): void {
  if (!(getLogController(app) instanceof ReplyDoneLogController)) {
    throw new Error('onReplyDone: the app was not built with `logController: new ReplyDoneLogController(…)`: no reply-done handler would run');
  }
  const known = handlersByServer.get(app.server);
  if (known) {
    known.push(handler);
    return;
  }
  const handlers = [handler];
  handlersByServer.set(app.server, handlers);
  app.addHook('onSend', (request, reply, payload, next) => {
    // The response is destroyed with its socket: nothing more will be written, and it will never finish.
    if (reply.raw.destroyed && !abandonedDone.has(request)) {
      abandonedDone.add(request);
      runAll(handlers, request, reply, true);
    }
    next(null, payload);
  });
}
