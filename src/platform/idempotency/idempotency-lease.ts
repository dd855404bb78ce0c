/**
 * How long a request owns its Idempotency-Key unless it renews the lease (a running request does, every third of it:
 * `IdempotencyStore.hold`), i.e. how long after its process died another attempt may take over: the idempotency
 * store's default lease. Its own module so the configuration can check the settings that
 * must end within it without loading the store.
 */
export const IDEMPOTENCY_LEASE_MS = 60_000;
