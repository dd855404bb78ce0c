import assert from 'node:assert/strict';
import http from 'node:http';
import { after, before, describe, it } from 'node:test';
import type { TestApp } from './helpers/app.ts';
import { request } from './helpers/http.ts';
import { parsePrometheusText, total } from './helpers/prometheus-text.ts';
import { openSse } from './helpers/sse.ts';
import { createQueuedProduct, createQueuedSale, listeningWaitingRoomApp } from './helpers/waiting-room.ts';

/** The `retry:` field a new event stream opens with (read, then the connection is dropped). */
function readRetry(url: string, cookie: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = http.get(url, { agent: false, headers: { accept: 'text/event-stream', cookie } }, (response) => {
      let text = '';
      response.setEncoding('utf8');
      response.on('data', (chunk: string) => {
        text += chunk;
        const found = /^retry: (\d+)$/m.exec(text);
        if (found) {
          response.destroy();
          resolve(Number(found[1]));
        }
      });
      response.on('end', () => reject(new Error(`no retry field in ${JSON.stringify(text)}`)));
    });
    req.on('error', reject);
  });
}

/** What a waiting-room event stream says as it opens. */
describe('a waiting-room event stream as it opens', () => {
  let t: TestApp;
  let url: string;

  before(async () => {
    ({ t, url } = await listeningWaitingRoomApp({ WAITING_ROOM_TICKETS_PER_ADDRESS: '100', RATE_LIMIT_CHECKOUT_MAX: '1000000' }));
  });
  after(async () => {
    await t?.close();
  });

  async function joined(eventId: number): Promise<{ ticket: string; cookie: string }> {
    const reply = await request(`${url}/api/v1/sale-events/${eventId}/queue`, { method: 'POST' });
    assert.equal(reply.status, 201, JSON.stringify(reply.body));
    const cookie = reply.headers.getSetCookie().find((c) => c.startsWith('salescale_visitor='))!.split(';')[0]!;
    return { ticket: reply.body.ticket as string, cookie };
  }

  it('spreads the reconnections of its clients: each stream gets its own retry, between 2 and 6 s', async () => {
    const productId = await createQueuedProduct(url, t.admin, { available: 5, skuPrefix: 'stream-retry' });
    const eventId = await createQueuedSale(url, t.admin, [{ url }], { productIds: [productId], startsInMs: 60_000, admissionPerSecond: 10 });
    const retries: number[] = [];
    for (let i = 0; i < 8; i++) {
      const { ticket, cookie } = await joined(eventId);
      retries.push(await readRetry(`${url}/api/v1/sale-events/${eventId}/queue/${encodeURIComponent(ticket)}/events`, cookie));
    }
    assert.ok(
      new Set(retries).size > 1 && retries.every((ms) => ms >= 2000 && ms <= 6000),
      `every stream reconnects after the same delay, after an instance restart all at once: retries ${JSON.stringify(retries)}`,
    );
  });

  it('says used at once to a stream opened after the pass bought an order (a notice missed, a second device)', async () => {
    const productId = await createQueuedProduct(url, t.admin, { available: 5, skuPrefix: 'stream-used' });
    const eventId = await createQueuedSale(url, t.admin, [{ url }], { productIds: [productId], startsInMs: 0, admissionPerSecond: 1000 });
    const { ticket, cookie } = await joined(eventId);
    const streamUrl = `${url}/api/v1/sale-events/${eventId}/queue/${encodeURIComponent(ticket)}/events`;
    const first = await openSse(streamUrl, { cookie });
    const admitted = await first.next((m) => m.data.state === 'admitted', 15_000);
    // Its admitted frame carries the pass: no cache between the shop and the visitor may keep it (`no-cache` lets one store it).
    assert.equal(first.headers['cache-control'], 'no-store, no-transform');
    // The stream is down while the order is placed: its `used` notice reaches no stream.
    first.close();
    const ordered = await request(`${url}/api/v1/orders`, {
      method: 'POST',
      headers: { cookie, 'idempotency-key': `stream-used-${eventId}`, 'waiting-room-pass': admitted.data.pass as string },
      body: { items: [{ productId, quantity: 1 }], email: `stream-used-${eventId}@example.com` },
    });
    assert.equal(ordered.status, 201, JSON.stringify(ordered.body));
    const again = await openSse(streamUrl, { cookie });
    try {
      const said = await again.next(() => true, 15_000);
      assert.equal(said.data.state, 'used', `the pass bought an order, a stream opened since says: ${JSON.stringify(said.data)}`);
      await again.ended;
    } finally {
      again.close();
    }
  });

  it("carries the room's clock on an admitted stream's sell-out frame, as on its other status frames", async () => {
    const productId = await createQueuedProduct(url, t.admin, { available: 1, skuPrefix: 'stream-sold-out' });
    const eventId = await createQueuedSale(url, t.admin, [{ url }], { productIds: [productId], startsInMs: 0, admissionPerSecond: 1000 });
    const watching = await joined(eventId);
    const stream = await openSse(`${url}/api/v1/sale-events/${eventId}/queue/${encodeURIComponent(watching.ticket)}/events`, { cookie: watching.cookie });
    try {
      await stream.next((m) => m.data.state === 'admitted', 15_000);
      // Another shopper buys the last unit.
      const buyer = await joined(eventId);
      const buying = await openSse(`${url}/api/v1/sale-events/${eventId}/queue/${encodeURIComponent(buyer.ticket)}/events`, { cookie: buyer.cookie });
      const status = await buying.next((m) => m.data.state === 'admitted', 15_000).finally(() => buying.close());
      const ordered = await request(`${url}/api/v1/orders`, {
        method: 'POST',
        headers: { cookie: buyer.cookie, 'idempotency-key': `stream-sold-out-${eventId}`, 'waiting-room-pass': status.data.pass as string },
        body: { items: [{ productId, quantity: 1 }], email: `stream-sold-out-${eventId}@example.com` },
      });
      assert.equal(ordered.status, 201, JSON.stringify(ordered.body));
      const soldOut = await stream.next((m) => m.data.soldOut === true, 15_000);
      assert.equal(typeof soldOut.data.now, 'number', `the sell-out frame of an admitted stream: ${JSON.stringify(soldOut.data)}`);
    } finally {
      stream.close();
    }
  });

  it('answers a HEAD of the event stream (a client checking the URL) at once, without holding a stream for it', async () => {
    const productId = await createQueuedProduct(url, t.admin, { available: 5, skuPrefix: 'stream-head' });
    const eventId = await createQueuedSale(url, t.admin, [{ url }], { productIds: [productId], startsInMs: 60_000, admissionPerSecond: 10 });
    const { ticket, cookie } = await joined(eventId);
    const streamsOpen = async () =>
      total(parsePrometheusText((await t.app.inject({ method: 'GET', url: '/metrics' })).body), 'salescale_waiting_room_streams_open', { sale_event: String(eventId) });
    let head: http.ClientRequest | undefined;
    const answered = new Promise<http.IncomingMessage>((resolve, reject) => {
      head = http.request(`${url}/api/v1/sale-events/${eventId}/queue/${encodeURIComponent(ticket)}/events`, { method: 'HEAD', agent: false, headers: { cookie } }, resolve);
      head.on('error', reject);
      head.end();
    });
    // Either the HEAD is answered, or the instance holds a stream for it (one that writes nothing a HEAD can send).
    let held = false;
    const heldStream = (async () => {
      while (!held) {
        if ((await streamsOpen()) > 0) return 'held';
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
      return 'answered';
    })();
    try {
      const first = await Promise.race([answered.then(() => 'answered'), heldStream]);
      assert.equal(first, 'answered', 'a HEAD of the stream got no reply: the instance holds a stream for it until the pass expires or the line closes');
      const reply = await answered;
      assert.equal(reply.statusCode, 200);
      assert.match(String(reply.headers['content-type']), /^text\/event-stream/);
      // The headers a GET of the stream gets, so a proxy that is checked with a HEAD is told the same (no buffering).
      assert.equal(reply.headers['x-accel-buffering'], 'no');
      reply.resume();
      assert.equal(await streamsOpen(), 0, 'no stream is held for a HEAD');
    } finally {
      held = true;
      head?.destroy();
    }
  });
});
