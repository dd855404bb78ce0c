/**
 * Domain errors: expected refusals with a stable code, raised by services. The kind classifies the
 * refusal for every transport; only the web role's error handler turns a kind into an HTTP status.
 */
/** `bad_gateway`: a dependency answered what we cannot use (a payment provider refusing our well-meant call): our failure, not the client's. */
export type ErrorKind = 'invalid' | 'unauthenticated' | 'payment_required' | 'forbidden' | 'not_found' | 'conflict' | 'unprocessable' | 'rate_limited' | 'bad_gateway' | 'unavailable';

export class DomainError extends Error {
  readonly code: string;
  readonly kind: ErrorKind;
  readonly details: Record<string, unknown> | undefined;
  /**
   * An `unavailable` failure that knows how long clients should wait: its 503's `Retry-After` (else the default of
   * every 503, 1 s).
   */
  retryAfterS: number | undefined;

  constructor(code: string, kind: ErrorKind, message: string, details?: Record<string, unknown>) {
    // An expected refusal is not a bug: no stack to capture (a sold-out storm throws thousands per second).
    const limit = Error.stackTraceLimit;
    Error.stackTraceLimit = 0;
    super(message);
    Error.stackTraceLimit = limit;
    this.name = 'DomainError';
    this.code = code;
    this.kind = kind;
    this.details = details;
  }
}

/**
 * A refusal is an answer (the request was wrong or cannot be granted: sold out, not found, limit hit),
 * not a failure: it is replayed to retries of the same idempotent request and counted as "rejected".
 * `unavailable` is a failure of ours (a dependency is down): retrying may succeed; so is `bad_gateway` (a dependency
 * refused our call).
 */
export function isRefusal(error: unknown): error is DomainError {
  return error instanceof DomainError && error.kind !== 'unavailable' && error.kind !== 'bad_gateway';
}

const withoutEffect = new WeakSet<object>();

/**
 * Marks a failure known to have had no effect (it happened before anything was written, e.g. the stock gate unreachable
 * before the order's statement): its outcome is not unknown, so its retry need not doubt it (see `hadNoEffect`).
 */
export function noEffect<E>(error: E): E {
  if (typeof error === 'object' && error !== null) withoutEffect.add(error);
  return error;
}

/** Whether `error` was marked by {@link noEffect}. */
export function hadNoEffect(error: unknown): boolean {
  return typeof error === 'object' && error !== null && withoutEffect.has(error);
}

const notKept = new WeakSet<object>();

/**
 * Marks a refusal that answers its request but is not its Idempotency-Key's result: it was given without a check that
 * could have found the key's earlier effect (e.g. a sold-out refusal after a Redis data loss whose look for the order
 * under its key was skipped or failed). The key is released, not completed and not marked unknown-outcome, so its
 * next retry asks again (see `isAnswerOnly`).
 */
export function answerOnly<E>(error: E): E {
  if (typeof error === 'object' && error !== null) notKept.add(error);
  return error;
}

/** Whether `error` was marked by {@link answerOnly}. */
export function isAnswerOnly(error: unknown): boolean {
  return typeof error === 'object' && error !== null && notKept.has(error);
}

/**
 * `resource` names the code (`sale_event` → `SALE_EVENT_NOT_FOUND`); the message, read by people, names it in words
 * ("sale event 5 does not exist"), as every other message does.
 */
export class NotFoundError extends DomainError {
  constructor(resource: string, id: string | number) {
    super(`${resource.toUpperCase()}_NOT_FOUND`, 'not_found', `${resource.replaceAll('_', ' ')} ${id} does not exist`, { id });
  }
}

export class ConflictError extends DomainError {
  constructor(code: string, message: string, details?: Record<string, unknown>) {
    super(code, 'conflict', message, details);
  }
}

export class UnprocessableError extends DomainError {
  constructor(code: string, message: string, details?: Record<string, unknown>) {
    super(code, 'unprocessable', message, details);
  }
}

export class InvalidInputError extends DomainError {
  constructor(code: string, message: string, details?: Record<string, unknown>) {
    super(code, 'invalid', message, details);
  }
}

/**
 * A name set anew (on an update, where the schema cannot tell a new name from the stored one resent) that is not one
 * line or holds a bidi override (`isSingleLine`): 400 VALIDATION_FAILED at /name, as the create's schema answers it.
 */
export class NameNotSingleLineError extends InvalidInputError {
  constructor() {
    super('VALIDATION_FAILED', 'request body is invalid', {
      in: 'body',
      issues: [{ path: '/name', message: 'must be one line: no control character, line or paragraph separator, or bidi embedding, override or isolate' }],
    });
  }
}

/** A request that changes something only once per key (an order, a relative stock adjustment) came without its key. */
export class IdempotencyKeyRequiredError extends InvalidInputError {
  constructor() {
    super('IDEMPOTENCY_KEY_REQUIRED', 'the Idempotency-Key header is required (1–255 printable characters, e.g. a UUID)');
  }
}

/**
 * An Idempotency-Key already names another request of the same client (422 `IDEMPOTENCY_KEY_REUSED`).
 * Never kept as the key's result: the key still belongs to its first request, whose retries are replayed.
 */
export class IdempotencyKeyReusedError extends UnprocessableError {
  constructor() {
    super('IDEMPOTENCY_KEY_REUSED', 'this Idempotency-Key was used for a different request; use a new key for a new request');
  }
}
