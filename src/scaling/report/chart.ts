/**
 * Charts with vega-lite compiled by vega to SVG (headless, no canvas); PNG through resvg; HTML
 * embedding the SVG. One row per policy: demand vs ready capacity (requests/s) and replicas.
 */
import { extname } from 'node:path';
import { Resvg } from '@resvg/resvg-js';
import * as vega from 'vega';
import * as vl from 'vega-lite';
import { ScalingInputError } from '../errors.ts';
import { writeOutputFiles } from '../output-files.ts';
import type { SimulationResult } from '../simulate/simulate.ts';

type Row = { policy: string; t: string; series: string; value: number; axis: 'requests/s' | 'replicas' };

function toRows(results: readonly SimulationResult[]): Row[] {
  const rows: Row[] = [];
  for (const r of results) {
    for (const p of r.timeline) {
      rows.push({ policy: r.policy, t: p.t, series: 'demand', value: p.demandRps, axis: 'requests/s' });
      rows.push({ policy: r.policy, t: p.t, series: 'ready capacity (at SLO)', value: p.readyCapacityRps, axis: 'requests/s' });
      rows.push({ policy: r.policy, t: p.t, series: 'failed requests/s', value: p.failedRequests / 60, axis: 'requests/s' });
      rows.push({ policy: r.policy, t: p.t, series: 'replicas', value: p.replicas, axis: 'replicas' });
    }
  }
  return rows;
}

/** The vega-lite spec (exported for tests and for embedding elsewhere). */
export function buildSimulationChartSpec(results: readonly SimulationResult[], title: string): vl.TopLevelSpec {
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title,
    data: { values: toRows(results) },
    vconcat: results.map((r) => ({
      title: `${r.policy}: ${r.totals.minutesOverSlo.toFixed(1)} min over SLO, ${Math.round(r.totals.failedRequests)} failed, ${r.totals.instanceHours.toFixed(1)} instance-hours`,
      width: 900,
      height: 160,
      transform: [{ filter: { field: 'policy', equal: r.policy } }],
      layer: [
        {
          transform: [{ filter: "datum.axis === 'requests/s'" }],
          mark: { type: 'line', strokeWidth: 1.5 },
          encoding: {
            x: { field: 't', type: 'temporal', title: 'time (UTC)' },
            y: { field: 'value', type: 'quantitative', title: 'requests/s' },
            color: { field: 'series', type: 'nominal', scale: { domain: ['demand', 'ready capacity (at SLO)', 'failed requests/s', 'replicas'], range: ['#d62728', '#111111', '#ff7f0e', '#1f77b4'] } },
          },
        },
        {
          transform: [{ filter: "datum.axis === 'replicas'" }],
          mark: { type: 'line', strokeDash: [4, 3], strokeWidth: 1.5, interpolate: 'step-after' },
          encoding: {
            x: { field: 't', type: 'temporal' },
            y: { field: 'value', type: 'quantitative', title: 'replicas', axis: { orient: 'right' } },
            color: { field: 'series', type: 'nominal' },
          },
        },
      ],
      resolve: { scale: { y: 'independent' } },
    })),
  };
}

export async function renderSvg(spec: vl.TopLevelSpec): Promise<string> {
  const compiled = vl.compile(spec).spec;
  const view = new vega.View(vega.parse(compiled), { renderer: 'none' });
  const svg = await view.toSVG();
  view.finalize();
  return svg;
}

export function svgToPng(svg: string): Buffer {
  return Buffer.from(new Resvg(svg, { background: 'white', fitTo: { mode: 'zoom', value: 1.5 } }).render().asPng());
}

export function wrapHtml(svg: string, title: string, summaryHtml = ''): string {
  const esc = title.replace(/[<>&]/g, (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;' })[c] as string);
  return `<!doctype html>\n<html lang="en"><head><meta charset="utf-8"><title>${esc}</title></head>\n<body style="font-family: sans-serif">\n<h1>${esc}</h1>\n${summaryHtml}\n${svg}\n</body></html>\n`;
}

/** Writes .svg, .png or .html depending on the extension. */
export async function writeChart(path: string, spec: vl.TopLevelSpec, title: string, summaryHtml = ''): Promise<void> {
  const ext = extname(path).toLowerCase();
  if (!['.svg', '.png', '.html'].includes(ext)) throw new ScalingInputError('INVALID_OPTION', `--out must end in .html, .svg or .png (got "${path}")`);
  const svg = await renderSvg(spec);
  await writeOutputFiles([{ path, content: ext === '.svg' ? svg : ext === '.png' ? svgToPng(svg) : wrapHtml(svg, title, summaryHtml) }]);
}
