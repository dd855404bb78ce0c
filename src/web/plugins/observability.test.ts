import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import Fastify from 'fastify';
import { Redis } from 'ioredis';
import pg from 'pg';
import { freePort } from '../../platform/local/local-stack.ts';
import { createMetrics } from '../../platform/metrics/metrics.ts';
import { queueMetricsFor } from '../../platform/queue/queue-metrics.ts';
import { ReplyDoneLogController } from '../http/reply-done.ts';
import { observability } from './observability.ts';

/** Series of one metric in a scrape (names and values only). */
async function seriesOf(registry: import('prom-client').Registry, name: string): Promise<number[] | undefined> {
  const metric = (await registry.getMetricsAsJSON()).find((m) => m.name === name);
  return metric?.values.map((v) => v.value);
}

describe('scrape-time gauges whose source is unreachable', () => {
  const closing: Array<() => Promise<unknown>> = [];
  after(async () => {
    for (const close of closing) await close().catch(() => {});
  });

  it('leave salescale_active_users out while Redis is unreachable instead of reporting 0 active users', async () => {
    const metrics = createMetrics({ role: 'web', instanceId: 'observability-test' });
    const redis = new Redis(`redis://127.0.0.1:${await freePort()}`, { lazyConnect: true, enableOfflineQueue: false, maxRetriesPerRequest: 0, retryStrategy: () => null });
    redis.on('error', () => {});
    const app = Fastify({ logController: new ReplyDoneLogController({ disableRequestLogging: true }) });
    await app.register(
      observability({
        metrics,
        redis,
        prefix: 'observability-test',
        liveSale: { isLive: async () => false },
        databaseConnections: () => 0,
        instanceId: 'observability-test',
        emf: { namespace: undefined, intervalMs: 60_000 },
      }),
    );
    await app.ready();
    closing.push(() => app.close(), async () => redis.disconnect());
    assert.deepEqual(await seriesOf(metrics.registry, 'salescale_active_users'), [], 'no sample: nobody knows how many users are active');
    assert.deepEqual(await seriesOf(metrics.registry, 'salescale_sale_event_active'), [0], 'a source that answers is still reported');
  });

  it('leave the outbox backlog out while PostgreSQL is unreachable instead of reporting an empty outbox', async () => {
    const metrics = createMetrics({ role: 'worker', instanceId: 'observability-test' });
    const pool = new pg.Pool({ connectionString: `postgres://postgres@127.0.0.1:${await freePort()}/none`, connectionTimeoutMillis: 500 });
    pool.on('error', () => {});
    closing.push(() => pool.end());
    queueMetricsFor(metrics.registry).observeOutbox(pool);
    assert.deepEqual(await seriesOf(metrics.registry, 'outbox_unrelayed_rows'), [], 'no sample for the unrelayed rows');
    assert.deepEqual(await seriesOf(metrics.registry, 'outbox_oldest_unrelayed_age_seconds'), [], 'no sample for the oldest row’s age');
  });
});
