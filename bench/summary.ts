/** The markdown summary and the chart of one benchmark run. */
import type { TopLevelSpec } from 'vega-lite';
import { renderSvg } from '../src/scaling/report/chart.ts';
import type { ScenarioResult } from './scenario.ts';

export interface RunRecord {
  startedAt: string;
  seconds: number;
  machine: { commit: string; cpus: number; cpuModel: string; memoryGiB: number; loadAverage: number[]; versions: Record<string, string> };
  scenarios: Record<string, ScenarioResult & { seconds: number; error?: string }>;
  failed: boolean;
}

/** Every check as a bar: measured ÷ target, so 1.0 is the line each must cross (in its direction). */
export function buildSummaryChartSpec(run: RunRecord): TopLevelSpec {
  const rows: Array<{ check: string; scenario: string; score: number; pass: string }> = [];
  for (const [scenario, r] of Object.entries(run.scenarios)) {
    for (const c of r.checks) {
      if (c.target === 0) continue; // "0 oversold" has no ratio; it is in the table
      const lowerIsBetter = c.comparison === '<' || c.comparison === '<=';
      const score = lowerIsBetter ? c.target / Math.max(c.measured, 1e-9) : c.measured / c.target;
      rows.push({ check: `${scenario}: ${c.name}`, scenario, score: Math.min(Math.round(score * 100) / 100, 5), pass: c.pass ? 'pass' : 'fail' });
    }
  }
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: `Benchmark checks, ${run.startedAt.slice(0, 16)}Z, commit ${run.machine.commit} (bar ≥ 1 = target met; capped at 5)`,
    width: 520,
    height: { step: 22 },
    data: { values: rows },
    layer: [
      {
        mark: 'bar',
        encoding: {
          y: { field: 'check', type: 'nominal', sort: null, title: null, axis: { labelLimit: 420 } },
          x: { field: 'score', type: 'quantitative', title: 'measured vs target (higher is better)' },
          color: { field: 'pass', type: 'nominal', scale: { domain: ['pass', 'fail'], range: ['#2ca02c', '#d62728'] } },
        },
      },
      { mark: { type: 'rule', color: '#111', strokeDash: [4, 3] }, encoding: { x: { datum: 1 } } },
    ],
  };
}

export async function renderSummaryChart(run: RunRecord): Promise<string> {
  return renderSvg(buildSummaryChartSpec(run));
}

type TimelineRow = { second: number; phase: string; offeredRps: number; completed: number; errors: number; p95Ms: number };

/** The sale-mix spike second by second: arrivals asked for and answered, errors, and p95 against the SLO. */
export function buildSaleMixChartSpec(timeline: TimelineRow[], title: string): TopLevelSpec {
  const rows = timeline.flatMap((t) => [
    { second: t.second, phase: t.phase, series: 'offered arrivals/s', value: t.offeredRps, axis: 'rate' },
    { second: t.second, phase: t.phase, series: 'answered/s', value: t.completed, axis: 'rate' },
    { second: t.second, phase: t.phase, series: 'errors/s', value: t.errors, axis: 'rate' },
    { second: t.second, phase: t.phase, series: 'p95 ms', value: t.p95Ms, axis: 'ms' },
  ]);
  const color = { field: 'series', type: 'nominal' as const, scale: { domain: ['offered arrivals/s', 'answered/s', 'errors/s', 'p95 ms'], range: ['#999999', '#1f77b4', '#d62728', '#ff7f0e'] } };
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title,
    width: 720,
    height: 220,
    data: { values: rows },
    layer: [
      {
        transform: [{ filter: "datum.axis === 'rate'" }],
        mark: { type: 'line', strokeWidth: 1.5 },
        encoding: { x: { field: 'second', type: 'quantitative', title: 'seconds' }, y: { field: 'value', type: 'quantitative', title: 'requests/s' }, color },
      },
      {
        layer: [
          { transform: [{ filter: "datum.axis === 'ms'" }], mark: { type: 'line', strokeDash: [4, 3] }, encoding: { x: { field: 'second', type: 'quantitative' }, y: { field: 'value', type: 'quantitative', title: 'p95 ms (SLO 500)' }, color } },
          { mark: { type: 'rule', color: '#ff7f0e', opacity: 0.4 }, encoding: { y: { datum: 500 } } },
        ],
      },
    ],
    resolve: { scale: { y: 'independent' } },
  };
}

export async function renderSaleMixChart(timeline: TimelineRow[], title: string): Promise<string> {
  return renderSvg(buildSaleMixChartSpec(timeline, title));
}

/**
 * The hot-path targets the order path is held to (each a ratio against a reference measured in the same
 * run, plus the latency and correctness checks that go with it), by scenario and check name (exact, or
 * else the first check starting with it). `references` name ratios of the scenario printed beside the
 * target, not judged: where the target's reference does less than the path (pgbench has no HTTP, bare
 * Fastify's GET has no body), the same figure against a fair one.
 */
