import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createTestDatabase, deleteRedisKeys, TEST_REDIS_URL, testPrefix, type TestDatabase } from '../../../test/helpers/db.ts';
import { startTcpProxy, type TcpProxy } from '../../../test/helpers/tcp-proxy.ts';
import { loadConfig } from '../config/config.ts';
import { createLogger } from '../logger/logger.ts';
import { createMetrics, type Metrics } from '../metrics/metrics.ts';
import { createPlatform, type Platform } from '../platform.ts';
import { createClusterNode, type ClusterNode } from './cluster-node.ts';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const HEARTBEAT_MS = 100;

/** Polls `check` every heartbeat; fails with `what` after 10 s (a fixed sleep assumed how soon a loaded machine gets there). */
async function until(what: string, check: () => Promise<boolean>): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out after 10 s waiting for ${what}`);
    await sleep(HEARTBEAT_MS);
  }
}

async function seriesOf(metrics: Metrics, name: string): Promise<Array<{ labels: { role?: string }; value: number }>> {
  const metric = (await metrics.registry.getMetricsAsJSON()).find((m) => m.name === name);
  return (metric?.values ?? []).map(({ labels, value }) => ({ labels: { role: (labels as { role?: string }).role }, value }));
}

describe('cluster gauges while Redis is unreachable (real Redis behind a proxy)', () => {
  let database: TestDatabase;
  let prefix: string;
  let proxy: TcpProxy;
  let platform: Platform;
  let node: ClusterNode;
  let metrics: Metrics;

  before(async () => {
    database = await createTestDatabase();
    prefix = testPrefix();
    proxy = await startTcpProxy(Number(new URL(TEST_REDIS_URL).port));
    const config = loadConfig({
      NODE_ENV: 'test',
      DATABASE_URL: database.url,
      REDIS_URL: proxy.url,
      REDIS_PREFIX: prefix,
      INSTANCE_ID: 'live-1',
      ADMIN_API_TOKEN: 'test-admin-token-0123456789',
      SESSION_SECRET: 'test-session-secret-0123456789abcdef',
      CLUSTER_HEARTBEAT_MS: String(HEARTBEAT_MS),
      CLUSTER_INSTANCE_HOUR_COST_USD: '0.5',
    });
    platform = createPlatform(config, 'web', createLogger({ level: 'silent' }));
    metrics = createMetrics({ role: 'web', instanceId: 'live-1' });
    node = createClusterNode({
      config: config.cluster,
      normalTtl: config.cacheTtl,
      instanceId: 'live-1',
      prefix,
      redis: platform.redis,
      subscriber: platform.subscriber,
      db: platform.db,
      metrics,
      logger: platform.logger,
    });
  });
  after(async () => {
    await node?.close().catch(() => {});
    await platform?.close().catch(() => {});
    await proxy?.close();
    await deleteRedisKeys(`${prefix}:*`);
    await database?.drop();
  });

  it('leave live instances and the cost estimate out once the last heartbeat is older than a member stays live, and report them again after', async () => {
    await node.join('web', () => ({ requests: 0, requestsPerMinute: 0, p95Ms: 0, errorRatePercent: 0 }));
    await until('a heartbeat reports this instance live', async () => (await seriesOf(metrics, 'salescale_live_instances')).length > 0);
    assert.deepEqual(await seriesOf(metrics, 'salescale_live_instances'), [
      { labels: { role: 'web' }, value: 1 },
      { labels: { role: 'worker' }, value: 0 },
    ]);
    assert.equal((await seriesOf(metrics, 'salescale_estimated_cost_usd_per_hour')).length, 1);

    await proxy.cut();
    await until('the live-instance figure to be left out', async () => (await seriesOf(metrics, 'salescale_live_instances')).length === 0);
    assert.deepEqual(await seriesOf(metrics, 'salescale_live_instances'), [], 'no figure: this instance no longer knows who is live');
    assert.deepEqual(await seriesOf(metrics, 'salescale_estimated_cost_usd_per_hour'), [], 'nor what they cost');
    assert.equal((await seriesOf(metrics, 'salescale_degrade_mode')).length, 3, 'the mode this instance applies is still its own, known figure');

    await proxy.restore();
    await until('the live-instance figure to be reported again', async () => (await seriesOf(metrics, 'salescale_live_instances')).length > 0);
    assert.deepEqual((await seriesOf(metrics, 'salescale_live_instances')).find((s) => s.labels.role === 'web')?.value, 1, 'back once a heartbeat goes through');
  });
});
