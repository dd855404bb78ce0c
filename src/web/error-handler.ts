import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { pgError } from '../platform/db/errors.ts';
import { DomainError, STATUS_BY_KIND } from './errors.ts';

export interface ErrorBody {
  error: { code: string; message: string; requestId: string; details?: Record<string, unknown> };
}

/** Codes for the 4xx errors Fastify raises itself (body parsing, content type, limits). */
const FASTIFY_CODES: Record<string, string> = {
  FST_ERR_CTP_BODY_TOO_LARGE: 'PAYLOAD_TOO_LARGE',
  FST_ERR_CTP_INVALID_MEDIA_TYPE: 'UNSUPPORTED_MEDIA_TYPE',
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: 'INVALID_CONTENT_LENGTH',
  FST_ERR_CTP_EMPTY_JSON_BODY: 'EMPTY_JSON_BODY',
  FST_ERR_CTP_INVALID_JSON_BODY: 'INVALID_JSON',
  FST_ERR_CTP_EMPTY_TYPE: 'UNSUPPORTED_MEDIA_TYPE',
  FST_ERR_CTP_INVALID_TYPE: 'UNSUPPORTED_MEDIA_TYPE',
};

/** PostgreSQL / pool failures that mean "try again shortly" rather than "bug". */
function transientDatabaseCode(error: unknown): string | undefined {
  // Drizzle wraps pg's error: look through the cause chain for the SQLSTATE.
  const raw = error as { code?: string; message?: string };
  const e = { code: pgError(error)?.code ?? raw.code, message: raw.message };
  if (e.code === '57014') return 'DATABASE_TIMEOUT';
  // Deadlock / serialization failure: the statement was rolled back and may simply be retried.
  if (e.code === '40P01' || e.code === '40001') return 'DATABASE_CONFLICT';
  if (e.code === '57P01' || e.code === '57P03' || e.code === '08006' || e.code === '08001' || e.code === 'ECONNREFUSED') return 'DATABASE_UNAVAILABLE';
  if (typeof e.message === 'string' && e.message.includes('timeout exceeded when trying to connect')) return 'DATABASE_BUSY';
  return undefined;
}

export function sendError(reply: FastifyReply, status: number, code: string, message: string, details?: Record<string, unknown>): FastifyReply {
  const body: ErrorBody = { error: { code, message, requestId: String(reply.request.id) } };
  if (details !== undefined) body.error.details = details;
  return reply.code(status).type('application/json; charset=utf-8').send(body);
}

export function installErrorHandling(app: FastifyInstance): void {
  app.setErrorHandler((error: FastifyError, request: FastifyRequest, reply: FastifyReply) => {
    if (error instanceof DomainError) {
      return sendError(reply, STATUS_BY_KIND[error.kind], error.code, error.message, error.details);
    }
    if (error.validation) {
      const issues = error.validation.map((issue) => ({
        path: issue.instancePath || '/',
        message: issue.message ?? 'is invalid',
        ...(issue.keyword === 'additionalProperties' ? { field: (issue.params as { additionalProperty?: string }).additionalProperty } : {}),
      }));
      return sendError(reply, 400, 'VALIDATION_FAILED', `request ${error.validationContext ?? 'input'} is invalid`, {
        in: error.validationContext,
        issues,
      });
    }
    const status = error.statusCode ?? 500;
    if (status >= 400 && status < 500) {
      const code = FASTIFY_CODES[error.code] ?? (status === 413 ? 'PAYLOAD_TOO_LARGE' : status === 415 ? 'UNSUPPORTED_MEDIA_TYPE' : 'BAD_REQUEST');
      return sendError(reply, status, code, error.message);
    }
    const transient = transientDatabaseCode(error);
    if (transient) {
      request.log.warn({ err: error }, 'database unavailable');
      reply.header('retry-after', '1');
      return sendError(reply, 503, transient, 'the service is temporarily unavailable, please retry');
    }
    request.log.error({ err: error }, 'unhandled error');
    return sendError(reply, 500, 'INTERNAL_ERROR', 'an unexpected error occurred');
  });

  app.setNotFoundHandler((request, reply) => sendError(reply, 404, 'ROUTE_NOT_FOUND', `no route ${request.method} ${request.url.split('?')[0]}`));
}
