import { sql } from 'drizzle-orm';
import type pg from 'pg';
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

/** A pool or a checked-out client: statements that need pg's own options (a prepared statement's name). */
export type Queryable = Pick<pg.Pool | pg.PoolClient, 'query'>;

/**
 * $1 queue, $2 the batch's job ids, $3–$7 one entry per increment (job id, hour, metric, dimension,
 * value). Returns the ids of $2 that were claimed before (their increments are not added).
 */
const CLAIM_AND_INCREMENT = {
  name: 'analytics.claim-and-increment',
  text: `
    WITH claimed AS (
      INSERT INTO job_claims (queue, job_id)
      SELECT $1, j FROM unnest($2::text[]) AS j
      ON CONFLICT DO NOTHING RETURNING job_id
    ), sums AS (
      SELECT i.hour, i.metric, i.dimension, sum(i.value)::bigint AS value
      FROM unnest($3::text[], $4::timestamptz[], $5::text[], $6::text[], $7::bigint[]) AS i(job_id, hour, metric, dimension, value)
      JOIN claimed c ON c.job_id = i.job_id
      GROUP BY i.metric, i.dimension, i.hour ORDER BY i.metric, i.dimension, i.hour
    ), upserted AS (
      INSERT INTO analytics_hourly (hour, metric, dimension, value) SELECT hour, metric, dimension, value FROM sums
      ON CONFLICT (metric, dimension, hour) DO UPDATE SET value = analytics_hourly.value + excluded.value
      RETURNING 1
    )
    SELECT j AS job_id FROM unnest($2::text[]) AS j EXCEPT ALL SELECT job_id FROM claimed`,
} as const;

export function createAnalyticsRepository() {
  return {
    /** True when this job had not been applied before (the claim commits with the effect). */
    async claimJob(tx: DbOrTx, queue: string, jobId: string): Promise<boolean> {
      const rows = await tx.insert(jobClaims).values({ queue, jobId }).onConflictDoNothing().returning({ jobId: jobClaims.jobId });
      return rows.length > 0;
    },

    /** The ids among `jobIds` not applied before (claimed now, committed with the effect). */
    async claimJobs(tx: DbOrTx, queue: string, jobIds: string[]): Promise<Set<string>> {
      if (jobIds.length === 0) return new Set();
      const rows = await tx
        .insert(jobClaims)
        .values(jobIds.map((jobId) => ({ queue, jobId })))
        .onConflictDoNothing()
        .returning({ jobId: jobClaims.jobId });
      return new Set(rows.map((row) => row.jobId));
    },

    /**
     * Claims the jobs and adds the increments of those newly claimed, in ONE statement (so one
     * round trip and one commit): the data-modifying CTEs run atomically, and the sums only see
     * the claims this statement inserted. Each job id must appear in at most one entry.
     * Rows are upserted in (metric, dimension, hour) order so concurrent batches never lock crosswise.
     *
     * A named (prepared) statement: PostgreSQL parses and plans it once per connection instead of
     * once per batch; planning was about half of the backend's CPU per batch (1.9 → 1.0 ms of
     * backend CPU per batch of 50 jobs, 4 alternating runs). The statement returns only the ids it
     * did NOT claim (re-deliveries, almost always none) rather than one row per claimed job.
     */
    async claimAndIncrement(db: Queryable, queue: string, jobs: Array<{ jobId: string; increments: RollupIncrement[] }>): Promise<Set<string>> {
      if (jobs.length === 0) return new Set();
      const jobIds = jobs.map((job) => job.jobId);
      const incJobIds: string[] = [];
      const hours: string[] = [];
      const metrics: string[] = [];
      const dimensions: string[] = [];
      const values: number[] = [];
      let lastHour = Number.NaN;
      let lastIso = '';
      for (const job of jobs) {
        for (const inc of job.increments) {
          // Nearly every increment of a batch falls in the same hour: format it once.
          if (inc.hour.getTime() !== lastHour) {
            lastHour = inc.hour.getTime();
            lastIso = inc.hour.toISOString();
          }
          incJobIds.push(job.jobId);
          hours.push(lastIso);
          metrics.push(inc.metric);
          dimensions.push(inc.dimension);
          values.push(inc.value);
        }
      }
      const result = await db.query<{ job_id: string }>({ name: CLAIM_AND_INCREMENT.name, text: CLAIM_AND_INCREMENT.text, values: [queue, jobIds, incJobIds, hours, metrics, dimensions, values] });
      const claimed = new Set(jobIds);
      for (const row of result.rows) claimed.delete(row.job_id);
      return claimed;
    },

    async increment(tx: DbOrTx, increments: RollupIncrement[]): Promise<void> {
      if (increments.length === 0) return;
      await tx
        .insert(analyticsHourly)
        .values(increments)
        .onConflictDoUpdate({ target: [analyticsHourly.metric, analyticsHourly.dimension, analyticsHourly.hour], set: { value: sql`${analyticsHourly.value} + excluded.value` } });
    },

    /**
     * Hours in [from, to), missing hours as 0; `dimension` undefined sums all dimensions. Rollup hours are
     * whole UTC hours: `from` is truncated in UTC, not in the session's time zone (a server set to India's
     * +05:30 truncated to half past, and no generated hour matched a rollup).
     */
    async series(tx: DbOrTx, metric: string, from: Date, to: Date, dimension: string | undefined): Promise<HourlyPoint[]> {
      const result = await tx.execute<{ hour: Date; value: number }>(sql`
        SELECT h.hour, coalesce(sum(a.value), 0)::float8 AS value
        FROM generate_series(date_trunc('hour', ${from.toISOString()}::timestamptz, 'UTC'), ${to.toISOString()}::timestamptz - interval '1 microsecond', interval '1 hour') AS h(hour)
        LEFT JOIN ${analyticsHourly} a ON a.hour = h.hour AND a.metric = ${metric} ${dimension === undefined ? sql`` : sql`AND a.dimension = ${dimension}`}
        GROUP BY h.hour ORDER BY h.hour`);
      return result.rows.map((row) => ({ hour: new Date(row.hour), value: Number(row.value) }));
    },
  };
}

export type AnalyticsRepository = ReturnType<typeof createAnalyticsRepository>;
