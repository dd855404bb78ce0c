/** Queued sales for the waiting-room tests that run real `salescale serve` processes. */
import assert from 'node:assert/strict';
import { request } from './http.ts';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** How long `createQueuedSale` waits for every instance to serve the new room. */
const SEE_ROOM_TIMEOUT_MS = 60_000;

/** A product through the admin API of the instance at `url`; its id. */
export async function createQueuedProduct(url: string, admin: Record<string, string>, o: { available: number; priceCents?: number; skuPrefix?: string }): Promise<number> {
  const reply = await request(`${url}/api/v1/admin/products`, {
    method: 'POST',
    headers: admin,
    body: { sku: `${o.skuPrefix ?? 'wr'}-${Math.random().toString(36).slice(2)}`, name: 'Queued item', priceCents: o.priceCents ?? 1999, available: o.available },
  });
  assert.equal(reply.status, 201, JSON.stringify(reply.body));
  return reply.body.id;
}

/**
 * A sale event with a waiting room, starting `startsInMs` from now and ending an hour after its start (or
 * `endsInMs` from now), created through `url`; returns its id once every instance in `instances` serves its
 * room (each re-reads the rooms every WAITING_ROOM_EVENTS_REFRESH_MS; waited for up to 60 s in all).
 */
export async function createQueuedSale(
  url: string,
  admin: Record<string, string>,
  instances: readonly { url: string }[],
  o: { productIds: number[]; startsInMs: number; admissionPerSecond: number; endsInMs?: number },
): Promise<number> {
  const now = Date.now();
  const reply = await request(`${url}/api/v1/admin/sale-events`, {
    method: 'POST',
    headers: admin,
    body: {
      name: 'Drop',
      startsAt: new Date(now + o.startsInMs).toISOString(),
      endsAt: new Date(now + (o.endsInMs ?? o.startsInMs + 3_600_000)).toISOString(),
      productIds: o.productIds,
      waitingRoom: { enabled: true, admissionPerSecond: o.admissionPerSecond },
    },
  });
  assert.equal(reply.status, 201, JSON.stringify(reply.body));
  assert.deepEqual(reply.body.waitingRoom, { enabled: true, admissionPerSecond: o.admissionPerSecond, paused: false });
  // A generous deadline, polled: a loaded CI machine may take seconds to re-read the rooms.
  const deadline = Date.now() + SEE_ROOM_TIMEOUT_MS;
  for (const instance of instances) {
    for (;;) {
      const info = await request(`${instance.url}/api/v1/sale-events/${reply.body.id}/queue`);
      if (info.status === 200) break;
      assert.ok(Date.now() < deadline, `instance ${instance.url} never saw the waiting room within ${SEE_ROOM_TIMEOUT_MS} ms: ${JSON.stringify(info.body)}`);
      await sleep(50);
    }
  }
  return reply.body.id;
}
