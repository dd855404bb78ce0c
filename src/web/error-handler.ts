import { randomUUID } from 'node:crypto';
import { STATUS_CODES, type IncomingMessage, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { classifyDatabaseFailure, isInvalidValueError, redactStatementParameters, type DatabaseFailure } from '../platform/db/errors.ts';
import { isRedisUnavailable } from '../platform/redis/errors.ts';
import { DomainError } from '../shared/errors.ts';
import { domainErrorStatus, errorBody, RETRY_AFTER_S, sendError } from '../platform/http/error-reply.ts';

export { RETRY_AFTER_S } from '../platform/http/error-reply.ts';

/** Codes for the 4xx errors Fastify raises itself (body parsing, content type, limits, router). */
const FASTIFY_CODES: Record<string, string> = {
  FST_ERR_CTP_BODY_TOO_LARGE: 'PAYLOAD_TOO_LARGE',
  FST_ERR_CTP_INVALID_MEDIA_TYPE: 'UNSUPPORTED_MEDIA_TYPE',
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: 'INVALID_CONTENT_LENGTH',
  FST_ERR_CTP_EMPTY_JSON_BODY: 'EMPTY_JSON_BODY',
  FST_ERR_CTP_INVALID_JSON_BODY: 'INVALID_JSON',
  FST_ERR_CTP_EMPTY_TYPE: 'UNSUPPORTED_MEDIA_TYPE',
  FST_ERR_CTP_INVALID_TYPE: 'UNSUPPORTED_MEDIA_TYPE',
  FST_ERR_BAD_URL: 'BAD_URL',
  FST_ERR_MAX_PARAM_LENGTH: 'URI_TOO_LONG',
};

const DATABASE_CODES: Record<DatabaseFailure, string> = {
  unavailable: 'DATABASE_UNAVAILABLE',
  busy: 'DATABASE_BUSY',
  timeout: 'DATABASE_TIMEOUT',
  conflict: 'DATABASE_CONFLICT',
};

/**
 * A dependency failure that is not a bug: an outage of PostgreSQL or Redis (whatever wraps it),
 * a pool checkout timeout, a statement cancelled by its timeout, a deadlock rolled back.
 */
export function dependencyFailure(error: unknown): { code: string; retryAfterS: number } | undefined {
  if (isRedisUnavailable(error)) return { code: 'REDIS_UNAVAILABLE', retryAfterS: RETRY_AFTER_S.unavailable };
  const failure = classifyDatabaseFailure(error);
  if (!failure) return undefined;
  return { code: DATABASE_CODES[failure], retryAfterS: failure === 'unavailable' ? RETRY_AFTER_S.unavailable : RETRY_AFTER_S.busy };
}

/** Replies that failed because a dependency was down (see `failedOnDependency`). */
const dependencyFailures = new WeakSet<FastifyReply>();

/** Whether this reply reports a dependency failure (PostgreSQL or Redis down, pool timeout, …). */
export function failedOnDependency(reply: FastifyReply): boolean {
  return dependencyFailures.has(reply);
}

export function installErrorHandling(
  app: FastifyInstance,
  options: {
    /**
     * The page a request no route serves is answered with instead of the JSON 404 (the storefront's, for a browser
     * following a dead link to a page); undefined for the JSON 404.
     */
    notFoundPage?: (request: FastifyRequest) => string | undefined;
  } = {},
): void {
  // A failed statement's values (emails, password hashes) leave the error before anything records it: onError hooks
  // run before the error handler, in the order they were added, and this one is added before the tracing's
  // (@fastify/otel registers its own when the app's plugins load), which puts the message and stack on the request span.
  app.addHook('onError', (_request, _reply, error, done) => {
    redactStatementParameters(error, error as unknown as Record<string, unknown>);
    done();
  });
  app.setErrorHandler((error: FastifyError, request: FastifyRequest, reply: FastifyReply) => {
    if (error instanceof DomainError) {
      // A refusal that knows when it lifts (an account locked after failed sign-ins) says so in `Retry-After`, as the
      // rate limiter's 429s do: clients and proxies read the header, not the body.
      const retryAfterS = error.details?.retryAfterSeconds;
      if (error.kind === 'rate_limited' && typeof retryAfterS === 'number' && Number.isFinite(retryAfterS)) reply.header('retry-after', String(Math.max(1, Math.ceil(retryAfterS))));
      // A failure that knows how long to back off (a payment provider down: as a dependency down) says so; any other
      // 503 gets sendError's default.
      if (error.kind === 'unavailable' && error.retryAfterS !== undefined) reply.header('retry-after', String(Math.max(1, Math.ceil(error.retryAfterS))));
      return sendError(reply, domainErrorStatus(error), error.code, error.message, error.details);
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
    const dependency = dependencyFailure(error);
    if (dependency) {
      dependencyFailures.add(reply);
      // The logger's error serializer leaves the stack out for these: an outage is not a bug.
      request.log.warn({ err: error, code: dependency.code }, 'dependency unavailable');
      reply.header('retry-after', String(dependency.retryAfterS));
      return sendError(reply, 503, dependency.code, 'the service is temporarily unavailable, please retry');
    }
    if (isInvalidValueError(error)) {
      // The schemas should have refused this value: worth a warning, not a 500.
      request.log.warn({ err: error }, 'the database refused a value the request supplied');
      return sendError(reply, 400, 'INVALID_VALUE', 'a value in the request cannot be stored or searched');
    }
    request.log.error({ err: error }, 'unhandled error');
    return sendError(reply, 500, 'INTERNAL_ERROR', 'an unexpected error occurred');
  });

  app.setNotFoundHandler((request, reply) => {
    const path = request.url.split('?')[0] ?? '/';
    // A path that exists under other methods is a 405 with `Allow`, not a 404 — unless a route of this
    // very method matched and found nothing itself (a wildcard route, e.g. a missing file of /docs/static).
    const matched = app.findRoute({ method: request.method as (typeof ALL_METHODS)[number], url: path }) !== null;
    const allowed = matched ? [] : ALL_METHODS.filter((method) => method !== request.method && app.findRoute({ method, url: path }) !== null);
    if (allowed.length > 0) {
      reply.header('allow', allowed.join(', '));
      return sendError(reply, 405, 'METHOD_NOT_ALLOWED', `${request.method} is not allowed on ${path}`, { allow: allowed });
    }
    const page = options.notFoundPage?.(request);
    if (page !== undefined) return reply.code(404).type('text/html; charset=utf-8').send(page);
    return sendError(reply, 404, 'ROUTE_NOT_FOUND', `no route ${request.method} ${path}`);
  });
}

/** The methods the web role serves on some route; `OPTIONS *` answers them in `Allow`. */
export const ALL_METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'] as const;

/**
 * Fastify's `frameworkErrors`: the router's own refusals (a path parameter over `maxParamLength`,
 * a malformed URL) in the same error shape as everything else, with the headers every reply carries
 * (`everyReply`: the router refuses before any hook has set them). With `limit` (the rate limits' check), such a
 * request first spends the client's budget as any other does, and is refused with a 429 once it is spent.
 * `clientAddressOf` names the client as the app's other requests are named (TRUST_PROXY, CLIENT_ADDRESS_HEADER), which
 * Fastify does not do for these: the limit, the degrade signal and the log line then see the client, not the proxy.
 * (Metrics and the request log line see these replies through `ReplyDoneLogController`.)
 */
export function createFrameworkErrors(
  everyReply: Readonly<Record<string, string>>,
  limit?: (request: FastifyRequest, reply: FastifyReply) => Promise<void>,
  clientAddressOf?: (raw: IncomingMessage) => string | undefined,
): (error: FastifyError, request: FastifyRequest, reply: FastifyReply) => void {
  return (error, request, reply) => {
    const client = clientAddressOf?.(request.raw);
    if (client !== undefined) Object.defineProperty(request, 'ip', { value: client, enumerable: true });
    const status = error.statusCode ?? 400;
    // The router refused before any hook ran: echo the request id here.
    reply.headers(everyReply).header('x-request-id', reply.request.id);
    const refuse = () => {
      if (!reply.sent) sendError(reply, status, FASTIFY_CODES[error.code] ?? 'BAD_REQUEST', status === 414 ? 'a path parameter is too long' : 'the request URL is malformed');
    };
    if (limit === undefined) return refuse();
    limit(request, reply).then(refuse, (failure: unknown) => {
      // The limit could not be checked at all (a live-sale check or a policy read that threw; Redis failures are
      // handled inside `limit`). The rule is fail-open, as the general limiter's when Redis is down: not knowing
      // whether the client is over budget, it gets the router's refusal (400/414), never a 429 or 503. The refused
      // URL does no work here, so letting it through costs nothing a limit would have saved.
      request.log.warn({ err: failure }, 'could not count a refused URL against the rate limits');
      refuse();
    });
  };
}

/**
 * The http server's `checkExpectation`: a request whose `Expect` header is not `100-continue`, the one
 * expectation HTTP/1.1 defines (RFC 9110 §10.1.1). Node calls no request handler for it and, when nobody
 * listens, answers a bare 417; here the 417 has the error shape. The request is not processed: its body,
 * if any, is read and dropped by Node, and the connection stays open.
 */
export function answerExpectationFailed(response: ServerResponse, requestId: string, everyReply: Readonly<Record<string, string>>): void {
  const body = JSON.stringify(errorBody('EXPECTATION_FAILED', 'the server meets no expectation but "Expect: 100-continue"', requestId));
  response.writeHead(417, { ...everyReply, 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(body), 'x-request-id': requestId });
  response.end(body);
}

/** What Node's HTTP parser refuses before there is a request to answer, by its error code. */
const CONNECTION_ERRORS: Record<string, { status: number; code: string; message: string }> = {
  ERR_HTTP_REQUEST_TIMEOUT: { status: 408, code: 'REQUEST_TIMEOUT', message: 'the request did not arrive in time' },
  HPE_HEADER_OVERFLOW: { status: 431, code: 'HEADERS_TOO_LARGE', message: 'the request headers are too large' },
};
const MALFORMED_REQUEST = { status: 400, code: 'MALFORMED_REQUEST', message: 'the request is not valid HTTP/1.1' };

/**
 * Fastify's `clientErrorHandler`: Node's refusals of a connection's bytes — a malformed or doubled
 * Content-Length, Content-Length with Transfer-Encoding, a bad chunk, a control character in a
 * header, headers over the limit, a request not received within REQUEST_TIMEOUT_MS — in the same
 * error shape as everything else (Fastify's default is `{"error":"Bad Request","message":"Client Error"}`),
 * then the connection is closed: after a parse error its remaining bytes cannot be trusted. With `everyReply`, the headers
 * every reply carries (no-store, the security headers).
 */
export function createClientErrorAnswer(everyReply: Readonly<Record<string, string>>): (error: Error & { code?: string }, socket: Socket) => void {
  // The headers every reply carries (no-store, the security headers), written once as header lines.
  const everyReplyLines = Object.entries(everyReply)
    .map(([name, value]) => `${name}: ${value}\r\n`)
    .join('');
  return (error, socket) => {
    // A reset connection has nobody left to answer.
    if (error.code === 'ECONNRESET' || socket.destroyed) return;
    const refusal = (error.code && CONNECTION_ERRORS[error.code]) || MALFORMED_REQUEST;
    if (socket.writable) {
      const requestId = randomUUID();
      const body = JSON.stringify(errorBody(refusal.code, refusal.message, requestId));
      socket.write(
        `HTTP/1.1 ${refusal.status} ${STATUS_CODES[refusal.status]}\r\n${everyReplyLines}content-type: application/json; charset=utf-8\r\ncontent-length: ${Buffer.byteLength(body)}\r\nx-request-id: ${requestId}\r\nconnection: close\r\n\r\n${body}`,
      );
    }
    socket.destroy(error);
  };
}
