import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { ScalingInputError } from '../errors.ts';
import { DEFAULT_WEB_PLAN, DEFAULT_WORKER_PLAN, getJobsPerOrder, planCapacity } from '../capacity/plan.ts';
import { COST_COMPONENTS, DEFAULT_COST_ASSUMPTIONS, getMonthUsage, getMonthlyCost, getSaleMonth } from './cost.ts';
import { DEFAULT_PRICING_PATH, loadPricing } from './pricing.ts';

describe('cost', () => {
  it('prices a month from usage and the catalogue, summing the components', async () => {
    const p = await loadPricing();
    assert.ok(p.sources.ec2.startsWith('https://'));
    const col = getMonthlyCost({ webInstanceHours: 1000, workerInstanceHours: 0, requests: 0, jobs: 0 }, 'normal', p);
    assert.equal(col['EC2 Instances'], 1000 * p.instanceTypes['c6i.large'].perHour);
    const sum = COST_COMPONENTS.reduce((s, c) => s + col[c], 0);
    assert.ok(Math.abs(col.Total - sum) < 1e-9);
  });

  it('counts the requests and jobs of a month from the forecast\'s requests per hour, not from each hour\'s peak rate (data transfer, logs and queue calls were priced at the peak minute all hour)', () => {
    // A flash sale: 2,000 req/s for a quarter of the hour on 200 req/s; the plan sizes on the peak.
    const hour = { hour: '2026-11-27T17:00:00.000Z', baseRequestsPerSecond: 200, eventMultiplier: 10, meanRequestsPerSecond: 650, peakRequestsPerSecond: 2000, requestsInHour: 650 * 3600 };
    const plan = planCapacity([hour, { ...hour, hour: '2026-11-27T18:00:00.000Z' }], { ...DEFAULT_WEB_PLAN, capacityPerInstanceRps: 150 });
    assert.equal(plan.hours[0].webReplicas, 19, 'sized on the peak');
    const usage = getMonthUsage(plan, 2);
    assert.equal(usage.requests, 2 * 650 * 3600);
    assert.ok(Math.abs(usage.jobs - 2 * 650 * 3600 * DEFAULT_WORKER_PLAN.ordersPerRequest * getJobsPerOrder(DEFAULT_WORKER_PLAN)) < 1e-6, `jobs ${usage.jobs}`);
  });
});

