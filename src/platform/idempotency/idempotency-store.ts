import { hash, randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';
import { defineScript, optionalStringReply } from '../redis/script.ts';
import { IDEMPOTENCY_LEASE_MS } from './idempotency-lease.ts';
import { redisSpan } from '../telemetry/trace-context.ts';

/**
 * Idempotency records (Stripe's semantics, IETF `Idempotency-Key` draft) in Redis, one per scope
 * (e.g. a customer) and key: `in progress` while the first request runs (a lease that expires, so a
 * crashed request does not block its key forever), then its completed response for `retentionS`.
 * An attempt that failed (its outcome unknown: it may have committed before its connection dropped)
 * leaves a mark for `retentionS` instead: the next attempt under the key starts `uncertain`, so it can
 * ask the source of truth before a refusal stands (the mark is in Redis: any instance sees it).
 */
export type IdempotencyBegin =
  /** `uncertain`: an earlier attempt under this key failed with an unknown outcome (see `abandon`). */
  | { kind: 'started'; lease: string; uncertain?: true }
  | { kind: 'in-progress' }
  | { kind: 'mismatch' }
  | { kind: 'replay'; status: number; body: unknown };

export interface IdempotencyStore {
  begin(scope: string, key: string, fingerprint: string): Promise<IdempotencyBegin>;
  /**
   * For a response known without doing any work (e.g. sold out): stores it as the key's completed
   * response in the same step as `begin`, unless the key already has a record. `started` means it
   * was stored; the other kinds are what `begin` would have answered.
   */
  beginWithResult(scope: string, key: string, fingerprint: string, status: number, body: unknown): Promise<IdempotencyBegin>;
  /** Stores the response to replay; `fingerprint` as given to {@link IdempotencyStore.begin}. */
  complete(scope: string, key: string, lease: string, fingerprint: string, status: number, body: unknown): Promise<void>;
  /**
   * Ends an unfinished attempt without a result to replay: the key may be retried. With `unknownOutcome` (the
   * attempt failed and may have had its effect, e.g. an order committed before its connection dropped) the key keeps
   * a mark for `retentionS` (the request's fingerprint included): the next attempt begins `uncertain`. Without, the
   * record is deleted.
   */
  abandon(scope: string, key: string, lease: string, unknownOutcome?: { fingerprint: string }): Promise<void>;
  /**
   * Keeps `lease` owning its key while its attempt runs: renews the lease every third of it, each time only while the
   * record still carries this lease and no result (`complete`/`abandon` end it). A request that outlives one lease
   * (statements each up to the statement timeout, pool waits, a batch placed again one by one) keeps its key, so a
   * retry meanwhile gets `in-progress` instead of running beside it; a process that died stops renewing, and its lease
   * runs out within one lease as before. Returns the function that stops renewing (call it once the attempt settles).
   * A renewal that fails (Redis unreachable) or finds the key no longer this lease's is reported to `onRenewFailure`,
   * never thrown: the attempt goes on (the lease may still hold until the next renewal).
   */
  hold(scope: string, key: string, lease: string, onRenewFailure: (failure: { error?: unknown; lost?: true }) => void): () => void;
}

interface StoredRecord {
  /** fingerprint of the request */
  f: string;
  /** lease of the request that owns the key while in progress */
  l: string;
  done?: { status: number; body: unknown };
  /** An earlier attempt failed with an unknown outcome (`l` is '' while no attempt runs). */
  u?: 1;
  /**
   * With `u` and an attempt running: when its lease runs out (Redis' clock, ms). The record then lives on (its TTL is
   * the mark's, not the lease): a later attempt takes it over, still uncertain, if the one running died.
   */
  d?: number;
}

/**
 * The begin step as a script, for where `SET … NX GET` cannot answer: Redis before 7.0 (a syntax error
 * there), and a Redis out of memory (`noeviction` refuses every write command, `GET` first included, while
 * this script still reads the existing record before it would write). ARGV: record, ttlMs.
 */
const BEGIN = `
local current = redis.call('GET', KEYS[1])
if current then return current end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
return false
`;

/** Replaces the record only while `lease` still owns it. ARGV: lease, new value ('' deletes), ttlS. */
const SETTLE = `
local current = redis.call('GET', KEYS[1])
if not current then return 0 end
if cjson.decode(current).l ~= ARGV[1] then return 0 end
if ARGV[2] == '' then redis.call('DEL', KEYS[1]) else redis.call('SET', KEYS[1], ARGV[2], 'EX', ARGV[3]) end
return 1
`;

/**
 * Takes over a key whose record is a mark of an unknown outcome (see `StoredRecord.u`), or the record of an attempt
 * that took such a mark over and whose lease ran out (its process died): the new attempt runs, still uncertain, its
 * lease deadline in the record (Redis' clock) and the record kept at least as long as the mark (the uncertainty
 * outlives a dead attempt). Two retries at once: one takes it, the other sees it in progress. A key gone meanwhile
 * (the mark expired after it was read) begins as `BEGIN` does: the attempt starts certain, with the record it brought.
 * ARGV: fingerprint, lease, leaseMs, record if gone, its ttlMs. Replies: {'taken'}, {'started'} (gone, record set),
 * {'current', record} (not taken over: what `begin` answers from it).
 */
const TAKE_OVER = `
local current = redis.call('GET', KEYS[1])
if not current then
  redis.call('SET', KEYS[1], ARGV[4], 'PX', ARGV[5])
  return {'started'}
end
local record = cjson.decode(current)
if record.f ~= ARGV[1] or record.done or not record.u then return {'current', current} end
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
if record.l ~= '' and (tonumber(record.d) or 0) > now then return {'current', current} end
local leaseMs = tonumber(ARGV[3])
local ttl = math.max(redis.call('PTTL', KEYS[1]), leaseMs)
redis.call('SET', KEYS[1], cjson.encode({f = record.f, l = ARGV[2], u = 1, d = now + leaseMs}), 'PX', ttl)
return {'taken'}
`;

/**
 * Extends the lease `lease` holds while the record still carries it and no result: a plain record's TTL is its lease
 * (`PX leaseMs` again); an uncertain one's (see `StoredRecord.d`) is its deadline in the record, the record kept at least
 * the lease. ARGV: lease, leaseMs. Replies 1 when renewed, 0 when the key is not this lease's (settled, taken over, gone).
 */
const RENEW = `
local current = redis.call('GET', KEYS[1])
if not current then return 0 end
local record = cjson.decode(current)
if record.l ~= ARGV[1] or record.done then return 0 end
local leaseMs = tonumber(ARGV[2])
if record.u then
  local t = redis.call('TIME')
  record.d = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000) + leaseMs
  redis.call('SET', KEYS[1], cjson.encode(record), 'PX', math.max(redis.call('PTTL', KEYS[1]), leaseMs))
else
  redis.call('PEXPIRE', KEYS[1], leaseMs)
end
return 1
`;

type TakeOverReply = { kind: 'taken' } | { kind: 'started' } | { kind: 'current'; record: string };

function parseTakeOver(reply: unknown): TakeOverReply {
  const [kind, record] = reply as [string, string?];
  if (kind === 'taken' || kind === 'started') return { kind };
  if (kind === 'current' && typeof record === 'string') return { kind, record };
  throw new Error(`idempotency-take-over: unexpected reply ${JSON.stringify(reply)}`);
}

// In a trace both steps are events on the request's span (bookkeeping around its work, on every request).

const idempotencyBegin = defineScript({ name: 'idempotency-begin', keys: ['record'], lua: BEGIN, parse: optionalStringReply, trace: 'event' });
const idempotencyTakeOver = defineScript({ name: 'idempotency-take-over', keys: ['record'], lua: TAKE_OVER, parse: parseTakeOver, trace: 'event' });

/** Reply of `idempotencySettle`: whether this lease still owned the record. */
export const SETTLE_REPLY = { notOwner: 0, settled: 1 } as const;
const idempotencyRenew = defineScript({ name: 'idempotency-renew', keys: ['record'], lua: RENEW, parse: (reply) => Number(reply) === 1, trace: 'event' });
const idempotencySettle = defineScript({ name: 'idempotency-settle', keys: ['record'], lua: SETTLE, parse: (reply) => Number(reply) === SETTLE_REPLY.settled, trace: 'event' });

export interface IdempotencyStoreOptions {
  redis: Redis;
  prefix: string;
  /** How long a completed response is replayed. */
  retentionS: number;
  /**
   * How long a request owns its key without renewing it (`hold` renews it every third): how long after its process died
   * another attempt may take over.
   * @defaultValue 60_000
   */
  leaseMs?: number;
}

export function createIdempotencyStore(options: IdempotencyStoreOptions): IdempotencyStore {
  const { redis } = options;
  const leaseMs = options.leaseMs ?? IDEMPOTENCY_LEASE_MS;
  // Keys are hashed: any printable key fits, and its length does not grow Redis' key space. One-shot
  // `hash`: no Hash object per request.
  const keyOf = (scope: string, key: string) => `${options.prefix}:idem:${scope}:${hash('sha256', key, 'base64url')}`;

  // Cleared on the first syntax error: this Redis is older than 7.0, the script answers from then on.
  let setNxGet = true;

  /**
   * Sets the record unless one exists, answering the existing one (null when set). One plain command,
   * `SET … NX GET`, on every order attempt (sold-out storms included): about a fifth less Redis CPU per
   * sold-out reply than the script. The script where the command cannot answer (see `BEGIN`).
   */
  async function setUnlessExists(recordKey: string, value: string, ttlMs: number): Promise<string | null> {
    if (setNxGet) {
      try {
        return await redisSpan('idempotency-begin', () => redis.set(recordKey, value, 'PX', ttlMs, 'NX', 'GET'), 'event');
      } catch (error) {
        const message = error instanceof Error && error.name === 'ReplyError' ? error.message : '';
        if (message.startsWith('ERR syntax error')) setNxGet = false;
        else if (!message.startsWith('OOM ')) throw error;
      }
    }
    return idempotencyBegin.run(redis, { record: recordKey }, value, ttlMs);
  }

  async function beginWith(scope: string, key: string, record: StoredRecord, ttlMs: number): Promise<IdempotencyBegin> {
    const recordKey = keyOf(scope, key);
    const current = await setUnlessExists(recordKey, JSON.stringify(record), ttlMs);
    if (current === null) return { kind: 'started', lease: record.l };
    let stored = JSON.parse(current) as StoredRecord;
    if (stored.f !== record.f) return { kind: 'mismatch' };
    if (stored.u && !stored.done) {
      // The mark of an attempt whose outcome was unknown, or an attempt running under it (taken over if its lease ran
      // out: its process died): this attempt runs (never answers a result known beforehand, as `beginWithResult`
      // would store) and keeps the mark until it settles.
      const taken = await idempotencyTakeOver.run(redis, { record: recordKey }, record.f, record.l, leaseMs, JSON.stringify(record), ttlMs);
      if (taken.kind === 'taken') return { kind: 'started', lease: record.l, uncertain: true };
      // The mark expired since it was read: this attempt owns the key, certain (as if no mark had been).
      if (taken.kind === 'started') return { kind: 'started', lease: record.l };
      // Another attempt holds the key (or it just settled): what `begin` would answer now.
      stored = JSON.parse(taken.record) as StoredRecord;
      if (stored.f !== record.f) return { kind: 'mismatch' };
    }
    if (!stored.done) return { kind: 'in-progress' };
    return { kind: 'replay', status: stored.done.status, body: stored.done.body };
  }

  return {
    begin: (scope, key, fingerprint) => beginWith(scope, key, { f: fingerprint, l: randomUUID() }, leaseMs),

    beginWithResult: (scope, key, fingerprint, status, body) =>
      beginWith(scope, key, { f: fingerprint, l: randomUUID(), done: { status, body } }, options.retentionS * 1000),

    async complete(scope, key, lease, fingerprint, status, body) {
      const record: StoredRecord = { f: fingerprint, l: lease, done: { status, body } };
      await idempotencySettle.run(redis, { record: keyOf(scope, key) }, lease, JSON.stringify(record), options.retentionS);
    },

    async abandon(scope, key, lease, unknownOutcome) {
      const mark = unknownOutcome ? JSON.stringify({ f: unknownOutcome.fingerprint, l: '', u: 1 } satisfies StoredRecord) : '';
      await idempotencySettle.run(redis, { record: keyOf(scope, key) }, lease, mark, options.retentionS);
    },

    hold(scope, key, lease, onRenewFailure) {
      const recordKey = keyOf(scope, key);
      let renewing = false;
      const timer = setInterval(() => {
        // One renewal at a time: a slow Redis does not pile them up.
        if (renewing) return;
        renewing = true;
        idempotencyRenew
          .run(redis, { record: recordKey }, lease, leaseMs)
          .then((renewed) => {
            if (renewed) return;
            clearInterval(timer);
            onRenewFailure({ lost: true });
          })
          .catch((error: unknown) => onRenewFailure({ error }))
          .finally(() => (renewing = false));
      }, Math.max(1, Math.floor(leaseMs / 3)));
      // A request in flight keeps the process alive, not its renewals.
      timer.unref();
      return () => clearInterval(timer);
    },
  };
}
