/**
 * The waiting room under a crowd (`npx salescale bench waiting-room`): BENCH_WAITING_ROOM_VISITORS
 * signed-in visitors (default 5,000, each from its own address through a trusted proxy) join a live
 * queued sale on two `salescale serve` instances in BENCH_WAITING_ROOM_LANES lanes (default 8; within a
 * lane one after another, so each lane's arrival order is known), and
 * each holds an event stream (SSE) open. The room admits BENCH_WAITING_ROOM_RATE visitors/s (default
 * 200); each admitted visitor opens the product and checks out with its pass. The stock is half the
 * crowd, so the sale sells out while about half are still in line.
 *
 * Figures: admission rate achieved vs set (Redis-clock admission times, while the line was not empty),
 * fairness (visitors admitted before someone of their lane who arrived earlier), p50/p95/p99 of every served request
 * (joins, product pages, checkouts; the seed's SLO: p95 < 500 ms), and the time from the last unit's
 * order to the last waiting visitor's stream saying `sold_out` (target ≤ 2 s).
 */
import { insertCustomers, mintSessionCookies } from '../test/helpers/commerce.ts';
import { openSse, type SseStream } from '../test/helpers/sse.ts';
import { createDatabase } from '../src/platform/db/client.ts';
import { check, round, type Scenario, type ScenarioResult } from './scenario.ts';
import { BENCH_SECRETS, benchEnv } from './stack.ts';

const VISITORS = Number(process.env.BENCH_WAITING_ROOM_VISITORS ?? 5000);
const RATE = Number(process.env.BENCH_WAITING_ROOM_RATE ?? 200);
const SLO_P95_MS = 500;
/** Joins in flight at once; arrival order is exact within each lane. */
const LANES = Number(process.env.BENCH_WAITING_ROOM_LANES ?? 8);

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