describe('the load balancer of a month', () => {
  it('bills each provider by its own rule: ALB LCU-hours as each hour\'s processed GB with no 1-LCU floor, GCP rule hours plus GB processed, Azure\'s Application Gateway v2 hours plus capacity units (a quiet month paid for 730 GB it did not process)', async () => {
    const { PROVIDER_SETUPS, loadProviderPricing } = await import('./providers.ts');
    const clouds = await loadProviderPricing();
    // 58 GiB in the month: 59,392 responses of 1 MiB.
    const usage = { webInstanceHours: 0, workerInstanceHours: 0, requests: 58 * 1024, jobs: 0 };
    const lb = (provider: 'aws' | 'gcp' | 'azure') => getMonthlyCost(usage, 'normal', clouds[provider], { ...PROVIDER_SETUPS[provider].assumptions, responseKb: 1024 })['Load Balancer'];
    // AWS (aws.amazon.com/elasticloadbalancing/pricing, us-east-1): $0.0225 per ALB-hour + $0.008 per LCU-hour; an
    // hour's LCUs are the highest of its dimensions (1 LCU = 25 new connections/s, 3,000 active connections/min,
    // 1 GB/h processed for EC2 targets, 1,000 rule evaluations/s), fractions billed, no minimum:
    // 730 × 0.0225 + 58 × 0.008 = 16.425 + 0.464 = 16.889 (was 730 LCU-hours: 22.265).
    assert.ok(Math.abs(lb('aws') - 16.889) < 1e-9, `aws ${lb('aws')}`);
    // Google Cloud (cloud.google.com/load-balancing/pricing, us-central1): first 5 forwarding rules $0.025/h +
    // data processed $0.008/GiB: 730 × 0.025 + 58 × 0.008 = 18.25 + 0.464 = 18.714.
    assert.ok(Math.abs(lb('gcp') - 18.714) < 1e-9, `gcp ${lb('gcp')}`);
    // Azure: deploy/azure fronts the web scale set with an Application Gateway v2 (Standard_v2, autoscale minCapacity 2)
    // and keeps a Standard Load Balancer for the outbound rule only. Gateway (learn.microsoft.com/azure/
    // application-gateway/understanding-pricing, East US): $0.246 per gateway-hour + $0.008 per capacity unit-hour, the
    // minimum instance count reserving 10 CUs each (20 CUs); 58 GiB over 730 h is 0.19 Mbps, 0.09 CU, under the 20
    // reserved. Outbound rule: Standard Load Balancer first 5 rules $0.025/h (its data processed is the VMs' egress, not
    // the responses): 730 × 0.246 + 730 × 20 × 0.008 + 730 × 0.025 = 179.58 + 116.8 + 18.25 = 314.63 (was the Standard
    // Load Balancer's inbound rule: 730 × 0.025 + 58 × 0.005 = 18.54).
    assert.ok(Math.abs(lb('azure') - 314.63) < 1e-9, `azure ${lb('azure')}`);
  });

  it('bills the ALB the LCU-hours of the GB the plan\'s hours processed, with no 1-LCU floor: a sale hour and a quiet hour are each billed what they processed', async () => {
    const p = await loadPricing();
    // Two plan hours as a two-hour month: 1.5 GiB in the sale hour (1.5 LCUs), 0.25 GiB in the quiet one (0.25 LCU).
    const hour = { hour: '2026-11-27T17:00:00.000Z', baseRequestsPerSecond: 1, eventMultiplier: 1, meanRequestsPerSecond: 1, peakRequestsPerSecond: 1, requestsInHour: 1.5 * 1024 };
    const plan = planCapacity([hour, { ...hour, hour: '2026-11-27T18:00:00.000Z', requestsInHour: 256 }], { ...DEFAULT_WEB_PLAN, capacityPerInstanceRps: 150 });
    const a = { ...DEFAULT_COST_ASSUMPTIONS, responseKb: 1024, hoursPerMonth: 2 };
    const col = getMonthlyCost(getMonthUsage(plan, 2), 'normal', p, a);
    // 2 × 0.0225 + (1.5 + 0.25) × 0.008 = 0.045 + 0.014 = 0.059 (max(2 hours, 1.75 GiB) billed 2 LCU-hours: 0.061).
    assert.ok(Math.abs(col['Load Balancer'] - 0.059) < 1e-9, `${col['Load Balancer']}`);
  });
});

