import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Redis } from 'ioredis';
import { loadConfig } from '../src/platform/config/config.ts';
import { createLogger } from '../src/platform/logger/logger.ts';
import { createPlatform } from '../src/platform/platform.ts';
import { startWorker, type RunningWorker } from '../src/worker/worker-role.ts';
import { ConfigError } from '../src/platform/config/env-schema.ts';
import { createTestApp, testEnv, type TestApp } from './helpers/app.ts';
import { createTestDatabase, TEST_REDIS_URL, type TestDatabase } from './helpers/db.ts';
import { waitFor } from './helpers/queues.ts';
import { startPrivateRedis } from './helpers/redis-server.ts';
import { socketsTo } from './helpers/sockets.ts';

const SRC = path.join(import.meta.dirname, '..', 'src');
const redisPort = Number(new URL(TEST_REDIS_URL).port || 6379);

/** The client name Redis knows each of this process's connections by (one entry per connection). */
async function redisConnectionNames(admin: Redis): Promise<string[]> {
  const ours = new Set(socketsTo(redisPort));
  const own = Number((admin as unknown as { stream: { localPort: number } }).stream.localPort);
  const list = String(await admin.call('CLIENT', 'LIST'));
  const names: string[] = [];
  for (const line of list.trim().split('\n')) {
    const fields = Object.fromEntries(line.split(' ').map((pair) => [pair.slice(0, pair.indexOf('=')), pair.slice(pair.indexOf('=') + 1)]));
    const port = Number(String(fields.addr).split(':').pop());
    if (ours.has(port) && port !== own) names.push(fields.name ?? '');
  }
  return names.sort();
}

/**
 * Waits until the connections `expected` names are all open (subscribers and BullMQ connect in the background, later
 * on a loaded machine), then until the set stops changing (a connection opened twice shows by then).
 */
