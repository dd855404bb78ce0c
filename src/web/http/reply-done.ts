import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';

type ReplyDoneHandler = (request: FastifyRequest, reply: FastifyReply, abandoned: boolean) => void;

/** Each server's handlers, run by one pair of hooks: a hook per handler cost every request a hook turn each. */
const handlersByServer = new WeakMap<object, ReplyDoneHandler[]>();

/**
 * Adds a handler that runs once per request when its reply is done: on response as usual, or, for a client that
 * hung up before the reply (a reload, a closed tab, a load balancer's timeout), when the reply is sent, since
 * Fastify runs no onResponse hook for it. Such a request still took the instance's time, and at a sale's overload
 * the slowest requests are the ones shoppers give up on: left out, they vanished from the latency figures, the
 * `/health` window, the degrade-mode signal and the access log. `abandoned` says which case it is.
 *
 * Every handler of one server runs from the same two hooks, added on the first call (call it on the root instance,
 * or from a plugin that skips encapsulation, as the callers do), in the order they were added; a handler that
 * throws is logged and the others still run. Handlers are synchronous: they record, they do not wait.
 */
export function onReplyDone(app: FastifyInstance, handler: ReplyDoneHandler): void {
  const known = handlersByServer.get(app.server);
  if (known) {
    known.push(handler);
    return;
  }
  const handlers = [handler];
  handlersByServer.set(app.server, handlers);
  // Requests already handled as abandoned (rare): a set only they enter, so a normal reply pays one failed lookup.
  const abandonedDone = new WeakSet<FastifyRequest>();
  const runAll = (request: FastifyRequest, reply: FastifyReply, abandoned: boolean) => {
    for (const run of handlers) {
      try {
        run(request, reply, abandoned);
      } catch (error) {
        request.log.warn({ err: error }, abandoned ? 'could not record an abandoned request' : 'could not record a finished request');
      }
    }
  };
  app.addHook('onSend', (request, reply, payload, next) => {
    // The response is destroyed with its socket: nothing more will be written, and no onResponse will follow.
    if (reply.raw.destroyed && !abandonedDone.has(request)) {
      abandonedDone.add(request);
      runAll(request, reply, true);
    }
    next(null, payload);
  });
  app.addHook('onResponse', (request, reply, next) => {
    if (!abandonedDone.has(request)) runAll(request, reply, false);
    next();
  });
}
