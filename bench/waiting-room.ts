/**
 * The waiting room under a crowd (`npx salescale bench waiting-room`): BENCH_WAITING_ROOM_VISITORS
 * signed-in visitors (default 5,000, each from its own address through a trusted proxy) join a queued
 * sale on two `salescale serve` instances in BENCH_WAITING_ROOM_LANES lanes (default 16), alternating
 * instances, and each holds an event stream (SSE) open. They all join before the start (the fair
 * pre-queue): the bench then brings the start forward, so the sale opens on a full line whatever the
 * machine's join rate. The room admits BENCH_WAITING_ROOM_RATE visitors/s (default 200); each admitted
 * visitor opens the product and checks out with its pass. The stock (BENCH_WAITING_ROOM_STOCK, default a
 * quarter of the crowd) sells out with most of the crowd still waiting on their streams — as long as the
 * buyers keep up with the admissions: on a loaded machine they may not, the whole crowd is admitted before
 * the last unit goes, and the run says so (a smaller stock then still measures the notice).
 *
 * Figures: admission rate achieved vs set (Redis-clock admission times, over 100 ms slots that began
 * with a full line), fairness (visitors admitted before someone ahead of them in ticket order: the
 * order the room drew for the pre-queue, read from Redis just before the start), p50/p95/p99 of every
 * served request (joins, product pages, checkouts; the seed's SLO: p95 < 500 ms), and the time from
 * the last unit's order to the last stream that was waiting at that moment saying `sold_out` (target
 * ≤ 2 s), with how many streams that was. The client's CPU share and event-loop lag around the
 * sell-out are printed beside it, to tell the server's fan-out from the load generator's own delay.
 * BENCH_WAITING_ROOM_CPU_PROF=<dir> profiles both instances (`--cpu-prof`).
 */
import http from 'node:http';
import { Redis } from 'ioredis';
import { insertCustomers, mintSessionCookies } from '../test/helpers/commerce.ts';
import { TEST_REDIS_URL } from '../test/helpers/db.ts';
import { createDatabase } from '../src/platform/db/client.ts';
import { cpuSecondsOf } from './lib.ts';
import { check, round, type Scenario, type ScenarioResult } from './scenario.ts';
import { watchStream, type StreamWatch } from './sse-watch.ts';
import { BENCH_SECRETS, benchEnv } from './stack.ts';

