import { hash } from 'node:crypto';
import type { Logger } from 'pino';
import type { Database } from '../../platform/db/client.ts';
import { STATEMENT_END_MARGIN_MS } from '../../platform/db/statement-timeout.ts';
import { DomainError } from '../../shared/errors.ts';
import { PassExpiredError, PassInvalidError, PassReplacedError, PassRequiredError, PassUsedError, SaleNotStartedError } from './waiting-room.errors.ts';
import type { WaitingRoomMetrics } from './waiting-room.metrics.ts';
import type { EventRegistry, QueuedEvent } from './waiting-room.registry.ts';
import type { PassRef, WaitingRoomRepository } from './waiting-room.repository.ts';
import type { RoomNotice } from './waiting-room.service.ts';
import type { PassClaims, TokenSigner } from './waiting-room.tokens.ts';

/**
 * How a log line names an order (`orderRef`: its idempotency scope and key, a guest's scope being `guest:<email>`):
 * a short SHA-256 digest, the same for every line of one order (its attempts and retries), never the email.
 */
function loggedOrder(orderRef: string): string {
  return hash('sha256', orderRef, 'base64url').slice(0, 16);
}

/** The waiting room at checkout: which passes an order needs, and spending them on it. */
export function createCheckoutRule(deps: {
  /** Spent passes are written to the primary. */
  db: Database;
  repo: Pick<WaitingRoomRepository, 'spend' | 'giveBack' | 'orderOf'>;
  registry: EventRegistry;
  signer: TokenSigner;
  metrics: Pick<WaitingRoomMetrics, 'refused' | 'passesUsed'>;
  logger: Logger;
  /** Now on Redis's clock (see the room clock). */
  clock: () => number;
  /**
   * Whether the pass's ticket was merged into another ticket of its shopper (the room's `merged`, in Redis); false
   * when Redis cannot say (logged): the spend itself still finds the merge PostgreSQL recorded (`replaced`), which
   * holds across a loss of Redis; Redis covers the moment between the merge and that record (or until a failed record
   * is written on a retry: see the room's `recordMerges`).
   */
  mergedAway: (pass: PassClaims) => Promise<boolean>;
  /**
   * PostgreSQL's statement timeout (DB_STATEMENT_TIMEOUT_MS; 0: none): how long a statement of an earlier attempt of
   * an order may still run (and commit) after its connection dropped. A retry refused gives back a pass the earlier
   * attempt kept only once that long has passed since the retry began (see `spend`); with 0 it never does. The
   * configuration refuses one whose wait would not end well inside the retry's idempotency lease (`config.ts`).
   */
  statementTimeoutMs: number;
  /**
   * Told of each pass an order was placed with (a `used` notice, which the caller publishes): the ticket's open streams,
   * on every instance, say `used` and end. One publish per pass of a placed order; no read.
   */
  notify: (notice: RoomNotice) => void;
}) {
  const { db, repo, registry, signer } = deps;
  const refOf = (pass: PassClaims): PassRef => ({ saleEventId: pass.e, ticketId: pass.t });

  function refused(eventId: number, error: DomainError): never {
    deps.metrics.refused.inc({ sale_event: String(eventId), code: error.code });
    throw error;
  }

  return {
    /**
     * Checkout's rule: from the opening of a queued sale's line (JOIN_OPENS_BEFORE_MS before its start) until its end,
     * buying any of its products needs a valid pass for that sale issued to this visitor. Before the start nobody holds
     * one (admission begins at the start): an order of them is refused SALE_NOT_STARTED, whatever it carries, so a bot
     * cannot buy the stock while the shoppers wait in the pre-queue. A product listed by a live queued sale needs a pass
     * of any live one listing it (SALE_NOT_STARTED only when none listing it has started). Earlier than the line's
     * opening the product is sold as usual. No Redis or database call: the registry is in memory, passes are checked by
     * signature and expiry. Returns the passes the order spends (see `spend`), and `expired`: when the only
     * refusal is PASS_EXPIRED, the expired passes it is for, which `refuseExpired` refuses unless this very order
     * had spent them (its retry, whose idempotency record is gone, replays the order).
     */
    check(productIds: readonly number[], passes: readonly string[], holders: readonly string[], now = deps.clock()): { passes: PassClaims[]; expired: PassClaims[] } {
      const claims = passes.map((pass) => signer.verifyPass(pass)).filter((c): c is PassClaims => c !== undefined);
      // A pass issued to other holders is invalid for this caller, expired or not: only the caller's own can be expired.
      const own = claims.filter((c) => c.h.some((h) => holders.includes(h)));
      const usable = (eventId: number) => own.find((c) => c.e === eventId && c.x > now);
      const spent = new Map<number, PassClaims>();
      /** Products no pass covers, by the first live sale listing them (the one a refusal names). */
      const uncovered = new Map<number, { events: QueuedEvent[]; products: number[] }>();
      /** Products whose every guarded sale is still ahead, by the one starting first (the one a refusal names). */
      const notStarted = new Map<number, { event: QueuedEvent; products: number[] }>();
      // Each product once, in order of first appearance: items that repeat a product are one line of the order, and a
      // refusal names it once (PASS_REQUIRED details.productIds).
      for (const productId of new Set(productIds)) {
        const guarded = registry.guardedFor(productId, now);
        if (guarded.length === 0) continue;
        const events = guarded.filter((event) => event.startsAtMs <= now);
        if (events.length === 0) {
          const entry = notStarted.get(guarded[0]!.id) ?? { event: guarded[0]!, products: [] };
          entry.products.push(productId);
          notStarted.set(guarded[0]!.id, entry);
          continue;
        }
        // A pass this order already spends covers the product if its sale lists it.
        if (events.some((event) => spent.has(event.id))) continue;
        const pass = events.map((event) => usable(event.id)).find((c) => c !== undefined);
        if (pass) {
          spent.set(pass.e, pass);
          continue;
        }
        const entry = uncovered.get(events[0]!.id) ?? { events, products: [] };
        entry.products.push(productId);
        uncovered.set(events[0]!.id, entry);
      }
      // First: no pass can buy these yet, whatever else the order carries.
      const [ahead] = notStarted.values();
      if (ahead) refused(ahead.event.id, new SaleNotStartedError(ahead.event.id, new Date(ahead.event.startsAtMs).toISOString(), ahead.products));
      const refusals = [...uncovered].map(([eventId, { events, products }]) => ({
        eventId,
        products,
        expired: own.find((c) => c.x <= now && events.some((event) => event.id === c.e)),
      }));
      const first = refusals[0];
      if (first && refusals.some((r) => r.expired === undefined)) {
        const { eventId, products, expired } = first;
        const error = expired
          ? new PassExpiredError(expired.e, new Date(expired.x).toISOString())
          : passes.length > 0
            ? new PassInvalidError(eventId)
            : new PassRequiredError(eventId, products);
        refused(expired?.e ?? eventId, error);
      }
      return { passes: [...spent.values()], expired: [...new Set(refusals.map((r) => r.expired!))] };
    },

    /**
     * Refuses an order PASS_EXPIRED for the first of `expired` it had not spent (`orderRef`: see `spend`). An order its
     * pass bought before it expired is not refused: a retry with its Idempotency-Key replays it, also when the
     * idempotency record is gone (its retention ran out, the first reply was a 5xx, which keeps none, Redis lost it).
     * One PostgreSQL read a pass, only for an order presenting an expired pass (a first order's refusal).
     */
    async refuseExpired(expired: readonly PassClaims[], orderRef: string): Promise<void> {
      for (const pass of expired) {
        if ((await repo.orderOf(db.primary, refOf(pass))) !== orderRef) refused(pass.e, new PassExpiredError(pass.e, new Date(pass.x).toISOString()));
      }
    },

    /**
     * Places an order with passes: a pass buys one order. Each pass is spent in PostgreSQL (one row per
     * pass, atomic, so of many clients or instances presenting copies of one pass at once, one order gets
     * it; and it stays spent whatever Redis loses) before `place` runs, and given back if `place` refuses
     * the order (a domain refusal: out of stock, an unknown product…, so not placed). A failure whose
     * outcome is unknown (unavailable: the order may have committed before its reply was lost) keeps the
     * pass on the order: `orderRef` names it (its idempotency scope and key), and a retry of the same
     * order finds its pass spent on itself and goes on, or replays the order if it was placed. If that retry is refused
     * (a domain refusal), the pass is given back as after a first refusal, but only once the earlier attempt is known
     * not to have placed the order: a refusal of the retry alone proves nothing of it (the gate refuses a retry of an
     * order that took the last units before PostgreSQL would replay it). So, after waiting until any statement of the
     * earlier attempt has surely ended (`statementTimeoutMs` since this retry began: every statement of an attempt
     * starts before its reply, which came before this retry), `placed` (PostgreSQL: an order under this order's
     * Idempotency-Key?) must answer no. Without `placed`, or without a statement timeout, the pass stays spent, as
     * before. Concurrent requests with one key are kept apart by the idempotency record, as for a first refusal.
     * Expiry is checked again
     * on the room clock, which set it. A database that cannot be reached fails the order with its error
     * (503 `DATABASE_UNAVAILABLE` at the edge, as for the rest of checkout). A pass whose ticket a merge took out of
     * the line (see the room's JOIN) is refused `PASS_REPLACED`: the shopper's kept ticket's pass buys their order; the
     * order it had bought before the merge still replays on a retry (its spend is found first: `again`).
     */
    async spend<T>(passes: readonly PassClaims[], orderRef: string, place: () => Promise<T>, placed?: () => Promise<boolean>): Promise<T> {
      const began = Date.now();
      const taken: PassClaims[] = [];
      /** Passes an earlier attempt of this order spent, whose outcome was unknown (`again`). */
      const kept: PassClaims[] = [];
      const giveBack = (passes: readonly PassClaims[] = taken) =>
        Promise.all(
          passes.map((pass) =>
            repo.giveBack(db.primary, refOf(pass), orderRef).catch((error: unknown) => {
              deps.logger.warn({ err: error, saleEvent: pass.e }, 'waiting room: could not give a pass back');
            }),
          ),
        );
      try {
        for (const pass of passes) {
          // Expired: refused unless this order had spent it, before it expired (its retry goes on: see `refuseExpired`).
          if (pass.x <= deps.clock()) {
            if ((await repo.orderOf(db.primary, refOf(pass))) === orderRef) continue;
            refused(pass.e, new PassExpiredError(pass.e, new Date(pass.x).toISOString()));
          }
          const outcome = await repo.spend(db.primary, refOf(pass), orderRef);
          // Taken before the refusals below, which give it back.
          if (outcome === 'spent') taken.push(pass);
          // This order had spent it: a retry whose idempotency record is gone goes on, and replays the order if it was
          // placed, also when the pass's ticket was merged away since (a merge leaves the order its pass: see
          // `recordMerges`). Before the `merged` read, which would refuse the order that exists (PASS_REPLACED).
          if (outcome === 'again') {
            kept.push(pass);
            continue;
          }
          // The merge as PostgreSQL keeps it (see `recordMerges`): it holds when Redis lost the room's `merged`.
          if (outcome === 'replaced') refused(pass.e, new PassReplacedError(pass.e));
          // A pass handed out before its ticket was merged away (signed, it stays good on its face): the merge keeps
          // one admission for the shopper, and only the kept ticket's pass buys.
          if (await deps.mergedAway(pass)) refused(pass.e, new PassReplacedError(pass.e));
          if (outcome === 'elsewhere') refused(pass.e, new PassUsedError(pass.e));
        }
      } catch (error) {
        await giveBack();
        throw error;
      }
      let result: T;
      try {
        result = await place();
      } catch (error) {
        if (error instanceof DomainError && error.kind !== 'unavailable') {
          await giveBack();
          if (kept.length > 0) await giveBackKept(error);
        } else if (taken.length > 0) deps.logger.warn({ err: error, order: loggedOrder(orderRef), saleEvents: taken.map((pass) => pass.e) }, 'waiting room: order outcome unknown, its passes stay spent on it (a retry with the same Idempotency-Key goes on)');
        throw error;
      }
      for (const pass of taken) deps.metrics.passesUsed.inc({ sale_event: String(pass.e) });
      // A retry that went on (`kept`) too: its first attempt's outcome was unknown, so it may not have told the streams.
      for (const pass of [...taken, ...kept]) deps.notify({ e: pass.e, kind: 'used', t: pass.t });
      return result;

      /** The retry of an order whose outcome was unknown is refused: its passes go back if the order was never placed. */
      async function giveBackKept(refusal: DomainError): Promise<void> {
        if (!placed || deps.statementTimeoutMs <= 0) {
          deps.logger.warn({ err: refusal, order: loggedOrder(orderRef), saleEvents: kept.map((pass) => pass.e) }, 'waiting room: retry refused, its passes stay spent (no statement timeout: the earlier attempt may still commit)');
          return;
        }
        const wait = began + deps.statementTimeoutMs + STATEMENT_END_MARGIN_MS - Date.now();
        if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
        try {
          if (await placed()) return;
        } catch (error) {
          deps.logger.warn({ err: error, order: loggedOrder(orderRef), saleEvents: kept.map((pass) => pass.e) }, 'waiting room: retry refused, could not read whether its order was placed; its passes stay spent');
          return;
        }
        await giveBack(kept);
      }
    },
  };
}

export type CheckoutRule = ReturnType<typeof createCheckoutRule>;