async function settledNames(admin: Redis, expected: (names: string[]) => boolean): Promise<string[]> {
  await waitFor('the expected Redis connections', async () => expected(await redisConnectionNames(admin)) || null, 15_000).catch(() => undefined);
  let previous = '';
  for (let i = 0; i < 50; i++) {
    const names = await redisConnectionNames(admin);
    const key = names.join(',');
    if (key === previous) return names;
    previous = key;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  return redisConnectionNames(admin);
}

function duplicates(names: string[]): string[] {
  return names.filter((name, i) => names.indexOf(name) !== i);
}

describe('composition roots', () => {
  let admin: Redis;
  before(async () => {
    admin = new Redis(TEST_REDIS_URL, { connectionName: 'composition-roots-test' });
    await admin.ping();
  });
  after(() => admin.disconnect());

  describe('web role', () => {
    let t: TestApp;
    before(async () => {
      t = await createTestApp();
      // Use the paths that open lazily: a product page, a registration (sessions), a cart, the queue gauges.
      await t.app.inject({ method: 'GET', url: '/api/v1/products' });
      await t.app.inject({ method: 'POST', url: '/api/v1/customers', payload: { email: 'roots@example.com', password: 'correct horse battery', name: 'Roots' } });
      await t.app.inject({ method: 'GET', url: '/ready' });
    });
    after(() => t.close());

    it('opens each Redis connection once, each for one purpose', async () => {
      const names = await settledNames(admin, (open) => ['salescale-web', 'salescale-web-queues', 'salescale-web-state', 'salescale-web-sub'].every((name) => open.includes(name)));
      assert.deepEqual(duplicates(names), [], `connections opened twice: ${names.join(', ')}`);
      assert.deepEqual(
        names,
        // One pub/sub connection for the cluster's mode changes, the cache's invalidations, the waiting room's notices and the stock view's.
        ['salescale-web', 'salescale-web-queues', 'salescale-web-state', 'salescale-web-sub'].sort(),
      );
    });

    it('holds PostgreSQL connections only in its one pool', async () => {
      // Settled as the Redis names are: a connection the test helpers opened to create the database can still be
      // closing (a busy machine ran this test with 3 sockets for a pool of 1); one another pool kept would stay.
      const port = Number(new URL(t.database.url).port || 5432);
      const pools = t.platform.db.pools;
      const pooled = () => pools.primary.totalCount + (pools.replica?.totalCount ?? 0);
      let sockets = socketsTo(port).length;
      for (let i = 0; i < 50 && sockets !== pooled(); i++) {
        await new Promise((resolve) => setTimeout(resolve, 100));
        sockets = socketsTo(port).length;
      }
      assert.equal(sockets, pooled());
    });
  });

  describe('worker role', () => {
    let database: TestDatabase;
    let worker: RunningWorker;
    before(async () => {
      database = await createTestDatabase();
      const config = loadConfig(testEnv(database.url, { WORKER_PORT: '0' }));
      worker = await startWorker(config, { platform: createPlatform(config, 'worker', createLogger({ level: 'silent' })), http: false });
    });
    after(async () => {
      await worker.shutdown('test');
      await worker.platform.close();
      await database.drop();
    });

    it('opens each Redis connection once: its own, the workers\' shared one, and BullMQ\'s blocking one per queue', async () => {
      const { instanceId } = worker.platform.config;
      const names = await settledNames(admin, (open) => ['salescale-worker', 'salescale-worker-sub', `salescale-worker-${instanceId}`].every((name) => open.includes(name)) && open.filter((name) => !name.startsWith('salescale-')).length >= worker.workers.length);
      const blocking = names.filter((name) => name !== `salescale-worker` && name !== `salescale-worker-${instanceId}` && !name.startsWith('salescale-'));
      assert.deepEqual(
        names.filter((name) => name.startsWith('salescale-')),
        ['salescale-worker', 'salescale-worker-sub', `salescale-worker-${instanceId}`].sort(),
      );
      // BullMQ gives each Worker one blocking connection of its own, named after its queue.
      assert.equal(blocking.length, worker.workers.length, names.join(', '));
      assert.deepEqual(duplicates(blocking), []);
    });
  });

  it('worker role refused a Redis database at start: closes the connections it opened before rethrowing', async () => {
    // A Redis of the test's own: every connection on it but the admin's is the worker's.
    const server = await startPrivateRedis();
    const serverAdmin = new Redis(server.url, { connectionName: 'composition-roots-admin' });
    const database = await createTestDatabase();
    try {
      const config = loadConfig(testEnv(database.url, { REDIS_URL: `${server.url}/99`, WORKER_PORT: '0' }));
      await assert.rejects(startWorker(config, { http: false }), (error) => error instanceof ConfigError && error.variable === 'REDIS_URL');
      const others = async () => String(await serverAdmin.call('CLIENT', 'LIST')).trim().split('\n').filter((line) => !line.includes('name=composition-roots-admin '));
      await waitFor('the worker\'s Redis connections to close', async () => (await others()).length === 0, 15_000).catch(() => undefined);
      assert.deepEqual(await others(), []);
    } finally {
      serverAdmin.disconnect();
      await server.destroy();
      await database.drop();
    }
  });

  it('builds every repository in a composition root and nowhere else', () => {
    const calls: string[] = [];
    const walk = (dir: string) => {
      for (const entry of readdirSync(dir, { withFileTypes: true })) {
        const file = path.join(dir, entry.name);
        if (entry.isDirectory()) walk(file);
        else if (file.endsWith('.ts') && !file.endsWith('.test.ts')) {
          for (const match of readFileSync(file, 'utf8').matchAll(/(?<!function )\bcreate(\w+)Repository\(/g)) calls.push(`${path.relative(SRC, file)}:${match[1]}`);
        }
      }
    };
    walk(SRC);
    const outsideRoots = calls.filter((call) => !/^(web|worker|cli)\/compose\.ts:/.test(call));
    assert.deepEqual(outsideRoots, [], 'repositories are built by the composition roots only');
    for (const root of ['web/compose.ts', 'worker/compose.ts']) {
      const inRoot = calls.filter((call) => call.startsWith(`${root}:`));
      assert.ok(inRoot.length > 0, root);
      assert.deepEqual(duplicates(inRoot), [], `${root} builds a repository twice`);
    }
  });
});
