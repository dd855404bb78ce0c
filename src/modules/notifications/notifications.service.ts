import type { Database } from '../../platform/db/client.ts';
import type { DbOrTx } from '../../platform/outbox/outbox.ts';
import type { Mailer } from '../../platform/mail/mailer.ts';
import { DEFAULT_JOB_TRANSACTION_LIMITS, limitJobTransaction, type JobTransactionLimits } from '../../platform/queue/job-transaction.ts';
import { inSpan, ORDER_ATTRIBUTES, setSpanAttributes } from '../../platform/telemetry/trace-context.ts';
import { sentEmails } from './notifications.tables.ts';
import {
  renderOrderConfirmation,
  renderPaymentReturned,
  renderReservationExpired,
  renderWelcomeEmail,
  type OrderConfirmation,
  type PaymentReturned,
  type RenderedEmail,
  type ReservationExpired,
  type WelcomeEmail,
} from './notifications.templates.ts';

export interface EmailOutcome {
  sent: boolean;
  where?: string;
  /** Not sent because it is no longer wanted (an order refunded before its confirmation). */
  skipped?: boolean;
}

export interface NotificationService {
  /** Sends the welcome email for job `jobId` unless that job's email was already sent. */
  sendWelcomeEmail(jobId: string, payload: WelcomeEmail): Promise<EmailOutcome>;
  sendOrderConfirmation(jobId: string, order: OrderConfirmation): Promise<EmailOutcome>;
  sendReservationExpired(jobId: string, payload: ReservationExpired): Promise<EmailOutcome>;
  /** Tells the buyer a payment their order could not take was voided or refunded. */
  sendPaymentReturned(jobId: string, payload: PaymentReturned): Promise<EmailOutcome>;
}

/** The Message-ID domain without MAIL_FROM's: the domain of its default (`no-reply@salescale.local`). */
export const DEFAULT_MESSAGE_ID_DOMAIN = 'salescale.local';

/**
 * The Message-ID of job `jobId`'s email: stable per job (a re-sent copy is recognisably the same message), in the
 * sender's domain (`senderDomain(MAIL_FROM)`). Job ids restart at `outbox-1` in every database, so a fixed right-hand
 * side gave two shops (or a shop and its staging) the same Message-IDs for different emails, and a mailbox that drops a
 * Message-ID it already holds hid the second.
 */
export function messageIdFor(jobId: string, domain: string = DEFAULT_MESSAGE_ID_DOMAIN): string {
  return `<${jobId}@${domain}>`;
}

export interface NotificationServiceDeps {
  db: Database;
  mailer: Mailer;
  /**
   * Sends in flight at once. Each send holds its claim's transaction, so a pooled database connection, for the
   * whole SMTP conversation: a mail server that answers slowly or not at all (a provider's outage mid-sale)
   * would otherwise hold as many connections as the email queue's concurrency, and with DB_POOL_MAX at or
   * below it the relay, the order fan-out, expiry and analytics waited for a connection until the mail server
   * answered. Further sends wait in the process (their jobs stay active, their locks renewed).
   * @defaultValue unlimited
   */
  maxConcurrentSends?: number;
  /**
   * Whether an order's confirmation is still wanted when its job runs (the order is paid or shipped, not
   * refunded since nor being refunded): the email is delayed after the payment (1 s, longer in a degrade mode, and a backlog
   * on top), and a buyer refunded meanwhile must not be thanked for the order. Read inside the send's claim
   * transaction. Unset: always sent.
   */
  isOrderConfirmable?: (db: DbOrTx, orderId: number) => Promise<boolean>;
  /** The shop's address (SHOP_URL), linked from emails that send the buyer back to it. */
  shopUrl?: string;
  /**
   * The right-hand side of the emails' Message-IDs (`messageIdFor`): the sender's domain, `senderDomain(MAIL_FROM)`.
   * @defaultValue DEFAULT_MESSAGE_ID_DOMAIN
   */
  messageIdDomain?: string;
  /**
   * Where the buyer of an order sees it, linked from its confirmation: a guest's order link (its access token),
   * an account's order page. Undefined (unset, no SHOP_URL, a job that does not say whether the buyer is a guest):
   * no link.
   */
  orderUrl?: (orderId: number, guest: boolean) => string | undefined;
  /**
   * Job transaction limits (`limitJobTransaction`). A send's claim transaction takes the lock timeout only: it sits
   * idle for the whole SMTP conversation (up to the mailer's timeouts, a minute and more), so an idle timeout would
   * cut healthy sends, and a send cut after the server's acceptance would be sent again. A re-delivery waiting on a
   * frozen worker's uncommitted claim gives up after the lock timeout and is put back for later; it sends once that
   * worker thaws and commits (then it skips) or dies (its claim rolled back with its connection).
   */
  jobTransaction?: JobTransactionLimits;
}

