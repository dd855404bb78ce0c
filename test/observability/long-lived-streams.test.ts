import assert from 'node:assert/strict';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { createTestApp, type TestApp } from '../helpers/app.ts';
import { request } from '../helpers/http.ts';
import { parsePrometheusText, select, total } from '../helpers/prometheus-text.ts';
import { waitFor } from '../helpers/queues.ts';
import { openSse, type SseStream } from '../helpers/sse.ts';
import { createQueuedProduct, createQueuedSale } from '../helpers/waiting-room.ts';

const STREAM_ROUTE = '/api/v1/sale-events/:id/queue/:ticket/events';
const QUEUE_ROUTE = '/api/v1/sale-events/:id/queue';

/**
 * Waiting-room event streams stay open for the whole wait. Their duration is how long a visitor stayed,
 * not how fast the instance answered, so the latency figures (the histogram behind the p95/p99 alerts,
 * `/health`'s window, the degrade-mode signal) must not see them, while ordinary requests are counted.
 */
describe('long-lived event streams and the latency figures', () => {
  let t: TestApp;
  let url: string;

  before(async () => {
    t = await createTestApp({
      WAITING_ROOM_EVENTS_REFRESH_MS: '100',
      WAITING_ROOM_TICK_MS: '20',
      WAITING_ROOM_TICKETS_PER_ADDRESS: '100',
      CLUSTER_HEARTBEAT_MS: '100',
      // The shortest pass the configuration takes: an admitted stream stays open until its pass expires.
      WAITING_ROOM_PASS_S: '10',
    });
    await t.app.listen({ port: 0, host: '127.0.0.1' });
    url = `http://127.0.0.1:${(t.app.server.address() as AddressInfo).port}`;
  });
  after(async () => {
    await t?.close();
  });

  const metrics = async () => parsePrometheusText((await t.app.inject({ method: 'GET', url: '/metrics' })).body);
  const health = async () => (await t.app.inject({ method: 'GET', url: '/health' })).json();
  /**
   * This instance's degrade-mode figures as the cluster reads them, once a heartbeat carried at least `requests`
   * (every 100 ms, later on a loaded machine: waited for, not a fixed pause). The caller asserts the exact count.
   */
  const degradeFigures = async (requests: number) =>
    waitFor(`a heartbeat to carry ${requests} requests`, async () => {
      const figures = await t.platform.cluster.figures();
      return figures.sampleRequests >= requests ? figures : undefined;
    });

  it('leaves streams held open for seconds out of the latency histogram, /health and the degrade signal, and counts ordinary requests', async () => {
    const VISITORS = 6;
    const productId = await createQueuedProduct(url, t.admin, { available: 100 });
    // An hour away while the pre-queue forms and the figures are read (however long that takes), then brought forward.
    const eventId = await createQueuedSale(url, t.admin, [{ url }], { productIds: [productId], startsInMs: 3_600_000, admissionPerSecond: 1000 });

    // A pre-queue: each visitor joins (its own visitor cookie) and listens until the line moves at the start.
    const streams: SseStream[] = [];
    for (let i = 0; i < VISITORS; i++) {
      const joined = await request(`${url}${QUEUE_ROUTE.replace(':id', String(eventId))}`, { method: 'POST' });
      assert.equal(joined.status, 201, JSON.stringify(joined.body));
      const cookie = joined.headers.getSetCookie().find((c) => c.startsWith('salescale_visitor='))!.split(';')[0]!;
      const stream = await openSse(`${url}/api/v1/sale-events/${eventId}/queue/${encodeURIComponent(joined.body.ticket)}/events`, { cookie });
      assert.equal(stream.status, 200);
      streams.push(stream);
    }
    const lastOpenedAt = Date.now();

    // Before the start: the figures as they stand, and the streams counted as open.
    const [beforeHealth, beforeMetrics] = [await health(), await metrics()];
    const before = { health: beforeHealth, metrics: beforeMetrics, figures: await degradeFigures(beforeHealth.requests) };
    assert.equal(total(before.metrics, 'salescale_waiting_room_streams_open', { sale_event: String(eventId) }), VISITORS);
    assert.equal(before.figures.sampleRequests, before.health.requests, 'the degrade signal and /health count the same requests');

    // Ordinary requests from here on are counted, to be found in the figures.
    const sent = { all: 0, queueInfo: 0 };
    const ordinary = async (path: string, init?: Parameters<typeof request>[1]) => {
      const reply = await request(`${url}${path}`, init);
      sent.all++;
      if (path === QUEUE_ROUTE.replace(':id', String(eventId)) && (init?.method ?? 'GET') === 'GET' && reply.status === 200) sent.queueInfo++;
      return reply;
    };
    // The start brought forward to 1.5 s from now, once seen by the instance (polled): the streams are held open for
    // longer than that.
    const startsAt = Date.now() + 1500;
    const moved = await ordinary(`/api/v1/admin/sale-events/${eventId}`, { method: 'PATCH', headers: t.admin, body: { startsAt: new Date(startsAt).toISOString() } });
    assert.equal(moved.status, 200, JSON.stringify(moved.body));
    await waitFor('the instance to see the new start', async () => Date.parse((await ordinary(QUEUE_ROUTE.replace(':id', String(eventId)))).body.startsAt) === startsAt || null, 15_000);

    // The start: everyone is admitted; the stream stays open until the pass expires, and then the server ends it (that
    // is when a request's duration would be taken).
    const admitted = await Promise.all(streams.map((s) => s.next((m) => m.data.state === 'admitted', 20_000)));
    await Promise.all(streams.map((s) => s.next((m) => m.data.state === 'expired', 30_000)));
    await Promise.all(streams.map((s) => s.ended));
    const heldS = (Math.min(...admitted.map((m) => Date.parse(m.data.admittedAt))) - lastOpenedAt) / 1000;
    assert.ok(heldS >= 1, `streams held open for seconds (${heldS} s)`);

    // One more ordinary request after them: it is counted everywhere, as those that moved the start.
    const info = await ordinary(QUEUE_ROUTE.replace(':id', String(eventId)));
    assert.equal(info.status, 200);

    const after = { health: await health(), figures: await degradeFigures(before.figures.sampleRequests + sent.all), metrics: await metrics() };
    // The latency histogram: no stream, the ordinary request is there.
    assert.deepEqual(select(after.metrics, 'http_request_duration_seconds_count', { route: STREAM_ROUTE }), [], 'no stream in http_request_duration_seconds');
    assert.equal(
      total(after.metrics, 'http_request_duration_seconds_count', { route: QUEUE_ROUTE, method: 'GET', status_code: '200' }) -
        total(before.metrics, 'http_request_duration_seconds_count', { route: QUEUE_ROUTE, method: 'GET', status_code: '200' }),
      sent.queueInfo,
    );
    // /health's window and the degrade signal: the ordinary requests, not one per stream.
    assert.equal(after.health.requests, before.health.requests + sent.all, '/health counts the ordinary requests and no stream');
    assert.equal(after.figures.sampleRequests, before.figures.sampleRequests + sent.all, 'the degrade signal counts the ordinary requests and no stream');
    // The streams' lifetimes have a metric of their own.
    const label = { sale_event: String(eventId) };
    assert.equal(total(after.metrics, 'salescale_waiting_room_stream_seconds_count', label), VISITORS);
    assert.ok(total(after.metrics, 'salescale_waiting_room_stream_seconds_sum', label) >= VISITORS * heldS, 'each stream lasted at least until its admission');
    assert.equal(total(after.metrics, 'salescale_waiting_room_streams_open', label), 0);
  });

  it('still counts a refused stream request (404 for an unknown ticket) as an ordinary request', async () => {
    const before = await metrics();
    const reply = await request(`${url}/api/v1/sale-events/1/queue/not-a-ticket/events`);
    assert.equal(reply.status, 404);
    const after = await metrics();
    const refused = { route: STREAM_ROUTE, status_code: '404' };
    assert.equal(total(after, 'http_request_duration_seconds_count', refused) - total(before, 'http_request_duration_seconds_count', refused), 1);
  });
});
