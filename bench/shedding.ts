// Load shedding benchmark: one web instance with a CPU-bound browse route, overloaded by far more
// connections than it can serve, with LOAD_SHED_ENABLED=false and then true (defaults otherwise).
// Reference: the same route at 1 connection in the same run. Loopback only, bounded in time;
// stops what it starts. Figures: bench/results/shedding.json.
import path from 'node:path';
import { load, machineFacts, startChild, writeResult, type LoadResult } from './lib.ts';
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
}

async function measure(env: Record<string, string>, connections: number, durationSeconds: number): Promise<Run> {
  const app = await startChild(SERVER, [], env, '/ready');
  try {
    await load({ url: `${app.url}/bench/cpu`, connections: 4, durationSeconds: 2 }); // warm up (JIT, pools)
    const result = await load({ url: `${app.url}/bench/cpu`, connections, durationSeconds });
    const served = result.total - result.non2xx;
    return {
      ...result,
      servedPerSecond: Math.round(served / durationSeconds),
      shedRatio: result.total === 0 ? 0 : Math.round((result.non2xx / result.total) * 1000) / 1000,
    };
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

  const result = {
    scenario: 'shedding',
    machine: machineFacts(),
    settings: {
      durationSeconds: DURATION_S,
      connections: CONNECTIONS,
      cpuMsPerRequest: CPU_MS,
      route: 'GET /bench/cpu (browse class)',
      loadShed: 'defaults: sample 500 ms, browse shed at p99 loop delay > 200 ms or utilization > 98 %',
      loadGenerator: 'autocannon (closed model, same machine); latency percentiles cover every reply, 503s included',
    },
    reference: { name: `same route, 1 connection`, ...reference },
    withoutShedding,
    withShedding,
    ratios: {
      p99WithVsWithout: Math.round((withShedding.latencyMs.p99 / withoutShedding.latencyMs.p99) * 1000) / 1000,
      servedWithVsWithout: Math.round((withShedding.servedPerSecond / withoutShedding.servedPerSecond) * 1000) / 1000,
      p99WithoutVsReference: Math.round((withoutShedding.latencyMs.p99 / Math.max(1, reference.latencyMs.p99)) * 10) / 10,
    },
  };
  const file = await writeResult('shedding', result);
  const row = (name: string, r: Run) =>
    `${name.padEnd(22)} p50 ${String(r.latencyMs.p50).padStart(5)} ms   p99 ${String(r.latencyMs.p99).padStart(5)} ms   ${String(Math.round(r.requestsPerSecond)).padStart(6)} replies/s   ${String(r.servedPerSecond).padStart(5)} served/s   shed ${(r.shedRatio * 100).toFixed(1)} %`;
  console.log(row('reference (1 conn)', reference));
  console.log(row(`no shedding (${CONNECTIONS})`, withoutShedding));
  console.log(row(`shedding (${CONNECTIONS})`, withShedding));
  console.log(`p99 with ÷ without shedding: ${result.ratios.p99WithVsWithout}; served with ÷ without: ${result.ratios.servedWithVsWithout}`);
  console.log(`written to ${file}`);
} finally {
  await database.drop();
}
