/**
 * Forecast speed: the cross-validated model choice + 168-h forecast with quantiles on 26 weeks of
 * hourly history (the committed US flights series), against seasonal naive on the same series in the
 * same run; and the whole `salescale forecast` command, process start to JSON, which must stay under 3 s.
 */
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { forecastWithSelection, selectModel } from '../src/scaling/forecast/model-selection.ts';
import { forecastSeasonalNaive } from '../src/scaling/forecast/seasonal-models.ts';
import { getRealDataset } from '../src/scaling/test-data/real-datasets.ts';
import type { Scenario } from './scenario.ts';
import { check } from './scenario.ts';

function median(values: number[]): number {
  const s = [...values].sort((a, b) => a - b);
  return s[s.length >> 1];
}

export const forecastScenario: Scenario = {
  name: 'forecast',
  describe: 'cross-validated forecast (fit + 168 h with q0.9) on 26 weeks of hourly history vs seasonal naive; the forecast command end to end',
  async run(ctx) {
    const y = getRealDataset('us-flights-2001').map((p) => p.requests).slice(-26 * 168);
    const runs = Number(process.env.BENCH_FORECAST_RUNS ?? 5);
    const modelMs: number[] = [];
    let chosen = '';
    for (let i = 0; i < runs; i++) {
      const t0 = performance.now();
      const selection = selectModel(y);
      forecastWithSelection(y, selection, 168, [0.9]);
      modelMs.push(performance.now() - t0);
      chosen = selection.chosen.name;
    }
    const naiveRuns = 2000;
    const t1 = performance.now();
    for (let i = 0; i < naiveRuns; i++) forecastSeasonalNaive(y, 168, 168);
    const naiveMs = (performance.now() - t1) / naiveRuns;
    const root = path.resolve(import.meta.dirname, '..');
    const history = path.join(root, 'src/scaling/test-data/real/us-flights-2001.csv');
    const commandMs: number[] = [];
    for (let i = 0; i < Math.max(1, Math.min(3, runs)); i++) {
      const t0 = performance.now();
      execFileSync(process.execPath, ['src/main.ts', 'forecast', '--history', history, '--from', '2001-07-01T01:00:00Z', '--to', '2001-07-08T01:00:00Z', '--json', '--no-db', '--no-progress'], { cwd: root, stdio: ['ignore', 'ignore', 'inherit'] });
      commandMs.push(performance.now() - t0);
    }
    ctx.log(`forecast: model ${median(modelMs).toFixed(0)} ms, seasonal naive ${naiveMs.toFixed(3)} ms, command ${median(commandMs).toFixed(0)} ms (${chosen})`);
    return {
      figures: { forecastFitMs: median(modelMs), seasonalNaiveMs: naiveMs, forecastCommandMs: median(commandMs), historyHours: y.length },
      ratios: { forecastVsSeasonalNaive: median(modelMs) / naiveMs },
      checks: [check('salescale forecast command (ms)', median(commandMs), '<', 3000)],
    };
  },
};