describe('Azure\'s Application Gateway v2', () => {
  // Microsoft's worked examples, learn.microsoft.com/azure/application-gateway/understanding-pricing ("Understanding
  // Pricing for Azure Application Gateway and Web Application Firewall", East US snapshot prices "for illustration":
  // Standard_V2 $0.246 per gateway-hour, $0.008 per capacity unit-hour; 1 CU = 1 compute unit (about 50 TLS
  // connections/s, RSA 2048), 2,500 persistent connections or 2.22 Mbps, whichever is highest; the minimum instance
  // count reserves 10 CUs per instance, billed while the gateway runs; 730 hours a month). Each response here is
  // 10^6 / 8 / 1024 KiB = exactly 1 Mb, so requests/s are the Mbps. The catalogue's Standard Load Balancer outbound
  // rule ($0.025/h, the first 5 rules) is added to the examples' gateway totals.
  const mb = 1e6 / 8 / 1024;
  const gateway = async () => {
    const { PROVIDER_SETUPS, loadProviderPricing } = await import('./providers.ts');
    const { getLoadBalancerCost } = await import('./cost.ts');
    const p = (await loadProviderPricing()).azure;
    return (mbps: number, hours: number, minInstances: number) =>
      getLoadBalancerCost({ requests: mbps * 3600 * hours }, p, { ...PROVIDER_SETUPS.azure.assumptions, responseKb: mb, hoursPerMonth: hours, gatewayMinInstances: minInstances });
  };

  it('prices Example 1 (a): 8 instances all month at 88.8 Mbps = 40 CUs under the 80 reserved: $179.58 + $467.20 = $646.78 (+ the outbound rule\'s $18.25)', async () => {
    const cost = await gateway();
    // Fixed 0.246 × 730 = 179.58; variable 0.008 × 8 × 10 × 730 = 467.2; the outbound rule 0.025 × 730 = 18.25.
    assert.ok(Math.abs(cost(88.8, 730, 8) - (646.78 + 18.25)) < 1e-6, `${cost(88.8, 730, 8)}`);
  });

  it('prices Example 1 (b): 3 instances at 88.8 Mbps = 40 CUs, 10 above the 30 reserved: $179.58 + $233.60 = $413.18 (+ $18.25)', async () => {
    const cost = await gateway();
    // Variable 0.008 × (3 × 10 + 10) × 730 = 233.6.
    assert.ok(Math.abs(cost(88.8, 730, 3) - (413.18 + 18.25)) < 1e-6, `${cost(88.8, 730, 3)}`);
  });

  it('prices Example 5: Standard_V2, minimum 0, 2 hours of 10 then 20 CUs: $0.492 + $0.24 = $0.732 (+ $0.05), the hours\' CUs summed', async () => {
    const cost = await gateway();
    // 10 + 20 CUs over 2 h = a mean of 15 CUs = 33.3 Mbps; 0.246 × 2 + 0.008 × 30 = 0.732; outbound 0.025 × 2 = 0.05.
    assert.ok(Math.abs(cost(15 * 2.22, 2, 0) - (0.732 + 0.05)) < 1e-9, `${cost(15 * 2.22, 2, 0)}`);
  });

  it('bills the gateway\'s minimum instances as the rendered template sets them (autoscaleConfiguration.minCapacity)', async () => {
    const { PROVIDER_SETUPS } = await import('./providers.ts');
    const { arm } = await renderedCloudTemplates();
    // biome-ignore lint/suspicious/noExplicitAny: the parsed template is navigated freely.
    const gateways = (arm.resources as any[]).filter((r) => r.type === 'Microsoft.Network/applicationGateways');
    assert.equal(gateways.length, 1);
    assert.equal(gateways[0].properties.sku.name, 'Standard_v2');
    assert.equal(PROVIDER_SETUPS.azure.assumptions.gatewayMinInstances, gateways[0].properties.autoscaleConfiguration.minCapacity);
  });
});

describe('the load balancer of a sale window', () => {
  it('bills the window\'s processed bytes by the same rule as the month (ALB LCU-hours, GCP and Azure GB processed), not its hours alone', async () => {
    const { PROVIDER_SETUPS, loadProviderPricing } = await import('./providers.ts');
    const { pricePolicies } = await import('./cost.ts');
    const clouds = await loadProviderPricing();
    // Two policies over the same 1-hour window with the same instance-hours: one served nothing, the other 2,048
    // responses of 1 MiB = 2 GiB. getLoadBalancerCost bills the month that way: AWS ALB 1 LCU = 1 GB processed in an
    // hour (aws.amazon.com/elasticloadbalancing/pricing), so 2 LCU-hours × $0.008 = $0.016; Google Cloud $0.008/GiB
    // processed: 2 × 0.008 = $0.016; Azure Standard LB $0.005/GB: 2 × 0.005 = $0.01. pricePolicies' sharedCost
    // took only the hours (perHour), so both rows cost the same.
    // Azure's Application Gateway v2 bills capacity units above the 20 its minimum of 2 instances reserves: 2 GiB in an
    // hour is 4.8 Mbps, 2.1 CUs, within them (+ $0); 100 GiB (102,400 responses) is 100 × 2^30 × 8 / 3600 / 10^6 =
    // 238.609 Mbps / 2.22 = 107.482 CUs (the compute units, 102,400 / 3600 / 50 = 0.57, are fewer), so
    // (107.482 − 20) × $0.008 = $0.69985 more than the idle row's 20 reserved.
    const totals = (servedRequests: number) => ({ minutesOverSlo: 0, failedRequests: 0, totalRequests: servedRequests, servedRequests, instanceHours: 3, cost: 0, peakReplicas: 3, maxP95Ms: 50, readiness: [] });
    const expected = { aws: 0.016, gcp: 0.016, azure: 0 };
    const cases = [...(['aws', 'gcp', 'azure'] as const).map((provider) => [provider, 2048, expected[provider]] as const), ['azure', 102_400, ((100 * 2 ** 30 * 8) / 3600 / 1e6 / 2.22 - 20) * 0.008] as const];
    assert.ok(Math.abs(cases[3][2] - 0.69985) < 1e-5, `${cases[3][2]}`);
    for (const [provider, served, delta] of cases) {
      const results = [0, served].map((s) => ({ policy: 'hpa' as const, description: '', timeline: [], totals: totals(s) }));
      const [idle, busy] = pricePolicies(results, clouds[provider], { hours: 1, ordersPerRequest: 0, assumptions: { ...PROVIDER_SETUPS[provider].assumptions, responseKb: 1024 } });
      assert.ok(Math.abs(busy.totalCost - idle.totalCost - delta) < 1e-9, `${provider} ${served}: ${busy.totalCost - idle.totalCost}`);
    }
  });
});

