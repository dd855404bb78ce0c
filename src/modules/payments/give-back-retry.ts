import type { Logger } from 'pino';
import { startPeriodicDrain } from '../../shared/periodic-drain.ts';
import type { GiveBackAction, PaymentService } from './payments.service.ts';

/** The longest wait between two retries of one payment's give-back call. */
export const GIVE_BACK_MAX_BACKOFF_S = 6 * 3600;
/** Payments claimed per pass: each is a provider call, made one after another. */
export const GIVE_BACK_BATCH = 20;

export interface GiveBackRetryDeps {
  payments: Pick<PaymentService, 'giveBackOwed'>;
  logger: Logger;
  /** How long money has been owed back before the worker retries it, and the first wait between retries (doubled each time). */
  afterS: number;
  /**
   * Records what the retry finished or gave up on of an admin's refund in the admin audit trail (the audit module's
   * worker trail); never throws.
   */
  audit?: { record(action: GiveBackAction): Promise<void> };
}

/**
 * Money we owe back whose call failed (a late payment's void or refund, an admin refund) is otherwise retried only
 * by the provider redelivering its event (Stripe: 3 days) or an admin asking again. Every worker runs this pass
 * beside the expiry sweep, on the same interval: payments are claimed with SKIP LOCKED and their next retry pushed
 * back before the call, so several workers share them and none is called twice at once (the call is keyed anyway).
 */
export function createGiveBackRetry(deps: GiveBackRetryDeps) {
  const { logger } = deps;

  /** One pass: retries up to a batch of payments whose retry is due; returns how many were claimed. */
  async function retryOnce(): Promise<number> {
    const { claimed, actions } = await deps.payments.giveBackOwed({ olderThanS: deps.afterS, limit: GIVE_BACK_BATCH, maxBackoffS: GIVE_BACK_MAX_BACKOFF_S });
    for (const action of actions) await deps.audit?.record(action);
    return claimed;
  }

  return {
    retryOnce,

    /** Runs a pass every `intervalMs` until stopped; a failed pass is logged and run again next time. */
    start(intervalMs: number): { stop(): Promise<void> } {
      return startPeriodicDrain({
        intervalMs,
        batch: GIVE_BACK_BATCH,
        pass: retryOnce,
        onError: (error) => logger.warn({ err: error }, 'give-back retry pass failed; running it again at the next interval'),
      });
    },
  };
}

export type GiveBackRetry = ReturnType<typeof createGiveBackRetry>;
