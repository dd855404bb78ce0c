// Load shedding benchmark: one web instance with a CPU-bound browse route, overloaded by far more
// connections than it can serve, with LOAD_SHED_ENABLED=false and then true (defaults otherwise).
// Reference: the same route at 1 connection in the same run. Loopback only, bounded in time;
// stops what it starts. Figures: bench/results/shedding.json.
import path from 'node:path';
import autocannon from 'autocannon';
import { load, loadResult, machineFacts, startChild, writeResult, type LoadResult } from './lib.ts';
import { benchEnv, createBenchDatabase } from './stack.ts';

const DURATION_S = Number(process.env.BENCH_DURATION_S ?? 10);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 256);
const CPU_MS = Number(process.env.BENCH_CPU_MS ?? 5);
const SERVER = path.resolve(import.meta.dirname, 'shedding-server.ts');

interface Run extends LoadResult {
  /** Successful (2xx) replies per second: the useful work. */
  servedPerSecond: number;
  /** Share of replies that were 503 (shed). */
  shedRatio: number;
  /** Latency of the served (2xx) replies only, and of the shed (503) ones. */
  servedLatencyMs: { p50: number; p99: number; max: number };
  shedLatencyMs: { p50: number; p99: number; max: number } | null;
}

function percentiles(values: number[]): { p50: number; p99: number; max: number } {
  const sorted = [...values].sort((x, y) => x - y);
  const at = (q: number) => Math.round(sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)] ?? 0);
  return { p50: at(0.5), p99: at(0.99), max: Math.round(sorted.at(-1) ?? 0) };
}

/** autocannon with every reply's status and latency kept (its own summary mixes 2xx and 503). */
async function overload(url: string, connections: number, durationSeconds: number): Promise<Run> {
  const served: number[] = [];
  const shed: number[] = [];
  const result = await autocannon({
    url,
    connections,
    duration: durationSeconds,
    setupClient: (client) => {
      client.on('response', (statusCode: number, _bytes: number, responseTime: number) => {
        (statusCode === 503 ? shed : served).push(responseTime);
      });
    },
  });
  const total = served.length + shed.length;
  return {
    ...loadResult(result),
    servedPerSecond: Math.round(served.length / durationSeconds),
    shedRatio: total === 0 ? 0 : Math.round((shed.length / total) * 1000) / 1000,
    servedLatencyMs: percentiles(served),
    shedLatencyMs: shed.length > 0 ? percentiles(shed) : null,
  };
}

/**
 * `clients` loops over fetch (keep-alive) that, unlike autocannon, wait `Retry-After` seconds after a
 * 503 before their next request, as browsers' retry logic and well-behaved bots do.
 */
async function politeOverload(url: string, clients: number, durationSeconds: number): Promise<Run> {
  const served: number[] = [];
  const shed: number[] = [];
  let errors = 0;
  const end = Date.now() + durationSeconds * 1000;
  const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
  await Promise.all(
    Array.from({ length: clients }, async () => {
      while (Date.now() < end) {
        const started = performance.now();
        try {
          const response = await fetch(url);
          await response.arrayBuffer();
          const took = performance.now() - started;
          if (response.status === 503) {
            shed.push(took);
            await sleep(Math.min(Number(response.headers.get('retry-after') ?? 1) * 1000, Math.max(0, end - Date.now())));
          } else {
            served.push(took);
          }
        } catch {
          errors += 1;
        }
      }
    }),
  );
  const all = [...served, ...shed];
  const total = all.length;
  const p = percentiles(all);
  return {
    requestsPerSecond: Math.round(total / durationSeconds),
    latencyMs: { p50: p.p50, p90: percentile(all, 0.9), p99: p.p99, max: p.max },
    non2xx: shed.length,
    errors,
    total,
    servedPerSecond: Math.round(served.length / durationSeconds),
    shedRatio: total === 0 ? 0 : Math.round((shed.length / total) * 1000) / 1000,
    servedLatencyMs: percentiles(served),
    shedLatencyMs: shed.length > 0 ? percentiles(shed) : null,
  };
}

function percentile(values: number[], q: number): number {
  const sorted = [...values].sort((x, y) => x - y);
  return Math.round(sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)] ?? 0);
}

