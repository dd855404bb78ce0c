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
          y: { field: 'check', type: 'nominal', sort: null, title: null },
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
