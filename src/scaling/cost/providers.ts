/**
 * The same sale on AWS, Google Cloud and Azure: each provider's dated catalogue, comparable
 * instance/database/cache classes, and the provider's own autoscaler with the plan's pre-scaling
 * (scheduled + predictive, schedules + predictive, fixed-date profiles) simulated on the same forecast.
 */
import { fileURLToPath } from 'node:url';
import type { MonthUsage } from './cost.ts';
import { type CostAssumptions, type CostColumn, DEFAULT_COST_ASSUMPTIONS, getMonthlyCost, type PolicyCost, pricePolicies } from './cost.ts';
import type { SimulationResult } from '../simulate/simulate.ts';
import type { PolicyName } from '../simulate/simulate.ts';
import type { PricingCatalogue } from './pricing.ts';
import { DEFAULT_PRICING_PATH, loadPricing } from './pricing.ts';
import { SEED_DEPLOYMENT_SPEC } from '../manifests/deployment-spec.ts';

export const CLOUD_PROVIDERS = ['aws', 'gcp', 'azure'] as const;
export type CloudProvider = (typeof CLOUD_PROVIDERS)[number];

export interface ProviderSetup {
  label: string;
  pricingPath: string;
  /** Comparable classes: 2 vCPU / 4 GiB compute-optimised instances, 2–8 vCPU PostgreSQL (HA primary + read replica), two managed Redis with a replica each. */
  assumptions: CostAssumptions;
  /** The provider's autoscaler with the plan's pre-scaling. */
  policy: PolicyName;
}

const data = (file: string) => fileURLToPath(new URL(`../data/${file}`, import.meta.url));

export const PROVIDER_SETUPS: Record<CloudProvider, ProviderSetup> = {
  aws: { label: 'AWS (EC2 Auto Scaling, RDS, ElastiCache)', pricingPath: DEFAULT_PRICING_PATH, assumptions: DEFAULT_COST_ASSUMPTIONS, policy: 'aws-scheduled-predictive' },
  gcp: {
    label: 'Google Cloud (MIG autoscaler, Cloud SQL, Memorystore)',
    pricingPath: data('pricing-gcp-2026-12-03.json'),
    assumptions: {
      ...DEFAULT_COST_ASSUMPTIONS,
      // The machine type deploy/gcp launches (web and workers).
      instanceType: SEED_DEPLOYMENT_SPEC.gcp.machineType,
      postgresClass: { normal: 'db-custom-2-8192', peak: 'db-custom-4-16384', sale: 'db-custom-8-32768' },
      redisClass: { normal: 'standard-2gb', peak: 'standard-5gb', sale: 'standard-13gb' },
      // deploy/gcp: two Memorystore instances (queue, cache) of the Standard tier, which prices the replica in.
      redisNodes: 2,
    },
    policy: 'gce-predictive-scheduled',
  },
  azure: {
    label: 'Azure (VM scale set autoscale, PostgreSQL flexible server, Azure Cache for Redis)',
    pricingPath: data('pricing-azure-2026-12-03.json'),
    assumptions: {
      ...DEFAULT_COST_ASSUMPTIONS,
      // The VM size deploy/azure launches (both scale sets).
      instanceType: SEED_DEPLOYMENT_SPEC.azure.vmSize,
      postgresClass: { normal: 'GP_Standard_D2ds_v5', peak: 'GP_Standard_D4ds_v5', sale: 'GP_Standard_D8ds_v5' },
      redisClass: { normal: 'Standard_C1', peak: 'Standard_C2', sale: 'Premium_P1' },
      // deploy/azure: two caches (queue, cache); Standard and Premium price the replica in.
      redisNodes: 2,
      // deploy/azure: the Application Gateway v2's autoscaleConfiguration.minCapacity (10 reserved CUs each).
      gatewayMinInstances: 2,
    },
    policy: 'azure-fixeddate',
  },
};

export async function loadProviderPricing(paths: Partial<Record<CloudProvider, string>> = {}): Promise<Record<CloudProvider, PricingCatalogue>> {
  const out = {} as Record<CloudProvider, PricingCatalogue>;
  for (const p of CLOUD_PROVIDERS) out[p] = await loadPricing(paths[p] ?? PROVIDER_SETUPS[p].pricingPath);
  return out;
}

export interface ProviderCost {
  provider: CloudProvider;
  label: string;
  region: string;
  asOf: string;
  instanceType: string;
  sale: PolicyCost;
  saleMonth: CostColumn;
}

/** Prices each provider's own simulated policy for the window and its sale month from the same usage. */
export function compareProviders(
  results: readonly SimulationResult[],
  pricing: Record<CloudProvider, PricingCatalogue>,
  o: { hours: number; ordersPerRequest: number; saleMonth: MonthUsage; workerInstanceHours?: number },
): ProviderCost[] {
  return CLOUD_PROVIDERS.map((provider) => {
    const setup = PROVIDER_SETUPS[provider];
    const result = results.find((r) => r.policy === setup.policy);
    if (!result) throw new Error(`no simulation of ${setup.policy} for ${provider}`);
    const [sale] = pricePolicies([result], pricing[provider], { hours: o.hours, ordersPerRequest: o.ordersPerRequest, assumptions: setup.assumptions, workerInstanceHours: o.workerInstanceHours });
    return {
      provider,
      label: setup.label,
      region: pricing[provider].region,
      asOf: pricing[provider].asOf,
      instanceType: setup.assumptions.instanceType,
      sale,
      saleMonth: getMonthlyCost(o.saleMonth, 'sale', pricing[provider], setup.assumptions),
    };
  });
}
