import pg from 'pg';
import type { ScalingCliDeps } from '../scaling/cli-inputs.ts';

/** Database sources for the scaling toolkit; without a DATABASE_URL the toolkit uses files and the calendar. */
export function scalingDataSources(databaseUrl: () => string | undefined): ScalingCliDeps {
  const query = async <T extends pg.QueryResultRow>(text: string): Promise<T[]> => {
    const connectionString = databaseUrl();
    if (!connectionString) return [];
    const client = new pg.Client({ connectionString, application_name: 'salescale-cli' });
    await client.connect();
    try {
      return (await client.query<T>(text)).rows;
    } finally {
      await client.end();
    }
  };
  return {
    loadSaleEvents: () =>
      query<{ name: string; startsAt: Date; endsAt: Date; trafficMultiplier: number }>(
        'SELECT name, starts_at AS "startsAt", ends_at AS "endsAt", traffic_multiplier AS "trafficMultiplier" FROM sale_events ORDER BY starts_at',
      ),
    // Requests per hour over all route groups, gaps filled with 0, from the analytics rollups. Complete hours
    // only: the current hour is still being counted, and a partial last hour would read as a sudden drop
    // (the level correction would carry it into the first hours of the forecast).
    loadHourlyHistory: () =>
      query<{ hour: Date; requests: number }>(
        `WITH bounds AS (SELECT min(hour) AS first, max(hour) AS last FROM analytics_hourly WHERE metric = 'requests' AND hour < date_trunc('hour', now()))
         SELECT h.hour, coalesce(sum(a.value), 0)::float8 AS requests
           FROM bounds, generate_series(bounds.first, bounds.last, interval '1 hour') AS h(hour)
           LEFT JOIN analytics_hourly a ON a.hour = h.hour AND a.metric = 'requests'
          GROUP BY h.hour ORDER BY h.hour`,
      ),
  };
}
