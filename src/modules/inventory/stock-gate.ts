import type { Redis } from 'ioredis';
import { REBUILD_COMMIT_REPLY, stockConfirm, stockDateLoss, stockForget, stockInvalidate, stockRebuildBegin, stockRebuildCommit, stockRelease, stockReserve } from './stock-gate.scripts.ts';

/** What PostgreSQL says, in one snapshot: a product's stock and which reservations became orders. */
export interface StockSnapshot {
  /** False when the product does not exist or is not for sale: no gate is kept for it. */
  sellable: boolean;
  available: number;
  /** The subset of the asked tokens that belong to committed orders. */
  committed: string[];
}

export type SnapshotReader = (productId: number, tokens: readonly string[]) => Promise<StockSnapshot>;

export interface StockLine {
  productId: number;
  quantity: number;
}

/**
 * `reserved: false`: some product is not for sale (or unknown), so nothing was reserved and the
 * order should go straight to PostgreSQL, which refuses it with the precise reason.
 */
export type ReserveResult =
  | { ok: true; reserved: boolean }
  | {
      ok: false;
      shortages: { productId: number; requested: number; available: number }[];
      /**
       * How long ago (ms, Redis' clock) this Redis last lost its data, as far as the gate can tell: the age of a marker
       * key without TTL that only a loss (restart without persistence, flush, failover to an empty replica) or a first
       * deployment leaves absent. Data Redis held before then (idempotency records) may be gone. Never a figure's own
       * expiry: the marker outlives the figures.
       */
      sinceLossMs: number;
      /** When (ms since the epoch, Redis' clock) that loss was dated: the same value for every reply about one loss. */
      lossAtMs: number;
    };

/**
 * The stock gate: a Redis mirror of PostgreSQL's stock that answers "sold out" without touching the
 * database, and lets through only as many buyers as there are units (PostgreSQL still decides: the
 * gate can only be too generous after a failure, never make an oversell possible).
 *
 * Lifecycle of a checkout: `reserve` (atomic over all lines) → the order statement in PostgreSQL →
 * `confirm` on commit or `release` on refusal/failure. The gate's figure is committed stock minus
 * reservations in flight; it is rebuilt from PostgreSQL when missing (first use, Redis restarted,
 * stock set by an admin, or its periodic expiry that also forgets reservations of crashed processes).
 */
export interface StockGate {
  reserve(token: string, lines: readonly StockLine[]): Promise<ReserveResult>;
  /** Forgets a committed order's reservation; those asked in one turn of the event loop share one Redis call. */
  confirm(token: string, productIds: readonly number[]): Promise<void>;
  /**
   * Gives a reservation's units back (idempotent). One that cannot reach Redis (connection lost, a reply
   * lost with it) rejects and is sent again in the background until Redis takes it, so a failure never
   * leaves units out of the gate until its expiry. One that gave units back is news to the other instances'
   * stock views (`onGivenBack`): at once, the products its reply names; after a failure, every product it
   * names once the retry reaches Redis (the failed call may have given them back, its reply lost).
   */
  release(token: string, productIds: readonly number[]): Promise<void>;
  /**
   * Stock changed in PostgreSQL outside checkout (admin, cancellation): rebuild before the next use.
   * Like `release`, one that cannot reach Redis rejects and is sent again in the background.
   */
  invalidate(productId: number): Promise<void>;
  /**
   * Calls `listener` with each product whose figure may have risen, once that reached Redis: an invalidation (the
   * figure dropped, rebuilt at its next use), a release that gave a reservation's units back (a release that found
   * nothing to give back is not news), every product of a release sent again in the background after a failure, once
   * it reached Redis, whatever it found (the failed call may have run and given them back, its reply lost), and a rebuild
   * that forgot expired reservations (a process died holding them; any other rebuild gives the figure the gate held:
   * committed stock minus reservations in flight, every change outside checkout being an invalidation); returns the
   * function that stops calling it. What tells the other instances' stock views (`publishingStockGate`). A listener
   * that throws is ignored. Reservations and confirmations never call it.
   */
  onGivenBack?(listener: (productId: number) => void): () => void;
  /** The gate's current figure per product, for products whose gate exists. */
  peek(productIds: readonly number[]): Promise<Map<number, number>>;
  /** Builds the gate of a product from PostgreSQL if it is missing; false when the product is not for sale. */
  ensure(productId: number): Promise<boolean>;
  /**
   * Drops every product's figure (each is rebuilt from PostgreSQL at its next use) and the reservations
   * in flight it holds. For a Redis that restarted or a replica promoted: an append-only file written
   * every second, or asynchronous replication, can lose the last writes. Lost reservations would leave
   * the restored figures too generous until their expiry; lost releases would leave reservations that
   * nobody will ever release or confirm, and every rebuild would subtract them (units unsellable for up
   * to the reservation TTL plus the figure's). Without the hash a rebuild errs generous only, by the
   * orders still in their statement at that moment, until the figure's next rebuild; PostgreSQL refuses
   * what it does not have. It also dates a data loss now (the marker of `ReserveResult.sinceLossMs`): the last
   * idempotency records may be among the writes lost (a dating that fails is logged, and the figures dropped all the
   * same). Returns how many figures it dropped.
   */
  forgetAll(): Promise<number>;
}

