import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { sql } from 'drizzle-orm';
import { createTestApp, type TestApp } from './helpers/app.ts';
import { request, type JsonReply } from './helpers/http.ts';
import { startInstance, type Instance } from './helpers/instances.ts';
import { startPrivateRedis, type PrivateRedis } from './helpers/redis-server.ts';
import { waitFor } from './helpers/queues.ts';
import { openSse, type SseStream } from './helpers/sse.ts';
import { createQueuedProduct, createQueuedSale } from './helpers/waiting-room.ts';

/**
 * The waiting room when its Redis loses everything (restarted without persistence, or a failover to an
 * empty replica), on two real `salescale serve` processes: the line is kept by the visitors' signed
 * tickets, not lost with Redis.
 */
describe('waiting room after Redis lost its data', () => {
  let t: TestApp;
  let redis: PrivateRedis;
  let a: Instance;
  let b: Instance;
  const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
  const instances = () => [a, b];
  let address = 0;
  const nextAddress = () => {
    address += 1;
    return `10.77.${(address >> 8) & 255}.${address & 255}`;
  };

  before(async () => {
    redis = await startPrivateRedis();
    t = await createTestApp({
      REDIS_URL: redis.url,
      RATE_LIMIT_GENERAL_MAX: '1000000',
      RATE_LIMIT_SALE_MAX: '1000000',
      TRUST_PROXY: '127.0.0.1',
      WAITING_ROOM_EVENTS_REFRESH_MS: '200',
      WAITING_ROOM_STREAM_REFRESH_MS: '300',
      WAITING_ROOM_TICK_MS: '50',
    });
    const env = { ...t.env, DB_POOL_MAX: '5', LOG_LEVEL: process.env.DEBUG_INSTANCES ? 'warn' : 'silent' };
    [a, b] = await Promise.all([startInstance({ env }), startInstance({ env })]);
  });
  after(async () => {
    await Promise.all([a?.stop(), b?.stop()]);
    if (process.env.DEBUG_INSTANCES) console.log(a?.output(), b?.output());
    await t?.close();
    await redis?.destroy();
  });

  async function createEvent(startsInMs: number, admissionPerSecond: number): Promise<number> {
    const productId = await createQueuedProduct(a.url, t.admin, { available: 1000, priceCents: 500, skuPrefix: 'loss' });
    return createQueuedSale(b.url, t.admin, instances(), { productIds: [productId], startsInMs, admissionPerSecond });
  }

  interface Visitor {
    headers: Record<string, string>;
    instance: Instance;
    ticket: string;
    stream: SseStream;
  }

  async function joinAndListen(eventId: number, i: number): Promise<Visitor> {
    const instance = instances()[i % 2]!;
    const headers: Record<string, string> = { 'x-forwarded-for': nextAddress() };
    const reply: JsonReply = await request(`${instance.url}/api/v1/sale-events/${eventId}/queue`, { method: 'POST', headers });
    assert.equal(reply.status, 201, JSON.stringify(reply.body));
    headers.cookie = reply.headers.getSetCookie().map((c) => c.split(';')[0]).join('; ');
    const stream = await openSse(`${instance.url}/api/v1/sale-events/${eventId}/queue/${encodeURIComponent(reply.body.ticket)}/events`, headers);
    assert.equal(stream.status, 200);
    return { headers, instance, ticket: reply.body.ticket, stream };
  }

  /**
   * Redis restarts empty: what it held is gone, every instance's connections drop and come back. Returns Date.now()
   * while Redis was down: an admission at an earlier time (Redis's clock, the same host's) was made before the loss.
   */
  async function loseRedis(): Promise<number> {
    await redis.stop('SIGKILL');
    await sleep(300);
    const downAt = Date.now();
    await redis.start();
    return downAt;
  }

  /**
   * Of the visitors whose streams said `waiting` before the loss, those still in line when Redis lost it. At 1 or 4
   * admissions a second, one may have been admitted in the moment between that read and the loss, its `admitted`
   * frame still on its way: that visitor left the line with a pass before Redis lost it, and its stream ended then,
   * so no instance presents its ticket again. Its frame can come in later than the loss, so this is read again on
   * each look at the line (see `lineHolding`).
   */
  const stillWaitingAt = (downAt: number, visitors: Visitor[]) => () => visitors.filter((v) => !((admittedAt(v) ?? Number.POSITIVE_INFINITY) < downAt));

  /**
   * The places in line of `visitors` (a function: read again on each look), ticket id → score, first first, once the
   * line where the room keeps it holds every one of them.
   */
  async function lineScores(eventId: number, of: Visitor[] | (() => Visitor[])): Promise<Map<string, number>> {
    for (let i = 0; ; i++) {
      const visitors = typeof of === 'function' ? of() : of;
      const ids = visitors.map((v) => v.ticket.split('.')[0]!);
      const withScores = await t.platform.redis.zrange(`{${t.config.redis.prefix}:wr:${eventId}}:q`, '0', '-1', 'WITHSCORES').catch(() => [] as string[]);
      const line = withScores.filter((_, j) => j % 2 === 0);
      if (ids.every((id) => line.includes(id))) {
        const scores = new Map<string, number>();
        for (let j = 0; j < withScores.length; j += 2) if (ids.includes(withScores[j]!)) scores.set(withScores[j]!, Number(withScores[j + 1]));
        return scores;
      }
      assert.ok(i < 150, `the line never held the visitors again: ${line.length} of ${ids.length}; their streams said ${JSON.stringify(visitors.map((v) => lastState(v)?.state))}`);
      await sleep(100);
    }
  }

  /** The line where the room keeps it (ticket ids, first first), once it holds every one of `visitors`. */
  const lineHolding = async (eventId: number, of: Visitor[] | (() => Visitor[])) => [...(await lineScores(eventId, of)).keys()];

  const lastState = (v: Visitor) => v.stream.messages.at(-1)?.data;
  const admittedAt = (v: Visitor) => {
    const message = v.stream.messages.find((m) => m.data.state === 'admitted');
    return message ? Date.parse(message.data.admittedAt) : undefined;
  };

  it('keeps every waiting visitor in line, in the same order, ahead of later arrivals, and admits them in that order', async () => {
    const eventId = await createEvent(0, 1);
    const line: Visitor[] = [];
    // 20 at one a second: however slow the joins on a loaded machine, most of them are still in line at the loss.
    for (let i = 0; i < 20; i++) line.push(await joinAndListen(eventId, i));
    // The line as the visitors see it before the loss (each stream has told its state): the first few may have been admitted already.
    await waitFor('every stream to tell its state', () => line.every((v) => lastState(v) !== undefined) || null, 15_000).catch(() => undefined);
    const waiting = line.filter((v) => lastState(v)?.state === 'waiting');
    assert.ok(waiting.length >= line.length / 2, `half the line or more is waiting (${waiting.length} of ${line.length})`);
    const before = waiting.map((v) => lastState(v).position as number);
    assert.deepEqual(before, [...before].sort((p, q) => p - q), 'positions follow arrival order');

    const downAt = await loseRedis();
    // Every visitor waiting when Redis lost the line is back in it, in the same order; none was told the ticket expired.
    const inLine = stillWaitingAt(downAt, waiting);
    const restoredScores = await lineScores(eventId, inLine);
    const restored = [...restoredScores.keys()];
    const kept = inLine();
    assert.ok(kept.length >= 6, `most of the line was waiting at the loss (${kept.length})`);
    // (`kept` only loses visitors whose frame came in since: the line held every one of it.)
    const keptIds = kept.map((v) => v.ticket.split('.')[0]!);
    assert.deepEqual(restored.filter((id) => keptIds.includes(id)), keptIds, 'the same order after the loss');
    await sleep(1000);
    for (const v of waiting) assert.ok(v.stream.messages.every((m) => m.data.state !== 'expired'), `told expired: ${JSON.stringify(v.stream.messages.map((m) => m.data.state))}`);
    const polled = await request(`${b.url}/api/v1/sale-events/${eventId}/queue/${encodeURIComponent(kept.at(-1)!.ticket)}`, { headers: kept.at(-1)!.headers });
    assert.equal(polled.status, 200);
    assert.equal(polled.body.state, 'waiting', JSON.stringify(polled.body));

    // A visitor arriving after the loss queues behind everyone who was in line. Admission has gone on at 1/s since
    // the line was back, so its head may have left it already: the newcomer's place is compared with the places the
    // restored line held, rather than looked for behind all of them in line at once.
    const late = await joinAndListen(eventId, 0);
    const lateScore = [...(await lineScores(eventId, [late])).values()][0]!;
    const ahead = keptIds.map((id) => restoredScores.get(id)!);
    assert.ok(ahead.every((score) => score < lateScore), `the newcomer is behind the restored line: ${lateScore} after ${ahead}`);

    // Admission goes on in that order, and the passes work.
    const first = kept[0]!;
    const admitted = await first.stream.next((m) => m.data.state === 'admitted', 15_000);
    const placed = await request(`${first.instance.url}/api/v1/orders`, {
      method: 'POST',
      headers: { ...first.headers, 'idempotency-key': `loss-${eventId}`, 'waiting-room-pass': admitted.data.pass },
      body: { email: `loss-${eventId}@example.com`, items: [{ productId: (await request(`${a.url}/api/v1/sale-events/${eventId}/queue`)).body.productIds[0], quantity: 1 }] },
    });
    assert.equal(placed.status, 201, JSON.stringify(placed.body));
    await kept[2]!.stream.next((m) => m.data.state === 'admitted', 15_000);
    const times = kept.slice(0, 3).map(admittedAt);
    assert.ok(times.every((x) => x !== undefined) && times[0]! <= times[1]! && times[1]! <= times[2]!, `admitted in line order: ${times}`);
    for (const v of [...line, late]) v.stream.close();
  });

  it('admits nobody until every instance has put its visitors back, however late one is', async () => {
    const eventId = await createEvent(0, 4);
    const line: Visitor[] = [];
    // The first in line, and every second one, on instance b. 32 at four a second: however slow the joins on a loaded
    // machine, most of them are still in line at the loss.
    for (let i = 0; i < 32; i++) line.push(await joinAndListen(eventId, i + 1));
    await waitFor('every stream to tell its state', () => line.every((v) => lastState(v) !== undefined) || null, 15_000).catch(() => undefined);
    const waiting = line.filter((v) => lastState(v)?.state === 'waiting');
    assert.ok(waiting.length >= line.length / 2, `half the line or more is waiting (${waiting.length} of ${line.length})`);
    const admittedKey = `{${t.config.redis.prefix}:wr:${eventId}}:admitted`;

    // Instance b stalls (a CPU-starved or paused process) while Redis loses everything: only a puts its
    // visitors back. Admission must not start with a's half of the line ahead of b's visitors.
    b.process.kill('SIGSTOP');
    let inLine: () => Visitor[] = () => waiting;
    try {
      const downAt = await loseRedis();
      // Those admitted in the moment before the loss left the line then (see `stillWaitingAt`).
      inLine = stillWaitingAt(downAt, waiting);
      await lineHolding(eventId, () => inLine().filter((v) => v.instance === a));
      // The room's rebirth (Redis's clock), from which the hold counts: past the fixed wait (2 × 300 ms refresh + 50 ms
      // tick) that used to open admission, nobody may be admitted until the cap (5 ×) while b has not presented its
      // visitors. Read on Redis's clock, not the test's: a stalled test process may look late, past the cap, when
      // admission may open (b retired); admissions are then judged by their times, the ones in the admitted hash and
      // in a's visitors' `admitted` frames (the same Redis clock).
      const sinceKey = `{${t.config.redis.prefix}:wr:${eventId}}:since`;
      const born = Number(await waitFor('the room reborn after the loss', () => t.platform.redis.get(sinceKey)));
      const graceMs = 2 * 300 + 50;
      const capMs = 5 * graceMs;
      const redisNow = async () => {
        const [seconds, micros] = await t.platform.redis.time();
        return Number(seconds) * 1000 + Math.floor(Number(micros) / 1000);
      };
      await waitFor('Redis’s clock well past the fixed wait after the rebirth', async () => (await redisNow()) >= born + 1800);
      const admittedWithinCap = Object.entries(await t.platform.redis.hgetall(admittedKey)).filter(([, at]) => Number(at) < born + capMs);
      assert.deepEqual(admittedWithinCap, [], 'nobody admitted while b has not presented its visitors');
      for (const v of inLine().filter((v) => v.instance === a)) {
        const at = admittedAt(v);
        // Waiting still, or admitted only once the cap let admission open without b.
        assert.ok(at === undefined ? lastState(v)?.state === 'waiting' : at >= born + capMs, `still waiting within the cap: ${JSON.stringify(v.stream.messages.map((m) => m.data))}`);
      }
    } finally {
      b.process.kill('SIGCONT');
    }
    // b comes back: its visitors are back at their places, and admission follows the line as it was.
    const restored = await lineHolding(eventId, inLine);
    const kept = inLine();
    assert.ok(kept.length >= 8, `most of the line was waiting at the loss (${kept.length})`);
    const keptIds = new Set(kept.map((v) => v.ticket.split('.')[0]!));
    assert.deepEqual(restored.filter((id) => keptIds.has(id)).slice(0, 3), kept.slice(0, 3).map((v) => v.ticket.split('.')[0]), 'the same head of the line after the loss');
    await Promise.all(kept.slice(0, 4).map((v) => v.stream.next((m) => m.data.state === 'admitted', 15_000)));
    const times = kept.slice(0, 4).map(admittedAt);
    for (let i = 1; i < times.length; i++) assert.ok(times[i - 1]! <= times[i]!, `admitted in line order: ${times}`);
    for (const v of line) v.stream.close();
  });

  it('keeps the pre-queue’s drawn order through the loss', async () => {
    const eventId = await createEvent(3_600_000, 50);
    const line: Visitor[] = [];
    for (let i = 0; i < 12; i++) line.push(await joinAndListen(eventId, i));
    // The order the room drew, read where it keeps it, before the loss.
    const drawn = await t.platform.redis.zrange(`{${t.config.redis.prefix}:wr:${eventId}}:q`, '0', '-1');
    assert.equal(drawn.length, line.length);
    await loseRedis();
    assert.deepEqual(await lineHolding(eventId, line), drawn, 'the same draw after the loss');

    // The sale opens: the pre-queue is admitted in the order drawn before the loss.
    const opened = await request(`${a.url}/api/v1/admin/sale-events/${eventId}`, { method: 'PATCH', headers: t.admin, body: { startsAt: new Date(Date.now() + 300).toISOString() } });
    assert.equal(opened.status, 200);
    await Promise.all(line.map((v) => v.stream.next((m) => m.data.state === 'admitted', 20_000)));
    const byTicket = new Map(line.map((v) => [v.ticket.split('.')[0]!, admittedAt(v)!]));
    const times = drawn.map((ticketId) => byTicket.get(ticketId)!);
    for (let i = 1; i < times.length; i++) assert.ok(times[i - 1]! <= times[i]!, `admitted in the drawn order: ${times}`);
    for (const v of line) v.stream.close();
  });

  it('keeps a pass spent before the loss spent: another order with it is refused PASS_USED, the first order’s retry replays', async () => {
    const eventId = await createEvent(0, 50);
    const productId = (await request(`${a.url}/api/v1/sale-events/${eventId}/queue`)).body.productIds[0];
    const buyer = await joinAndListen(eventId, 0);
    const admitted = await buyer.stream.next((m) => m.data.state === 'admitted', 15_000);
    buyer.stream.close();
    const pass = admitted.data.pass as string;
    const orderWith = (on: Instance, key: string, email: string) =>
      request(`${on.url}/api/v1/orders`, {
        method: 'POST',
        headers: { ...buyer.headers, 'idempotency-key': key, 'waiting-room-pass': pass },
        body: { email, items: [{ productId, quantity: 1 }] },
      });
    /** The order's reply once the instance is past its Redis reconnection (a 503 meanwhile leaves the key retryable). */
    const settled = async (on: Instance, key: string, email: string) => {
      for (const deadline = Date.now() + 30_000; ; ) {
        const reply = await orderWith(on, key, email);
        if (reply.status !== 503) return reply;
        assert.ok(Date.now() < deadline, `still 503 after the loss: ${JSON.stringify(reply.body)}`);
        await sleep(100);
      }
    };

    const first = await orderWith(a, `spent-${eventId}-1`, `spent-${eventId}-1@example.com`);
    assert.equal(first.status, 201, JSON.stringify(first.body));
    await loseRedis();

    // A copy of the pass for another order (another key, another email) on the other instance.
    const second = await settled(b, `spent-${eventId}-2`, `spent-${eventId}-2@example.com`);
    assert.equal(second.status, 403, `a pass spent before the loss bought a second order: ${JSON.stringify(second.body)}`);
    assert.equal(second.body.error.code, 'PASS_USED');
    // The order that spent it, retried with its key (its idempotency record went with Redis), is itself again.
    const retried = await settled(b, `spent-${eventId}-1`, `spent-${eventId}-1@example.com`);
    assert.equal(retried.status, 201, JSON.stringify(retried.body));
    assert.equal(retried.body.id, first.body.id);
    assert.equal(retried.headers.get('idempotent-replayed'), 'true');
    const orders = await t.platform.db.primary.execute<{ n: string }>(sql`select count(distinct order_id) as n from order_items where product_id = ${productId}`);
    assert.equal(Number(orders.rows[0]!.n), 1, 'one order of the queued product in PostgreSQL');
    const spent = await t.platform.db.primary.execute<{ order_ref: string }>(sql`select order_ref from waiting_room_spent_passes where sale_event_id = ${eventId}`);
    assert.deepEqual(spent.rows.map((r) => r.order_ref), [`guest:spent-${eventId}-1@example.com spent-${eventId}-1`], 'the pass is recorded spent on the first order');
  });

  it('admits again after a bounded wait when an instance died with Redis', async () => {
    const liveWeb = async (instance: Instance) => Number((await (await fetch(`${instance.url}/metrics`)).text()).match(/salescale_live_instances\{[^}]*role="web"[^}]*\} (\d+)/)?.[1]);
    const members = async () => (await t.platform.redis.zrange(`${t.config.redis.prefix}:{cluster}:instances`, '0', '-1')).filter((member) => member.startsWith('web:'));
    const c = await startInstance({ env: { ...t.env, DB_POOL_MAX: '5', LOG_LEVEL: 'silent' } });
    try {
      // a and b count c among the live web instances (its heartbeat came in). Waited for before the line forms:
      // admission runs from the first join, and this wait (seconds on a loaded machine) used to empty it.
      for (const deadline = Date.now() + 30_000; ; ) {
        const web = await members();
        if (web.includes(`web:${c.instanceId}`) && (await liveWeb(a)) === web.length && (await liveWeb(b)) === web.length) break;
        assert.ok(Date.now() < deadline, `a and b never saw c: ${await liveWeb(a)} and ${await liveWeb(b)} of ${JSON.stringify(web)}`);
        await sleep(100);
      }
      const productId = await createQueuedProduct(a.url, t.admin, { available: 1000, priceCents: 500, skuPrefix: 'loss' });
      const eventId = await createQueuedSale(b.url, t.admin, [a, b, c], { productIds: [productId], startsInMs: 0, admissionPerSecond: 2 });
      const visitors: SseStream[] = [];
      // At 2/s the line outlasts its set-up by seconds: a's last visitor is admitted 4 s after the first join at the
      // earliest, and only a's visitors admitted after the loss are measured (below).
      for (const instance of [c, c, c, a, a, a, a, a, a]) {
        const headers: Record<string, string> = { 'x-forwarded-for': nextAddress() };
        const joined: JsonReply = await request(`${instance.url}/api/v1/sale-events/${eventId}/queue`, { method: 'POST', headers });
        assert.equal(joined.status, 201, JSON.stringify(joined.body));
        headers.cookie = joined.headers.getSetCookie().map((cookie) => cookie.split(';')[0]).join('; ');
        visitors.push(await openSse(`${instance.url}/api/v1/sale-events/${eventId}/queue/${encodeURIComponent(joined.body.ticket)}/events`, headers));
      }
      const onA = visitors.slice(3);
      // c dies as Redis loses everything: it never presents its streams again.
      await c.stop('SIGKILL');
      const lostAt = Date.now();
      await loseRedis();
      // Admission at 2/s goes on until Redis dies: a visitor admitted while c was being killed, or in the moment before,
      // is not what this measures (its stream ended on that admission). Redis is back 300 ms after `lostAt` (loseRedis):
      // the first admission of any of a's visitors after that is, so none is chosen from a read of the streams taken
      // before the loss (a visitor seen waiting then may be admitted before it).
      const admitted = await Promise.any(
        onA.map((stream) => stream.next((m) => m.data.state === 'admitted' && Date.parse(m.data.admittedAt) >= lostAt + 300, 15_000)),
      ).catch(() => assert.fail(`no visitor on a admitted after the loss; their streams said ${JSON.stringify(onA.map((s) => s.messages.map((m) => m.data.admittedAt ?? m.data.state)))}, lost at ${new Date(lostAt).toISOString()}`));
      const waitedMs = Date.parse(admitted.data.admittedAt) - lostAt;
      // Held while c might come back, at most 5 × (2 × 300 + 50) ms after the rebirth; then a's visitors go on.
      assert.ok(waitedMs >= 3_000 && waitedMs < 8_000, `admission resumed ${waitedMs} ms after the loss`);
      for (const stream of visitors) stream.close();
    } finally {
      await c.stop('SIGKILL');
    }
  });
});
