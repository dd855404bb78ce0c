export type { CreatedIntent, PaymentEvent, PaymentProvider } from './payment-provider.ts';
export type { PaymentProviderName, PaymentsConfig } from '../../platform/config/payments.config.ts';
export { paymentMetricsFor, registerReservationsGauge, type PaymentMetrics } from './payments.metrics.ts';
export { createPaymentsRepository, PAYMENT_STATUS_RANK, type PaymentsRepository } from './payments.repository.ts';
export { paymentAdminRoutes, paymentRoutes } from './payments.routes.ts';
export { createPaymentService, type PaymentService, type ProcessOutcome } from './payments.service.ts';
export * from './payments.tables.ts';
export { createStripeProvider } from './stripe-provider.ts';
export { createTestProvider, TEST_SIGNATURE_HEADER, testWebhookSecret } from './test-provider.ts';