describe('the pricing catalogue', () => {
  it('refuses a catalogue whose prices are missing or of the wrong shape, naming the price (they priced as $NaN)', async () => {
    const good = JSON.parse(readFileSync(DEFAULT_PRICING_PATH, 'utf8')) as Record<string, unknown>;
    const dir = mkdtempSync(join(tmpdir(), 'salescale-pricing-'));
    try {
      const cases: [Record<string, unknown>, RegExp][] = [
        [{ ...good, loadBalancer: {} }, /loadBalancer\.perHour must be a number ≥ 0/],
        [{ ...good, monitoring: { ...(good.monitoring as object), perAlarmMonth: 'cheap' } }, /monitoring\.perAlarmMonth must be a number ≥ 0/],
        [{ ...good, dataTransfer: { perGbOut: -1 } }, /dataTransfer\.perGbOut must be a number ≥ 0/],
        [{ ...good, instanceTypes: null }, /instanceTypes must be an object/],
        [{ ...good, instanceTypes: { 'c6i.large': null } }, /instanceTypes\.c6i\.large\.perHour must be a number ≥ 0/],
        [{ ...good, redis: { 'cache.t4g.medium': { perHour: null } } }, /redis\.cache\.t4g\.medium\.perHour must be a number ≥ 0/],
        [{ ...good, postgres: 5 }, /postgres must be an object/],
        // Azure's Application Gateway v2 catalogue prices the Standard Load Balancer's outbound rule too.
        [{ ...good, loadBalancer: { perHour: 0.246, perCapacityUnitHour: 0.008 } }, /loadBalancer\.outboundRulePerHour must be a number ≥ 0/],
        [{ ...good, loadBalancer: { perHour: 0.246, perCapacityUnitHour: 0.008, perGbProcessed: 0.005, outboundRulePerHour: 0.025 } }, /exactly one of .* \(got perGbProcessed and perCapacityUnitHour\)/],
      ];
      for (const [i, [catalogue, pattern]] of cases.entries()) {
        const file = join(dir, `pricing-${i}.json`);
        writeFileSync(file, JSON.stringify(catalogue));
        await assert.rejects(loadPricing(file), (e: unknown) => e instanceof ScalingInputError && e.code === 'MALFORMED_FILE' && pattern.test(e.message), `case ${i}`);
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('the pricing catalogue header and magnitudes', () => {
  it('refuses a catalogue without its region, currency or date, with a date that is none (printed "prices as of last week"), with sources that are not URLs by name, or a price that overflows the month (printed "undefined" and "$∞")', async () => {
    const good = JSON.parse(readFileSync(DEFAULT_PRICING_PATH, 'utf8')) as Record<string, unknown>;
    const dir = mkdtempSync(join(tmpdir(), 'salescale-pricing-'));
    try {
      const { region: _region, ...noRegion } = good;
      const cases: [Record<string, unknown>, RegExp][] = [
        [noRegion, /"region" must be a non-empty string/],
        [{ ...good, currency: '' }, /"currency" must be a non-empty string/],
        [{ ...good, asOf: 5 }, /"asOf" must be a non-empty string/],
        [{ ...good, asOf: 'last week' }, /"asOf" must be the date the prices were read, an ISO-8601 date such as 2026-11-27 \(got "last week"\)/],
        [{ ...good, sources: 'https://aws.amazon.com' }, /sources must be an object/],
        [{ ...good, sources: { ec2: 5 } }, /sources\.ec2 must be a non-empty string/],
        [{ ...good, instanceTypes: { 'c6i.large': { vcpu: 2, memoryGiB: 4, perHour: 1e308 } } }, /instanceTypes\.c6i\.large\.perHour must be at most 1000000/],
      ];
      for (const [i, [catalogue, pattern]] of cases.entries()) {
        const file = join(dir, `pricing-${i}.json`);
        writeFileSync(file, JSON.stringify(catalogue));
        await assert.rejects(loadPricing(file), (e: unknown) => e instanceof ScalingInputError && e.code === 'MALFORMED_FILE' && pattern.test(e.message), `case ${i}`);
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('the same sale on AWS, Google Cloud and Azure', () => {
  it('loads dated GCP and Azure catalogues with sources and prices each provider’s own policy with its own prices', async () => {
    const { CLOUD_PROVIDERS, PROVIDER_SETUPS, compareProviders, loadProviderPricing } = await import('./providers.ts');
    const clouds = await loadProviderPricing();
    for (const p of CLOUD_PROVIDERS) {
      assert.match(clouds[p].asOf, /^\d{4}-\d{2}-\d{2}$/);
      assert.ok(Object.values(clouds[p].sources).every((s) => s.startsWith('https://')), p);
      assert.ok(clouds[p].instanceTypes[PROVIDER_SETUPS[p].assumptions.instanceType], `${p} prices its instance type`);
    }
    const totals = { minutesOverSlo: 0, failedRequests: 0, totalRequests: 1e6, servedRequests: 1e6, instanceHours: 100, cost: 0, peakReplicas: 5, maxP95Ms: 100, readiness: [] };
    const results = CLOUD_PROVIDERS.map((p) => ({ policy: PROVIDER_SETUPS[p].policy, description: '', timeline: [], totals }));
    const usage = { webInstanceHours: 1000, workerInstanceHours: 0, requests: 0, jobs: 0 };
    const rows = compareProviders(results, clouds, { hours: 10, ordersPerRequest: 0.002, saleMonth: usage });
    for (const row of rows) {
      const price = clouds[row.provider].instanceTypes[row.instanceType].perHour;
      assert.ok(Math.abs(row.sale.instanceCost - 100 * price) < 1e-9, row.provider);
      assert.ok(Math.abs(row.saleMonth['EC2 Instances'] - 1000 * price) < 1e-9, row.provider);
    }
    assert.notEqual(rows[1].sale.totalCost, rows[2].sale.totalCost);
  });

  it('prices each Google Cloud machine type as its vCPUs and memory at its family\'s rates, within the catalogue\'s rounding (c2d-highcpu-2 read $0.07543 for $0.074962)', async () => {
    const { loadProviderPricing } = await import('./providers.ts');
    const gcp = (await loadProviderPricing()).gcp;
    // cloud.google.com/compute/vm-instance-pricing, us-central1 on-demand, per vCPU-hour and GiB-hour:
    // E2 $0.021811 / $0.002923, N2 $0.031611 / $0.004237, C2D $0.029563 / $0.003959. A predefined type is their sum,
    // e.g. c2d-highcpu-2 = 2 × 0.029563 + 4 × 0.003959 = 0.059126 + 0.015836 = 0.074962.
    const rates: Record<string, [number, number]> = { e2: [0.021811, 0.002923], n2: [0.031611, 0.004237], c2d: [0.029563, 0.003959] };
    for (const [name, t] of Object.entries(gcp.instanceTypes)) {
      const [perVcpu, perGib] = rates[name.split('-')[0]];
      const derived = t.vcpu * perVcpu + t.memoryGiB * perGib;
      // The catalogue rounds to 5 or 6 decimals (e2-highcpu-2: 0.049468 recorded as 0.04947).
      assert.ok(Math.abs(t.perHour - derived) <= 0.000005, `${name}: ${t.perHour} vs ${derived.toFixed(6)}`);
    }
  });

  it('prices the instance type each cloud\'s rendered template deploys, web and workers (AWS priced c6i.large while CloudFormation launched t3.small)', async () => {
    const { PROVIDER_SETUPS } = await import('./providers.ts');
    const { DEFAULT_COST_ASSUMPTIONS } = await import('./cost.ts');
    const { cfn, tf, arm } = await renderedCloudTemplates();
    const deployed = {
      aws: [cfn.Parameters.WebInstanceType.Default, cfn.Parameters.WorkerInstanceType.Default],
      gcp: [tf.variable.web_machine_type[0].default, tf.variable.worker_machine_type[0].default],
      azure: [arm.parameters.vmSize.defaultValue, arm.parameters.vmSize.defaultValue],
    };
    for (const [provider, types] of Object.entries(deployed) as [keyof typeof PROVIDER_SETUPS, string[]][]) {
      const priced = PROVIDER_SETUPS[provider].assumptions.instanceType;
      assert.deepEqual(types, [priced, priced], provider);
    }
    assert.equal(DEFAULT_COST_ASSUMPTIONS.instanceType, PROVIDER_SETUPS.aws.assumptions.instanceType, 'the monthly table prices the AWS instances too');
  });

  it('prices every database and Redis instance each cloud\'s rendered template runs: the HA standby, the read replica, the queue and the cache Redis (one PostgreSQL and one Redis were priced)', async () => {
    const { CLOUD_PROVIDERS, PROVIDER_SETUPS, loadProviderPricing } = await import('./providers.ts');
    const { getMonthlyCost } = await import('./cost.ts');
    const { cfn, tf, arm } = await renderedCloudTemplates();
    // biome-ignore lint/suspicious/noExplicitAny: as above.
    const cfnOf = (type: string) => Object.values(cfn.Resources as Record<string, any>).filter((r) => r.Type === type);
    // biome-ignore lint/suspicious/noExplicitAny: as above.
    const armOf = (type: string) => (arm.resources as any[]).filter((r) => r.type === type);
    // A highly available primary is billed twice (its standby as much as itself), a read replica once.
    const deployed = {
      aws: {
        // biome-ignore lint/suspicious/noExplicitAny: as above.
        postgres: cfnOf('AWS::RDS::DBInstance').reduce((n: number, r: any) => n + (r.Properties.MultiAZ === true ? 2 : 1), 0),
        // biome-ignore lint/suspicious/noExplicitAny: as above.
        redis: cfnOf('AWS::ElastiCache::ReplicationGroup').reduce((n: number, r: any) => n + r.Properties.NumCacheClusters, 0),
      },
      gcp: {
        // biome-ignore lint/suspicious/noExplicitAny: as above.
        postgres: Object.values(tf.resource.google_sql_database_instance as Record<string, any[]>).reduce((n, [r]) => n + (r.settings[0].availability_type === 'REGIONAL' ? 2 : 1), 0),
        // Memorystore Standard tier: one price for the primary and its replica.
        redis: Object.keys(tf.resource.google_redis_instance).length,
      },
      azure: {
        // biome-ignore lint/suspicious/noExplicitAny: as above.
        postgres: armOf('Microsoft.DBforPostgreSQL/flexibleServers').reduce((n: number, r: any) => n + (r.properties.highAvailability?.mode === 'ZoneRedundant' ? 2 : 1), 0),
        // Azure Cache for Redis Standard: one price for the primary and its replica.
        redis: armOf('Microsoft.Cache/redis').length,
      },
    };
    assert.deepEqual(deployed, { aws: { postgres: 3, redis: 4 }, gcp: { postgres: 3, redis: 2 }, azure: { postgres: 3, redis: 2 } }, 'the templates this test reads');
    const clouds = await loadProviderPricing();
    const usage = { webInstanceHours: 0, workerInstanceHours: 0, requests: 0, jobs: 0 };
    for (const provider of CLOUD_PROVIDERS) {
      const a = PROVIDER_SETUPS[provider].assumptions;
      const p = clouds[provider];
      const month = getMonthlyCost(usage, 'sale', p, a);
      const postgres = a.hoursPerMonth * deployed[provider].postgres * (p.postgres[a.postgresClass.sale] as { perHour: number }).perHour + deployed[provider].postgres * a.postgresStorageGb * (p.postgres.storagePerGbMonth as number);
      const redis = a.hoursPerMonth * deployed[provider].redis * p.redis[a.redisClass.sale].perHour;
      assert.ok(Math.abs(month['RDS PostgreSQL'] - postgres) < 1e-6, `${provider} PostgreSQL: ${month['RDS PostgreSQL']} vs ${postgres}`);
      assert.ok(Math.abs(month['ElastiCache Redis'] - redis) < 1e-6, `${provider} Redis: ${month['ElastiCache Redis']} vs ${redis}`);
    }
  });
});

/** The AWS, Google Cloud and Azure templates as the seed spec renders them, parsed (CloudFormation, Terraform, ARM). */
// biome-ignore lint/suspicious/noExplicitAny: the parsed templates are navigated freely.
async function renderedCloudTemplates(): Promise<{ cfn: any; tf: any; arm: any }> {
  const { SEED_DEPLOYMENT_SPEC } = await import('../manifests/deployment-spec.ts');
  const { renderTargets } = await import('../manifests/manifests.ts');
  const { getObject } = await import('../manifests/validate/rendered-objects.ts');
  const { parseTerraform } = await import('../manifests/validate/terraform-validate.ts');
  const files = renderTargets(['aws', 'gcp', 'azure'], SEED_DEPLOYMENT_SPEC);
  return { cfn: getObject(files, 'deploy/aws/salescale.yaml'), tf: await parseTerraform(files), arm: getObject(files, 'deploy/azure/salescale.json') };
}

describe('getSaleMonth', () => {
  const iso = (m: { start: Date; end: Date; weeks: number }) => ({ start: m.start.toISOString(), end: m.end.toISOString(), weeks: m.weeks });
  const d = (s: string) => new Date(s);

  it('keeps 10 November + 4 weeks for a window inside them, from the history\'s first hour when it starts later', () => {
    assert.deepEqual(iso(getSaleMonth(d('2026-11-26T21:00Z'), d('2026-11-28T00:00Z'))), { start: '2026-11-10T00:00:00.000Z', end: '2026-12-08T00:00:00.000Z', weeks: 4 });
    assert.deepEqual(iso(getSaleMonth(d('2026-11-26T21:00Z'), d('2026-11-28T00:00Z'), d('2026-11-12T05:00Z'))).start, '2026-11-12T05:00:00.000Z');
  });

  it('otherwise starts 2 weeks before the window\'s first day, later when the window\'s end or the history asks it', () => {
    assert.deepEqual(iso(getSaleMonth(d('2026-12-14T21:00Z'), d('2026-12-16T00:00Z'))), { start: '2026-11-30T00:00:00.000Z', end: '2026-12-28T00:00:00.000Z', weeks: 4 });
    // A 20-day window: moved later so that its end fits.
    assert.deepEqual(iso(getSaleMonth(d('2026-06-01T00:00Z'), d('2026-06-21T00:00Z'))), { start: '2026-05-24T00:00:00.000Z', end: '2026-06-21T00:00:00.000Z', weeks: 4 });
    assert.deepEqual(iso(getSaleMonth(d('2026-06-05T10:00Z'), d('2026-06-06T00:00Z'), d('2026-06-01T03:00Z'))).start, '2026-06-01T03:00:00.000Z');
  });

  it('is the fewest whole weeks holding a window longer than 4 weeks', () => {
    const from = d('2026-10-01T10:30Z');
    const to = d('2026-11-15T00:00Z');
    const m = getSaleMonth(from, to);
    assert.equal(m.weeks, 7);
    assert.equal(m.end.getTime() - m.start.getTime(), 7 * 7 * 86_400_000);
    assert.ok(m.start <= from && to <= m.end, JSON.stringify(iso(m)));
  });
});
