/** The committed real hourly series (see `real/README.md` for sources and licences). */
import { readFileSync } from 'node:fs';
import type { HourlyPoint } from '../forecast/csv.ts';
import { parseHourlyCsv } from '../forecast/csv.ts';

export const REAL_DATASETS = {
  'us-flights-2001': 'us-flights-2001.csv',
  'us-flights-2001-atl': 'us-flights-2001-atl.csv',
  'us-flights-2001-elp': 'us-flights-2001-elp.csv',
  'taylor-electricity': 'taylor-electricity.csv',
} as const;

export type RealDatasetName = keyof typeof REAL_DATASETS;

export function isRealDatasetName(name: string): name is RealDatasetName {
  return Object.hasOwn(REAL_DATASETS, name);
}

export function getRealDataset(name: RealDatasetName): HourlyPoint[] {
  const file = new URL(`./real/${REAL_DATASETS[name]}`, import.meta.url);
  return parseHourlyCsv(readFileSync(file, 'utf8'), REAL_DATASETS[name]);
}
