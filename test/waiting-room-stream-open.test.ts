import assert from 'node:assert/strict';
import http from 'node:http';
import { after, before, describe, it } from 'node:test';
import type { TestApp } from './helpers/app.ts';
import { request } from './helpers/http.ts';
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
});
