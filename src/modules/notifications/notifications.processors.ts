import { MailRefusedError } from '../../platform/mail/mailer.ts';
import { failForGood, jobIdOf, requirePayload, type JobHandlers } from '../../platform/queue/processing.ts';
import { JOBS } from '../../platform/queue/queue-definitions.ts';
import type { NotificationService } from './notifications.service.ts';
import type { OrderConfirmation, ReservationExpired, WelcomeEmail } from './notifications.templates.ts';

const isObject = (data: unknown): data is Record<string, unknown> => typeof data === 'object' && data !== null;

function isWelcomeEmail(data: unknown): data is WelcomeEmail {
  return isObject(data) && typeof data.email === 'string' && data.email.includes('@') && typeof data.name === 'string';
}

function isOrderConfirmation(data: unknown): data is OrderConfirmation {
  return (
    isObject(data) &&
    (typeof data.orderId === 'number' || typeof data.orderId === 'string') &&
    typeof data.email === 'string' &&
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
    data.items.every((item: unknown) => isObject(item) && typeof item.name === 'string' && Number.isInteger(item.quantity))
  );
}

/**
 * A message the mail server refused for good (5xx) fails its job at once: another attempt gets the same
 * refusal. Its dead letter keeps it for `salescale queues retry-failed` once the cause is fixed (the claim
 * was rolled back, so the retry sends). Temporary failures (4xx, timeouts) are retried with the queue's backoff.
 */
async function failingRefusalsForGood<T>(send: () => Promise<T>): Promise<T> {
  try {
    return await send();
  } catch (error) {
    if (error instanceof MailRefusedError) throw failForGood(`the mail server refused the message for good: ${error.message}`);
    throw error;
  }
}

export function notificationProcessors(service: NotificationService): JobHandlers {
  return {
    [JOBS.sendWelcomeEmail]: (job) => failingRefusalsForGood(() => service.sendWelcomeEmail(jobIdOf(job), requirePayload(job, isWelcomeEmail))),
    [JOBS.sendOrderConfirmation]: (job) => failingRefusalsForGood(() => service.sendOrderConfirmation(jobIdOf(job), requirePayload(job, isOrderConfirmation))),
    [JOBS.sendReservationExpired]: (job) => failingRefusalsForGood(() => service.sendReservationExpired(jobIdOf(job), requirePayload(job, isReservationExpired))),
  };
}