const VISITORS = Number(process.env.BENCH_WAITING_ROOM_VISITORS ?? 5000);
const RATE = Number(process.env.BENCH_WAITING_ROOM_RATE ?? 200);
const SLO_P95_MS = 500;
/** Joins in flight at once. */
const LANES = Number(process.env.BENCH_WAITING_ROOM_LANES ?? 16);

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export const waitingRoomScenario: Scenario = {
  name: 'waiting-room',
  describe: `${VISITORS} visitors queue for a sale on two instances, admitted at ${RATE}/s; rate, fairness, p95, sell-out notice time`,
  async run(ctx): Promise<ScenarioResult> {
    const database = await ctx.database();
    const handle = createDatabase({ url: database.url, poolMin: 0, poolMax: 2, statementTimeoutMs: 0, applicationName: 'salescale-bench' });
    ctx.onCleanup(() => handle.close());
    const redis = new Redis(TEST_REDIS_URL);
    ctx.onCleanup(() => redis.disconnect());
    const env = { TRUST_PROXY: '127.0.0.1', DB_POOL_MAX: '20', WAITING_ROOM_EVENTS_REFRESH_MS: '200', WAITING_ROOM_STREAM_REFRESH_MS: '1000', WAITING_ROOM_PASS_S: '600' };
    const profDir = process.env.BENCH_WAITING_ROOM_CPU_PROF;
    const nodeArgs = profDir ? ['--cpu-prof', `--cpu-prof-dir=${profDir}`] : [];
    const apps = [await ctx.startApp(database, { env, nodeArgs }), await ctx.startApp(database, { env, nodeArgs })];
    const admin = { authorization: `Bearer ${BENCH_SECRETS.ADMIN_API_TOKEN}`, 'content-type': 'application/json' };
    const send = (method: string, url: string, body: unknown) => fetch(url, { method, headers: admin, body: JSON.stringify(body) }).then((r) => r.json() as Promise<{ id: number }>);

    ctx.log(`minting ${VISITORS} sessions`);
    const cookies = await mintSessionCookies(benchEnv(database), await insertCustomers(handle.primary, VISITORS, 'room'));
    const stock = Number(process.env.BENCH_WAITING_ROOM_STOCK ?? Math.floor(VISITORS / 4));
    const product = await send('POST', `${apps[0]!.url}/api/v1/admin/products`, { sku: 'room-drop', name: 'The drop', priceCents: 9900, available: stock });
    const sale = await send('POST', `${apps[0]!.url}/api/v1/admin/sale-events`, {
      name: 'Bench drop',
      startsAt: new Date(Date.now() + 3_600_000).toISOString(),
      endsAt: new Date(Date.now() + 7_200_000).toISOString(),
      productIds: [product.id],
      waitingRoom: { enabled: true, admissionPerSecond: RATE },
    });
    // Every instance re-reads the waiting rooms every WAITING_ROOM_EVENTS_REFRESH_MS.
    for (const app of apps) while ((await fetch(`${app.url}/api/v1/sale-events/${sale.id}/queue`)).status !== 200) await sleep(50);

    const latencies: number[] = [];
    let serverErrors = 0;
    // Requests over node:http with one keep-alive agent: fetch's pool (undici PoolBase/Pool, ~7 % of the client's
    // busy samples) was the client's top cost after opening the streams, and the client stalled for seconds
    // when thousands of admitted visitors bought at once on a loaded machine.
    const agent = new http.Agent({ keepAlive: true, maxSockets: 256 });
    ctx.onCleanup(() => agent.destroy());
    // biome-ignore lint/suspicious/noExplicitAny: JSON replies are read field by field.
    const timed = (url: string, init: { method?: string; headers: Record<string, string>; body?: string }): Promise<{ status: number; body: any }> =>
      new Promise((resolve, reject) => {
        const started = performance.now();
        const headers = { ...init.headers, 'content-length': String(Buffer.byteLength(init.body ?? '')) };
        const request = http.request(url, { method: init.method ?? 'GET', headers, agent }, (response) => {
          let text = '';
          response.setEncoding('utf8');
          response.on('data', (chunk: string) => (text += chunk));
          response.on('end', () => {
            latencies.push(performance.now() - started);
            const status = response.statusCode ?? 0;
            if (status >= 500) serverErrors += 1;
            let body: unknown = text;
            try {
              body = JSON.parse(text);
            } catch {
              // keep the text
            }
            resolve({ status, body });
          });
          response.on('error', reject);
        });
        request.on('error', reject);
        request.end(init.body);
      });

    interface Visitor {
      index: number;
      headers: Record<string, string>;
      ticketId?: string;
      stream?: StreamWatch;
      admittedAt?: number;
      soldOutAt?: number;
    }
    const visitors: Visitor[] = cookies.map((cookie, index) => ({ index, headers: { cookie, 'x-forwarded-for': `10.${(index >> 16) & 255}.${(index >> 8) & 255}.${index & 255}` } }));
    let lastOrderSentAt = 0;
    let lastOrderRepliedAt = 0;
    let sold = 0;
    let refused = 0;
    let streamErrors = 0;

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
        if (sentAt >= lastOrderSentAt) lastOrderRepliedAt = Date.now();
        lastOrderSentAt = Math.max(lastOrderSentAt, sentAt);
      } else refused += 1;
    };

    const follow = async (v: Visitor) => {
      const stream = v.stream!;
      try {
        const told = await stream.final;
        if (told.state === 'admitted') {
          v.admittedAt = Date.parse(told.data.admittedAt);
          await buy(v, told.data.pass);
        } else if (told.state === 'sold_out') v.soldOutAt = told.at;
      } finally {
        stream.close();
      }
    };

    ctx.log(`${VISITORS} visitors join the pre-queue in ${LANES} lanes, alternating instances, each opening its event stream`);
    const clientCpu = process.cpuUsage();
    const serverCpu = apps.map((app) => cpuSecondsOf(app.pid));
    const runStarted = Date.now();
    // The client's own event-loop lag: when it is late, every "told at" it records is late too.
    const lags: Array<[number, number]> = [];
    let expected = Date.now() + 20;
    const lagProbe = setInterval(() => {
      const now = Date.now();
      lags.push([now, Math.max(0, now - expected)]);
      expected = now + 20;
    }, 20);
    ctx.onCleanup(() => clearInterval(lagProbe));

    const joinStarted = Date.now();
    await Promise.all(
      Array.from({ length: LANES }, async (_, lane) => {
        for (let i = lane; i < visitors.length; i += LANES) {
          const v = visitors[i]!;
          const app = apps[v.index % 2]!;
          const reply = await timed(`${app.url}/api/v1/sale-events/${sale.id}/queue`, { method: 'POST', headers: v.headers });
          if (reply.status !== 201) continue;
          v.ticketId = String(reply.body.ticket).split('.')[0];
          try {
            v.stream = await watchStream(`${app.url}/api/v1/sale-events/${sale.id}/queue/${encodeURIComponent(reply.body.ticket)}/events`, v.headers);
          } catch (error) {
            streamErrors += 1;
            ctx.log(`visitor ${v.index}: ${(error as Error).message}`);
          }
        }
      }),
    );
    const joinSeconds = (Date.now() - joinStarted) / 1000;
    const streaming = visitors.filter((v) => v.stream !== undefined);
    ctx.log(`joined in ${joinSeconds.toFixed(1)} s, ${streaming.length} streams open; the sale starts`);

    // The ticket order the room drew for the pre-queue, read before the start (nobody admitted yet).
    const order = await redis.zrange(`{${database.redisPrefix}:wr:${sale.id}}:q`, '0', '-1');
    const rankOf = new Map<string, number>(order.map((ticketId, rank) => [ticketId, rank]));
    await send('PATCH', `${apps[0]!.url}/api/v1/admin/sale-events/${sale.id}`, { startsAt: new Date(Date.now() + 1000).toISOString() });
    await Promise.all(streaming.map((v) => follow(v).catch((error: Error) => ctx.log(`visitor ${v.index}: ${error.message}`))));
    clearInterval(lagProbe);
    const wallS = (Date.now() - runStarted) / 1000;
    const cpu = process.cpuUsage(clientCpu);
    const clientCpuShare = (cpu.user + cpu.system) / 1e6 / wallS;
    const serverCpuShare = apps.map((app, i) => (cpuSecondsOf(app.pid) - serverCpu[i]!) / wallS);

    // Admission: Redis-clock times of everyone admitted; the line is full from the start until the sell-out.
    const admitted = visitors.filter((v) => v.admittedAt !== undefined);
    const times = admitted.map((v) => v.admittedAt!).sort((a, b) => a - b);
    const spanS = times.length > 1 ? (times[times.length - 1]! - times[0]!) / 1000 : Number.NaN;
    // The rate achieved while the line held visitors: over 100 ms slots that began with at least a fifth
    // of a second's admissions waiting.
    const SLOT = 100;
    let fullSlots = 0;
    let admittedInFull = 0;
    for (let slot = times[0] ?? 0, a = 0; times.length > 0 && slot <= times[times.length - 1]!; slot += SLOT) {
      while (a < times.length && times[a]! < slot) a++;
      let inSlot = 0;
      while (a + inSlot < times.length && times[a + inSlot]! < slot + SLOT) inSlot++;
      if (streaming.length - a >= RATE * 0.2) {
        fullSlots += 1;
        admittedInFull += inSlot;
      }
    }
    const achievedRate = fullSlots > 0 ? admittedInFull / ((fullSlots * SLOT) / 1000) : Number.NaN;
    const overallRate = times.length > 1 ? (times.length - 1) / spanS : Number.NaN;
    // Fairness: admitted before someone ahead in ticket order (admissions of one step share a millisecond).
    let outOfOrder = 0;
    let latest = 0;
    for (const v of [...admitted].sort((p, q) => (rankOf.get(p.ticketId!) ?? 0) - (rankOf.get(q.ticketId!) ?? 0))) {
      if (v.admittedAt! < latest) outOfOrder += 1;
      latest = Math.max(latest, v.admittedAt!);
    }
    const unranked = admitted.filter((v) => !rankOf.has(v.ticketId!)).length;

    // Sell-out: every stream that was waiting when the last unit was ordered, until it said so.
    const told = visitors.filter((v) => v.soldOutAt !== undefined);
    const waitingAtSellOut = told.filter((v) => v.stream!.positionedAt !== undefined && v.stream!.positionedAt < lastOrderSentAt);
    const delays = waitingAtSellOut.map((v) => v.soldOutAt! - lastOrderSentAt).sort((a, b) => a - b);
    const lastToldMs = delays.length > 0 ? delays[delays.length - 1]! : Number.NaN;
    const lastToldAt = lastOrderSentAt + (Number.isNaN(lastToldMs) ? 0 : lastToldMs);
    // The fan-out alone: from the first waiting stream told to the last (the order's own latency and the
    // admission step that notices the empty gate are before the first).
    const spreadMs = delays.length > 0 ? delays[delays.length - 1]! - delays[0]! : Number.NaN;
    const lastOrderMs = lastOrderRepliedAt - lastOrderSentAt;
    const lagAround = lags.filter(([at]) => at >= lastOrderSentAt - 1000 && at <= lastToldAt + 100).map(([, lag]) => lag);
    const clientLagMaxMs = lagAround.length > 0 ? Math.max(...lagAround) : Number.NaN;
    const sorted = [...latencies].sort((a, b) => a - b);
    const p = { p50: percentile(sorted, 50), p95: percentile(sorted, 95), p99: percentile(sorted, 99) };
    ctx.log(`admitted ${admitted.length} at ${achievedRate.toFixed(1)}/s (set ${RATE}/s), sold ${sold}/${stock}`);
    ctx.log(
      `sell-out: ${waitingAtSellOut.length} streams waiting told, first ${delays[0]} ms, median ${percentile(delays, 50)} ms, last ${lastToldMs} ms after the last order was sent (its reply took ${lastOrderMs} ms); first → last told ${spreadMs} ms; client event-loop lag up to ${clientLagMaxMs} ms meanwhile`,
    );
    ctx.log(`CPU share over ${wallS.toFixed(0)} s: client ${clientCpuShare.toFixed(2)}, instances ${serverCpuShare.map((x) => x.toFixed(2)).join(' + ')}`);

    return {
      figures: {
        visitors: VISITORS,
        streamsOpen: streaming.length,
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
        streamsWaitingAtSellOut: waitingAtSellOut.length,
        lastOrderMs,
        soldOutToFirstToldMs: round(delays[0] ?? Number.NaN),
        soldOutToMedianToldMs: round(percentile(delays, 50)),
        soldOutFirstToLastToldMs: round(spreadMs),
        soldOutToLastToldMs: round(lastToldMs),
        clientLagAroundSellOutMs: clientLagMaxMs,
        clientCpuShare: round(clientCpuShare),
        instanceCpuShareA: round(serverCpuShare[0]!),
        instanceCpuShareB: round(serverCpuShare[1]!),
        requests: latencies.length,
        serverErrors,
        streamErrors,
        p50Ms: round(p.p50),
        p95Ms: round(p.p95),
        p99Ms: round(p.p99),
      },
      ratios: { admissionAchievedVsSet: round(achievedRate / RATE) },
      checks: [
        check('admission rate achieved ÷ set', achievedRate / RATE, '>=', 0.9, 'while the line held visitors'),
        check('admission rate achieved ÷ set (never faster)', achievedRate / RATE, '<=', 1.05),
        check('visitors admitted out of ticket order', outOfOrder + unranked, '==', 0),
        check('p95 of served requests (ms)', p.p95, '<', SLO_P95_MS, 'joins, product pages, checkouts'),
        check('streams waiting at the sell-out (share of the crowd)', waitingAtSellOut.length / VISITORS, '>=', 0.5, 'what the notice time is measured over'),
        check('sell-out to the last waiting visitor told (ms)', lastToldMs, '<=', 2000),
        check('units sold beyond stock', Math.max(0, sold - stock), '==', 0),
        check('5xx replies', serverErrors, '==', 0),
      ],
      details: { joinSeconds, admissionSpanSeconds: spanS },
    };
  },
};
