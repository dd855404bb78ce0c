/**
 * How long a request may own its Idempotency-Key before another attempt may take over (far above any request's
 * duration): the idempotency store's default lease. Its own module so the configuration can check the settings that
 * must end within it without loading the store.
 */
export const IDEMPOTENCY_LEASE_MS = 60_000;
