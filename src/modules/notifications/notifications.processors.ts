import { DelayedError, type Job } from 'bullmq';
import { MailDeferredError, MailRefusedError } from '../../platform/mail/mailer.ts';
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
 * How long after its job was queued a message the mail server deferred (4xx) is offered again, at
 * growing intervals, without using the job's attempts. The email queue's attempts (3, 2 s apart by
 * default) are spent in seconds, and a server that says "try again later" (greylisting: minutes; a
 * provider's sending rate exceeded mid-sale) would have every email dead-lettered. After the window
 * a deferral is an ordinary failure: the remaining attempts, then a dead letter.
 */
export const MAIL_DEFERRAL_WINDOW_MS = 3_600_000;

/** The wait before offering a deferred message again: half its job's age, from 1 s up to 5 min (pure). */
export function deferralDelayMs(ageMs: number): number {
  return Math.min(300_000, Math.max(1000, Math.round(ageMs / 2)));
}

/**
 * A message the mail server refused for good (5xx) fails its job at once: another attempt gets the same
 * refusal. Its dead letter keeps it for `salescale queues retry-failed` once the cause is fixed (the claim
 * was rolled back, so the retry sends). A deferred one (4xx) is offered again later (`MAIL_DEFERRAL_WINDOW_MS`);
 * other failures (timeouts, a lost connection) are retried with the queue's backoff.
 */
async function sendingEmail<T>(job: Job, token: string | undefined, send: () => Promise<T>): Promise<T> {
  try {
    return await send();
  } catch (error) {
    if (error instanceof MailRefusedError) throw failForGood(`the mail server refused the message for good: ${error.message}`);
    const ageMs = Date.now() - job.timestamp;
    if (error instanceof MailDeferredError && token && ageMs < MAIL_DEFERRAL_WINDOW_MS) {
      await job.moveToDelayed(Date.now() + deferralDelayMs(ageMs), token);
      throw new DelayedError();
    }
    throw error;
  }
}

export function notificationProcessors(service: NotificationService): JobHandlers {
  return {
    [JOBS.sendWelcomeEmail]: (job, token) => sendingEmail(job, token, () => service.sendWelcomeEmail(jobIdOf(job), requirePayload(job, isWelcomeEmail))),
    [JOBS.sendOrderConfirmation]: (job, token) => sendingEmail(job, token, () => service.sendOrderConfirmation(jobIdOf(job), requirePayload(job, isOrderConfirmation))),
    [JOBS.sendReservationExpired]: (job, token) => sendingEmail(job, token, () => service.sendReservationExpired(jobIdOf(job), requirePayload(job, isReservationExpired))),
  };
}