async function measure(env: Record<string, string>, connections: number, durationSeconds: number, polite = false): Promise<Run> {
  const app = await startChild(SERVER, [], env, '/ready');
  try {
    await load({ url: `${app.url}/bench/cpu`, connections: 4, durationSeconds: 2 }); // warm up (JIT, pools)
    return await (polite ? politeOverload : overload)(`${app.url}/bench/cpu`, connections, durationSeconds);
  } finally {
    await app.stop();
  }
}

const database = await createBenchDatabase();
try {
  const base = { ...benchEnv(database), BENCH_CPU_MS: String(CPU_MS) };
  const reference = await measure(base, 1, Math.max(3, Math.round(DURATION_S / 2)));
  const withoutShedding = await measure({ ...base, LOAD_SHED_ENABLED: 'false' }, CONNECTIONS, DURATION_S);
  const withShedding = await measure({ ...base, LOAD_SHED_ENABLED: 'true' }, CONNECTIONS, DURATION_S);
  const withSheddingPoliteClients = await measure({ ...base, LOAD_SHED_ENABLED: 'true' }, CONNECTIONS, DURATION_S, true);

  const result = {
    scenario: 'shedding',
    machine: machineFacts(),
    settings: {
      durationSeconds: DURATION_S,
      connections: CONNECTIONS,
      cpuMsPerRequest: CPU_MS,
      route: 'GET /bench/cpu (browse class)',
      loadShed: 'defaults: sample 500 ms, browse shed at p99 loop delay > 200 ms or utilization > 98 %',
      loadGenerator:
        'autocannon (closed model, same machine, re-sends at once after a 503); withSheddingPoliteClients: as many fetch loops that wait Retry-After after a 503. latencyMs covers every reply, servedLatencyMs the 2xx ones, shedLatencyMs the 503 ones',
    },
    reference: { name: `same route, 1 connection`, ...reference },
    withoutShedding,
    withShedding,
    withSheddingPoliteClients,
    ratios: {
      p99WithVsWithout: Math.round((withShedding.latencyMs.p99 / withoutShedding.latencyMs.p99) * 1000) / 1000,
      servedP99WithVsWithout: Math.round((withShedding.servedLatencyMs.p99 / withoutShedding.servedLatencyMs.p99) * 1000) / 1000,
      servedWithVsWithout: Math.round((withShedding.servedPerSecond / withoutShedding.servedPerSecond) * 1000) / 1000,
      servedPoliteVsWithout: Math.round((withSheddingPoliteClients.servedPerSecond / withoutShedding.servedPerSecond) * 1000) / 1000,
      servedP99PoliteVsWithout: Math.round((withSheddingPoliteClients.servedLatencyMs.p99 / withoutShedding.servedLatencyMs.p99) * 1000) / 1000,
      p99WithoutVsReference: Math.round((withoutShedding.latencyMs.p99 / Math.max(1, reference.latencyMs.p99)) * 10) / 10,
    },
  };
  const file = await writeResult('shedding', result);
  const row = (name: string, r: Run) =>
    `${name.padEnd(22)} all p50 ${String(r.latencyMs.p50).padStart(5)} ms p99 ${String(r.latencyMs.p99).padStart(5)} ms | served p50 ${String(r.servedLatencyMs.p50).padStart(5)} ms p99 ${String(r.servedLatencyMs.p99).padStart(5)} ms | ${String(Math.round(r.requestsPerSecond)).padStart(5)} replies/s ${String(r.servedPerSecond).padStart(4)} served/s | shed ${(r.shedRatio * 100).toFixed(1)} %`;
  console.log(row('reference (1 conn)', reference));
  console.log(row(`no shedding (${CONNECTIONS})`, withoutShedding));
  console.log(row(`shedding (${CONNECTIONS})`, withShedding));
  console.log(row(`shedding, Retry-After`, withSheddingPoliteClients));
  console.log(
    `with ÷ without shedding: p99 (all replies) ${result.ratios.p99WithVsWithout}, p99 (served) ${result.ratios.servedP99WithVsWithout}, served/s ${result.ratios.servedWithVsWithout}`,
  );
  console.log(`written to ${file}`);
} finally {
  await database.drop();
}
