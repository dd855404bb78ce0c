import assert from 'node:assert/strict';
import { connect, type AddressInfo } from 'node:net';
import { Readable } from 'node:stream';
import { setImmediate as nextTurn } from 'node:timers/promises';
import { after, before, describe, it } from 'node:test';
import Fastify from 'fastify';
import { Redis } from 'ioredis';
import pg from 'pg';
import { freePort } from '../../platform/local/local-stack.ts';
import { createMetrics } from '../../platform/metrics/metrics.ts';
import { queueMetricsFor } from '../../platform/queue/queue-metrics.ts';
import { ReplyDoneLogController } from '../../platform/http/reply-done.ts';
import { observability } from './observability.ts';
import { createCartStore } from '../../modules/cart/index.ts';
import { checkoutMetricsFor } from '../../modules/orders/index.ts';
import { createTestApp, type TestApp } from '../../../test/helpers/app.ts';
import { capturingLogger } from '../../../test/helpers/log-lines.ts';
import { parsePrometheusText, total } from '../../../test/helpers/prometheus-text.ts';

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

  it('leave the cart counts out while Redis is unreachable instead of reporting NaN carts', async () => {
    const metrics = createMetrics({ role: 'web', instanceId: 'observability-test' });
    const redis = new Redis(`redis://127.0.0.1:${await freePort()}`, { lazyConnect: true, enableOfflineQueue: false, maxRetriesPerRequest: 0, retryStrategy: () => null });
    redis.on('error', () => {});
    closing.push(async () => redis.disconnect());
    checkoutMetricsFor(metrics.registry, createCartStore({ redis, prefix: 'observability-test', ttlS: 3600, abandonedAfterS: 1800 }));
    assert.deepEqual(await seriesOf(metrics.registry, 'salescale_carts_active'), [], 'no sample for the active carts');
    assert.deepEqual(await seriesOf(metrics.registry, 'salescale_carts_abandoned'), [], 'no sample for the abandoned carts');
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

/**
 * README "Metrics, health and alerts": every request is observed in `http_request_duration_seconds` (routes as
 * templates, `unmatched` otherwise) and has one `request` log line, whichever way it ends: refused by the router itself,
 * or hung up on by its client in the middle of a streamed reply.
 */
describe('requests observed once in the latency histogram and the access log', () => {
  let t: TestApp;
  const log = capturingLogger('info');
  let bodyClosed: Promise<void> | undefined;
  let failBody: (() => void) | undefined;
  let failingBodyClosed: Promise<void> | undefined;

  before(async () => {
    t = await createTestApp(
      { LOG_LEVEL: 'info' },
      (app) => {
        app.get('/test/stream', { schema: { hide: true } }, async (_request, reply) => {
          // A body that sends one chunk and then waits for more (never ended by the server).
          const body = new Readable({ read() {} });
          bodyClosed = new Promise((resolve) => body.once('close', () => resolve()));
          body.push('first chunk\n');
          return reply.header('content-type', 'text/plain').send(body);
        });
        app.get('/test/stream-fails', { schema: { hide: true } }, async (_request, reply) => {
          // A body that sends one chunk and then fails (a read error after the headers went out).
          const body = new Readable({ read() {} });
          failingBodyClosed = new Promise((resolve) => body.once('close', () => resolve()));
          failBody = () => body.destroy(new Error('the source failed mid-stream'));
          body.push('first chunk\n');
          return reply.header('content-type', 'text/plain').send(body);
        });
      },
      { logger: log.logger },
    );
    await t.app.listen({ port: 0, host: '127.0.0.1' });
  });
  after(async () => {
    await t?.close();
  });

  /**
   * A path the router refuses itself (a malformed percent-encoding: 400 BAD_URL through `frameworkErrors`). This also
   * guards an assumption Fastify does not document: that its `logController.incomingRequest` is called for the router's
   * refusals too (true of 5.x's code, where `ReplyDoneLogController` is the only place that sees them). A Fastify
   * upgrade that stops calling it fails these tests.
   */
  describe('a request whose URL the router refuses (400 BAD_URL)', () => {
    it('is counted in http_request_duration_seconds and logged as a request line, as every other refusal is', async () => {
      for (let i = 0; i < 3; i++) {
        const reply = await t.app.inject({ method: 'GET', url: '/api/v1/products/%zz' });
        assert.equal(reply.statusCode, 400);
        assert.equal(reply.json().error.code, 'BAD_URL');
      }
      // A 404 of an unknown path, for comparison, is observed.
      assert.equal((await t.app.inject({ method: 'GET', url: '/no-such-path' })).statusCode, 404);

      const samples = parsePrometheusText((await t.app.inject({ method: 'GET', url: '/metrics' })).body);
      assert.equal(total(samples, 'http_request_duration_seconds_count', { status_code: '404' }), 1);
      assert.equal(total(samples, 'http_request_duration_seconds_count', { status_code: '400' }), 3, 'the three 400 BAD_URL replies in http_request_duration_seconds');
      const requestLines = log.lines.filter((line) => line.msg === 'request' && line.status === 400);
      assert.equal(requestLines.length, 3, 'one request log line per 400 BAD_URL reply');
    });

    it('is timed from its arrival: the rate limit check it waits on is in its duration, not 0 ms', async () => {
      const before = log.lines.length;
      assert.equal((await t.app.inject({ method: 'GET', url: '/api/v1/products/%zz' })).statusCode, 400);
      const line = log.lines.slice(before).find((l) => l.msg === 'request' && l.status === 400);
      assert.ok(line, 'a request line for the refusal');
      assert.ok(Number(line.durationMs) > 0, `durationMs is ${String(line.durationMs)}`);
    });
  });

  /**
   * `onReplyDone` (src/platform/http/reply-done.ts) promises its handlers run once per request: when the response finishes,
   * or at onSend for a client that hung up before the reply. A client that hangs up in the middle of a streamed reply
   * (headers and a first chunk sent, the rest still coming: an export, an event stream, a slow download) is neither:
   * Node's ServerResponse then emits 'close' only — no 'finish', no 'error'.
   */
  describe('a streamed reply the client hangs up on after its first chunk (real socket)', () => {
    it('is still recorded once: a request log line and an http_request_duration_seconds sample', async () => {
      const { port } = t.app.server.address() as AddressInfo;
      await new Promise<void>((resolve, reject) => {
        const socket = connect(port, '127.0.0.1', () => socket.write('GET /test/stream HTTP/1.1\r\nHost: x\r\n\r\n'));
        socket.on('error', reject);
        socket.once('data', () => socket.destroy());
        socket.on('close', () => resolve());
      });
      // The server sees the hang-up: Fastify destroys the stream's body when the response closes.
      await bodyClosed;
      await nextTurn();

      const lines = log.lines.filter((line) => line.msg === 'request' && line.route === '/test/stream');
      const samples = parsePrometheusText((await t.app.inject({ method: 'GET', url: '/metrics' })).body);
      assert.deepEqual(
        { logLines: lines.length, durationSamples: total(samples, 'http_request_duration_seconds_count', { route: '/test/stream' }) },
        { logLines: 1, durationSamples: 1 },
        'the streamed request the client hung up on is recorded once',
      );
    });

    it('is recorded once when its body fails after the first chunk (Fastify destroys the response: no finish, no error)', async () => {
      const { port } = t.app.server.address() as AddressInfo;
      await new Promise<void>((resolve, reject) => {
        const socket = connect(port, '127.0.0.1', () => socket.write('GET /test/stream-fails HTTP/1.1\r\nHost: x\r\n\r\n'));
        socket.on('error', reject);
        socket.once('data', () => failBody?.());
        socket.resume();
        socket.on('close', () => resolve());
      });
      await failingBodyClosed;
      await nextTurn();

      const lines = log.lines.filter((line) => line.msg === 'request' && line.route === '/test/stream-fails');
      const samples = parsePrometheusText((await t.app.inject({ method: 'GET', url: '/metrics' })).body);
      assert.deepEqual(
        { logLines: lines.length, durationSamples: total(samples, 'http_request_duration_seconds_count', { route: '/test/stream-fails' }) },
        { logLines: 1, durationSamples: 1 },
        'the streamed request whose body failed is recorded once',
      );
    });
  });
});
