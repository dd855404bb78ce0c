import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';

/**
 * Adds a hook that runs once per request when its reply is done: on response as usual, or, for a client that
 * hung up before the reply (a reload, a closed tab, a load balancer's timeout), when the reply is sent, since
 * Fastify runs no onResponse hook for it. Such a request still took the instance's time, and at a sale's overload
 * the slowest requests are the ones shoppers give up on: left out, they vanished from the latency figures, the
 * `/health` window, the degrade-mode signal and the access log. `abandoned` says which case it is.
 */
export function onReplyDone(app: FastifyInstance, handler: (request: FastifyRequest, reply: FastifyReply, abandoned: boolean) => Promise<void> | void): void {
  const done = new WeakSet<FastifyRequest>();
  app.addHook('onSend', (request, reply, payload, next) => {
    // The response is destroyed with its socket: nothing more will be written, and no onResponse will follow.
    if (reply.raw.destroyed && !done.has(request)) {
      done.add(request);
      Promise.resolve(handler(request, reply, true)).catch((error: unknown) => request.log.warn({ err: error }, 'could not record an abandoned request'));
    }
    next(null, payload);
  });
  app.addHook('onResponse', async (request, reply) => {
    if (done.has(request)) return;
    done.add(request);
    await handler(request, reply, false);
  });
}
