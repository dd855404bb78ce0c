import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { JOBS, QUEUES } from '../../src/platform/queue/queue-definitions.ts';
import type { Instance } from '../helpers/instances.ts';
import { createQueueFixture, waitFor, type QueueFixture } from '../helpers/queues.ts';
import { startTcpProxy, type TcpProxy } from '../helpers/tcp-proxy.ts';

let f: QueueFixture;
let proxy: TcpProxy;
before(async () => {
  f = await createQueueFixture({ WORKER_QUEUES: 'notifications' });
  proxy = await startTcpProxy(Number(new URL(f.database.url).port || 5432), 'postgres');
});
after(async () => {
  // The fixture SIGKILLs the worker (a failed assertion leaves it running: its process would keep this file open)
  // and reads the database directly, so the proxy need not be restored first.
  try {
    await f?.close();
  } finally {
    await proxy?.close();
  }
});

/** Fetches the worker's metrics; bounded: a worker that does not answer fails the test instead of hanging it. */
async function metricsOf(worker: Instance): Promise<string> {
  const response = await fetch(`${worker.url}/metrics`, { signal: AbortSignal.timeout(10_000) });
  return response.text();
}

/**
 * Stops the worker with SIGTERM and returns its exit code. Bounded: a worker exits within SHUTDOWN_TIMEOUT_MS (5 s
 * here) of SIGTERM, its documented drain timeout; 10 s more for the process to end. One that does not is killed and
 * the test fails with its output.
 */
async function stopWorker(worker: Instance): Promise<number | null> {
  const bound = Number(f.env.SHUTDOWN_TIMEOUT_MS) + 10_000;
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<'late'>((resolve) => (timer = setTimeout(() => resolve('late'), bound)));
  try {
    const code = await Promise.race([worker.stop('SIGTERM'), late]);
    if (code !== 'late') return code;
    worker.process.kill('SIGKILL');
    throw new Error(`the worker did not exit within ${bound} ms of SIGTERM (its drain timeout is ${f.env.SHUTDOWN_TIMEOUT_MS} ms):\n${worker.output()}`);
  } finally {
    clearTimeout(timer);
  }
}

describe('jobs while PostgreSQL is unreachable (real worker process, outage through a TCP proxy)', () => {
  it('keeps analytics jobs through an outage longer than their attempts, and counts each once when the database is back', async () => {
    // The worker reaches PostgreSQL only through the proxy; the test reads it directly.
    const through = new URL(f.database.url);
    through.port = String(proxy.port);
    const worker = await f.startWorker({ DATABASE_URL: through.toString() });
    // The proxy keeps its port through the outage (see `cut`), so restoring it cannot meet another process on it.
    await proxy.cut();
    const queues = await f.inspect();
    const hour = '2026-11-27T10:00:00.000Z';
    const jobs = 20;
    for (let i = 0; i < jobs; i++) {
      await queues.get(QUEUES.notifications).add(JOBS.updateAnalytics, { eventType: 'requests', hour, counts: { products: 1 } }, { jobId: `outage-${i}` });
    }
    // Each put-back is counted (`deferred`), so the outage shows on the queue's panels without a failed attempt.
    // Waited for, not slept on: more put-backs than the jobs' attempts (the notifications queue's three, no backoff)
    // add up to, so the outage outlasted them and no put-back used an attempt.
    const deferred = async () =>
      Number(/^queue_jobs_processed_total\{[^}]*queue="notifications"[^}]*status="deferred"[^}]*\} (\d+)$/m.exec(await metricsOf(worker))?.[1] ?? 0);
    await waitFor('more attempts put back (counted as deferred) than the jobs\' attempts add up to', async () => (await deferred()) > jobs * 3, 60_000);
    assert.equal(await queues.get(QUEUES.notifications).getFailedCount(), 0, 'no job failed for good during the outage');
    await proxy.restore();
    const counted = async () => {
      const { rows } = await f.db.pools.primary.query(`SELECT coalesce(sum(value), 0)::int AS n FROM analytics_hourly WHERE metric = 'requests' AND hour = $1`, [hour]);
      return rows[0].n as number;
    };
    const failed = () => queues.get(QUEUES.notifications).getFailedCount();
    await waitFor('every job counted, or some failed for good', async () => (await counted()) === jobs || (await failed()) > 0, 20_000).catch(() => {});
    assert.equal(await failed(), 0, 'no job failed for good while the database was away');
    assert.equal(await counted(), jobs, 'each job counted once');
    assert.equal(await stopWorker(worker), 0, `the worker's exit code after SIGTERM:\n${worker.output()}`);
  });
});
