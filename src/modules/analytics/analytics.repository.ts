import { sql } from 'drizzle-orm';
import type { DbOrTx } from '../../platform/outbox/outbox.ts';
import { jobClaims } from '../../platform/queue/queue.tables.ts';
import { analyticsHourly } from './analytics.tables.ts';

export interface RollupIncrement {
  hour: Date;
  metric: string;
  dimension: string;
  value: number;
}

export interface HourlyPoint {
  hour: Date;
  value: number;
}

export function createAnalyticsRepository() {
  return {
    /** True when this job had not been applied before (the claim commits with the effect). */
    async claimJob(tx: DbOrTx, queue: string, jobId: string): Promise<boolean> {
      const rows = await tx.insert(jobClaims).values({ queue, jobId }).onConflictDoNothing().returning({ jobId: jobClaims.jobId });
      return rows.length > 0;
    },

    async increment(tx: DbOrTx, increments: RollupIncrement[]): Promise<void> {
      if (increments.length === 0) return;
      await tx
        .insert(analyticsHourly)
        .values(increments)
        .onConflictDoUpdate({ target: [analyticsHourly.metric, analyticsHourly.dimension, analyticsHourly.hour], set: { value: sql`${analyticsHourly.value} + excluded.value` } });
    },

    /** Hours in [from, to), missing hours as 0; `dimension` undefined sums all dimensions. */
    async series(tx: DbOrTx, metric: string, from: Date, to: Date, dimension: string | undefined): Promise<HourlyPoint[]> {
      const result = await tx.execute<{ hour: Date; value: number }>(sql`
        SELECT h.hour, coalesce(sum(a.value), 0)::float8 AS value
        FROM generate_series(date_trunc('hour', ${from.toISOString()}::timestamptz), ${to.toISOString()}::timestamptz - interval '1 microsecond', interval '1 hour') AS h(hour)
        LEFT JOIN ${analyticsHourly} a ON a.hour = h.hour AND a.metric = ${metric} ${dimension === undefined ? sql`` : sql`AND a.dimension = ${dimension}`}
        GROUP BY h.hour ORDER BY h.hour`);
      return result.rows.map((row) => ({ hour: new Date(row.hour), value: Number(row.value) }));
    },
  };
}
