import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import client from 'prom-client';
import { freePort } from '../local/local-stack.ts';
import { createRedis } from '../redis/redis.ts';
import { QUEUE_NAMES } from './queue-definitions.ts';
import { queueMetricsFor } from './queue-metrics.ts';
import { createQueueSet } from './queues.ts';

const deadPort = await freePort();

describe('queue gauges while Redis is unreachable', () => {
  // A `queue` connection waits for Redis to come back (BullMQ needs it): every read hangs until its timeout.
  const connection = createRedis(`redis://127.0.0.1:${deadPort}`, { name: 'queue-metrics-test', role: 'queue' });
  const queues = createQueueSet({ connection, redisPrefix: 'queue-metrics-test' });
  after(async () => {
    await queues.close();
    connection.disconnect();
  });

  it('answer the scrape within one read timeout, whatever the number of queues, and leave the depths out', async () => {
    assert.ok(QUEUE_NAMES.length >= 4);
    const registry = new client.Registry();
    queueMetricsFor(registry).observeQueues(queues);
    const started = performance.now();
    const json = await registry.getMetricsAsJSON();
    const elapsedMs = performance.now() - started;
    assert.deepEqual(json.find((m) => m.name === 'queue_jobs')?.values, []);
    assert.deepEqual(json.find((m) => m.name === 'queue_oldest_waiting_job_age_seconds')?.values, []);
    // Each queue's read times out at 1.5 s; one after the other, 4 queues made a 6 s scrape (a 5 s scrape
    // timeout then lost every metric of the instance for the whole outage).
    assert.ok(elapsedMs < 3000, `the scrape took ${Math.round(elapsedMs)} ms`);
  });
});
