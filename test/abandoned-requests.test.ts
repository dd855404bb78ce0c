import assert from 'node:assert/strict';
import { request as httpRequest, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, it } from 'node:test';
import { sql } from 'drizzle-orm';
import { createTestApp, type TestApp } from './helpers/app.ts';
import { insertCustomers, mintSessionCookies } from './helpers/commerce.ts';
import { waitFor } from './helpers/queues.ts';

const SLOW_MS = 300;

/**
 * Requests whose client hung up before the reply (a reload, a closed tab, a load balancer's timeout) still took
 * the instance's time. Fastify runs no onResponse hook for them, so they were missing from everything that counts
 * requests there: the latency histogram, `/health`'s window, the degrade-mode signal and the access log — at a
 * sale's overload, the slowest requests are the ones shoppers give up on.
 */
describe('requests the client abandoned before the reply (real sockets)', () => {
  let t: TestApp;
  before(async () => {
    t = await createTestApp({ CLUSTER_HEARTBEAT_MS: '200', RATE_LIMIT_ENABLED: 'false', ANALYTICS_FLUSH_INTERVAL_MS: '200' }, (app) => {
      app.get('/test/slow', async () => {
        await sleep(SLOW_MS);
        return { ok: true };
      });
      app.get('/api/v1/test-slow', async () => {
        await sleep(SLOW_MS);
        return { ok: true };
      });
    });
    await t.app.listen({ port: 0, host: '127.0.0.1' });
  });
  after(() => t.close());

  let abandonedSoFar = 0;
  /**
   * Sends a request and hangs up once the server has received it (its `request` event), before its reply (the
   * handlers take SLOW_MS). Not a fixed delay: on a loaded machine, a hang-up 50 ms after sending could come before the
   * server read the request, which it then never sees.
   */
  async function abandon(path: string, headers: Record<string, string> = {}): Promise<void> {
    const { port } = t.app.server.address() as AddressInfo;
    const marker = String(++abandonedSoFar);
    await new Promise<void>((resolve) => {
      const abandoned = httpRequest({ host: '127.0.0.1', port, path, headers: { ...headers, 'x-test-abandoned': marker } });
      const received = (request: IncomingMessage) => {
        if (request.headers['x-test-abandoned'] !== marker) return;
        t.app.server.off('request', received);
        abandoned.destroy();
      };
      t.app.server.on('request', received);
      abandoned.on('error', () => resolve());
      abandoned.on('close', () => resolve());
      abandoned.end();
    });
  }

  it('are counted in the latency histogram, /health and the degrade-mode signal', async () => {
    for (let i = 0; i < 3; i++) await abandon('/test/slow');
    // The handlers finish SLOW_MS later, and the degrade-mode figures are those of the next heartbeat (200 ms; later on
    // a loaded machine): waited for, not a fixed pause. Each figure must then be exactly 3 (no more).
    await waitFor('the abandoned requests to be counted by /health', async () => (await t.app.inject({ url: '/health' })).json().requests >= 3);
    await waitFor('a heartbeat to carry them to the degrade-mode figures', async () => (await t.platform.cluster.figures()).sampleRequests >= 3);

    const health = (await t.app.inject({ url: '/health' })).json();
    assert.equal(health.requests, 3, `/health: ${JSON.stringify(health)}`);
    assert.ok(health.responseTime.p95 >= SLOW_MS, `/health p95 ${health.responseTime.p95}`);
    const metrics = (await t.app.inject({ url: '/metrics' })).body;
    assert.match(metrics, /http_request_duration_seconds_count\{[^}]*route="\/test\/slow"[^}]*\} 3/);
    const figures = await t.platform.cluster.figures();
    assert.equal(figures.sampleRequests, 3, `degrade-mode figures: ${JSON.stringify(figures)}`);
  });

  it('are counted in the request history the forecast learns from, and signed-in shoppers among active users', async () => {
    const cookies = await mintSessionCookies(t.env, await insertCustomers(t.platform.db.primary, 3, 'abandon'));
    for (const cookie of cookies) await abandon('/api/v1/test-slow', { cookie });
    // The request history is written by the next analytics flush (200 ms; later on a loaded machine): waited for.
    const requestHistory = async () =>
      Number(
        (
          await t.platform.db.primary.execute<{ n: string }>(
            sql`select coalesce(sum((data->'counts'->>'test-slow')::int), 0) as n from outbox where name = 'update-analytics' and data->>'eventType' = 'requests'`,
          )
        ).rows[0]!.n,
      );
    await waitFor('a flush to write the abandoned requests to the request history', async () => (await requestHistory()) >= 3);
    const metrics = (await t.app.inject({ url: '/metrics' })).body;
    assert.deepEqual(
      { requestHistory: await requestHistory(), activeUsers: /^salescale_active_users(?:{[^}]*})? (\d+)$/m.exec(metrics)?.[1] },
      { requestHistory: 3, activeUsers: '3' },
      'abandoned API requests in the request history, the signed-in shoppers who gave up among active users',
    );
  });
});
