import type { FastifyReply } from 'fastify';

/** The one error body every non-2xx reply has (schema: `ErrorResponse` in `./schemas.ts`). */
export interface ErrorBody {
  error: { code: string; message: string; requestId: string; details?: Record<string, unknown> };
}

export function errorBody(code: string, message: string, requestId: string, details?: Record<string, unknown>): ErrorBody {
  const body: ErrorBody = { error: { code, message, requestId } };
  if (details !== undefined) body.error.details = details;
  return body;
}

/** Seconds a client should wait before retrying a 503. */
export const RETRY_AFTER_S = { unavailable: 2, busy: 1 } as const;

export function sendError(reply: FastifyReply, status: number, code: string, message: string, details?: Record<string, unknown>): FastifyReply {
  // Every 503 is a refusal to retry: say when.
  if (status === 503 && reply.getHeader('retry-after') === undefined) reply.header('retry-after', String(RETRY_AFTER_S.busy));
  return reply.code(status).type('application/json; charset=utf-8').send(errorBody(code, message, String(reply.request.id), details));
}
