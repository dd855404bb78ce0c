import type { Job } from 'bullmq';
import { MailDeferredError, MailRefusedError, MailUnavailableError } from '../../platform/mail/mailer.ts';
import { failForGood, jobIdOf, requirePayload, retryLater, type JobHandlers } from '../../platform/queue/processing.ts';
import { JOBS } from '../../platform/queue/queue-definitions.ts';
import type { NotificationService } from './notifications.service.ts';
import type { OrderConfirmation, PaymentReturned, ReservationExpired, WelcomeEmail } from './notifications.templates.ts';

const isObject = (data: unknown): data is Record<string, unknown> => typeof data === 'object' && data !== null;

function isWelcomeEmail(data: unknown): data is WelcomeEmail {
  return isObject(data) && typeof data.email === 'string' && data.email.includes('@') && typeof data.name === 'string';
}

function isOrderConfirmation(data: unknown): data is OrderConfirmation {
  return (
    isObject(data) &&
    (typeof data.orderId === 'number' || typeof data.orderId === 'string') &&
    typeof data.email === 'string' &&
    (data.guest === undefined || typeof data.guest === 'boolean') &&
    Array.isArray(data.items) &&
    data.items.every((item: unknown) => isObject(item) && typeof item.name === 'string' && Number.isInteger(item.quantity) && Number.isInteger(item.unitPriceCents)) &&
    Number.isInteger(data.totalCents) &&
    typeof data.currency === 'string'
  );
}

function isReservationExpired(data: unknown): data is ReservationExpired {
  return (
    isObject(data) &&
    (typeof data.orderId === 'number' || typeof data.orderId === 'string') &&
    typeof data.email === 'string' &&
    Array.isArray(data.items) &&
    data.items.every((item: unknown) => isObject(item) && typeof item.name === 'string' && Number.isInteger(item.quantity)) &&
    (data.reason === undefined || data.reason === 'expired' || data.reason === 'cancelled')
  );
}

const RETURNED_REASONS = new Set(['expired', 'cancelled', 'already_paid', 'amount_mismatch', 'not_payable', 'refunded_by_shop']);

function isPaymentReturned(data: unknown): data is PaymentReturned {
  return (
    isObject(data) &&
    (typeof data.orderId === 'number' || typeof data.orderId === 'string') &&
    typeof data.email === 'string' &&
    Number.isInteger(data.amountCents) &&
    typeof data.currency === 'string' &&
    (data.action === 'voided' || data.action === 'refunded') &&
    typeof data.reason === 'string' &&
    RETURNED_REASONS.has(data.reason)
  );
}

/**
 * A message the mail server refused for good (5xx) fails its job at once: another attempt gets the same
 * refusal. Its dead letter keeps it for `salescale queues retry-failed` once the cause is fixed (the claim
 * was rolled back, so the retry sends). A deferred one (4xx) or one the server was not there to take is offered
 * again later without using an attempt (`retryLater`: for up to an hour, a provider's greylisting or a mail server's
 * outage outlasting the queue's attempts, 3 from 2 s); other failures are retried with the queue's backoff.
 */
async function sendingEmail<T>(job: Job, token: string | undefined, send: () => Promise<T>): Promise<T> {
  try {
    return await send();
  } catch (error) {
    if (error instanceof MailRefusedError) throw failForGood(`the mail server refused the message for good: ${error.message}`);
    const later = error instanceof MailDeferredError || error instanceof MailUnavailableError ? await retryLater(job, token) : undefined;
    throw later ?? error;
  }
}

export function notificationProcessors(service: NotificationService): JobHandlers {
  return {
    [JOBS.sendWelcomeEmail]: (job, token) => sendingEmail(job, token, () => service.sendWelcomeEmail(jobIdOf(job), requirePayload(job, isWelcomeEmail))),
    [JOBS.sendOrderConfirmation]: (job, token) => sendingEmail(job, token, () => service.sendOrderConfirmation(jobIdOf(job), requirePayload(job, isOrderConfirmation))),
    [JOBS.sendReservationExpired]: (job, token) => sendingEmail(job, token, () => service.sendReservationExpired(jobIdOf(job), requirePayload(job, isReservationExpired))),
    [JOBS.sendPaymentReturned]: (job, token) => sendingEmail(job, token, () => service.sendPaymentReturned(jobIdOf(job), requirePayload(job, isPaymentReturned))),
  };
}
