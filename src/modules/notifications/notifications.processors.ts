import { jobIdOf, requirePayload, type JobHandlers } from '../../platform/queue/processing.ts';
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

export function notificationProcessors(service: NotificationService): JobHandlers {
  return {
    [JOBS.sendWelcomeEmail]: (job) => service.sendWelcomeEmail(jobIdOf(job), requirePayload(job, isWelcomeEmail)),
    [JOBS.sendOrderConfirmation]: (job) => service.sendOrderConfirmation(jobIdOf(job), requirePayload(job, isOrderConfirmation)),
    [JOBS.sendReservationExpired]: (job) => service.sendReservationExpired(jobIdOf(job), requirePayload(job, isReservationExpired)),
  };
}
