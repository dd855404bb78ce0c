export { pruneSentEmails, SENT_EMAILS_TABLE } from './notifications.repository.ts';
export { CONNECTIONS_KEPT_FROM_SENDS, createNotificationService, messageIdFor, type EmailOutcome, type NotificationService } from './notifications.service.ts';
export * from './notifications.tables.ts';
export * from './notifications.templates.ts';
