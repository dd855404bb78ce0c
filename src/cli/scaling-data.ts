import pg from 'pg';
import type { ScalingCliDeps } from '../scaling/cli-inputs.ts';

/** What the toolkit reads from the environment (`loadScalingConfig`). */
export interface ScalingDataConfig {
  databaseUrl: string | undefined;
  /** `ANALYTICS_FLUSH_INTERVAL_MS`: an hour's last counts reach the outbox up to this long after it ends. */
  analyticsFlushIntervalMs: number;
  /** `SHOP_TIME_ZONE`: the default of `--tz`. */
  timeZone: string;
}

/**
 * Request counts still on their way into the rollups are at most this old; an older increment that was
 * never applied belongs to a job that failed for good (it is in Bull Board's failed set), not to lag.
 */
const PENDING_WINDOW_HOURS = 24;

/** Database sources and the shop's time zone for the scaling toolkit; without a DATABASE_URL it uses files and the calendar. */
export function scalingDataSources(config: () => ScalingDataConfig): ScalingCliDeps {
  const query = async <T extends pg.QueryResultRow>(text: string, values: unknown[] = []): Promise<T[]> => {
    const { databaseUrl } = config();
    if (!databaseUrl) return [];
    const client = new pg.Client({ connectionString: databaseUrl, application_name: 'salescale-cli' });
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
    //    otherwise leave the last hours under-counted.
    loadHourlyHistory: () =>
      query<{ hour: Date; requests: number }>(
        `WITH pending AS (
           SELECT min((o.data->>'hour')::timestamptz) AS hour FROM outbox o
            WHERE o.name = 'update-analytics' AND o.data->>'eventType' = 'requests'
              AND o.created_at > now() - make_interval(hours => $2)
              AND NOT EXISTS (SELECT 1 FROM job_claims c WHERE c.queue = o.queue AND c.job_id = 'outbox-' || o.id)
         ), bounds AS (
           SELECT min(a.hour) AS first, max(a.hour) AS last FROM analytics_hourly a, pending
            WHERE a.metric = 'requests'
              AND a.hour + interval '1 hour' <= now() - make_interval(secs => $1)
              AND (pending.hour IS NULL OR a.hour < date_trunc('hour', pending.hour))
         )
         SELECT h.hour, coalesce(sum(a.value), 0)::float8 AS requests
           FROM bounds, generate_series(bounds.first, bounds.last, interval '1 hour') AS h(hour)
           LEFT JOIN analytics_hourly a ON a.hour = h.hour AND a.metric = 'requests'
          GROUP BY h.hour ORDER BY h.hour`,
        [config().analyticsFlushIntervalMs / 1000 + 5, PENDING_WINDOW_HOURS],
      ),
  };
}
