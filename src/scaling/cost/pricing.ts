/** The dated pricing catalogue (src/scaling/data/pricing-<date>.json), validated on load. */
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { ScalingInputError } from '../errors.ts';

/** Prices per hour unless named otherwise. */
export interface PricingCatalogue {
  asOf: string;
  currency: string;
  region: string;
  note?: string;
  /** Where each group of prices comes from. */
  sources: Record<string, string>;
  instanceTypes: Record<string, { vcpu: number; memoryGiB: number; perHour: number }>;
  loadBalancer: { perHour: number; perLcuHour: number };
  postgres: Record<string, { perHour: number } | number>;
  redis: Record<string, { perHour: number }>;
  monitoring: { perCustomMetricMonth: number; perAlarmMonth: number; perLogGbIngested: number };
  dataTransfer: { perGbOut: number };
  queue: { perMillionRequests: number };
}

export const DEFAULT_PRICING_PATH = fileURLToPath(new URL('../data/pricing-2026-11-27.json', import.meta.url));

export function parsePricing(data: unknown, source: string): PricingCatalogue {
  const p = data as Partial<PricingCatalogue> | null;
  const need = ['asOf', 'sources', 'instanceTypes', 'loadBalancer', 'postgres', 'redis', 'monitoring', 'dataTransfer', 'queue'] as const;
  for (const k of need) {
    if (!p || p[k] === undefined) throw new ScalingInputError('MALFORMED_FILE', `${source}: missing "${k}"`);
  }
  const catalogue = p as PricingCatalogue;
  for (const [name, t] of Object.entries(catalogue.instanceTypes)) {
    if (!(t.perHour >= 0)) throw new ScalingInputError('NEGATIVE_CAPACITY', `${source}: instanceTypes.${name}.perHour must be ≥ 0`);
  }
  return catalogue;
}

export async function loadPricing(path = DEFAULT_PRICING_PATH): Promise<PricingCatalogue> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch {
    throw new ScalingInputError('MALFORMED_FILE', `pricing catalogue ${path} cannot be read`);
  }
  try {
    return parsePricing(JSON.parse(text), path);
  } catch (e) {
    if (e instanceof ScalingInputError) throw e;
    throw new ScalingInputError('MALFORMED_FILE', `${path} is not valid JSON: ${(e as Error).message}`);
  }
}

export function getInstancePrice(p: PricingCatalogue, type: string): number {
  const t = p.instanceTypes[type];
  if (!t) throw new ScalingInputError('INVALID_OPTION', `instance type "${type}" is not in the pricing catalogue (known: ${Object.keys(p.instanceTypes).join(', ')})`);
  return t.perHour;
}

export function getHourly(group: Record<string, { perHour: number } | number>, key: string, what: string): number {
  const v = group[key];
  if (v === undefined || typeof v === 'number') throw new ScalingInputError('INVALID_OPTION', `${what} "${key}" is not in the pricing catalogue`);
  return v.perHour;
}
