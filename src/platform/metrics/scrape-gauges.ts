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
