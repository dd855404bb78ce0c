import assert from 'node:assert/strict';
import { connect } from 'node:net';
import type { AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, it } from 'node:test';
import { createTestApp, type TestApp } from './helpers/app.ts';
import { waitFor } from './helpers/queues.ts';

/**
 * A request that reaches an instance after it began to close (on a keep-alive connection still busy with a request
 * in flight: a load balancer's reused upstream connection) is refused, like every other 503 of the API: with
 * `Retry-After` and the error body clients parse.
 */
describe('requests arriving while the instance closes (real socket)', () => {
  let t: TestApp;
  /** Slow requests the app has begun to answer. */
  let slowArrived = 0;
  before(async () => {
    t = await createTestApp({ RATE_LIMIT_ENABLED: 'false' }, (app) => {
      app.get('/test/slow', async () => {
        slowArrived += 1;
        // Long enough that the requests written behind it on its connection (50 ms after the close begins) arrive
        // while it is still in flight, however slow the machine.
        await sleep(1500);
        return { ok: true };
      });
    });
    await t.app.listen({ port: 0, host: '127.0.0.1' });
  });
  after(() => t.close());

  it('answers 503 with Retry-After and the error body, and still takes a payment webhook', async () => {
    const { port } = t.app.server.address() as AddressInfo;
    const open = () => {
      const socket = connect(port, '127.0.0.1');
      const state = { received: '', ended: new Promise((resolve) => socket.on('close', resolve)) };
      socket.on('data', (chunk) => (state.received += chunk.toString('latin1')));
      socket.write('GET /test/slow HTTP/1.1\r\nHost: shop.test\r\n\r\n');
      return Object.assign(state, { socket });
    };
    const browsing = open();
    const provider = open();
    // Both slow requests in flight before the close (polled: a loaded machine reads them late).
    await waitFor('the slow requests in flight', () => slowArrived === 2 || null, 10_000);
    const closing = t.app.close();
    await sleep(50);
    browsing.socket.write('GET /api/v1/categories HTTP/1.1\r\nHost: shop.test\r\n\r\n');
    provider.socket.write('POST /api/v1/payments/webhooks/test HTTP/1.1\r\nHost: shop.test\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}');
    await Promise.race([Promise.all([browsing.ended, provider.ended]), sleep(20_000)]);
    browsing.socket.destroy();
    provider.socket.destroy();
    await closing;

    const replies = browsing.received.split(/(?=HTTP\/1\.1 )/);
    assert.equal(replies.length, 2, browsing.received);
    assert.match(replies[0]!, /^HTTP\/1\.1 200/);
    const [head = '', body = ''] = replies[1]!.split('\r\n\r\n');
    assert.match(head, /^HTTP\/1\.1 503/, replies[1]);
    assert.match(head, /\r\nretry-after: \d+/i, `no Retry-After: ${head}`);
    assert.match(head, /\r\nconnection: close/i, head);
    assert.equal(JSON.parse(body).error.code, 'SHUTTING_DOWN', body);
    // The webhook is read and answered (here: refused for its missing signature), not turned away for minutes.
    const webhook = provider.received.split(/(?=HTTP\/1\.1 )/)[1] ?? '';
    assert.doesNotMatch(webhook, /^HTTP\/1\.1 503/, webhook);
    assert.match(webhook, /^HTTP\/1\.1 4\d\d/, provider.received);
  });
});
