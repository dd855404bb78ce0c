import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createTestDatabase, deleteRedisKeys, TEST_REDIS_URL, testPrefix, type TestDatabase } from '../../../test/helpers/db.ts';
import { loadConfig } from '../config/config.ts';
import { createLogger } from '../logger/logger.ts';
import { createMetrics } from '../metrics/metrics.ts';
import { createPlatform, type Platform } from '../platform.ts';
import { createClusterNode, type ClusterNode, type InstanceFigures } from './cluster-node.ts';

const HOUR = 3_600_000;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Far above the elevated request-rate threshold below, at every evaluation. */
const BUSY: InstanceFigures = { requests: 1000, requestsPerMinute: 1_000_000, p95Ms: 0, errorRatePercent: 0 };

describe('degrade mode evaluation across leaders with skewed clocks (real Redis)', () => {
  let database: TestDatabase;
  let prefix: string;
  const platforms: Platform[] = [];
  const nodes: ClusterNode[] = [];

  before(async () => {
    database = await createTestDatabase();
    prefix = testPrefix();
  });
  after(async () => {
    for (const node of nodes) await node.close();
    for (const platform of platforms) await platform.close();
    await deleteRedisKeys(`${prefix}:*`);
    await database.drop();
  });

  /** A cluster member on its own connections whose clock reads `skewMs` off. */
  function member(instanceId: string, skewMs: number): ClusterNode {
    const config = loadConfig({
      NODE_ENV: 'test',
      DATABASE_URL: database.url,
      REDIS_URL: TEST_REDIS_URL,
      REDIS_PREFIX: prefix,
      INSTANCE_ID: instanceId,
      ADMIN_API_TOKEN: 'test-admin-token-0123456789',
      SESSION_SECRET: 'test-session-secret-0123456789abcdef',
      CLUSTER_HEARTBEAT_MS: '100',
      DEGRADE_SUSTAIN_S: '30',
      DEGRADE_ELEVATED_RPM: '1000',
      DEGRADE_CRITICAL_RPM: '100000000',
    });
    const platform = createPlatform(config, 'web', createLogger({ level: 'silent' }));
    platforms.push(platform);
    const node = createClusterNode({
      config: config.cluster,
      normalTtl: config.cacheTtl,
      instanceId,
      prefix,
      redis: platform.redis,
      subscriber: platform.subscriber,
      db: platform.db,
      // (the platform's own, idle node has registered the cluster metrics in its registry)
      metrics: createMetrics({ role: 'web', instanceId }),
      logger: platform.logger,
      clock: () => Date.now() + skewMs,
    });
    nodes.push(node);
    return node;
  }

  it('keeps the sustain clock when the lead passes to an instance whose clock is an hour ahead', async () => {
    const a = member('a', 0);
    await a.join('web', () => BUSY);
    await sleep(500); // a leads and has seen the request rate above elevated for a few evaluations
    assert.equal(a.state().auto, 'normal');
    await a.leave('web'); // gives the lead up

    const b = member('b', HOUR);
    await b.join('web', () => BUSY);
    await sleep(500);
    // Under a second of the 30 s needed has passed: an hour-fast clock must not count as 30 s sustained.
    assert.equal(b.state().auto, 'normal', `reason: ${b.state().reason}`);
  });
});
