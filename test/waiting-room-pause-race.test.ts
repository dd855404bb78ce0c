import assert from 'node:assert/strict';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { Registry } from 'prom-client';
import { createLogger } from '../src/platform/logger/logger.ts';
import { createWaitingRoomFeature, createWaitingRoomRepository } from '../src/modules/waiting-room/index.ts';
import { createTestApp, type TestApp } from './helpers/app.ts';
import { request } from './helpers/http.ts';
import { createQueuedProduct, createQueuedSale } from './helpers/waiting-room.ts';

/**
 * A pause and a resume sent at nearly the same moment, possibly to two instances: each PATCH commits in
 * PostgreSQL, then writes the room's `hold` key in Redis. Whatever order those Redis writes arrive in, the
 * change committed last decides the key, so a resume is never followed by a stale pause holding admission.
 */
describe('waiting room: a pause and a resume racing', () => {
  let t: TestApp;
  let url: string;
  /** A second instance's room (not started): its `holdAdmission` is the PATCH hook of a request it served. */
  let other: ReturnType<typeof createWaitingRoomFeature>;

  before(async () => {
    t = await createTestApp({ RATE_LIMIT_GENERAL_MAX: '1000000', RATE_LIMIT_SALE_MAX: '1000000', WAITING_ROOM_EVENTS_REFRESH_MS: '100', WAITING_ROOM_TICK_MS: '20' });
    await t.app.listen({ port: 0, host: '127.0.0.1' });
    url = `http://127.0.0.1:${(t.app.server.address() as AddressInfo).port}`;
    other = createWaitingRoomFeature({
      config: t.config.waitingRoom,
      prefix: t.config.redis.prefix,
      subscriber: t.platform.subscriber(),
      redis: t.platform.redis,
      db: t.platform.db,
      repo: createWaitingRoomRepository(),
      sessionSecret: t.config.secrets.sessionSecret,
      secureCookies: false,
      gate: { peek: async () => new Map(), ensure: async () => false },
      listWaitingRooms: async () => [],
      liveWebInstances: () => 1,
      instanceId: 'pause-race-other',
      capacityRps: 100,
      registry: new Registry(),
      logger: createLogger({ level: 'silent' }),
    });
  });
  after(async () => {
    await t?.close();
  });

  const patchPaused = async (eventId: number, paused: boolean) => {
    const reply = await request(`${url}/api/v1/admin/sale-events/${eventId}`, { method: 'PATCH', headers: t.admin, body: { waitingRoom: { enabled: true, paused } } });
    assert.equal(reply.status, 200, JSON.stringify(reply.body));
  };

  it('leaves admission open when the pause request writes Redis after the resume committed and wrote it', async () => {
    const productId = await createQueuedProduct(url, t.admin, { available: 100, skuPrefix: 'pause-race' });
    const eventId = await createQueuedSale(url, t.admin, [{ url }], { productIds: [productId], startsInMs: 0, admissionPerSecond: 1000 });
    const hold = `{${t.config.redis.prefix}:wr:${eventId}}:hold`;

    // The pause commits, then the resume commits and clears the key; the pause request's own Redis write,
    // delayed on its way (another instance, a GC pause), comes last.
    await patchPaused(eventId, true);
    await patchPaused(eventId, false);
    await other.room.holdAdmission(eventId, true);
    assert.equal(await t.platform.redis.exists(hold), 0, 'the hold key is set although the resume committed last');

    // And the room admits: a visitor joining now is let in within a few admission steps.
    const joined = await request(`${url}/api/v1/sale-events/${eventId}/queue`, { method: 'POST', headers: { 'x-forwarded-for': '10.8.0.1' } });
    assert.equal(joined.status, 201, JSON.stringify(joined.body));
    const cookie = joined.headers.getSetCookie().find((c) => c.startsWith('salescale_visitor='))!.split(';')[0]!;
    for (const deadline = Date.now() + 30_000; ; ) {
      const status = await request(`${url}/api/v1/sale-events/${eventId}/queue/${encodeURIComponent(joined.body.ticket)}`, { headers: { cookie } });
      if (status.body.state === 'admitted') break;
      assert.ok(Date.now() < deadline, `not admitted after the resume: ${JSON.stringify(status.body)}`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  });
});
