import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { roomKeys } from '../src/modules/waiting-room/waiting-room.scripts.ts';
import { createTestApp, type TestApp } from './helpers/app.ts';
import { waitFor } from './helpers/queues.ts';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * A waiting room configured for more visitors a step than one admission step used to take (1,000): the
 * wait each visitor is shown must be the wait they get. A one-second tick makes that limit 1,000 a second.
 */
describe('waiting room at a high admission rate', () => {
  let t: TestApp;
  const rate = 5000;
  const visitors = 6000;
  before(async () => {
    t = await createTestApp({
      RATE_LIMIT_GENERAL_MAX: '1000000',
      RATE_LIMIT_CUSTOMER_MAX: '1000000',
      RATE_LIMIT_SALE_MAX: '1000000',
      WAITING_ROOM_EVENTS_REFRESH_MS: '100',
      WAITING_ROOM_TICK_MS: '1000',
      WAITING_ROOM_TICKETS_PER_ADDRESS: '1000000',
    });
  });
  after(() => t.close());

  it('admits a visitor within the wait they were shown', async () => {
    const now = Date.now();
    const created = await t.app.inject({
      method: 'POST',
      url: '/api/v1/admin/sale-events',
      headers: t.admin,
      payload: { name: 'Drop', startsAt: new Date(now + 3_600_000).toISOString(), endsAt: new Date(now + 7_200_000).toISOString(), waitingRoom: { enabled: true, admissionPerSecond: rate } },
    });
    assert.equal(created.statusCode, 201, created.body);
    const id = created.json().id as number;
    for (const deadline = Date.now() + 30_000; (await t.app.inject({ url: `/api/v1/sale-events/${id}/queue` })).statusCode !== 200; ) {
      assert.ok(Date.now() < deadline, 'the room never opened');
      await sleep(50);
    }
    // The pre-queue fills before the start, in parallel batches.
    const tickets: { ticket: string; cookie: string }[] = [];
    for (let i = 0; i < visitors; i += 200) {
      const joined = await Promise.all(Array.from({ length: Math.min(200, visitors - i) }, () => t.app.inject({ method: 'POST', url: `/api/v1/sale-events/${id}/queue` })));
      for (const reply of joined) {
        assert.equal(reply.statusCode, 201, reply.body);
        tickets.push({ ticket: reply.json().ticket, cookie: String(reply.headers['set-cookie']).split(';')[0]! });
      }
    }
    const startsAt = Date.now() + 1500;
    const moved = await t.app.inject({ method: 'PATCH', url: `/api/v1/admin/sale-events/${id}`, headers: t.admin, payload: { startsAt: new Date(startsAt).toISOString() } });
    assert.equal(moved.statusCode, 200, moved.body);
    await sleep(startsAt - Date.now() + 50);
    const status = (v: { ticket: string; cookie: string }) => t.app.inject({ url: `/api/v1/sale-events/${id}/queue/${v.ticket}`, headers: { cookie: v.cookie } }).then((r) => r.json());
    // Of a sample, the visitor furthest back in line: their place and the wait they are shown.
    const sample = tickets.filter((_, i) => i % 30 === 0);
    const shown = await Promise.all(sample.map(status));
    let last = -1;
    for (let i = 0; i < shown.length; i++) if (shown[i].state === 'waiting' && (last < 0 || shown[i].position > shown[last].position)) last = i;
    // Read before the first step, the furthest is ~6,000th; on a slow machine the first step (5,000) may come
    // first and leave ~1,000. Either way the old limit of 1,000 a step fails below: its steps admitted 1,000 each,
    // and the furthest, shown 2 s or 1 s, was let in some 6 s or 5 s after that reply.
    assert.ok(last >= 0, `nobody in the sample was still waiting: ${JSON.stringify(shown.slice(0, 3))}`);
    const { position, etaSeconds, now: shownAt } = shown[last];
    assert.equal(etaSeconds, Math.ceil(position / rate));
    const waiting = async () => (await t.app.inject({ url: `/api/v1/sale-events/${id}/queue` })).json().waiting as number;
    assert.ok((await waiting()) > 0, 'the line is still there to be let in');
    // The visitor furthest back is let in, no later (on the room's clock, the admission step's own time) than 3 s after
    // the wait they were shown: loose enough for steps a loaded machine delays, not for the old limit's 5-6 s.
    const state = await waitFor('the furthest visitor admitted', async () => {
      const now = await status(sample[last]!);
      return now.state === 'waiting' ? undefined : now;
    }, 30_000);
    assert.equal(state.state, 'admitted', JSON.stringify(state));
    const lateS = (Date.parse(state.admittedAt) - shownAt) / 1000;
    assert.ok(lateS <= etaSeconds + 3, `place ${position} was shown ${etaSeconds} s and let in ${lateS} s after that reply`);
    // What each admission step let in, as the room records it: every ticket it admits gets the step's own time
    // (Redis's) in the room's admitted hash, so its values grouped are the steps. A step takes the credit a second
    // at 5,000 a second earns (a second's worth at a 1 s tick); the old limit took 1,000 at most. Counted in
    // visitors: a loaded machine stretches the steps, not what each one admits. Half a second's worth (2,500) is
    // the bound: the 6,000 in under 2,500 a step would take three steps or more less than half a tick apart.
    await waitFor('the whole line admitted', async () => ((await waiting()) === 0 ? true : undefined), 30_000);
    const admittedAt = await t.platform.redis.hvals(roomKeys(t.config.redis.prefix).key(id, 'admitted'));
    assert.equal(admittedAt.length, visitors);
    const steps = new Map<string, number>();
    for (const at of admittedAt) steps.set(at, (steps.get(at) ?? 0) + 1);
    const biggest = Math.max(...steps.values());
    assert.ok(biggest >= rate / 2, `the biggest step admitted ${biggest} (steps: ${[...steps.values()].join(', ')}; ${rate} a second)`);
  });
});
