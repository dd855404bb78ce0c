import type client from 'prom-client';

/**
 * Empties a gauge at the start of its scrape-time `collect()`, so that what the read below does not
 * set is absent from the scrape. `reset()` alone is not that for a gauge without labels: prom-client
 * puts its one series back at 0, so a source that did not answer (Redis or PostgreSQL unreachable, a
 * read past its timeout) read as "0 active users" or "an empty outbox" — a figure, not a gap.
 */
export function clearGauge(gauge: client.Gauge<string>): void {
  gauge.reset();
  gauge.remove({});
}

/** How long a scrape-time read may take before its gauge is left out of the scrape. @defaultValue 1000 */
export const SCRAPE_READ_TIMEOUT_MS = 1000;

/**
 * A scrape-time read bounded by `timeoutMs`: its value, or undefined when it failed or took longer (a black-holed
 * Redis never answers, and one gauge waiting on it held up the whole scrape). Pair it with `clearGauge`.
 */
export function readForScrape<T>(read: Promise<T>, timeoutMs = SCRAPE_READ_TIMEOUT_MS): Promise<T | undefined> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([read, new Promise<undefined>((resolve) => (timer = setTimeout(() => resolve(undefined), timeoutMs)))])
    .catch(() => undefined)
    .finally(() => clearTimeout(timer));
}
