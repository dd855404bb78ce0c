// Plain constants of sale events, apart from their schemas (sale-events.schemas.ts loads typebox, which the worker role does not need).

/**
 * The slowest a waiting room may admit, in visitors per second: the floor of the derived rate too (see
 * the waiting room's `admissionRate`). Any positive rate was taken: 1e-300 admitted nobody and announced
 * waits of 1e300 seconds.
 */
export const MIN_ADMISSION_PER_SECOND = 1;
/**
 * The fastest a waiting room may admit, in visitors per second: what the admission steps can run (see
 * the waiting room's `stepBatch`), the ceiling of the derived rate too. Up to 1,000,000 was taken while
 * a step admitted at most 1,000 (10,000 a second at the default tick): the waits shown and the
 * admission-rate metric told of admissions that never happened.
 */
export const MAX_ADMISSION_PER_SECOND = 10_000;
/**
 * The range of an event's traffic multiplier, relative to a normal hour (Black Friday: 10): what the admin API
 * takes, what migration 0035's CHECK holds the table to, and what the scaling toolkit takes from an events file.
 * 0.01 (1 % of a normal hour) at the least: "above 0" took a denormal (1e-320), a figure no sale plans for.
 */
export const MIN_TRAFFIC_MULTIPLIER = 0.01;
/** A hundred times Black Friday's ×10; the toolkit took up to 10,000 from a file, which the API and the table refuse. */
export const MAX_TRAFFIC_MULTIPLIER = 1000;