/** The connections the worker keeps from email sends: one for the relay and the sweeper, one for every other job. */
export const CONNECTIONS_KEPT_FROM_SENDS = 2;

/** Runs at most `limit` calls at once, the others in arrival order. */
function createLimiter(limit: number) {
  let running = 0;
  const waiting: (() => void)[] = [];
  return async <T>(run: () => Promise<T>): Promise<T> => {
    if (running >= limit) await new Promise<void>((resolve) => waiting.push(resolve));
    else running++;
    try {
      return await run();
    } finally {
      const next = waiting.shift();
      if (next) next();
      else running--;
    }
  };
}

export function createNotificationService(deps: NotificationServiceDeps): NotificationService {
  const limited = createLimiter(deps.maxConcurrentSends ?? Number.POSITIVE_INFINITY);
  const { lockTimeoutMs } = deps.jobTransaction ?? DEFAULT_JOB_TRANSACTION_LIMITS;
  /**
   * Once per job id: the claim row is inserted, the message sent, and the claim committed only
   * after the mail server (or file) accepted it. A second delivery of the same job running at the
   * same time blocks on the uncommitted claim and then skips; a crash mid-send rolls the claim back
   * so the retry sends. The one window left is between the server's acceptance and our commit;
   * the stable Message-ID marks such a copy as the same message.
   */
  async function sendOnce(jobId: string, template: string, to: string, rendered: RenderedEmail, wanted?: (tx: DbOrTx) => Promise<boolean>): Promise<EmailOutcome> {
    const messageId = messageIdFor(jobId, deps.messageIdDomain);
    return limited(() => deps.db.primary.transaction(async (tx) => {
      await limitJobTransaction(tx, { lockTimeoutMs: lockTimeoutMs });
      if (wanted && !(await wanted(tx))) return { sent: false, skipped: true };
      const claimed = await tx.insert(sentEmails).values({ jobId, template, recipient: to, messageId }).onConflictDoNothing().returning({ jobId: sentEmails.jobId });
      if (claimed.length === 0) return { sent: false };
      const result = await inSpan('email.send', { 'salescale.email.template': template, 'salescale.email.message_id': messageId }, () => deps.mailer.send({ to, messageId, ...rendered }));
      return { sent: result.delivered, where: result.where };
    }));
  }

  return {
    sendWelcomeEmail: (jobId, payload) => sendOnce(jobId, 'welcome', payload.email, renderWelcomeEmail(payload)),
    sendOrderConfirmation: (jobId, order) => {
      setSpanAttributes({ [ORDER_ATTRIBUTES.orderId]: Number(order.orderId) });
      const { isOrderConfirmable } = deps;
      const wanted = isOrderConfirmable ? (tx: DbOrTx) => isOrderConfirmable(tx, Number(order.orderId)) : undefined;
      const orderUrl = order.guest === undefined ? undefined : deps.orderUrl?.(Number(order.orderId), order.guest);
      return sendOnce(jobId, 'order-confirmation', order.email, renderOrderConfirmation(order, orderUrl), wanted);
    },
    sendReservationExpired: (jobId, payload) => sendOnce(jobId, 'reservation-expired', payload.email, renderReservationExpired(payload)),
    sendPaymentReturned: (jobId, payload) => {
      setSpanAttributes({ [ORDER_ATTRIBUTES.orderId]: Number(payload.orderId) });
      return sendOnce(jobId, 'payment-returned', payload.email, renderPaymentReturned({ ...payload, shopUrl: payload.shopUrl ?? deps.shopUrl }));
    },
  };
}
