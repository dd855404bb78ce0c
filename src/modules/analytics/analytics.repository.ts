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
     */
    async claimAndIncrement(db: DbOrTx, queue: string, jobs: Array<{ jobId: string; increments: RollupIncrement[] }>): Promise<Set<string>> {
      if (jobs.length === 0) return new Set();
      const flat = jobs.flatMap((job) => job.increments.map((inc) => ({ jobId: job.jobId, ...inc })));
      const result = await db.execute<{ job_id: string }>(sql`
        WITH claimed AS (
          INSERT INTO ${jobClaims} (queue, job_id)
          SELECT ${queue}, j FROM unnest(${sql.param(jobs.map((job) => job.jobId))}::text[]) AS j
          ON CONFLICT DO NOTHING RETURNING job_id
        ), input AS (
          SELECT * FROM unnest(${sql.param(flat.map((f) => f.jobId))}::text[], ${sql.param(flat.map((f) => f.hour.toISOString()))}::timestamptz[], ${sql.param(flat.map((f) => f.metric))}::text[], ${sql.param(flat.map((f) => f.dimension))}::text[], ${sql.param(flat.map((f) => f.value))}::bigint[])
            AS t(job_id, hour, metric, dimension, value)
        ), sums AS (
          SELECT i.hour, i.metric, i.dimension, sum(i.value)::bigint AS value
          FROM input i JOIN claimed c ON c.job_id = i.job_id
          GROUP BY i.metric, i.dimension, i.hour ORDER BY i.metric, i.dimension, i.hour
        ), upserted AS (
          INSERT INTO ${analyticsHourly} (hour, metric, dimension, value) SELECT hour, metric, dimension, value FROM sums
          ON CONFLICT (metric, dimension, hour) DO UPDATE SET value = ${analyticsHourly}.value + excluded.value
          RETURNING 1
        )
        SELECT job_id FROM claimed`);
      return new Set(result.rows.map((row) => row.job_id));
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

export type AnalyticsRepository = ReturnType<typeof createAnalyticsRepository>;