export const waitingRoomScenario: Scenario = {
  name: 'waiting-room',
  describe: `${VISITORS} visitors join a live queued sale on two instances at ${RATE}/s admission; rate, fairness, p95, sell-out notice time`,
  async run(ctx): Promise<ScenarioResult> {
    const database = await ctx.database();
    const handle = createDatabase({ url: database.url, poolMin: 0, poolMax: 2, statementTimeoutMs: 0, applicationName: 'salescale-bench' });
    ctx.onCleanup(() => handle.close());
    const env = { TRUST_PROXY: '127.0.0.1', DB_POOL_MAX: '20', WAITING_ROOM_EVENTS_REFRESH_MS: '200', WAITING_ROOM_STREAM_REFRESH_MS: '1000', WAITING_ROOM_PASS_S: '600' };
    const apps = [await ctx.startApp(database, { env }), await ctx.startApp(database, { env })];
    const admin = { authorization: `Bearer ${BENCH_SECRETS.ADMIN_API_TOKEN}`, 'content-type': 'application/json' };
    const post = (url: string, body: unknown) => fetch(url, { method: 'POST', headers: admin, body: JSON.stringify(body) }).then((r) => r.json() as Promise<{ id: number }>);

    ctx.log(`minting ${VISITORS} sessions`);
    const cookies = await mintSessionCookies(benchEnv(database), await insertCustomers(handle.primary, VISITORS, 'room'));
    const stock = Math.floor(VISITORS / 2);
    const product = await post(`${apps[0]!.url}/api/v1/admin/products`, { sku: 'room-drop', name: 'The drop', priceCents: 9900, available: stock });
    const now = Date.now();
    const sale = await post(`${apps[0]!.url}/api/v1/admin/sale-events`, {
      name: 'Bench drop',
      startsAt: new Date(now).toISOString(),
      endsAt: new Date(now + 3_600_000).toISOString(),
      productIds: [product.id],
      waitingRoom: { enabled: true, admissionPerSecond: RATE },
    });
    await new Promise((resolve) => setTimeout(resolve, 1000)); // both instances see the room

    const latencies: number[] = [];
    let serverErrors = 0;
    // biome-ignore lint/suspicious/noExplicitAny: JSON replies are read field by field.
    const timed = async (url: string, init: RequestInit): Promise<{ status: number; body: any }> => {
      const started = performance.now();
      const response = await fetch(url, init);
      const text = await response.text();
      latencies.push(performance.now() - started);
      if (response.status >= 500) serverErrors += 1;
      let body: unknown;
      try {
        body = JSON.parse(text);
      } catch {
        body = text;
      }
      return { status: response.status, body };
    };

    interface Visitor {
      index: number;
      headers: Record<string, string>;
      joinedAt?: number;
      stream?: SseStream;
      admittedAt?: number;
      soldOutAt?: number;
    }
    const visitors: Visitor[] = cookies.map((cookie, index) => ({ index, headers: { cookie, 'x-forwarded-for': `10.${(index >> 16) & 255}.${(index >> 8) & 255}.${index & 255}` } }));
    let lastOrderSentAt = 0;
    let sold = 0;
    let refused = 0;

    const buy = async (v: Visitor, pass: string) => {
      const app = apps[v.index % 2]!;
      await timed(`${app.url}/api/v1/products/${product.id}`, { headers: v.headers });
      const sentAt = Date.now();
      const reply = await timed(`${app.url}/api/v1/orders`, {
        method: 'POST',
        headers: { ...v.headers, 'content-type': 'application/json', 'idempotency-key': `room-${v.index}`, 'waiting-room-pass': pass },
        body: JSON.stringify({ items: [{ productId: product.id, quantity: 1 }] }),
      });
      if (reply.status === 201) {
        sold += 1;
        lastOrderSentAt = Math.max(lastOrderSentAt, sentAt);
      } else refused += 1;
    };

    const follow = async (v: Visitor, ticket: string) => {
      const app = apps[v.index % 2]!;
      v.stream = await openSse(`${app.url}/api/v1/sale-events/${sale.id}/queue/${encodeURIComponent(ticket)}/events`, v.headers);
      try {
        const told = await v.stream.next((m) => ['admitted', 'sold_out', 'expired'].includes(m.data.state), 300_000);
        if (told.data.state === 'admitted') {
          v.admittedAt = Date.parse(told.data.admittedAt);
          await buy(v, told.data.pass);
        } else if (told.data.state === 'sold_out') v.soldOutAt = told.at;
      } finally {
        v.stream.close();
      }
    };

    ctx.log(`${VISITORS} visitors join in ${LANES} lanes, each lane one visitor after another, alternating instances`);
    const following: Promise<void>[] = [];
    const joinStarted = Date.now();
    await Promise.all(
      Array.from({ length: LANES }, async (_, lane) => {
        for (let i = lane; i < visitors.length; i += LANES) {
          const v = visitors[i]!;
          const reply = await timed(`${apps[v.index % 2]!.url}/api/v1/sale-events/${sale.id}/queue`, { method: 'POST', headers: v.headers });
          v.joinedAt = Date.now();
          if (reply.status === 201) following.push(follow(v, reply.body.ticket).catch((error: Error) => ctx.log(`visitor ${v.index}: ${error.message}`)));
        }
      }),
    );
    const joinSeconds = (Date.now() - joinStarted) / 1000;
    ctx.log(`joined in ${joinSeconds.toFixed(1)} s; waiting for admissions and the sell-out`);
    await Promise.all(following);

    // Admission: Redis-clock times of everyone admitted.
    const admitted = visitors.filter((v) => v.admittedAt !== undefined);
    const times = admitted.map((v) => v.admittedAt!).sort((a, b) => a - b);
    const spanS = times.length > 1 ? (times[times.length - 1]! - times[0]!) / 1000 : Number.NaN;
    // The rate achieved while the line held visitors: over 100 ms slots that began with at least a
    // fifth of a second's admissions waiting (joined, not yet admitted). When joining is slower than
    // admission (a loaded machine), the line runs dry and those slots measure arrivals, not the room.
    const joins = visitors.map((v) => v.joinedAt ?? Number.POSITIVE_INFINITY).sort((a, b) => a - b);
    const SLOT = 100;
    let fullSlots = 0;
    let admittedInFull = 0;
    for (let slot = times[0] ?? 0, j = 0, a = 0; times.length > 0 && slot <= times[times.length - 1]!; slot += SLOT) {
      while (j < joins.length && joins[j]! <= slot) j++;
      while (a < times.length && times[a]! < slot) a++;
      let inSlot = 0;
      while (a + inSlot < times.length && times[a + inSlot]! < slot + SLOT) inSlot++;
      if (j - a >= RATE * 0.2) {
        fullSlots += 1;
        admittedInFull += inSlot;
      }
    }
    const achievedRate = fullSlots > 0 ? admittedInFull / ((fullSlots * SLOT) / 1000) : Number.NaN;
    const overallRate = times.length > 1 ? (times.length - 1) / spanS : Number.NaN;
    // Fairness: admitted before someone who arrived earlier. Within a lane the arrival order is known (each
    // join waits for the previous one's reply); across lanes joins overlap, so only pairs within a lane count.
    let outOfOrder = 0;
    for (let lane = 0; lane < LANES; lane++) {
      let latest = 0;
      for (let i = lane; i < visitors.length; i += LANES) {
        const at = visitors[i]!.admittedAt;
        if (at === undefined) continue;
        if (at < latest) outOfOrder += 1;
        latest = Math.max(latest, at);
      }
    }
    const told = visitors.filter((v) => v.soldOutAt !== undefined);
    const lastToldMs = told.length > 0 ? Math.max(...told.map((v) => v.soldOutAt!)) - lastOrderSentAt : Number.NaN;
    const sorted = [...latencies].sort((a, b) => a - b);
    const p = { p50: percentile(sorted, 50), p95: percentile(sorted, 95), p99: percentile(sorted, 99) };
    ctx.log(`admitted ${admitted.length} at ${achievedRate.toFixed(1)}/s (set ${RATE}/s), sold ${sold}/${stock}, ${told.length} told sold out, last ${lastToldMs} ms after the last order`);

    return {
      figures: {
        visitors: VISITORS,
        admissionRateSet: RATE,
        admissionRateAchieved: round(achievedRate),
        admissionRateOverall: round(overallRate),
        secondsWithAFullLine: round((fullSlots * SLOT) / 1000),
        joinsPerSecond: round(VISITORS / joinSeconds),
        admitted: admitted.length,
        admittedOutOfOrder: outOfOrder,
        unitsSold: sold,
        stock,
        checkoutsRefused: refused,
        toldSoldOut: told.length,
        soldOutToLastToldMs: round(lastToldMs),
        requests: latencies.length,
        serverErrors,
        p50Ms: round(p.p50),
        p95Ms: round(p.p95),
        p99Ms: round(p.p99),
      },
      ratios: { admissionAchievedVsSet: round(achievedRate / RATE) },
      checks: [
        check('admission rate achieved ÷ set', achievedRate / RATE, '>=', 0.9, 'while the line held visitors'),
        check('admission rate achieved ÷ set (never faster)', achievedRate / RATE, '<=', 1.05),
        check('visitors admitted out of order', outOfOrder, '==', 0),
        check('p95 of served requests (ms)', p.p95, '<', SLO_P95_MS, 'joins, product pages, checkouts'),
        check('sell-out to the last waiting visitor told (ms)', lastToldMs, '<=', 2000),
        check('units sold beyond stock', Math.max(0, sold - stock), '==', 0),
        check('5xx replies', serverErrors, '==', 0),
      ],
      details: { joinSeconds, admissionSpanSeconds: spanS },
    };
  },
};
