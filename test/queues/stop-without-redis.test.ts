import assert from 'node:assert/strict';
import { after, afterEach, before, describe, it } from 'node:test';
import { createQueueFixture, waitFor, type QueueFixture } from '../helpers/queues.ts';
import type { Instance } from '../helpers/instances.ts';
import { startPrivateRedis, type PrivateRedis } from '../helpers/redis-server.ts';
import { groupMembers, killGroup, redisServerPid, stopWithin } from '../helpers/process-group.ts';

/**
 * A stop that does not wait on the lost Redis ends within moments; one waiting on it takes the whole
 * SHUTDOWN_TIMEOUT_MS (25 s, below). 15 s tells the two apart with room for a loaded machine.
 */
const PROMPT_STOP_MS = 15_000;

let f: QueueFixture;
let redis: PrivateRedis;
let worker: Instance | undefined;
before(async () => {
  redis = await startPrivateRedis();
  // The production SHUTDOWN_TIMEOUT_MS: a worker that waits on the lost Redis would take all of it.
  f = await createQueueFixture({ REDIS_URL: redis.url, SHUTDOWN_TIMEOUT_MS: '25000' });
});
afterEach(() => {
  // Whatever a failed case left in the worker's process group.
  if (worker?.process.pid) killGroup(worker.process.pid);
  worker = undefined;
});
after(async () => {
  await f?.close();
  await redis?.destroy();
});

describe('worker stop while the queue Redis cannot be reached', () => {
  it('exits (0) within a few seconds of SIGTERM when Redis is dead and no job is active, leaving no process behind', async () => {
    worker = await f.startWorker({}, '/ready', { detached: true });
    await redis.stop('SIGKILL');
    // The worker has noticed: its readiness reports the loss.
    await waitFor('the worker to see Redis gone', async () => (await fetch(`${worker!.url}/ready`)).status !== 200, 10_000);

    const exited = await stopWithin(worker, 'SIGTERM', PROMPT_STOP_MS);
    assert.equal(exited, 0, `exits (0) promptly without Redis:\n${worker.output()}`);
    assert.deepEqual(groupMembers(worker.process.pid!), [], 'no process left in its group');
  });

  it('exits (0) within a few seconds of SIGINT when Redis is black-holed (accepts nothing, answers nothing)', async () => {
    await redis.start();
    worker = await f.startWorker({}, '/ready', { detached: true });
    // A frozen server: connections stay open, no reply ever comes.
    const redisPid = redisServerPid(redis.port);
    assert.ok(redisPid > 0, 'found the private redis-server');
    process.kill(redisPid, 'SIGSTOP');
    try {
      const exited = await stopWithin(worker, 'SIGINT', PROMPT_STOP_MS);
      assert.equal(exited, 0, `exits (0) promptly while Redis answers nothing:\n${worker.output()}`);
      assert.deepEqual(groupMembers(worker.process.pid!), [], 'no process left in its group');
    } finally {
      process.kill(redisPid, 'SIGCONT');
    }
  });

  it('exits (0) on SIGTERM while it still waits for a queue Redis it never reached at start (it died of the signal, 143)', async () => {
    // Nothing listens on port 1: the worker starts without Redis, as documented, and says so.
    worker = await f.startWorker({ REDIS_URL: 'redis://127.0.0.1:1', LOG_LEVEL: 'warn' }, '/health', { detached: true });
    await waitFor('the worker to say it waits for Redis', () => worker!.output().includes('queue Redis unreachable at start') || worker!.process.exitCode !== null, 30_000);
    assert.equal(worker.process.exitCode, null, `the worker keeps waiting for Redis: ${worker.output()}`);
    const exited = await stopWithin(worker, 'SIGTERM', 30_000);
    assert.equal(exited, 0, worker.output().slice(-2000));
  });
});
