import { hash } from 'node:crypto';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { IdempotencyStore } from '../idempotency/idempotency-store.ts';
import { type DomainError, hadNoEffect, IdempotencyKeyReusedError, isAnswerOnly, isRefusal } from '../../shared/errors.ts';
import { domainErrorReply, sendError } from './error-reply.ts';

export interface IdempotentResult {
  status: number;
  body: unknown;
  /** The result is an earlier request's (found by another guard, e.g. a database constraint). */
  replayed?: boolean;
}

/**
 * A recorded refusal answers its retry with the retry's request id: every error body names the request whose
 * log lines and `X-Request-Id` header it goes with (the first request's id pointed the retry's reader at another
 * request). Code, message and details stay the first reply's. Other bodies are replayed as recorded.
 */
function withRequestId(body: unknown, requestId: string): unknown {
  const error = (body as { error?: unknown } | null)?.error;
  if (typeof error !== 'object' || error === null || !('requestId' in error)) return body;
  return { ...(body as object), error: { ...error, requestId } };
}

/** A stable hash of what makes two requests "the same request" (one-shot: no Hash object per request). */
export function fingerprintOf(value: unknown): string {
  return hash('sha256', JSON.stringify(value), 'base64url');
}

/**
 * Runs `run` at most once per (scope, key) and replays its first completed response:
 * a retry gets the same status and body with `Idempotent-Replayed: true`; a retry while the first is
 * still running gets 409 `IDEMPOTENCY_IN_PROGRESS`; the same key with another request gets 422
 * `IDEMPOTENCY_KEY_REUSED` (also when `run` finds it so and throws `IdempotencyKeyReusedError`: then nothing
 * is kept). Refusals (4xx domain errors) are results and are replayed too (with the retry's request id), unless `run`
 * threw them marked `answerOnly` (then the key is released unmarked: its next retry runs again); failures
 * (5xx) are not stored, so the key can be retried, but they mark the key: their outcome is unknown (an order may
 * have committed before its connection dropped), unless `run` threw them marked `noEffect` (failed before any write). The next attempt then runs with `uncertain` (never answered from
 * `knownRefusal`), for `run` to look for the earlier attempt's effect before a refusal stands; and a refusal of such
 * an attempt is not stored either (the mark stays: the earlier attempt's statement may still commit), so every retry
 * asks again until one gets a result. If the store cannot be reached the request is refused (503).
 */
export async function idempotent(
  store: IdempotencyStore,
  request: FastifyRequest,
  reply: FastifyReply,
  input: {
    scope: string;
    key: string;
    fingerprint: string;
    /** A refusal known without running (e.g. sold out, from memory): recorded and sent in one step. */
    knownRefusal?: () => DomainError | undefined;
    /**
     * Called when the known refusal is this request's answer (stored and sent): not when it is not used (a replay of
     * the key's record, a mismatch, an attempt in progress, or the retry of an unknown outcome, which runs).
     */
    knownRefusalAnswered?: (refusal: DomainError) => void;
  },
  run: (attempt: { uncertain: boolean }) => Promise<IdempotentResult>,
): Promise<FastifyReply> {
  const known = input.knownRefusal?.();
  const knownReply = known ? domainErrorReply(known, String(request.id)) : undefined;
  let begin: Awaited<ReturnType<IdempotencyStore['begin']>>;
  try {
    begin = knownReply
      ? await store.beginWithResult(input.scope, input.key, input.fingerprint, knownReply.status, knownReply.body)
      : await store.begin(input.scope, input.key, input.fingerprint);
  } catch (error) {
    request.log.warn({ err: error }, 'idempotency store unavailable');
    reply.header('retry-after', '1');
    return sendError(reply, 503, 'IDEMPOTENCY_UNAVAILABLE', 'this action is temporarily unavailable, please retry with the same Idempotency-Key');
  }
  if (begin.kind === 'mismatch') {
    const reused = new IdempotencyKeyReusedError();
    return sendError(reply, 422, reused.code, reused.message);
  }
  if (begin.kind === 'in-progress') {
    reply.header('retry-after', '1');
    return sendError(reply, 409, 'IDEMPOTENCY_IN_PROGRESS', 'a request with this Idempotency-Key is still being processed; retry shortly with the same key');
  }
  if (begin.kind === 'replay') return reply.header('idempotent-replayed', 'true').code(begin.status).send(withRequestId(begin.body, String(request.id)));
  const uncertain = begin.uncertain === true;
  // A known refusal was stored with the record, except over the mark of an unknown outcome: then this attempt runs.
  if (known && knownReply && !uncertain) {
    input.knownRefusalAnswered?.(known);
    return reply.code(knownReply.status).send(knownReply.body);
  }

  const { lease } = begin;
  // The lease is renewed while `run` runs (a checkout can outlast one lease: several statements each up to the statement
  // timeout): a retry meanwhile gets IDEMPOTENCY_IN_PROGRESS instead of running beside it.
  const release = store.hold(input.scope, input.key, lease, ({ error, lost }) =>
    request.log.warn({ err: error }, lost ? 'idempotency lease lost while the request ran: a retry with its key may run beside it' : 'could not renew an idempotency lease'),
  );
  let result: IdempotentResult;
  try {
    result = await run({ uncertain });
  } catch (error) {
    release();
    // A key found to belong to another request (by a guard behind this record, e.g. the order row of a
    // lost record) is refused without being kept: the record would otherwise refuse its first request's retries.
    // So is a refusal marked `answerOnly` (given without the check that could have found the key's earlier effect):
    // the key is released, without an unknown-outcome mark, for its next retry to ask again.
    if (isRefusal(error) && !uncertain && !(error instanceof IdempotencyKeyReusedError) && !isAnswerOnly(error)) {
      const refusal = domainErrorReply(error, String(request.id));
      await store.complete(input.scope, input.key, lease, input.fingerprint, refusal.status, refusal.body).catch((e: unknown) => request.log.warn({ err: e }, 'could not store an idempotent refusal'));
    } else {
      // A failure's outcome is unknown: the key is marked (a refusal after such a failure keeps the mark), unless it is
      // known to have had no effect (`noEffect`: failed before anything was written). An uncertain attempt keeps the mark.
      const unknownOutcome = (!isRefusal(error) && !hadNoEffect(error)) || uncertain ? { fingerprint: input.fingerprint } : undefined;
      await store.abandon(input.scope, input.key, lease, unknownOutcome).catch((e: unknown) => request.log.warn({ err: e }, 'could not release an idempotency key'));
    }
    throw error;
  }
  release();
  await store.complete(input.scope, input.key, lease, input.fingerprint, result.status, result.body).catch((e: unknown) => request.log.warn({ err: e }, 'could not store an idempotent result'));
  if (result.replayed) reply.header('idempotent-replayed', 'true');
  return reply.code(result.status).send(result.body);
}
