import { Job, Queue, type JobsOptions } from 'bullmq';
import type { Redis } from 'ioredis';
import { queueTelemetry } from '../telemetry/trace-context.ts';
import { defaultJobOptions, JOB_DEFAULTS, QUEUE_NAMES, QUEUE_OF_JOB, queuePrefix, type JobName, type QueueName, type QueueOverrides } from './queue-definitions.ts';

/** One BullMQ `Queue` (producer and inspector) per queue name, sharing one Redis connection. */
export interface QueueSet {
  prefix: string;
  get(name: QueueName): Queue;
  all(): Queue[];
  close(): Promise<void>;
}

export interface QueueSetOptions {
  /**
   * A shared connection. A fast-failing one (`createRedis(url, { role: 'fast-fail' })`) makes adds
   * reject at once while Redis is away instead of waiting for it, which the outbox relay relies on.
   */
  connection: Redis;
  /** REDIS_PREFIX; the BullMQ prefix is its hash-tagged form. */
  redisPrefix: string;
  overrides?: QueueOverrides;
  names?: readonly QueueName[];
}

export function createQueueSet(options: QueueSetOptions): QueueSet {
  const prefix = queuePrefix(options.redisPrefix);
  const queues = new Map<QueueName, Queue>();
  for (const name of options.names ?? QUEUE_NAMES) {
    const queue = new Queue(name, { connection: options.connection, prefix, defaultJobOptions: defaultJobOptions(name, options.overrides), telemetry: queueTelemetry() });
    // Errors also reach the shared connection's own logger; without a listener they would crash the process.
    queue.on('error', () => {});
    queues.set(name, queue);
  }
  return {
    prefix,
    get(name) {
      const queue = queues.get(name);
      if (!queue) throw new Error(`queue "${name}" is not part of this queue set`);
      return queue;
    },
    all: () => [...queues.values()],
    async close() {
      await Promise.allSettled([...queues.values()].map((queue) => queue.close()));
    },
  };
}

/** Options of one job: the job's defaults (priority, delay) under the caller's. */
export function jobOptions(name: string, opts: JobsOptions = {}): JobsOptions {
  return { ...(JOB_DEFAULTS[name as JobName] ?? {}), ...opts };
}

/**
 * The port services use to enqueue work directly (no transaction to tie it to). Work that follows a
 * database change goes through the outbox (`enqueueInTransaction`) instead.
 */
export interface JobQueue {
  add(name: JobName, data: object, opts?: JobsOptions): Promise<string | undefined>;
}

export function createJobQueue(queues: QueueSet): JobQueue {
  return {
    async add(name, data, opts) {
      const job = await queues.get(QUEUE_OF_JOB[name]).add(name, data, jobOptions(name, opts));
      return job.id;
    },
  };
}

/** BullMQ's own check of a job's options, run without adding it (`validateOptions` is protected). */
class UnsentJob extends Job {
  refusal(): string | undefined {
    try {
      this.validateOptions(this.asJSON());
      return undefined;
    } catch (error) {
      return (error as Error).message;
    }
  }
}

/**
 * Why BullMQ would refuse to add this job (an option out of range, e.g. a priority above 2^21), or
 * undefined. BullMQ checks before it sends anything, and one refused job fails its whole `addBulk`.
 */
export function refusalOf(queue: Queue, name: string, data: object, opts: JobsOptions): string | undefined {
  try {
    return new UnsentJob(queue, name, data, { ...queue.defaultJobOptions, ...opts }, opts.jobId).refusal();
  } catch (error) {
    return (error as Error).message;
  }
}
