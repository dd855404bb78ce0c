import type { FastifyReply, FastifyRequest } from 'fastify';

declare module 'fastify' {
  interface FastifyContextConfig {
    /**
     * The route's 200 reply stays open for as long as the client listens (Server-Sent Events). Its
     * duration is how long a visitor stayed, not how long we took to answer, so it is left out of every
     * latency figure: `http_request_duration_seconds`, the `/health` window and the degrade-mode signal.
     * The route's other replies (400, 404, 503, …) are ordinary requests and are counted.
     * @defaultValue false
     */
    longLived?: boolean;
  }
}

/** Whether this reply is a long-lived stream (see `longLived`) rather than an answer whose duration is latency. */
export function isLongLivedReply(request: FastifyRequest, reply: FastifyReply): boolean {
  return request.routeOptions.config?.longLived === true && reply.statusCode === 200;
}
