import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { capturingLogger } from '../../../test/helpers/log-lines.ts';
import { waitFor } from '../../../test/helpers/queues.ts';
import { startPrivateRedis } from '../../../test/helpers/redis-server.ts';
import { startTcpProxy } from '../../../test/helpers/tcp-proxy.ts';
import { checkSelectedDatabases, closeRedis, createRedis, onServerRestart, waitForRedis } from './redis.ts';

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

describe('checkSelectedDatabases', () => {
  it('closes a checked connection, logging the refusal, when it reconnects to a server that does not have its database', async () => {
    // The first server has database 20, the one it fails over to (16 databases, the default) does not.
    const [first, failover] = await Promise.all([startPrivateRedis({ args: ['--databases', '32'] }), startPrivateRedis()]);
    const proxy = await startTcpProxy(first.port);
    const client = createRedis(`${proxy.url}/20`, { name: 'salescale-test-failover', role: 'queue' });
    client.on('error', () => {});
    const { logger, lines } = capturingLogger('warn');
    try {
      await checkSelectedDatabases([{ client, variable: 'REDIS_URL' }], { timeoutMs: 5000, logger });
      assert.equal(client.status, 'ready', 'the first server has database 20: the connection stays open');
      proxy.retarget(failover.port);
      await proxy.cut();
      await proxy.restore();
      await waitFor('the connection to the failed-over server to be closed', () => client.status === 'end', 15_000);
      const refusals = lines.filter((line) => line.level === 50 && /REDIS_URL: names database 20, which this Redis server does not have/.test(line.msg));
      assert.equal(refusals.length, 1, JSON.stringify(lines));
    } finally {
      client.disconnect();
      await proxy.close();
      await Promise.all([first.destroy(), failover.destroy()]);
    }
  });
});
