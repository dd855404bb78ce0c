import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { startPrivateRedis } from '../../../test/helpers/redis-server.ts';
import { closeRedis, createRedis, onServerRestart, waitForRedis } from './redis.ts';

async function until(condition: () => boolean, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

describe('onServerRestart', () => {
  it('calls back when the connection comes back to a restarted server, not on the first connection', async () => {
    const server = await startPrivateRedis();
    const client = createRedis(server.url, { name: 'salescale-test-restart', role: 'state' });
    client.on('error', () => {});
    try {
      await waitForRedis(client, 5000);
      let restarts = 0;
      onServerRestart(client, async () => {
        restarts++;
      });
      await new Promise((resolve) => setTimeout(resolve, 300));
      assert.equal(restarts, 0, 'the first server is only recorded');
      await server.stop('SIGKILL');
      await server.start();
      await until(() => restarts === 1, 15_000);
    } finally {
      await closeRedis(client);
      await server.destroy();
    }
  });
});