export class StockGateUnavailableError extends Error {
  constructor(productId: number) {
    super(`the stock gate of product ${productId} could not be rebuilt`);
    this.name = 'StockGateUnavailableError';
  }
}

export interface StockGateOptions {
  redis: Redis;
  /** The deployment's Redis prefix; keys carry it as a hash tag so one script can touch several products. */
  prefix: string;
  snapshot: SnapshotReader;
  /**
   * Lifetime of a gate figure; at expiry the next reader rebuilds it from PostgreSQL.
   * @defaultValue 300
   */
  gateTtlS?: number;
  /**
   * How long a reservation may stay in flight before a rebuild forgets it (its process died). Far
   * longer than any order statement can run.
   * @defaultValue 120_000
   */
  reservationTtlMs?: number;
  clock?: () => number;
  /**
   * How often releases and invalidations that could not reach Redis are sent again.
   * @defaultValue 200
   */
  retryMs?: number;
  /** Where failures the gate goes on past are reported (e.g. `forgetAll` unable to date a loss); none when absent. */
  logger?: { warn(obj: unknown, msg: string): void };
}

const REBUILD_ATTEMPTS = 8;
/** Failed releases and invalidations kept for sending again; beyond it the gate's expiry repairs the rest. */
const MAX_UNSENT = 100_000;

/** Restarts dated within this of each other are one restart, seen by every instance (see `stockDateLoss`). */
const SAME_RESTART_MS = 60_000;

