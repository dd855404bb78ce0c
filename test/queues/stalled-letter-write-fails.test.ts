import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { loadConfig } from '../../src/platform/config/config.ts';
import { createPlatform } from '../../src/platform/platform.ts';
import { JOBS } from '../../src/platform/queue/queue-definitions.ts';
import type { QueueSet } from '../../src/platform/queue/queues.ts';
import { closeRedis, createRedis } from '../../src/platform/redis/redis.ts';
import { startWorker, type RunningWorker } from '../../src/worker/worker-role.ts';
import { capturingLogger } from '../helpers/log-lines.ts';
import { createQueueFixture, waitFor, type QueueFixture } from '../helpers/queues.ts';

let f: QueueFixture;
let queues: QueueSet;
let worker: RunningWorker;
const log = capturingLogger('warn');
let started = 0;
let release: () => void;
const released = new Promise<void>((resolve) => (release = resolve));
before(async () => {
  f = await createQueueFixture({ WORKER_QUEUES: 'email' });
  queues = await f.inspect();
  const config = loadConfig(f.env);
  worker = await startWorker(config, {
    http: false,
    platform: createPlatform(config, 'worker', log.logger),
    handlers: {
      [JOBS.sendWelcomeEmail]: async () => {
        started++;
        await released;
      },
    },
  });
});
after(async () => {
  release();
  await worker?.shutdown('test');
  await worker?.platform.close();
  await f?.close();
});

describe('a job that stalls too often while its dead letter cannot be written', () => {
  it('logs the failed write as a warning, as the processor\'s letter writes do', async () => {
    // The letter's insert fails, as it does when PostgreSQL does not answer.
    await f.db.pools.primary.query(`
      CREATE FUNCTION refuse_letter() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN RAISE EXCEPTION 'the database is not answering'; END $$;
      CREATE TRIGGER refuse_letter BEFORE INSERT ON dead_letters FOR EACH ROW EXECUTE FUNCTION refuse_letter();`);
    const email = queues.get('email');
    await email.add(JOBS.sendWelcomeEmail, {}, { jobId: 'stall-1' });
    // Each delivery loses its lock (its worker stalled past the lock duration): the stalled check takes it back once,
    // and fails it the second time (maxStalledCount 1).
    const redis = createRedis(f.env.REDIS_URL!, { name: 'salescale-test-lock', role: 'queue' });
    try {
      for (const delivery of [1, 2]) {
        await waitFor(`delivery ${delivery}`, () => started >= delivery);
        await redis.del(`${email.toKey('stall-1')}:lock`);
      }
    } finally {
      await closeRedis(redis);
    }
    await waitFor('the job to fail as stalled', async () => ((await (await email.getJob('stall-1'))?.getState()) === 'failed' ? true : undefined));
    const line = await waitFor('the failed letter write in the log', () => log.lines.find((l) => /dead letter/.test(l.msg) && l.jobId === 'stall-1'), 10_000);
    assert.equal(line.level, 40);
  });
});
