import type { FastifyReply } from 'fastify';
import type { DomainError, ErrorKind } from '../../shared/errors.ts';

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

/** The only place that knows HTTP statuses for domain errors (the error handler and the idempotency helper answer with it). */
const STATUS_BY_KIND: Record<ErrorKind, number> = {
  invalid: 400,
  unauthenticated: 401,
  payment_required: 402,
  forbidden: 403,
  not_found: 404,
  conflict: 409,
  unprocessable: 422,
  rate_limited: 429,
  bad_gateway: 502,
  unavailable: 503,
};

/** The status and body a domain error is answered with (used by the idempotency helper to store refusals). */
export function domainErrorReply(error: DomainError, requestId: string): { status: number; body: ErrorBody } {
  return { status: domainErrorStatus(error), body: errorBody(error.code, error.message, requestId, error.details) };
}

export function domainErrorStatus(error: DomainError): number {
  return STATUS_BY_KIND[error.kind];
}
