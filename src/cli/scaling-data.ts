import pg from 'pg';
import { getCliConnectionConfig, survivingLostConnections } from '../platform/db/cli-connection.ts';
import type { ScalingCliDeps } from '../scaling/cli-inputs.ts';
import { ScalingInputError } from '../scaling/errors.ts';

/** What the toolkit reads from the environment (`loadScalingConfig`). */
export interface ScalingDataConfig {
  databaseUrl: string | undefined;
  /** `DATABASE_CA_CERT`: the CA the server's certificate is verified against. */
  caCert?: string;
  /** `ANALYTICS_FLUSH_INTERVAL_MS`: an hour's last counts reach the outbox up to this long after it ends. */
  analyticsFlushIntervalMs: number;
  /** `SHOP_TIME_ZONE`: the default of `--tz`. */
  timeZone: string;
}

/**
 * A request count relayed to BullMQ but neither applied nor dead-lettered after this long was lost
 * with Redis (it keeps nothing on disk), not held up behind a lagging worker: it no longer holds the
 * history back. Counts never relayed always do (the relay will send them), and dead-lettered ones
 * (failed for good, waiting for `salescale queues retry-failed`) never do.
 */
const PENDING_WINDOW_HOURS = 24;

/** Database sources and the shop's time zone for the scaling toolkit; without a DATABASE_URL it uses files and the calendar. */
export function scalingDataSources(config: () => ScalingDataConfig, warn: (line: string) => void = (line) => process.stderr.write(line)): ScalingCliDeps {
  const query = async <T extends pg.QueryResultRow>(text: string, values: unknown[] = []): Promise<T[]> => {
    const { databaseUrl, caCert } = config();
    if (!databaseUrl) return [];
    const client = survivingLostConnections(new pg.Client(getCliConnectionConfig(databaseUrl, 'salescale-cli', caCert)));
    await client.connect();
    try {
      return (await client.query<T>(text, values)).rows;
    } finally {
      await client.end();
    }
  };
  return {
    timeZone: () => config().timeZone,
    loadSaleEvents: () =>
      query<{ name: string; startsAt: Date; endsAt: Date; trafficMultiplier: number }>(
        'SELECT name, starts_at AS "startsAt", ends_at AS "endsAt", traffic_multiplier AS "trafficMultiplier" FROM sale_events ORDER BY starts_at',
      ),
    // Requests per hour over all route groups, gaps filled with 0, from the analytics rollups. Complete hours
    // only, because a partly counted last hour reads as a sudden drop and the level correction would carry it
    // into the first hours of the forecast. An hour is complete when
    //  - it ended at least one flush interval (and a few seconds) ago: the web instances keep each hour's
    //    last counts in memory until their next flush;
    //  - and no request count of it or of a later hour is still waiting in the outbox, in BullMQ or in the
    //    worker (its `outbox-<id>` job has no claim yet): a worker lagging behind during a sale would
    //    otherwise leave the last hours under-counted. The relay deletes relayed rows after
    //    OUTBOX_RETENTION_HOURS: keep it above a day, or counts still queued then are not seen here.
    // The history runs from the first rollup to the last complete hour, hours without a rollup as 0 at its end
    // too: it ended at the last hour with a rollup, so rollups that stopped (a worker failing every count, counts
    // lost) left a history that silently ended days ago, where the forecast's data-gap rule never saw the outage.
    loadHourlyHistory: async () => {
      // Without a database the query reads as no rows, and the history as empty ("got 0 hours").
      if (!config().databaseUrl) throw new ScalingInputError('INVALID_OPTION', '--learn reads the analytics rollups from the database: set DATABASE_URL, or give --history <csv>');
      const [{ pending }] = await query<{ pending: Date | null }>(
        `SELECT min((o.data->>'hour')::timestamptz) AS pending FROM outbox o
          WHERE o.name = 'update-analytics' AND o.data->>'eventType' = 'requests'
            AND (o.relayed_at IS NULL OR o.relayed_at > now() - make_interval(hours => $1))
            AND NOT EXISTS (SELECT 1 FROM job_claims c WHERE c.queue = o.queue AND c.job_id = 'outbox-' || o.id)
            AND NOT EXISTS (SELECT 1 FROM dead_letters d WHERE d.queue = o.queue AND d.job_id = 'outbox-' || o.id AND d.retried_at IS NULL)`,
        [PENDING_WINDOW_HOURS],
      ).then((rows) => (rows.length > 0 ? rows : [{ pending: null }]));
      const history = await query<{ hour: Date; requests: number }>(
        `WITH last_complete AS (
           SELECT least(date_trunc('hour', now() - make_interval(secs => $1), 'UTC'), date_trunc('hour', $2::timestamptz, 'UTC')) - interval '1 hour' AS last
         ), bounds AS (
           SELECT min(a.hour) AS first, last_complete.last FROM last_complete
             LEFT JOIN analytics_hourly a ON a.metric = 'requests' AND a.hour <= last_complete.last
            GROUP BY last_complete.last
         )
         SELECT h.hour, coalesce(sum(a.value), 0)::float8 AS requests
           FROM bounds, generate_series(bounds.first, bounds.last, interval '1 hour') AS h(hour)
           LEFT JOIN analytics_hourly a ON a.hour = h.hour AND a.metric = 'requests'
          GROUP BY h.hour ORDER BY h.hour`,
        [config().analyticsFlushIntervalMs / 1000 + 5, pending],
      );
      if (pending) {
        warn(
          `warning: the history ends before ${new Date(pending).toISOString().slice(0, 13)}:00Z (${history.length} complete hours): request counts of that hour are still waiting to be applied (the worker is behind, or failing; see \`salescale queues\`)\n`,
        );
      }
      return history;
    },
  };
}