export function createStockGate(options: StockGateOptions): StockGate {
  const gateTtlS = options.gateTtlS ?? 300;
  const reservationTtlMs = options.reservationTtlMs ?? 120_000;
  const now = options.clock ?? Date.now;
  const { redis } = options;
  const base = (id: number) => `{${options.prefix}}:stock:${id}`;
  const keys = (id: number) => ({ a: `${base(id)}:a`, r: `${base(id)}:r`, v: `${base(id)}:v` });
  const reservationsTtlS = Math.ceil((reservationTtlMs * 2) / 1000);
  /** The data-loss marker (see `stockReserve`): the deployment's hash tag, so the reserve script may touch it in a cluster too. */
  const epochKey = `{${options.prefix}}:gate-epoch`;
  /** One rebuild per product at a time in this process; other processes are fenced by the version. */
  const rebuilding = new Map<number, Promise<boolean>>();

  // Releases and invalidations whose call failed (Redis unreachable, or the connection dropped before
  // the reply). Both are idempotent, so they are sent again until Redis answers: a release lost with
  // its connection would keep its units out of the gate, and an invalidation lost after a cancellation
  // would keep the units it gave back unsellable, until the figure's expiry (`gateTtlS`, 5 minutes by
  // default: a whole flash sale, during which the waiting room calls the sale sold out). A reservation
  // whose reply was lost is never re-sent by ioredis on the `state` connection (it flushes unanswered
  // commands on a disconnect), so a late release cannot come before its reservation. A release sent again
  // announces all its products once Redis takes it: the failed call may have given them back already.
  const retryMs = options.retryMs ?? 200;
  const unsentReleases = new Map<string, readonly number[]>();
  const unsentInvalidations = new Set<number>();
  let retryTimer: NodeJS.Timeout | undefined;
  const givenBackListeners = new Set<(productId: number) => void>();
  const givenBack = (productId: number) => {
    for (const listener of givenBackListeners) {
      try {
        listener(productId);
      } catch {
        // A listener's failure is its own (a publish is logged there); the invalidation happened.
      }
    }
  };
  const releaseKeys = (productIds: readonly number[]) => productIds.flatMap((id) => [keys(id).a, keys(id).r, keys(id).v]);
  /**
   * Sends a release; tells the listeners the products whose reservation it gave back. `afterFailure`: a send of a
   * release whose earlier call failed with its reply unknown. That call may have run in Redis (its reply lost with the
   * connection) and given the units back, so this one finds nothing and names nothing: every product it names is told
   * then, whatever the reply (at worst a notice too many, when the first call never ran and this reply names them anyway).
   */
  const sendRelease = async (token: string, productIds: readonly number[], afterFailure = false) => {
    const released = await stockRelease.run(redis, releaseKeys(productIds), token);
    if (afterFailure) {
      for (const productId of productIds) givenBack(productId);
      return;
    }
    for (const line of released) {
      const productId = productIds[line - 1];
      if (productId !== undefined) givenBack(productId);
    }
  };

  function sendAgainLater(): void {
    if (retryTimer) return;
    retryTimer = setTimeout(() => {
      retryTimer = undefined;
      void sendAgain();
    }, retryMs);
    retryTimer.unref();
  }

  async function sendAgain(): Promise<void> {
    try {
      for (const [token, productIds] of unsentReleases) {
        await sendRelease(token, productIds, true);
        unsentReleases.delete(token);
      }
      for (const productId of unsentInvalidations) {
        await stockInvalidate.run(redis, keys(productId));
        unsentInvalidations.delete(productId);
        givenBack(productId);
      }
    } catch {
      sendAgainLater();
    }
  }

  function keepUnsent(add: () => void): void {
    if (unsentReleases.size + unsentInvalidations.size < MAX_UNSENT) add();
    sendAgainLater();
  }

  async function rebuild(productId: number): Promise<boolean> {
    const k = keys(productId);
    for (let attempt = 0; attempt < REBUILD_ATTEMPTS; attempt++) {
      const begin = await stockRebuildBegin.run(redis, k);
      if (begin.kind === 'exists') return true;
      const { version, inFlight } = begin;
      const snapshot = await options.snapshot(productId, [...inFlight.keys()]);
      if (!snapshot.sellable) return false;
      const committed = new Set(snapshot.committed);
      const forget: string[] = [];
      let available = snapshot.available;
      /** Units of expired reservations the rebuild forgets: they were out of the figure, and come back with it. */
      let freed = 0;
      for (const [token, entry] of inFlight) {
        // Committed: already out of the snapshot. Expired: its process is gone, its statement rolled back.
        if (committed.has(token)) forget.push(token);
        else if (entry.expiresAt < now()) {
          forget.push(token);
          freed += entry.quantity;
        } else available -= entry.quantity;
      }
      const outcome = await stockRebuildCommit.run(redis, k, version, Math.max(0, available), gateTtlS, ...forget);
      // A figure above what the views may remember (a process died holding a reservation): news to them, as a release is.
      if (outcome === REBUILD_COMMIT_REPLY.set && freed > 0) givenBack(productId);
      if (outcome !== REBUILD_COMMIT_REPLY.moved) return true;
      // An invalidation or a release while we read PostgreSQL (confirmations do not count): read again.
      await new Promise((resolve) => setTimeout(resolve, 2 * (attempt + 1)));
    }
    throw new StockGateUnavailableError(productId);
  }

  // Confirmations are bookkeeping: those asked within one turn of the event loop (a batch's orders
  // resolve together) go to Redis as one script call, not one call per order.
  let pendingConfirms: { tokens: Map<number, string[]>; done: Promise<void> } | undefined;

  function ensure(productId: number): Promise<boolean> {
    let pending = rebuilding.get(productId);
    if (!pending) {
      pending = rebuild(productId).finally(() => rebuilding.delete(productId));
      rebuilding.set(productId, pending);
    }
    return pending;
  }

  return {
    ensure,

    async reserve(token, lines) {
      const keyArgs = lines.flatMap((line) => {
        const k = keys(line.productId);
        return [k.a, k.r, k.v];
      });
      keyArgs.push(epochKey);
      const args = [token, now() + reservationTtlMs, reservationsTtlS, ...lines.map((line) => line.quantity)];
      for (let attempt = 0; ; attempt++) {
        const reply = await stockReserve.run(redis, keyArgs, ...args);
        if (reply.kind === 'reserved' || reply.kind === 'already-reserved') return { ok: true, reserved: true };
        if (reply.kind === 'short') {
          const shortages = reply.lines.map(({ line, available }) => {
            const { productId, quantity } = lines[line - 1]!;
            return { productId, requested: quantity, available: Math.max(0, available) };
          });
          return { ok: false, shortages, sinceLossMs: reply.sinceLossMs, lossAtMs: reply.lossAtMs };
        }
        const missing = reply.lines.map((i) => lines[i - 1]!.productId);
        if (attempt >= 2) throw new StockGateUnavailableError(missing[0]!);
        const sellable = await Promise.all(missing.map(ensure));
        if (sellable.includes(false)) return { ok: true, reserved: false };
      }
    },

    confirm(token, productIds) {
      let pending = pendingConfirms;
      if (!pending) {
        const tokens = new Map<number, string[]>();
        const done = new Promise<void>((resolve) => setImmediate(resolve)).then(async () => {
          pendingConfirms = undefined;
          const keyArgs: string[] = [];
          const args: (string | number)[] = [];
          for (const [id, ids] of tokens) {
            keyArgs.push(keys(id).r, keys(id).v);
            args.push(ids.length, ...ids);
          }
          await stockConfirm.run(redis, keyArgs, ...args);
        });
        pending = { tokens, done };
        pendingConfirms = pending;
      }
      for (const id of productIds) {
        const tokens = pending.tokens.get(id);
        if (tokens) tokens.push(token);
        else pending.tokens.set(id, [token]);
      }
      return pending.done;
    },

    async release(token, productIds) {
      try {
        await sendRelease(token, productIds);
      } catch (error) {
        keepUnsent(() => unsentReleases.set(token, productIds));
        throw error;
      }
    },

    async invalidate(productId) {
      try {
        await stockInvalidate.run(redis, keys(productId));
      } catch (error) {
        keepUnsent(() => unsentInvalidations.add(productId));
        throw error;
      }
      givenBack(productId);
    },

    onGivenBack(listener) {
      givenBackListeners.add(listener);
      return () => givenBackListeners.delete(listener);
    },

    async forgetAll() {
      // Before the figures: a refusal by a figure rebuilt after the restart must see the loss. A loss left undated
      // (the script failed) still drops the figures: a figure kept after a restart that lost writes may be too
      // generous, an oversell, whereas an undated loss only leaves the retry of a lost reply refused as before.
      await stockDateLoss.run(redis, { epoch: epochKey }, SAME_RESTART_MS).catch((error: unknown) =>
        options.logger?.warn({ err: error }, 'could not date a Redis data loss at its restart: the stock gate figures are dropped all the same'),
      );
      let dropped = 0;
      const pattern = `{${options.prefix}}:stock:*`;
      const seen = new Set<string>();
      for (let cursor = '0'; ; ) {
        const [next, found] = await redis.scan(cursor, 'MATCH', pattern, 'COUNT', 1000);
        for (const key of found) {
          // A product's figure or reservations (`…:a`, `…:r`); each product once.
          const base = /^(.*):[ar]$/.exec(key)?.[1];
          if (base === undefined || seen.has(base)) continue;
          seen.add(base);
          dropped += await stockForget.run(redis, { a: `${base}:a`, r: `${base}:r`, v: `${base}:v` });
        }
        cursor = next;
        if (cursor === '0') return dropped;
      }
    },

    async peek(productIds) {
      const values = productIds.length === 0 ? [] : await redis.mget(productIds.map((id) => keys(id).a));
      const result = new Map<number, number>();
      productIds.forEach((id, i) => {
        const value = values[i];
        if (value !== null && value !== undefined) result.set(id, Number(value));
      });
      return result;
    },
  };
}
