import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { JOBS } from '../../src/platform/queue/queue-definitions.ts';
import { startEmailWorkerSetup, waitForJobState, withLockRedis, type EmailWorkerSetup } from '../helpers/dead-letter-setup.ts';
import { capturingLogger } from '../helpers/log-lines.ts';
import { waitFor } from '../helpers/queues.ts';

let s: EmailWorkerSetup;
const log = capturingLogger('warn');
let started = 0;
let release: () => void;
const released = new Promise<void>((resolve) => (release = resolve));
before(async () => {
  s = await startEmailWorkerSetup(
    {},
    async () => {
      started++;
      await released;
    },
    { logger: log.logger },
  );
});
after(async () => {
  release();
  await s?.close();
});

describe('a job that stalls too often while its dead letter cannot be written', () => {
  it('logs the failed write as a warning, as the processor\'s letter writes do', async () => {
    // The letter's insert fails, as it does when PostgreSQL does not answer.
    const { f } = s;
    await f.db.pools.primary.query(`
      CREATE FUNCTION refuse_letter() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN RAISE EXCEPTION 'the database is not answering'; END $$;
      CREATE TRIGGER refuse_letter BEFORE INSERT ON dead_letters FOR EACH ROW EXECUTE FUNCTION refuse_letter();`);
    const email = s.queues.get('email');
    await email.add(JOBS.sendWelcomeEmail, {}, { jobId: 'stall-1' });
    // Each delivery loses its lock (its worker stalled past the lock duration): the stalled check takes it back once,
    // and fails it the second time (maxStalledCount 1).
    await withLockRedis(f, async (redis) => {
      for (const delivery of [1, 2]) {
        await waitFor(`delivery ${delivery}`, () => started >= delivery);
        await redis.del(`${email.toKey('stall-1')}:lock`);
      }
    });
    await waitForJobState(email, 'stall-1', 'failed', 'the job to fail as stalled');
    const line = await waitFor('the failed letter write in the log', () => log.lines.find((l) => /dead letter/.test(l.msg) && l.jobId === 'stall-1'), 10_000);
    assert.equal(line.level, 40);
  });
});
