import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { JOBS, QUEUES } from '../../src/platform/queue/queue-definitions.ts';
import { createQueueFixture, waitFor, type QueueFixture } from '../helpers/queues.ts';
import { startTcpProxy, type TcpProxy } from '../helpers/tcp-proxy.ts';

let f: QueueFixture;
let proxy: TcpProxy;
before(async () => {
  f = await createQueueFixture({ WORKER_QUEUES: 'notifications' });
  proxy = await startTcpProxy(Number(new URL(f.database.url).port || 5432), 'postgres');
});
after(async () => {
  await proxy?.restore();
  await f?.close();
  await proxy?.close();
});

describe('jobs while PostgreSQL is unreachable (real worker process, outage through a TCP proxy)', () => {
  it('keeps analytics jobs through an outage longer than their attempts, and counts each once when the database is back', async () => {
    // The worker reaches PostgreSQL only through the proxy; the test reads it directly.
    const through = new URL(f.database.url);
    through.port = String(proxy.port);
    const worker = await f.startWorker({ DATABASE_URL: through.toString() });
    await proxy.cut();
    const queues = await f.inspect();
    const hour = '2026-11-27T10:00:00.000Z';
    const jobs = 20;
    for (let i = 0; i < jobs; i++) {
      await queues.get(QUEUES.notifications).add(JOBS.updateAnalytics, { eventType: 'requests', hour, counts: { products: 1 } }, { jobId: `outage-${i}` });
    }
    // Longer than the notifications queue's three attempts take (no backoff: milliseconds).
    await new Promise((resolve) => setTimeout(resolve, 3000));
    // Each put-back is counted (`deferred`), so the outage shows on the queue's panels without a failed attempt.
    const metrics = await (await fetch(`${worker.url}/metrics`)).text();
    const deferred = Number(/^queue_jobs_processed_total\{[^}]*queue="notifications"[^}]*status="deferred"[^}]*\} (\d+)$/m.exec(metrics)?.[1] ?? 0);
    assert.ok(deferred >= jobs, `attempts put back during the outage counted as deferred: ${deferred}`);
    await proxy.restore();
    const counted = async () => {
      const { rows } = await f.db.pools.primary.query(`SELECT coalesce(sum(value), 0)::int AS n FROM analytics_hourly WHERE metric = 'requests' AND hour = $1`, [hour]);
      return rows[0].n as number;
    };
    const failed = () => queues.get(QUEUES.notifications).getFailedCount();
    await waitFor('every job counted, or some failed for good', async () => (await counted()) === jobs || (await failed()) > 0, 20_000).catch(() => {});
    assert.equal(await failed(), 0, 'no job failed for good while the database was away');
    assert.equal(await counted(), jobs, 'each job counted once');
    await worker.stop();
  });
});
