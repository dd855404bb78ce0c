import client from 'prom-client';
import type { Queue } from 'bullmq';
import type pg from 'pg';
import { clearGauge, readForScrape } from '../metrics/scrape-gauges.ts';
import { runnableSince } from './processing.ts';
import type { QueueSet } from './queues.ts';

/** Seconds; from a no-op job (~1 ms) to an SMTP conversation with a slow server. */
export const JOB_DURATION_BUCKETS = [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];

const STATES = ['waiting', 'prioritized', 'delayed', 'active', 'failed', 'completed'] as const;
const COLLECT_TIMEOUT_MS = 1500;

/**
 * How a job attempt ended, the `status` of `queue_jobs_processed_total`: `completed`; `retried` (the attempt
 * failed and the job runs again: not a failed job); `failed` (the job failed for good — attempts exhausted, an
 * unrecoverable error, a second stall — and is a dead letter). Failed jobs are `failed` over `completed` + `failed`;
 * all three together are the attempts.
 */
export type JobOutcome = 'completed' | 'retried' | 'failed' | 'deferred';

export interface QueueMetrics {
  /** Job attempts finished by this process, by `status` (a {@link JobOutcome}). */
  processed: client.Counter<'queue' | 'name' | 'status'>;
  /** Processing time of every attempt this process ran, completed or failed. */
  duration: client.Histogram<'queue' | 'name'>;
  relayed: client.Counter;
  relayErrors: client.Counter;
  /** Scrape-time gauges of these queues' depths (shared state: every instance reports the same numbers). */
  observeQueues(queues: QueueSet): void;
  /** Scrape-time gauges of the outbox backlog and unretried dead letters. */
  observeOutbox(pool: pg.Pool): void;
}

const byRegistry = new WeakMap<client.Registry, QueueMetrics>();

/** A scrape-time read of the queues or the outbox, bounded as every such read (undefined: failed or too slow). */
function readBounded<T>(read: Promise<T>): Promise<T | undefined> {
  return readForScrape(read, COLLECT_TIMEOUT_MS);
}

/**
 * The queue signals a KEDA scaler or an alert needs, on a role's registry (one instance per
 * registry, so the web and worker roles of `salescale up` can share one). A gauge whose source is
 * unreachable at scrape time is left out rather than reported as 0.
 */
export function queueMetricsFor(registry: client.Registry): QueueMetrics {
  const existing = byRegistry.get(registry);
  if (existing) return existing;
  const queueSets = new Map<string, QueueSet>();
  const pools = new Set<pg.Pool>();
  const registers = [registry];
  const allQueues = () => [...queueSets.values()].flatMap((set) => set.all());

  new client.Gauge({
    name: 'queue_jobs',
    help: 'Jobs per queue and state (waiting, prioritized and delayed are the backlog a worker autoscaler follows)',
    labelNames: ['queue', 'state'],
    registers,
    async collect() {
      clearGauge(this);
      // Every queue at once: one after the other, an unreachable Redis made the scrape wait a timeout per queue.
      const reads = await Promise.all(allQueues().map(async (queue) => ({ queue, counts: await readBounded(queue.getJobCounts(...STATES)) })));
      for (const { queue, counts } of reads) {
        if (!counts) continue;
        for (const state of STATES) this.set({ queue: queue.name, state }, counts[state] ?? 0);
      }
    },
  });
  new client.Gauge({
    name: 'queue_oldest_waiting_job_age_seconds',
    help: 'How long the job at the head of the line (the oldest plain waiting job, or the next prioritized one) has been runnable, delays on purpose left out; 0 when none waits',
    labelNames: ['queue'],
    registers,
    async collect() {
      clearGauge(this);
      // The wait list's oldest job and the prioritized set's next one (every stock sync is prioritized).
      const heads = (queue: Queue) => Promise.all([queue.getJobs(['wait'], 0, 0, true), queue.getJobs(['prioritized'], 0, 0, true)]);
      const reads = await Promise.all(allQueues().map(async (queue) => ({ queue, jobs: await readBounded(heads(queue)) })));
      const now = Date.now();
      for (const { queue, jobs } of reads) {
        if (!jobs) continue;
        const since = jobs.flat().filter(Boolean).map((job) => runnableSince(job));
        this.set({ queue: queue.name }, since.length > 0 ? Math.max(0, (now - Math.min(...since)) / 1000) : 0);
      }
    },
  });
  new client.Gauge({
    name: 'outbox_unrelayed_rows',
    help: 'Outbox rows committed but not yet moved into BullMQ',
    registers,
    async collect() {
      clearGauge(this);
      for (const pool of pools) {
        const result = await readBounded(pool.query<{ n: number }>('SELECT count(*)::int AS n FROM outbox WHERE relayed_at IS NULL'));
        if (result) this.set(result.rows[0]?.n ?? 0);
      }
    },
  });
  new client.Gauge({
    name: 'outbox_oldest_unrelayed_age_seconds',
    help: 'Age of the oldest unrelayed outbox row; grows while Redis or every relay is down',
    registers,
    async collect() {
      clearGauge(this);
      for (const pool of pools) {
        const result = await readBounded(
          pool.query<{ age: number }>('SELECT coalesce(extract(epoch FROM now() - min(created_at)), 0)::float8 AS age FROM outbox WHERE relayed_at IS NULL'),
        );
        if (result) this.set(result.rows[0]?.age ?? 0);
      }
    },
  });
  new client.Gauge({
    name: 'queue_dead_letters',
    help: 'Jobs that exhausted their attempts and have not been retried (dead_letters table)',
    labelNames: ['queue'],
    registers,
    async collect() {
      clearGauge(this);
      for (const pool of pools) {
        const result = await readBounded(
          pool.query<{ queue: string; n: number }>('SELECT queue, count(*)::int AS n FROM dead_letters WHERE retried_at IS NULL AND discarded_at IS NULL GROUP BY queue'),
        );
        for (const row of result?.rows ?? []) this.set({ queue: row.queue }, row.n);
      }
    },
  });

  const metrics: QueueMetrics = {
    processed: new client.Counter({
      name: 'queue_jobs_processed_total',
      help: 'Job attempts this process finished, by status: completed; retried (the attempt failed, the job runs again); failed (the job failed for good: attempts exhausted or unrecoverable, a dead letter); deferred (the attempt met an outage, the mail server or PostgreSQL not reachable, and the job was put back for later without using an attempt)',
      labelNames: ['queue', 'name', 'status'],
      registers,
    }),
    duration: new client.Histogram({ name: 'queue_job_duration_seconds', help: 'Processing time of the job attempts this process ran, failed attempts included', labelNames: ['queue', 'name'], buckets: JOB_DURATION_BUCKETS, registers }),
    relayed: new client.Counter({ name: 'outbox_relayed_total', help: 'Outbox rows this process moved into BullMQ', registers }),
    relayErrors: new client.Counter({ name: 'outbox_relay_errors_total', help: 'Outbox relay passes that failed (Redis or PostgreSQL unreachable)', registers }),
    observeQueues(queues) {
      queueSets.set(queues.prefix, queues);
    },
    observeOutbox(pool) {
      pools.add(pool);
    },
  };
  byRegistry.set(registry, metrics);
  return metrics;
}
