/** The dated pricing catalogue (src/scaling/data/pricing-<date>.json), validated on load. */
import { fileURLToPath } from 'node:url';
import { ScalingInputError, parseDate, quoteInput } from '../errors.ts';
import { readInputFile } from '../input-files.ts';

/** Prices per hour unless named otherwise. */
export interface PricingCatalogue {
  asOf: string;
  currency: string;
  region: string;
  note?: string;
  /** Where each group of prices comes from. */
  sources: Record<string, string>;
  instanceTypes: Record<string, { vcpu: number; memoryGiB: number; perHour: number }>;
  /**
   * The load balancer: per hour, plus either AWS ALB's `perLcuHour` (each hour billed the LCUs of its busiest
   * dimension), Google Cloud's forwarding rules' `perGbProcessed`, or Azure's Application Gateway v2
   * `perCapacityUnitHour` with `outboundRulePerHour` (the Standard Load Balancer kept for the VMs' egress).
   * A catalogue gives exactly one of the three usage rates (`parsePricing` refuses more or none).
   */
  loadBalancer: LoadBalancerPrices;
  postgres: Record<string, { perHour: number } | number>;
  redis: Record<string, { perHour: number }>;
  monitoring: { perCustomMetricMonth: number; perAlarmMonth: number; perLogGbIngested: number };
  dataTransfer: { perGbOut: number };
  queue: { perMillionRequests: number };
}

/**
 * A load balancer's prices: AWS ALB's by the LCU-hour, Google Cloud's by the GB processed, or Azure's Application
 * Gateway v2: `perHour` its fixed gateway-hour (public IP included), `perCapacityUnitHour` each capacity unit-hour
 * (reserved by the minimum instance count or used above it), `outboundRulePerHour` the Standard Load Balancer's
 * outbound rule (0 when the VMs reach the internet otherwise).
 */
export type LoadBalancerPrices =
  | { perHour: number; perLcuHour: number }
  | { perHour: number; perGbProcessed: number }
  | { perHour: number; perCapacityUnitHour: number; outboundRulePerHour: number };

export const DEFAULT_PRICING_PATH = fileURLToPath(new URL('../data/pricing-2026-11-27.json', import.meta.url));

/**
 * The highest price a catalogue may hold, per unit: far above any cloud's list price, and low enough
 * that a month of hours times a thousand replicas stays a finite sum (1e308 an hour printed "$∞").
 */
export const MAX_PRICE = 1_000_000;

export function parsePricing(data: unknown, source: string): PricingCatalogue {
  const p = data as Partial<PricingCatalogue> | null;
  const need = ['asOf', 'sources', 'instanceTypes', 'loadBalancer', 'postgres', 'redis', 'monitoring', 'dataTransfer', 'queue'] as const;
  for (const k of need) {
    if (!p || p[k] === undefined) throw new ScalingInputError('MALFORMED_FILE', `${source}: missing "${k}"`);
  }
  const catalogue = p as PricingCatalogue;
  // What every table heads itself with: a missing one printed "Monthly cost (undefined, …; undefined)".
  for (const key of ['asOf', 'currency', 'region'] as const) {
    const value = catalogue[key];
    if (typeof value !== 'string' || value.trim() === '') throw new ScalingInputError('MALFORMED_FILE', `${source}: "${key}" must be a non-empty string (got ${value === undefined ? 'none' : quoteInput(JSON.stringify(value))})`);
  }
  // The catalogue's date, printed as "prices as of …": "last week" was printed as it stood.
  try {
    parseDate(catalogue.asOf, 'asOf');
  } catch {
    throw new ScalingInputError('MALFORMED_FILE', `${source}: "asOf" must be the date the prices were read, an ISO-8601 date such as 2026-11-27 (got ${quoteInput(catalogue.asOf)})`);
  }
  const sources = catalogue.sources as unknown;
  if (sources === null || typeof sources !== 'object' || Array.isArray(sources)) throw new ScalingInputError('MALFORMED_FILE', `${source}: sources must be an object of URLs by price group`);
  for (const [name, url] of Object.entries(sources)) {
    if (typeof url !== 'string' || url.trim() === '') throw new ScalingInputError('MALFORMED_FILE', `${source}: sources.${name} must be a non-empty string (got ${quoteInput(JSON.stringify(url))})`);
  }
  // Every price the cost model reads: a missing or misspelt one priced the month as $NaN.
  const price = (value: unknown, where: string) => {
    if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) throw new ScalingInputError('MALFORMED_FILE', `${source}: ${where} must be a number ≥ 0 (${value === undefined ? 'missing' : `got ${quoteInput(typeof value === 'string' ? value : JSON.stringify(value))}`})`);
    if (value > MAX_PRICE) throw new ScalingInputError('MALFORMED_FILE', `${source}: ${where} must be at most ${MAX_PRICE} (got ${value})`);
  };
  const group = (key: keyof PricingCatalogue): Record<string, unknown> => {
    const value = catalogue[key];
    if (value === null || typeof value !== 'object' || Array.isArray(value)) throw new ScalingInputError('MALFORMED_FILE', `${source}: ${key} must be an object`);
    return value as Record<string, unknown>;
  };
  for (const key of ['instanceTypes', 'redis'] as const) {
    for (const [name, entry] of Object.entries(group(key))) price((entry as { perHour?: unknown } | null)?.perHour, `${key}.${name}.perHour`);
  }
  // PostgreSQL classes by the hour, and one flat number: storagePerGbMonth.
  for (const [name, entry] of Object.entries(group('postgres'))) {
    if (typeof entry === 'number') price(entry, `postgres.${name}`);
    else price((entry as { perHour?: unknown } | null)?.perHour, `postgres.${name}.perHour`);
  }
  const fixed = { loadBalancer: ['perHour'], monitoring: ['perCustomMetricMonth', 'perAlarmMonth', 'perLogGbIngested'], dataTransfer: ['perGbOut'], queue: ['perMillionRequests'] } as const;
  for (const [key, names] of Object.entries(fixed) as [keyof typeof fixed, readonly string[]][]) {
    const prices = group(key);
    for (const name of names) price(prices[name], `${key}.${name}`);
  }
  const lb = group('loadBalancer');
  const usageRates = (['perLcuHour', 'perGbProcessed', 'perCapacityUnitHour'] as const).filter((name) => lb[name] !== undefined);
  if (usageRates.length !== 1) throw new ScalingInputError('MALFORMED_FILE', `${source}: loadBalancer needs exactly one of perLcuHour (AWS ALB), perGbProcessed (Google Cloud) and perCapacityUnitHour (Azure Application Gateway v2) (got ${usageRates.length === 0 ? 'none' : usageRates.join(' and ')})`);
  price(lb[usageRates[0]], `loadBalancer.${usageRates[0]}`);
  // The gateway's catalogue also prices the Standard Load Balancer's outbound rule (0 if none is deployed).
  if (usageRates[0] === 'perCapacityUnitHour') price(lb.outboundRulePerHour, 'loadBalancer.outboundRulePerHour');
  return catalogue;
}

export async function loadPricing(path = DEFAULT_PRICING_PATH): Promise<PricingCatalogue> {
  let text: string;
  try {
    text = await readInputFile(path);
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
