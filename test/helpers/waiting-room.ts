/** Queued sales for the waiting-room tests, on in-process apps or real `salescale serve` processes. */
import assert from 'node:assert/strict';
import type { AddressInfo } from 'node:net';
import { createTestApp, type TestApp } from './app.ts';
import { request } from './http.ts';
import { capturingLogger, type LogLine } from './log-lines.ts';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** How long `createQueuedSale` waits for every instance to serve the new room. */
const SEE_ROOM_TIMEOUT_MS = 60_000;

/**
 * An in-process test app listening on a free port, for waiting-room tests: rate limits out of the way, the rooms
 * re-read every 100 ms and ticked every 20 ms (`extraEnv` adds or overrides). With `logged`, its log lines at that
 * level and above are kept in `logged`.
 */
export async function listeningWaitingRoomApp(extraEnv: Record<string, string> = {}, options: { logged?: 'info' | 'warn' } = {}): Promise<{ t: TestApp; url: string; logged: LogLine[] }> {
  const log = options.logged ? capturingLogger(options.logged) : undefined;
  const t = await createTestApp(
    {
      RATE_LIMIT_GENERAL_MAX: '1000000',
      RATE_LIMIT_CUSTOMER_MAX: '1000000',
      RATE_LIMIT_SALE_MAX: '1000000',
      WAITING_ROOM_EVENTS_REFRESH_MS: '100',
      WAITING_ROOM_TICK_MS: '20',
      ...extraEnv,
    },
    undefined,
    log ? { logger: log.logger } : {},
  );
  try {
    await t.app.listen({ port: 0, host: '127.0.0.1' });
  } catch (error) {
    await t.close();
    throw error;
  }
  return { t, url: `http://127.0.0.1:${(t.app.server.address() as AddressInfo).port}`, logged: log?.lines ?? [] };
}

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
