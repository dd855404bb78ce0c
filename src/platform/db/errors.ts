/** PostgreSQL SQLSTATE codes the services translate into domain errors. */
export const PG_UNIQUE_VIOLATION = '23505';
export const PG_FOREIGN_KEY_VIOLATION = '23503';
/** A delete refused by an ON DELETE RESTRICT key: PostgreSQL 18 reports it so, 15 as PG_FOREIGN_KEY_VIOLATION. */
export const PG_RESTRICT_VIOLATION = '23001';

/** Whether a delete was refused because rows still refer to the row (NO ACTION or RESTRICT, on any PostgreSQL). */
export function isStillReferenced(error: PgError | undefined): boolean {
  return error?.code === PG_FOREIGN_KEY_VIOLATION || error?.code === PG_RESTRICT_VIOLATION;
}
export const PG_CHECK_VIOLATION = '23514';

export interface PgError {
  code: string;
  constraint?: string;
  message?: string;
  /** DETAIL of the error; our functions put a refusal's data there as JSON. */
  detail?: string;
}

/** SQLSTATE of `RAISE EXCEPTION` without an explicit code: our functions' refusals. */
export const PG_RAISE_EXCEPTION = 'P0001';

/** The PostgreSQL error behind an error thrown by pg or wrapped by Drizzle, if any. */
export function pgError(error: unknown): PgError | undefined {
  for (let e: unknown = error, depth = 0; e && depth < 4; e = (e as { cause?: unknown }).cause, depth++) {
    const candidate = e as { code?: unknown; constraint?: unknown; severity?: unknown; message?: unknown; detail?: unknown };
    if (typeof candidate.code === 'string' && /^[0-9A-Z]{5}$/.test(candidate.code) && candidate.severity !== undefined) {
      return {
        code: candidate.code,
        constraint: typeof candidate.constraint === 'string' ? candidate.constraint : undefined,
        message: typeof candidate.message === 'string' ? candidate.message : undefined,
        detail: typeof candidate.detail === 'string' ? candidate.detail : undefined,
      };
    }
  }
  return undefined;
}

/**
 * Why a database call failed when the failure is not the request's fault and a retry shortly
 * after may succeed:
 * - `unavailable`: the server is unreachable, shutting down, starting up, or dropped the connection;
 * - `busy`: no connection could be had in time (pool checkout timeout, too many connections);
 * - `timeout`: the statement was cancelled by `statement_timeout`;
 * - `conflict`: rolled back by a deadlock or a serialization failure.
 */
export type DatabaseFailure = 'unavailable' | 'busy' | 'timeout' | 'conflict';

/** Socket-level failures (node's `err.code`) on the way to the server. */
const NETWORK_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ECONNABORTED', 'EPIPE', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTFOUND', 'EAI_AGAIN']);

/** A checkout refused because DB_POOL_QUEUE_MAX checkouts already wait for a connection (`client.ts`). */
export const POOL_QUEUE_FULL_MESSAGE = 'too many requests waiting for a database connection';

/** pg's own messages for a connection that failed or went away (pg sets no code on these). */
const CONNECTION_MESSAGES = [
  'Connection terminated',
  'Client has encountered a connection error and is not queryable',
  'Client was closed and is not queryable',
  'Cannot use a pool after calling end on the pool',
  'the database system is',
];

function classifySqlState(code: string): DatabaseFailure | undefined {
  if (PG_RETRYABLE_CODES.has(code)) return 'conflict';
  if (code === '57014') return 'timeout';
  // 57P01 admin_shutdown, 57P02 crash_shutdown, 57P03 cannot_connect_now, 57P05 idle_session_timeout,
  // class 08 connection exceptions, 25006 read-only transaction (a failover in progress).
  if (code === '57P01' || code === '57P02' || code === '57P03' || code === '57P05' || code.startsWith('08') || code === '25006') return 'unavailable';
  // 53300 too_many_connections, 53xxx insufficient resources, 55P03 lock_not_available (lock_timeout).
  if (code.startsWith('53') || code === '55P03') return 'busy';
  return undefined;
}

/**
 * The transient failure behind `error` (pg's, or wrapped by Drizzle as `cause`, or an
 * `AggregateError` of several connection attempts), or undefined when it is something else.
 */
export function classifyDatabaseFailure(error: unknown): DatabaseFailure | undefined {
  const seen = new Set<unknown>();
  const queue: unknown[] = [error];
  while (queue.length > 0 && seen.size < 16) {
    const e = queue.shift();
    if (!e || typeof e !== 'object' || seen.has(e)) continue;
    seen.add(e);
    const candidate = e as { code?: unknown; message?: unknown; cause?: unknown; errors?: unknown; severity?: unknown };
    if (typeof candidate.code === 'string') {
      if (candidate.severity !== undefined && /^[0-9A-Z]{5}$/.test(candidate.code)) {
        const failure = classifySqlState(candidate.code);
        if (failure) return failure;
      }
      if (NETWORK_CODES.has(candidate.code)) return 'unavailable';
    }
    if (typeof candidate.message === 'string') {
      const message = candidate.message;
      if (message.includes('timeout exceeded when trying to connect') || message === POOL_QUEUE_FULL_MESSAGE) return 'busy';
      if (CONNECTION_MESSAGES.some((known) => message.startsWith(known))) return 'unavailable';
    }
    if (candidate.cause) queue.push(candidate.cause);
    if (Array.isArray(candidate.errors)) queue.push(...candidate.errors);
  }
  return undefined;
}

/**
 * Whether PostgreSQL refused a value the request supplied (SQLSTATE class 22, data exception:
 * a NUL byte, a string too long for its column, a number out of range, an invalid date). The
 * schemas should have refused it first; the error handler still answers 400, not 500.
 */
export function isInvalidValueError(error: unknown): boolean {
  return pgError(error)?.code.startsWith('22') === true;
}

/**
 * Deadlock (40P01) and serialization failure (40001): PostgreSQL rolled the statement back and the
 * same statement may simply be run again.
 */
export const PG_RETRYABLE_CODES: ReadonlySet<string> = new Set(['40P01', '40001']);

/** The error (pg's or Drizzle's wrapper of it) is one PostgreSQL asks us to retry. */
export function isRetryableConflict(error: unknown): boolean {
  const code = pgError(error)?.code;
  return code !== undefined && PG_RETRYABLE_CODES.has(code);
}

/**
 * Drizzle wraps every failed statement in a `DrizzleQueryError` whose message (and so its stack) reads
 * `Failed query: <sql>\nparams: <values>`, and which carries the values as `params`: customers' emails, password
 * hashes, names and addresses. `target` (the error itself, or a serialized copy of it for a log line) keeps the
 * parameterised SQL and loses the values. The web role's error handler redacts the error in place before the
 * tracing's `onError` hook records it on the request span (status message and exception event), which every
 * reader of the traces sees; the logger's serializer redacts its copy.
 */
export function redactStatementParameters(error: unknown, target: Record<string, unknown>): void {
  const params = (error as { params?: unknown } | null)?.params;
  if (!Array.isArray(params) || typeof (error as { query?: unknown }).query !== 'string') return;
  const leaked = `\nparams: ${String(params)}`;
  const redacted = `\nparams: [${params.length} redacted]`;
  for (const field of ['message', 'stack'] as const) {
    const text = target[field];
    if (typeof text === 'string') target[field] = text.split(leaked).join(redacted);
  }
  delete target.params;
}
