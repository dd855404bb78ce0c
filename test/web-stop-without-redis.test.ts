import assert from 'node:assert/strict';
import { after, afterEach, before, describe, it } from 'node:test';
import { createQueueFixture, waitFor, type QueueFixture } from './helpers/queues.ts';
import { startInstance, type Instance } from './helpers/instances.ts';
import { startPrivateRedis, type PrivateRedis } from './helpers/redis-server.ts';
import { groupMembers, killGroup, redisServerPid, stopWithin } from './helpers/process-group.ts';

/**
 * A stop that does not wait on the lost Redis ends within moments; one waiting on it takes the whole
 * SHUTDOWN_TIMEOUT_MS (25 s, below). 15 s tells the two apart with room for a loaded machine.
 */
const PROMPT_STOP_MS = 15_000;

let f: QueueFixture;
let redis: PrivateRedis;
let web: Instance | undefined;
before(async () => {
  redis = await startPrivateRedis();
  // The production SHUTDOWN_TIMEOUT_MS: a web role that waits on the lost Redis would take all of it.
  f = await createQueueFixture({ REDIS_URL: redis.url, SHUTDOWN_TIMEOUT_MS: '25000' });
});
afterEach(() => {
  if (web?.process.pid) killGroup(web.process.pid);
  web = undefined;
});
after(async () => {
  await f?.close();
  await redis?.destroy();
});

async function startWebRole(): Promise<Instance> {
  return startInstance({ env: f.env, command: 'serve', detached: true });
}

describe('web role stop while Redis cannot be reached', () => {
  it('exits (0) within a few seconds of SIGTERM when Redis is dead, leaving no process behind', async () => {
    web = await startWebRole();
    // A request that touches Redis (sessions, limits) before the loss, as traffic would.
    assert.equal((await fetch(`${web.url}/api/v1/products`)).status, 200);
    await redis.stop('SIGKILL');
    await waitFor('the web role to see Redis gone', async () => (await fetch(`${web!.url}/ready`)).status !== 200, 10_000);

    const exited = await stopWithin(web, 'SIGTERM', PROMPT_STOP_MS);
    assert.equal(exited, 0, `exits (0) promptly without Redis:\n${web.output()}`);
    assert.deepEqual(groupMembers(web.process.pid!), [], 'no process left in its group');
  });

  it('exits (0) within a few seconds of SIGINT when Redis is black-holed (accepts nothing, answers nothing)', async () => {
    await redis.start();
    web = await startWebRole();
    assert.equal((await fetch(`${web.url}/api/v1/products`)).status, 200);
    const redisPid = redisServerPid(redis.port);
    assert.ok(redisPid > 0, 'found the private redis-server');
    process.kill(redisPid, 'SIGSTOP');
    try {
      const exited = await stopWithin(web, 'SIGINT', PROMPT_STOP_MS);
      assert.equal(exited, 0, `exits (0) promptly while Redis answers nothing:\n${web.output()}`);
      assert.deepEqual(groupMembers(web.process.pid!), [], 'no process left in its group');
    } finally {
      process.kill(redisPid, 'SIGCONT');
    }
  });
});
