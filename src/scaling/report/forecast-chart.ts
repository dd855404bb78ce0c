/** The forecast chart: the mean line and the band up to the chosen quantile (vega-lite). */
import type * as vl from 'vega-lite';
import type { ForecastHour } from '../forecast/forecast.ts';

export function buildForecastChartSpec(hours: readonly (ForecastHour & { quantileRequestsPerSecond?: number })[], quantile: number | undefined, title: string): vl.TopLevelSpec {
  const values = hours.map((h) => ({ t: h.hour, mean: h.meanRequestsPerSecond, upper: h.quantileRequestsPerSecond ?? h.meanRequestsPerSecond }));
  const band = quantile !== undefined ? `mean … ${Math.round(quantile * 100)} % quantile` : 'mean';
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title,
    width: 900,
    height: 260,
    data: { values },
    layer: [
      {
        mark: { type: 'area', opacity: 0.3, color: '#4c78a8' },
        encoding: { x: { field: 't', type: 'temporal', title: 'hour (UTC)' }, y: { field: 'mean', type: 'quantitative', title: `requests/s (band: ${band})` }, y2: { field: 'upper' } },
      },
      { mark: { type: 'line', color: '#4c78a8' }, encoding: { x: { field: 't', type: 'temporal' }, y: { field: 'mean', type: 'quantitative' } } },
    ],
  };
}
