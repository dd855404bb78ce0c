export type { CreatedIntent, PaymentEvent, PaymentProvider } from './payment-provider.ts';
export type { PaymentProviderName, PaymentsConfig } from '../../platform/config/payments.config.ts';
export { createGiveBackRetry, type GiveBackRetry } from './give-back-retry.ts';
export { createPaymentProvider } from './payment-providers.ts';
export { OPEN_PAYMENT_PROBLEMS, paymentMetricsFor, registerGiveBackGauges, registerReservationsGauge, type PaymentMetrics } from './payments.metrics.ts';
export { createPaymentsRepository, PAYMENT_STATUS_RANK, type PaymentsRepository } from './payments.repository.ts';
export { createPaymentService, type PaymentService, type ProcessOutcome } from './payments.service.ts';
export * from './payments.tables.ts';
export { createTestProvider, TEST_SIGNATURE_HEADER, testWebhookSecret } from './test-provider.ts';
