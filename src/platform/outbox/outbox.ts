import type { JobsOptions } from 'bullmq';
import { sql } from 'drizzle-orm';
import type { Db } from '../db/client.ts';
import { isQueueName, QUEUE_OF_JOB, type JobName, type QueueName } from '../queue/queue-definitions.ts';
import { currentTraceContext } from '../telemetry/trace-context.ts';
import { outbox } from './outbox.tables.ts';

/** A drizzle database or an open transaction on it. */
export type DbOrTx = Db | Parameters<Parameters<Db['transaction']>[0]>[0];

/** Job options that survive a trip through the outbox (JSON); `jobId` is always `outbox-<id>`. */
export type OutboxJobOptions = Pick<JobsOptions, 'priority' | 'delay' | 'attempts' | 'backoff' | 'lifo'>;

export interface OutboxJob {
  queue: QueueName;
  name: JobName;
  data: object;
  opts?: OutboxJobOptions;
  /**
   * Makes writing the job again a no-op (`outbox.dedupe_key`): for a writer that retries a write whose commit it
   * could not learn (the reply lost), with the same key and the same job.
   */
  dedupeKey?: string;
}

/** The BullMQ job id of an outbox row: the relay may add it twice, BullMQ keeps one. */
export function outboxJobId(id: number): string {
  return `outbox-${id}`;
}

/**
 * Writes follow-up work into the outbox inside the caller's transaction: it reaches BullMQ if and
 * only if the transaction commits (the relay moves it), however the process or Redis fails after.
 * Returns the outbox ids of the rows written (a job whose `dedupeKey` is already in the outbox is not written again).
 */
export async function enqueueInTransaction(tx: DbOrTx, jobs: OutboxJob | OutboxJob[]): Promise<number[]> {
  const list = Array.isArray(jobs) ? jobs : [jobs];
  if (list.length === 0) return [];
  for (const job of list) {
    if (!isQueueName(job.queue)) throw new Error(`unknown queue "${job.queue}"`);
    const expected = QUEUE_OF_JOB[job.name];
    if (expected !== undefined && expected !== job.queue) throw new Error(`job "${job.name}" runs on queue "${expected}", not "${job.queue}"`);
  }
  // The jobs continue the active trace (a request's, or the job that writes them), when tracing is on.
  const traceContext = currentTraceContext() ?? null;
  const rows = await tx
    .insert(outbox)
    .values(list.map((job) => ({ queue: job.queue, name: job.name, data: job.data, opts: job.opts ?? {}, traceContext, dedupeKey: job.dedupeKey ?? null })))
    // Only a repeated dedupe key is skipped (the partial unique index `outbox_dedupe_key_idx`, whose predicate the
    // target repeats so PostgreSQL infers it); any other unique conflict fails the insert, as it should.
    .onConflictDoNothing({ target: outbox.dedupeKey, where: sql`${outbox.dedupeKey} IS NOT NULL` })
    .returning({ id: outbox.id });
  return rows.map((row) => row.id);
}