export const HOT_PATH_TARGETS: { target: string; scenario: string; checks: string[]; references?: { label: string; ratio: string }[] }[] = [
  { target: 'cached product detail ≥ 0.8 of bare Fastify, p99 < 5 ms at 64 connections', scenario: 'catalog', checks: ['cached detail req/s ÷ bare Fastify req/s (wrk', 'cached detail p99 ms at 64 connections (wrk', 'cached detail req/s ÷ bare Fastify req/s (autocannon)', 'cached detail p99 ms at 64 connections (autocannon)'] },
  { target: 'listing ≥ 0.6 of bare Fastify', scenario: 'catalog', checks: ['listing req/s ÷ bare Fastify req/s (wrk', 'listing req/s ÷ bare Fastify req/s (autocannon)'] },
  {
    target: 'sold-out reply ≥ 0.5 of bare Fastify',
    scenario: 'sold-out',
    checks: ['sold-out replies/s ÷ bare Fastify req/s (wrk', 'sold-out replies/s ÷ bare Fastify req/s', 'orders placed with no stock', 'complete wrk rounds', 'replies other than expected (wrk', 'replies other than 409 (autocannon)'],
    references: [
      { label: 'sold-out replies/s ÷ bare Fastify POST 409 with the same body schema (wrk)', ratio: 'wrkSoldOutVsBarePost409' },
      { label: 'the same (autocannon)', ratio: 'soldOutVsBareFastifyPost409' },
      { label: 'bare POST 409 ÷ bare GET (wrk)', ratio: 'wrkBarePost409VsBare' },
    ],
  },
  { target: "hot-SKU orders/s ≥ 1.0 of pgbench's single-row conditional UPDATE, 0 oversold", scenario: 'checkout-hot', checks: ['successful orders/s (sharded + batched) ÷ pgbench single-row tps', 'oversold units (shardedBatched)'], references: [{ label: 'orders/s ÷ a bare Fastify order endpoint running the same UPDATE per POST', ratio: 'shardedBatchedVsBareOrderEndpoint' }] },
  { target: 'worker jobs/s with the real handler ≥ 0.7 of bare BullMQ', scenario: 'queue', checks: ['processed jobs/s (worker role'] },
];

/** One line per hot-path target: each check measured against its target, or why it has no figure. */
export function hotPathTargetLines(run: Pick<RunRecord, 'scenarios'>): string[] {
  return HOT_PATH_TARGETS.map(({ target, scenario, checks, references = [] }) => {
    const r = run.scenarios[scenario];
    if (!r) return `- ${target}: not run`;
    if (r.error || r.skipped) return `- ${target}: ${r.error ? `error: ${r.error}` : `skipped: ${r.skipped}`}`;
    const found = checks.map((name) => r.checks.find((c) => c.name === name) ?? r.checks.find((c) => c.name.startsWith(name)));
    const parts = found.map((c, i) => (c ? `${c.pass ? 'MET' : 'MISSED'} ${c.name} = ${c.measured} (target ${c.comparison} ${c.target})${c.note ? ` [${c.note}]` : ''}` : `no figure for "${checks[i]}"`));
    for (const { label, ratio } of references) if (r.ratios[ratio] !== undefined) parts.push(`fair reference: ${label} = ${r.ratios[ratio]}`);
    return `- ${target}: ${parts.join('; ')}`;
  });
}

export function summaryMarkdown(run: RunRecord, jsonFile: string, chartFile: string): string {
  const v = run.machine.versions;
  const lines = [
    `# Benchmark run ${run.startedAt}`,
    '',
    `Commit ${run.machine.commit}; ${run.machine.cpus} × ${run.machine.cpuModel}, ${run.machine.memoryGiB} GiB; load average at start ${run.machine.loadAverage.join(' / ')}.`,
    `Node ${v.node}, Fastify ${v.fastify}, BullMQ ${v.bullmq}, PostgreSQL ${v.postgresql}, Redis ${v.redis}, autocannon ${v.autocannon}, wrk: ${v.wrk}.`,
    `Load generators and instances share the machine's cores (and other work ran on it): ratios against a reference in the same run are what carry. Took ${run.seconds} s. Full figures: \`${jsonFile}\`.`,
    '',
    `![checks](${chartFile})`,
    '',
    ...(run.scenarios['sale-mix']?.details?.timeline ? ['![sale-mix spike, second by second](latest-sale-mix.svg)', ''] : []),
    '## Hot-path targets',
    '',
    ...hotPathTargetLines(run),
    '',
    'What bounds each one: `bench/README.md`.',
    '',
    '## Every check',
    '',
    '| scenario | check | measured | target | result |',
    '|---|---|---|---|---|',
  ];
  for (const [name, r] of Object.entries(run.scenarios)) {
    if (r.skipped) lines.push(`| ${name} | — | skipped: ${r.skipped} | | — |`);
    if (r.error) lines.push(`| ${name} | — | error: ${r.error} | | FAIL |`);
    for (const c of r.checks) lines.push(`| ${name} | ${c.name} | ${c.measured} | ${c.comparison} ${c.target} | ${c.pass ? 'pass' : '**FAIL**'}${c.note ? ` (${c.note})` : ''} |`);
  }
  lines.push('', '## Figures', '');
  for (const [name, r] of Object.entries(run.scenarios)) {
    const figures = Object.entries(r.figures).map(([k, val]) => `${k} ${val}`);
    const ratios = Object.entries(r.ratios).map(([k, val]) => `${k} ${val}`);
    lines.push(`- **${name}** (${r.seconds} s): ${[...figures, ...ratios.map((x) => `ratio ${x}`)].join('; ') || '—'}`);
  }
  lines.push('', 'Reproduce: `npm run bench` (all) or `npx salescale bench <scenario>`.', '');
  return lines.join('\n');
}
