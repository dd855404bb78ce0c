/**
 * `salescale forecast | plan | simulate | cost | backtest`. Tables by default, `--json` for machines,
 * `--out report.html|.svg|.png` for charts. Input errors print one line and exit with code 2.
 */
import { SingleBar } from 'cli-progress';
import type { Command } from 'commander';
import { DEFAULT_CHECK_ASSUMPTIONS, runChecks } from './capacity/checks.ts';
import { REDIS_DEFAULT_MAXCLIENTS } from './capacity/redis-connections.ts';
import { checkNodePool } from './capacity/node-checks.ts';
import { DEFAULT_WORKER_PLAN, describeSpecMaxExceedance, getJobsPerOrder, getQueueThroughput, getQueueWorkloads, getSpecMaxExceedances, planCapacity, type CapacityPlan } from './capacity/plan.ts';
import { checkScheduleStart } from './capacity/schedule-start-check.ts';
import { checkVmLeadTime } from './capacity/vm-lead-check.ts';
import { AWS_EVALUATION_SECONDS, DEFAULT_TARGET_TRACKING } from './simulate/aws-target-tracking.ts';
import { getScheduleWaitSeconds } from './simulate/scaler.ts';
import { DEFAULT_AZURE_SCALER } from './simulate/azure-scaler.ts';
import { DEFAULT_GCE_SCALER } from './simulate/gce-scaler.ts';
import { checkPrescaleTimeZone } from './capacity/time-zone-check.ts';
import type { NodePoolCliOptions } from './cli-node-pool.ts';
import { addNodePoolOptions, resolveNodeMax, resolveNodeSize, resolveProvisioningSeconds, resolveSimulateNodePool } from './cli-node-pool.ts';
import type { CapacityOptions, CommonOptions, DbPools, ScalingCliDeps } from './cli-inputs.ts';
import type { CapacityCheckConfig } from '../platform/config/config.ts';
import { DEPLOYED_ENGINES, DEPLOYED_PLAN, MAX_REPLICAS, getCapacityCheckConfig, isWallClockHistory, resolveDbPools, loadHistory, loadNamedEvents, parseQuantile, resolveForecast, resolveTimeZone, resolveWebCapacity, toBoundedNumber, toNumber, toOrdersPerRequest } from './cli-inputs.ts';
import { DEFAULT_COST_ASSUMPTIONS, SCENARIOS, getMonthUsage, getMonthlyCost, getSaleMonth, getWindowWorkerHours, pricePolicies } from './cost/cost.ts';
import { COST_COMPONENTS } from './cost/cost.ts';
import { loadPricing } from './cost/pricing.ts';
import { CLOUD_PROVIDERS, PROVIDER_SETUPS, compareProviders, loadProviderPricing } from './cost/providers.ts';
import { ScalingInputError, formatInputError, quoteInput } from './errors.ts';
import { QUEUE_NAMES, queuePrefix } from '../platform/queue/queue-definitions.ts';
import { getK8sRolloutSurge } from './manifests/connection-budget.ts';
import { SEED_DEPLOYMENT_SPEC } from './manifests/deployment-spec.ts';
import { getSpecWorkerKedaOptions, getWorkerListLengths } from './manifests/prescale-plan.ts';
import { getWorstWeekRatio, runBacktest } from './forecast/backtest.ts';
import { createHolidayPredicate } from './forecast/holidays.ts';
import { forecastHourly } from './forecast/forecast.ts';
import { MIN_HISTORY_WEEKS } from './forecast/model-selection.ts';
import { WEEK } from './forecast/seasonal-models.ts';
import { buildForecastChartSpec } from './report/forecast-chart.ts';
import { formatMoney, formatRate, renderTable } from './report/table.ts';
import { applyHpaTolerance, getPrescaleWindows, toAwsScheduledActions, toKedaCronTriggers, toScheduleTable } from './schedule/schedule.ts';
import { DEFAULT_CLUSTER_AUTOSCALER } from './simulate/cluster-autoscaler.ts';
import { comparePolicies } from './simulate/compare.ts';
import { DEFAULT_HPA_SCALER } from './simulate/k8s-hpa-scaler.ts';
import { formatReadiness } from './simulate/readiness.ts';
import type { PolicyName, SimulationResult } from './simulate/simulate.ts';
import { KUBERNETES_POLICIES, POLICY_NAMES, isPrescaledPolicy, parsePolicyName } from './simulate/simulate.ts';
import type { WorkerPolicyName } from './simulate/simulate-workers.ts';
import { QUEUE_DEPTH_THRESHOLDS, WORKER_POLICY_NAMES, compareWorkerPolicies, isWorkerPolicyName } from './simulate/simulate-workers.ts';
import { getWorkerThroughput } from './simulate/worker-queue.ts';
import { TEST_DATASETS, getTestDataset } from './test-data/generate.ts';
import { REAL_DATASETS, getRealDataset, isRealDatasetName } from './test-data/real-datasets.ts';
import type { HourlyPoint } from './forecast/csv.ts';

export type { ScalingCliDeps } from './cli-inputs.ts';

/** One policy per engine, each with its sale pre-scaling: HPA, HPA + KEDA cron, AWS, Google Cloud, Azure. */
export const DEFAULT_SIMULATE_POLICIES = 'hpa,hpa-prescaled,aws-scheduled-predictive,gce-predictive-scheduled,azure-fixeddate';

/** Each of the forecast's warnings on stderr, `warning: ` first. */
function warnAll(cmd: Command, warnings: readonly string[]): void {
  const err = cmd.configureOutput().writeErr ?? ((s: string) => process.stderr.write(s));
  for (const w of warnings) err(`warning: ${w}\n`);
}

function write(cmd: Command, text: string): void {
  const out = cmd.configureOutput().writeOut ?? ((s: string) => process.stdout.write(s));
  out(text.endsWith('\n') ? text : `${text}\n`);
}

/**
 * Longest pre-scaling lead (`--lead`, minutes): a week. The KEDA cron triggers carry a day and a month but
 * no year, so a lead near a year or longer wrapped round it: 600000 minutes (417 days) rendered a window
 * from 6 October, with nothing said.
 */
export const MAX_LEAD_MINUTES = 7 * 24 * 60;

/** `replicas.max` of each role in the deployment spec: the most any rendered platform file runs. */
const SPEC_MAX_REPLICAS = { web: SEED_DEPLOYMENT_SPEC.web.replicas.max, worker: SEED_DEPLOYMENT_SPEC.worker.replicas.max };

/** What `--no-progress` does: simulate draws a bar on a terminal; the other commands accept the flag so that scripts can pass it to every one. */
const NO_PROGRESS = {
  drawn: 'no progress bar on stderr (drawn only when stderr is a terminal)',
  none: 'accepted for scripts that pass it to every command: this command draws no progress bar',
};

/** The forecast's options: forecast, plan, simulate and cost. */
function addForecastOptions(cmd: Command, progress: string, quantileUse: string): Command {
  return cmd
    .option('--from <iso>', 'window start (default: 3 h before the event)')
    .option('--to <iso>', 'window end (default: end of the event day); the window is at most 45 days')
    .option('--year <yyyy>', 'year of the calendar event (default: year of --from, else the next --event that has not ended yet)')
    .option('--event <id>', 'calendar event: black-friday | cyber-monday | christmas-sale', 'black-friday')
    .option('--events-file <path>', 'sale events JSON ([{name, startsAt, endsAt, trafficMultiplier, rampUpMinutes?, decayMinutes?}]); not with --events-csv')
    .option('--events-csv <path>', 'sale events CSV (name,start,end,kind): past ones teach the uplift of their kind, upcoming ones get it')
    .option('--quantile <q>', `forecast quantile: ${quantileUse} (default: 0.9; needs --history or --learn)`)
    .option('--country <code>', 'public holidays of this country (date-holidays code: US, GB, DE, DE-BY, …) as flags for the learned model')
    .option('--no-db', 'ignore the database sale_events even when available')
    .option('--tz <iana>', 'shop time zone for the weekly pattern and events (default: SHOP_TIME_ZONE, else UTC)')
    .option('--base-rps <n>', `requests/s at pattern multiplier 1.0, without a history (default: the deployment spec's prescale.baseRps, ${SEED_DEPLOYMENT_SPEC.prescale.baseRps})`)
    .option('--history <csv>', 'hourly history CSV (hour,requests) to learn the base traffic from')
    .option('--learn', 'learn the base traffic from the analytics rollups (database)')
    .option('--wall-clock', 'the history\'s hours are UTC instants and demand follows the --tz clock: model on that wall clock across its changes (always so with --learn; needs --history or --learn)')
    .option('--json', 'print JSON')
    .option('--no-progress', progress);
}

/** How one instance serves and how many there may be: plan, simulate and cost. */
function addCapacityOptions(cmd: Command): Command {
  return cmd
    .option('--capacity <rps>', `requests/s one instance serves at the p95 SLO; overrides --bench (default: the deployment spec's web pod, ${SEED_DEPLOYMENT_SPEC.web.capacityPerInstanceRps})`)
    .option('--bench <file>', 'a measured capacity of your pod (the capacity benchmark\'s JSON, e.g. bench/results/capacity.json; a relative path is read from the current folder)')
    .option('--min <n>', 'min replicas (default: the deployment spec\'s)', String(DEPLOYED_PLAN.web.minReplicas))
    .option('--max <n>', 'max replicas (default: the deployment spec\'s)', String(DEPLOYED_PLAN.web.maxReplicas))
    .option('--target-util <pct>', 'target CPU utilization, a percentage from 1 to 100 (default: the deployment spec\'s HPA target)', String(DEPLOYED_PLAN.web.targetUtilization * 100));
}

/** Runs an action, turning input errors into one line on stderr and exit code 2 (no usage after it: the input was wrong, not the command line). */
function guarded<T extends unknown[]>(fn: (...args: T) => Promise<void>) {
  return async function (this: Command, ...args: T): Promise<void> {
    try {
      await fn(...args);
    } catch (e) {
      if (e instanceof ScalingInputError) this.showHelpAfterError(false).error(formatInputError(e), { exitCode: 2, code: `salescale.${e.code}` });
      throw e;
    }
  };
}

function createProgress(enabled: boolean, total: number) {
  if (!enabled || !process.stderr.isTTY) return undefined;
  const bar = new SingleBar({ stream: process.stderr, format: 'simulating {policy} [{bar}] {percentage}%', hideCursor: true });
  bar.start(total, 0, { policy: '' });
  return bar;
}

/** The worker sizing's assumptions, one line per queue: what the worker counts rest on. */
function describeWorkerSizing(plan: CapacityPlan, concurrencySource: string, pools: DbPools): string {
  const w = plan.workers;
  const peak = plan.hours.reduce((a, h) => (h.workerReplicasNeeded > a.workerReplicasNeeded ? h : a), plan.hours[0]);
  const lines = QUEUE_NAMES.map((q) => {
    const x = w.queues[q];
    return `  ${q}: ${x.jobsPerOrder} job(s)/order × ${x.jobSeconds} s, ${x.concurrency} at once per worker${q === 'email' ? ` (at most DB_POOL_MAX ${pools.worker} − 2${pools.fromSpec ? ", the deployment spec's worker.dbPoolMax (DB_POOL_MAX unset)" : ''})` : ''} → ${formatRate(getQueueThroughput(x))} jobs/s per worker`;
  });
  const bottleneck = peak ? `; at the peak ${peak.hour.slice(0, 16)} the ${peak.bottleneckQueue} queue needs ${peak.workerReplicasNeeded}` : '';
  return `Workers: ${w.ordersPerRequest} orders/request, sized per queue at ${w.targetUtilization * 100} % of its slots, concurrency from ${concurrencySource}, job times assumed; replicas ${w.minReplicas}–${w.maxReplicas}${bottleneck}\n${lines.join('\n')}\n`;
}

/** Splits `--policies` into web and worker policies; `--workers` adds every worker policy. */
function parsePolicies(list: string, workers: boolean | undefined): { web: PolicyName[]; workers: WorkerPolicyName[] } {
  const web: PolicyName[] = [];
  const worker: WorkerPolicyName[] = workers ? [...WORKER_POLICY_NAMES] : [];
  for (const raw of list.split(',')) {
    const name = raw.trim();
    if (isWorkerPolicyName(name)) {
      if (!worker.includes(name)) worker.push(name);
    } else if ((POLICY_NAMES as readonly string[]).includes(name)) {
      // Each once, as the worker policies: a policy named twice was simulated and printed twice.
      if (!web.includes(name as PolicyName)) web.push(parsePolicyName(name));
    }
    else throw new ScalingInputError('UNKNOWN_POLICY', `unknown policy "${name}" (known: ${[...POLICY_NAMES, ...WORKER_POLICY_NAMES].join(', ')})`, { value: name });
  }
  return { web, workers: worker };
}

interface WorkerCliOptions {
  workers?: boolean;
  ordersPerRequest: string;
  jobsPerOrder?: string;
  jobSeconds?: string;
  concurrency?: string;
  listLength?: string;
  workerMin: string;
  workerMax: string;
  workerReady: string;
}

function parseWorkerOptions(o: WorkerCliOptions, app: CapacityCheckConfig) {
  // Unset, the simulated queue is the plan's queues as one (getSingleQueueModel); these override it.
  const queueModel = {
    // Rates and job time of the worker queue: none (or fewer than none) is refused as --concurrency 0 is, not simulated as idle workers.
    ...(o.jobsPerOrder !== undefined ? { jobsPerOrder: toBoundedNumber(o.jobsPerOrder, '--jobs-per-order', { above: 0 }) } : {}),
    ...(o.jobSeconds !== undefined ? { jobSeconds: toBoundedNumber(o.jobSeconds, '--job-seconds', { above: 0 }) } : {}),
    ...(o.concurrency !== undefined ? { concurrency: toBoundedNumber(o.concurrency, '--concurrency', { atLeast: 1, whole: true }) } : {}),
  };
  const workers = {
    ...DEPLOYED_PLAN.workers,
    // The worker's pool caps its email sends: DB_POOL_MAX, else the spec's worker pool (simulate has no --db-pool-max).
    queues: getQueueWorkloads(app.workerConcurrency, resolveDbPools(undefined, app).worker),
    ordersPerRequest: toOrdersPerRequest(o.ordersPerRequest, { above: 0 }),
    minReplicas: toBoundedNumber(o.workerMin, '--worker-min', { atLeast: 0, atMost: MAX_REPLICAS, whole: true }),
    maxReplicas: toBoundedNumber(o.workerMax, '--worker-max', { atLeast: 1, atMost: MAX_REPLICAS, whole: true }),
  };
  // Unset, the triggers aim at the backlog the rendered ScaledObject aims at (worker.backlogSecondsPerReplica).
  // The rest is the rendered ScaledObject's: activation, polling, cooldown and the behavior of KEDA's HPA.
  const keda = { ...getSpecWorkerKedaOptions(SEED_DEPLOYMENT_SPEC), ...(o.listLength !== undefined ? { listLength: toNumber(o.listLength, '--list-length') } : {}), podReadySeconds: toBoundedNumber(o.workerReady, '--worker-ready', { atLeast: 0 }) };
  return { workers, queueModel, keda };
}

/** A window row's instance-hours: the policy's web and the plan's workers, as the instances column prices them. */
function formatWebWorkerHours(p: { webInstanceHours: number; workerInstanceHours: number }): string {
  const r = (v: number) => Math.round(v * 10) / 10;
  return `${r(p.webInstanceHours)} + ${r(p.workerInstanceHours)}`;
}

/** The price per 1000 orders has no value without orders (`--orders-per-request 0`, a window without traffic). */
function formatPer1000Orders(v: number, currency: string): string {
  return Number.isFinite(v) ? formatMoney(v, currency) : 'no orders';
}

/** `--held-out-weeks`: a whole number ≥ 1 (or "all", handled by the caller). */
function toHeldOutWeeks(value: string): number {
  const n = Number(value);
  if (value.trim() === '' || !Number.isSafeInteger(n) || n < 1) throw new ScalingInputError('INVALID_OPTION', `--held-out-weeks must be a whole number ≥ 1 or "all" (got ${quoteInput(value)})`, { field: '--held-out-weeks', value });
  return n;
}

/**
 * How a policy's capacity is sized: plan-driven ones (pre-scaling windows, schedules, fixed-date profiles) on the
 * forecast the plan uses; predictive scaling alone (aws-predictive) learns from the group's own history, whatever
 * the plan says; the rest react.
 */
function getPolicySizing(policy: PolicyName): 'plan' | 'history' | 'reactive' {
  if (isPrescaledPolicy(policy)) return 'plan';
  return policy === 'aws-predictive' ? 'history' : 'reactive';
}

/**
 * Exit 1 once the plan is printed when a check found an error, as `manifests --check` does for stale files: a script
 * or CI job running `plan` can then tell a plan the deployment cannot carry (pool over max_connections, Redis over
 * maxclients) from one it can; it exited 0 either way. Warnings keep exit 0. Not a mistyped command line: no usage.
 */
function failOnCheckErrors(cmd: Command, findings: readonly { id: string; level: string }[]): void {
  const errors = findings.filter((f) => f.level === 'error');
  if (errors.length === 0) return;
  const count = errors.length === 1 ? '1 check' : `${errors.length} checks`;
  cmd.showHelpAfterError(false).error(`plan: ${count} found an error (${errors.map((f) => f.id).join(', ')}): the deployment cannot carry this plan; see the fix under ${errors.length === 1 ? 'its finding' : 'each of them'}`, { exitCode: 1, code: 'salescale.PLAN_CHECK_FAILED' });
}

/** Adds the five scaling commands to a commander program. */
export function registerScalingCommands(program: Command, deps: ScalingCliDeps = {}): Command {
  /** `guarded`, with `--tz` resolved first: the flag, else the shop's time zone (`SHOP_TIME_ZONE`), else UTC. */
  const withShopTimeZone = <O extends { tz: string }>(fn: (o: O) => Promise<void>) => guarded(async (o: O) => fn({ ...o, tz: resolveTimeZone(o.tz, deps) }));
  const forecastCmd = addForecastOptions(program.command('forecast').description('hourly traffic forecast: base pattern (or learned) × sale events'), NO_PROGRESS.none, 'the upper edge of the band (table, JSON, chart)');
  forecastCmd.option('--out <file>', 'chart with the quantile band: .html, .svg or .png');
  forecastCmd.action(
    withShopTimeZone(async (o: CommonOptions) => {
      const f = await resolveForecast(o, deps);
      warnAll(forecastCmd, f.warnings);
      const upper = forecastHourly(f.quantileForecast, f.from, f.to);
      const hours = forecastHourly(f.forecast, f.from, f.to).map((h, i) =>
        f.hasQuantile
          ? { ...h, baseQuantileRequestsPerSecond: upper[i].baseRequestsPerSecond, quantileRequestsPerSecond: upper[i].meanRequestsPerSecond, quantilePeakRequestsPerSecond: upper[i].peakRequestsPerSecond }
          : h,
      );
      const quantile = f.hasQuantile ? f.quantile : undefined;
      // vega, vega-lite and resvg load only when a chart is asked for (they cost a third of a second).
      if (o.out) await (await import('./report/chart.ts')).writeChart(o.out, buildForecastChartSpec(hours, quantile, `Forecast ${f.from.toISOString().slice(0, 16)} → ${f.to.toISOString().slice(0, 16)} UTC`), 'Forecast');
      if (o.json) return write(forecastCmd, JSON.stringify({ from: f.from, to: f.to, quantile: quantile ?? null, eventSource: f.eventSource, eventSources: f.eventSources, warnings: f.warnings, baseSource: f.baseSource, hours }, null, 2));
      write(forecastCmd, `Forecast ${f.from.toISOString()} → ${f.to.toISOString()}\nbase: ${f.baseSource}\nevents: ${f.eventSource}`);
      for (const e of f.eventSources) write(forecastCmd, `  ${e.name} (${e.startsAt.slice(0, 16)}): ${e.source}`);
      write(forecastCmd, quantile !== undefined ? `quantile ${quantile}: from the cross-validation errors by day of horizon\n` : 'no quantile: the seed pattern has no validation errors (give --history)\n');
      // The quantile of the hour's peak is what plan and simulate size on: above the quantile of the mean in an hour a sale ramps or decays in.
      const head = ['hour (UTC)', 'base rps', 'event ×', 'mean rps', 'peak rps', ...(quantile !== undefined ? [`q${quantile} rps`, `q${quantile} peak rps`] : [])];
      // Rates at 3 significant digits: a quiet series' 40 requests an hour is 0.0111 req/s, which 2 decimals made 0.01.
      const rates = [undefined, formatRate, undefined, formatRate, formatRate, formatRate, formatRate];
      write(forecastCmd, renderTable(head, hours.map((h) => [h.hour.slice(0, 16), h.baseRequestsPerSecond, h.eventMultiplier, h.meanRequestsPerSecond, h.peakRequestsPerSecond, ...('quantileRequestsPerSecond' in h ? [h.quantileRequestsPerSecond, h.quantilePeakRequestsPerSecond] : [])]), rates));
      if (o.out) write(forecastCmd, `\nchart written to ${o.out}`);
    }),
  );

  const planCmd = addCapacityOptions(addForecastOptions(program.command('plan').description('replicas per hour, consistency checks and the scheduled pre-scaling'), NO_PROGRESS.none, 'the replicas sized on it'))
    .option('--db-pool-max <n>', `DB pool max per process (default: DB_POOL_MAX, else the deployment spec's pool of each role, web ${SEED_DEPLOYMENT_SPEC.web.dbPoolMax} and worker ${SEED_DEPLOYMENT_SPEC.worker.dbPoolMax}, what the manifests run)`)
    .option('--max-connections <n>', 'PostgreSQL max_connections (default: the deployment spec\'s)', String(SEED_DEPLOYMENT_SPEC.database.maxConnections))
    .option('--redis-maxclients <n>', `Redis maxclients of each Redis the app uses (default: Redis's own ${REDIS_DEFAULT_MAXCLIENTS}; managed tiers allow fewer)`)
    .option('--redis-maxmemory <mb>', `maxmemory of the queue Redis in MB (default: the deployment spec's redis.queueMaxMemoryMb, ${SEED_DEPLOYMENT_SPEC.redis.queueMaxMemoryMb}, what compose and swarm give redis-queue)`)
    .option('--asg-name <name>', 'Auto Scaling group name for scheduled actions', 'salescale-web')
    .option('--lead <minutes>', 'pre-scaling lead time: windows start this early (default: the deployment spec\'s)', String(SEED_DEPLOYMENT_SPEC.prescale.leadMinutes));
  addNodePoolOptions(planCmd, SEED_DEPLOYMENT_SPEC, 'plan');
  planCmd.action(
    withShopTimeZone(async (o: CommonOptions & CapacityOptions & NodePoolCliOptions & { dbPoolMax?: string; maxConnections: string; redisMaxmemory?: string; redisMaxclients?: string; asgName: string; lead: string }) => {
      // EC2 Auto Scaling's AutoScalingGroupName: 1 to 255 characters (an empty one was written into every action).
      if (o.asgName.trim() === '' || o.asgName.length > 255) throw new ScalingInputError('INVALID_OPTION', `--asg-name must name the Auto Scaling group (1 to 255 characters; got ${quoteInput(o.asgName.length > 40 ? `${o.asgName.slice(0, 40)}…` : o.asgName)})`);
      const f = await resolveForecast(o, deps);
      warnAll(planCmd, f.warnings);
      const { capacity, web } = await resolveWebCapacity(o);
      // Sized on the quantile forecast (default 0.9), so that a busier-than-mean week still fits.
      // The app's own settings (DB_POOL_MAX, WORKER_CONCURRENCY, CACHE_REDIS_URL, RATE_LIMIT_*), as the app reads them; options override.
      const app = getCapacityCheckConfig(deps);
      const pools = resolveDbPools(o.dbPoolMax, app);
      // Workers are sized per queue at the concurrency the worker runs it with (email capped by its pool).
      const workers = { ...DEPLOYED_PLAN.workers, queues: getQueueWorkloads(app.workerConcurrency, pools.worker) };
      const plan = planCapacity(forecastHourly(f.quantileForecast, f.from, f.to), { ...web, capacityPerInstanceRps: capacity.requestsPerSecondPerInstance }, workers);
      const sizing = f.hasQuantile ? `sized on the ${f.quantile} quantile of the forecast (--quantile)` : 'sized on the mean forecast: the seed pattern has no quantile (give --history for one)';
      const findings = runChecks({
        ...DEFAULT_CHECK_ASSUMPTIONS,
        ...app,
        dbPoolMax: pools.web,
        workerDbPoolMax: pools.worker,
        dbPoolMaxSource: pools.source,
        maxWebReplicas: web.maxReplicas,
        maxWorkerReplicas: plan.workers.maxReplicas,
        peakRps: Math.max(...plan.hours.map((h) => h.peakRps)),
        maxConnections: toBoundedNumber(o.maxConnections, '--max-connections', { atLeast: 1, whole: true }),
        redisMaxMemory:
          o.redisMaxmemory !== undefined
            ? { mb: toBoundedNumber(o.redisMaxmemory, '--redis-maxmemory', { above: 0 }), source: '--redis-maxmemory' }
            : { mb: SEED_DEPLOYMENT_SPEC.redis.queueMaxMemoryMb, source: "the deployment spec's redis.queueMaxMemoryMb, what compose and swarm give redis-queue" },
        redisMaxClients:
          o.redisMaxclients !== undefined
            ? { limit: toBoundedNumber(o.redisMaxclients, '--redis-maxclients', { atLeast: 1, whole: true }), source: '--redis-maxclients' }
            : { limit: REDIS_DEFAULT_MAXCLIENTS, source: "Redis's default" },
        workerQueues: SEED_DEPLOYMENT_SPEC.worker.queues.length,
        reservedConnections: SEED_DEPLOYMENT_SPEC.database.reservedConnections,
        migrationConnections: SEED_DEPLOYMENT_SPEC.database.migrationConnections,
        rolloutSurge: { ...getK8sRolloutSurge(web.maxReplicas, plan.workers.maxReplicas), source: 'Kubernetes maxSurge' },
      });
      const leadMinutes = toBoundedNumber(o.lead, '--lead', { atLeast: 0, atMost: MAX_LEAD_MINUTES });
      // The node pool under Kubernetes: does the lead cover a node that must be added first, and how many nodes the peak needs.
      findings.push(
        ...checkNodePool({
          leadMinutes,
          hpaSyncSeconds: DEFAULT_HPA_SCALER.syncPeriodSeconds,
          scanIntervalSeconds: DEFAULT_CLUSTER_AUTOSCALER.scanIntervalSeconds,
          provisioningSeconds: resolveProvisioningSeconds(o, SEED_DEPLOYMENT_SPEC),
          podReadySeconds: DEFAULT_HPA_SCALER.podReadySeconds,
          web: { peak: plan.peakWebReplicas, min: web.minReplicas, request: SEED_DEPLOYMENT_SPEC.web.requests },
          worker: { peak: plan.peakWorkerReplicas, min: plan.workers.minReplicas, request: SEED_DEPLOYMENT_SPEC.worker.requests },
          node: resolveNodeSize(o, SEED_DEPLOYMENT_SPEC, [SEED_DEPLOYMENT_SPEC.web.requests, SEED_DEPLOYMENT_SPEC.worker.requests]),
          maxNodes: resolveNodeMax(o),
          // A release at the peak: the Deployments surge on the replicas they run then.
          rolloutSurge: { ...getK8sRolloutSurge(plan.peakWebReplicas, plan.peakWorkerReplicas), source: 'Kubernetes maxSurge' },
        }),
      );
      // On the clouds the window's floor is applied at the autoscaler's evaluation on its whole minute, then a VM boots
      // and passes its health checks: the same lead must cover that, with the engines' settings as simulate runs them.
      const aws = { ...DEFAULT_TARGET_TRACKING, ...DEPLOYED_ENGINES.aws };
      const gce = { ...DEFAULT_GCE_SCALER, ...DEPLOYED_ENGINES.gce };
      const azure = { ...DEFAULT_AZURE_SCALER, ...DEPLOYED_ENGINES.azure };
      findings.push(
        checkVmLeadTime(leadMinutes, [
          { platform: 'AWS', scheduleWaitSeconds: getScheduleWaitSeconds(AWS_EVALUATION_SECONDS), readySeconds: aws.instanceReadySeconds },
          { platform: 'Compute Engine', scheduleWaitSeconds: getScheduleWaitSeconds(gce.intervalSeconds), readySeconds: gce.vmReadySeconds },
          { platform: 'Azure', scheduleWaitSeconds: getScheduleWaitSeconds(azure.intervalSeconds), readySeconds: azure.vmReadySeconds },
        ]),
      );
      // The manifests pre-scale on the deployment spec's clock, not on SHOP_TIME_ZONE's: say when the two differ.
      findings.push(checkPrescaleTimeZone({ event: f.event, year: f.year, timeZone: o.tz, manifestsTimeZone: SEED_DEPLOYMENT_SPEC.prescale.timeZone }));
      const windows = getPrescaleWindows(plan, { leadMinutes });
      // The HPA that KEDA creates ignores a cron step within its tolerance of the count it steps from: those are raised.
      const keda = applyHpaTolerance(windows, web.minReplicas, web.maxReplicas, DEFAULT_HPA_SCALER.tolerance);
      const schedule = {
        table: toScheduleTable(plan),
        kedaCronTriggers: toKedaCronTriggers(keda.windows, o.tz),
        kedaRaisedSteps: keda.raised,
        awsScheduledActions: toAwsScheduledActions(windows, o.asgName, web.minReplicas),
      };
      findings.push(checkScheduleStart({ actions: schedule.awsScheduledActions, now: deps.now?.() ?? new Date() }));
      // Against the spec's maxima, whatever --max says: every rendered platform file caps each role there.
      const aboveSpecMax = getSpecMaxExceedances(plan, SPEC_MAX_REPLICAS);
      if (o.json) {
        write(planCmd, JSON.stringify({ capacityPerInstanceRps: capacity.requestsPerSecondPerInstance, capacitySource: capacity.source, sizing, quantile: f.hasQuantile ? f.quantile : null, baseSource: f.baseSource, eventSources: f.eventSources, warnings: f.warnings, aboveSpecMax, plan, findings, schedule }, null, 2));
        return failOnCheckErrors(planCmd, findings);
      }
      write(planCmd, `${sizing}\nbase: ${f.baseSource}\n`);
      write(planCmd, `Capacity: ${capacity.requestsPerSecondPerInstance} req/s per instance at p95 ≤ ${web.sloP95Ms} ms — ${capacity.source}\nTarget utilization ${web.targetUtilization * 100} %, replicas ${web.minReplicas}–${web.maxReplicas}\n`);
      write(planCmd, describeWorkerSizing(plan, app.workerConcurrencySet ? 'WORKER_CONCURRENCY' : "the worker's defaults (WORKER_CONCURRENCY unset)", pools));
      write(planCmd, renderTable(['from (UTC)', 'to', 'web replicas', 'worker replicas'], schedule.table.map((r) => [r.from.slice(0, 16), r.to.slice(0, 16), r.webReplicas, r.workerReplicas])));
      // --max other than the spec's: its own bound, said apart from the spec's (the worker's maximum is always the spec's).
      if (web.maxReplicas !== SPEC_MAX_REPLICAS.web && plan.hoursAboveMax.length > 0) write(planCmd, `\nWARNING: ${plan.hoursAboveMax.length} hour(s) need more than --max ${web.maxReplicas} replicas (first: ${plan.hoursAboveMax[0]})`);
      for (const e of aboveSpecMax) write(planCmd, `\n${describeSpecMaxExceedance(e)}`);
      write(planCmd, '\nChecks:');
      for (const c of findings) write(planCmd, `  [${c.level.toUpperCase()}] ${c.message}${c.fix ? `\n      fix: ${c.fix}` : ''}`);
      for (const r of schedule.kedaRaisedSteps) {
        write(planCmd, `\nKEDA cron step raised: from ${r.from.slice(0, 16)} ${r.plannedReplicas} → ${r.replicas} web replicas (${r.reason}; ${r.replicas} is the smallest count it honours from ${r.fromReplicas}${r.reachedReplicas < r.replicas ? `, and it clamps it to --max: it runs ${r.reachedReplicas}` : ''}). AWS, Google Cloud and Azure schedules set a floor with no tolerance and keep ${r.plannedReplicas}.`);
      }
      write(planCmd, `\nKEDA cron triggers (${schedule.kedaCronTriggers.length}) and AWS scheduled actions (${schedule.awsScheduledActions.length}): see --json`);
      failOnCheckErrors(planCmd, findings);
    }),
  );

  const simulateCmd = addCapacityOptions(addForecastOptions(program.command('simulate').description('simulate autoscaling policies over the forecast'), NO_PROGRESS.drawn, 'the pre-scaled policies sized on it (and again on the mean)'))
    .option('--policies <list>', `comma-separated policies (${[...POLICY_NAMES, ...WORKER_POLICY_NAMES].join(', ')})`, DEFAULT_SIMULATE_POLICIES)
    .option('--workers', `also simulate the worker tier under KEDA (${WORKER_POLICY_NAMES.join(', ')})`)
    .option('--orders-per-request <x>', 'workers: orders per web request', String(DEFAULT_WORKER_PLAN.ordersPerRequest))
    .option('--jobs-per-order <n>', `workers: BullMQ jobs enqueued per order (default: every queue's, ${getJobsPerOrder(DEFAULT_WORKER_PLAN)})`)
    .option('--job-seconds <s>', "workers: mean processing time of a job (default: the plan's queues as one, drained at the slowest queue's pace)")
    .option('--concurrency <n>', `workers: jobs one replica runs at once (default: the sum of WORKER_CONCURRENCY, email capped by DB_POOL_MAX − 2; DB_POOL_MAX unset: the deployment spec's worker.dbPoolMax ${SEED_DEPLOYMENT_SPEC.worker.dbPoolMax})`)
    .option('--list-length <n>', `workers: KEDA redis trigger listLength, waiting jobs per replica (default: the manifests' target, ${SEED_DEPLOYMENT_SPEC.worker.backlogSecondsPerReplica} s of one replica's work, worker.backlogSecondsPerReplica)`)
    .option('--worker-min <n>', 'workers: minReplicaCount', String(DEPLOYED_PLAN.workers.minReplicas))
    .option('--worker-max <n>', 'workers: maxReplicaCount', String(DEPLOYED_PLAN.workers.maxReplicas))
    .option('--worker-ready <s>', 'workers: pod start-up to Ready, seconds', '30')
    .option('--demand-factor <x>', 'actual demand = forecast × x (forecast error)', '1')
    .option('--spike <multiplier>', 'add a synthetic flash-sale spike (5 min ramp, 2 h) one hour into the window')
    .option('--lead <minutes>', 'pre-scaling lead time', '10')
    .option('--price <usdPerHour>', 'price of an instance-hour', '0.085')
    .option('--node-price <usdPerHour>', 'with --nodes: price of a node-hour, what the Kubernetes rows cost (default: m6i.large on demand, a 2 vCPU / 8 GiB node)', '0.096')
    .option('--out <file>', 'chart: .html, .svg or .png');
  addNodePoolOptions(simulateCmd, SEED_DEPLOYMENT_SPEC, 'simulate');
  simulateCmd.action(
    withShopTimeZone(async (o: CommonOptions & CapacityOptions & WorkerCliOptions & NodePoolCliOptions & { policies: string; demandFactor: string; spike?: string; lead: string; price: string; nodePrice: string }) => {
      const { web: policies, workers: workerPolicies } = parsePolicies(o.policies, o.workers);
      const workerOptions = parseWorkerOptions(o, getCapacityCheckConfig(deps));
      const nodePool = resolveSimulateNodePool(o, SEED_DEPLOYMENT_SPEC, SEED_DEPLOYMENT_SPEC.web.requests);
      const f = await resolveForecast(o, deps);
      warnAll(simulateCmd, f.warnings);
      const { capacity, web } = await resolveWebCapacity(o);
      if (o.spike !== undefined) {
        const start = new Date(f.from.getTime() + 3_600_000);
        const spike = { name: 'synthetic spike', startsAt: start, endsAt: new Date(start.getTime() + 7_200_000), trafficMultiplier: toBoundedNumber(o.spike, '--spike', { above: 0 }), shape: { rampUpMinutes: 5, decayMinutes: 15 } };
        f.forecast.events = [...(f.forecast.events ?? []), spike];
        f.quantileForecast.events = [...(f.quantileForecast.events ?? []), spike];
      }
      const bar = createProgress(o.progress && !o.json, policies.length * 100);
      const pricePerInstanceHour = toBoundedNumber(o.price, '--price', { atLeast: 0 });
      const pricePerNodeHour = toBoundedNumber(o.nodePrice, '--node-price', { atLeast: 0 });
      const leadMinutes = toBoundedNumber(o.lead, '--lead', { atLeast: 0, atMost: MAX_LEAD_MINUTES });
      const demandFactor = toBoundedNumber(o.demandFactor, '--demand-factor', { above: 0 });
      // Plans, pre-scaling windows and predictive scaling are sized on the quantile forecast; with a
      // history the plan-driven policies run again sized on the mean, for comparison.
      const simInput = { forecast: f.forecast, from: f.from, to: f.to, capacityPerInstanceRps: capacity.requestsPerSecondPerInstance, pricePerInstanceHour, web, leadMinutes, demandFactor, nodePool, ...DEPLOYED_ENGINES };
      const result = comparePolicies({
        ...simInput,
        planForecast: f.quantileForecast,
        policies,
        onProgress: bar ? (policy, fr) => bar.update(policies.indexOf(policy) * 100 + Math.round(fr * 100), { policy }) : undefined,
      });
      bar?.stop();
      warnAll(simulateCmd, result.warnings);
      const planSized = policies.filter((p) => getPolicySizing(p) === 'plan');
      const meanRun = f.hasQuantile && planSized.length > 0 ? comparePolicies({ ...simInput, planForecast: f.forecast, policies: planSized }) : undefined;
      const sizingOf = (policy: PolicyName) => {
        const sizing = getPolicySizing(policy);
        return sizing === 'plan' ? (f.hasQuantile ? `q${f.quantile}` : 'mean') : sizing;
      };
      const workerRun =
        workerPolicies.length > 0
          ? compareWorkerPolicies({
              forecast: f.forecast,
              from: f.from,
              to: f.to,
              policies: workerPolicies,
              pricePerInstanceHour,
              workers: workerOptions.workers,
              queueModel: workerOptions.queueModel,
              keda: workerOptions.keda,
              web: { ...web, capacityPerInstanceRps: capacity.requestsPerSecondPerInstance },
              leadMinutes,
              demandFactor,
            })
          : undefined;
      // Named after the sale events in the window; a window without one is named by its dates alone.
      const range = `${f.from.toISOString().slice(0, 16)} → ${f.to.toISOString().slice(0, 16)} UTC`;
      const title = f.saleEvents ? `${f.saleEvents}: demand vs capacity vs replicas (${range})` : `Demand vs capacity vs replicas, ${range} (no sale event in the window)`;
      // On a node pool the bill is the nodes', whatever share of them the pods request: those rows cost node-hours.
      const priced = (t: SimulationResult['totals']) => (t.nodes ? { ...t, cost: t.nodes.nodeHours * pricePerNodeHour } : t);
      const totals = [
        ...result.results.map((r) => ({ policy: r.policy, sizing: sizingOf(r.policy), description: r.description, ...priced(r.totals) })),
        ...(meanRun?.results.map((r) => ({ policy: r.policy, sizing: 'mean', description: r.description, ...priced(r.totals) })) ?? []),
      ];
      // What each row's cost multiplies. Without a node pool a Kubernetes row's replicas are pods, each priced as a whole
      // instance at --price (not its share of a node): said in both outputs, so that no one compares them as VMs.
      const basisOf = (t: (typeof totals)[number]) =>
        t.nodes ? 'node-hours × pricePerNodeHour' : KUBERNETES_POLICIES.includes(t.policy as PolicyName) ? 'pod-hours × pricePerInstanceHour' : 'instance-hours × pricePerInstanceHour';
      const pricing = { pricePerInstanceHour, ...(nodePool ? { pricePerNodeHour } : {}), rows: Object.fromEntries(totals.map((t) => [t.policy, basisOf(t)])) };
      const podRows = [...new Set(totals.filter((t) => basisOf(t).startsWith('pod-hours')).map((t) => t.policy))];
      const workerTotals = workerRun?.results.map((r) => ({ policy: r.policy, description: r.description, ...r.totals })) ?? [];
      const chartWritten = o.out !== undefined && result.results.length > 0;
      if (o.out && chartWritten) {
        const { buildSimulationChartSpec, writeChart } = await import('./report/chart.ts');
        await writeChart(o.out, buildSimulationChartSpec(result.results, title), title);
      }
      // The keys KEDA's triggers read: BullMQ's, under the app's hash-tagged REDIS_PREFIX (read only for the worker table).
      const prefix = workerRun ? queuePrefix(getCapacityCheckConfig(deps).redisPrefix) : '';
      const workerKeys = { prefix, keys: QUEUE_NAMES.flatMap((q) => [`${prefix}:${q}:wait`, `${prefix}:${q}:prioritized`]) };
      // The rendered ScaledObject aims each queue's triggers at the same seconds of one replica's work (getWorkerListLengths).
      const rendered = getWorkerListLengths(SEED_DEPLOYMENT_SPEC);
      const listLengthSource =
        o.listLength !== undefined
          ? '--list-length'
          : `the manifests' target: ${SEED_DEPLOYMENT_SPEC.worker.backlogSecondsPerReplica} s of one replica's work, worker.backlogSecondsPerReplica; rendered per queue: ${QUEUE_NAMES.map((q) => `${q} ${rendered[q]}`).join(', ')}`;
      // The plan's needs within the window against the spec's maxima, whatever --max/--worker-max let the simulation run to.
      const inWindow = (plan: CapacityPlan) => ({ hours: plan.hours.filter((h) => Date.parse(h.hour) < f.to.getTime()) });
      const aboveSpecMax = [
        ...getSpecMaxExceedances(inWindow(result.plan), SPEC_MAX_REPLICAS).filter((e) => e.role === 'web'),
        ...(workerRun ? getSpecMaxExceedances(inWindow(workerRun.plan), SPEC_MAX_REPLICAS).filter((e) => e.role === 'worker') : []),
      ];
      if (o.json) {
        const workersJson = workerRun
          ? { workers: { redisKeys: workerKeys.keys, listLength: workerRun.listLength, listLengthSource, windows: workerRun.windows, totals: workerTotals, timelines: Object.fromEntries(workerRun.results.map((r) => [r.policy, r.timeline])) } }
          : {};
        const nodePoolJson = nodePool ? { nodePool: { ...nodePool, initialNodes: nodePool.initialNodes ?? 'fit', appliesTo: KUBERNETES_POLICIES, scanIntervalSeconds: DEFAULT_CLUSTER_AUTOSCALER.scanIntervalSeconds } } : {};
        return write(simulateCmd, JSON.stringify({ from: f.from, to: f.to, capacityPerInstanceRps: capacity.requestsPerSecondPerInstance, capacitySource: capacity.source, sizing: f.hasQuantile ? `plan-driven policies sized on the ${f.quantile} quantile (and again on the mean)` : 'sized on the mean (no history, no quantile)', quantile: f.hasQuantile ? f.quantile : null, baseSource: f.baseSource, eventSources: f.eventSources, warnings: f.warnings, aboveSpecMax, ...nodePoolJson, pricing, windows: result.windows, totals, timelines: Object.fromEntries(result.results.map((r) => [r.policy, r.timeline])), ...workersJson }, null, 2));
      }
      write(simulateCmd, `${title}\n`);
      if (totals.length > 0) {
        write(simulateCmd, `capacity ${capacity.requestsPerSecondPerInstance} req/s/instance (${capacity.source}); SLO p95 ≤ 500 ms and errors ≤ 1 %`);
        write(simulateCmd, `demand: the mean forecast × ${demandFactor}; pre-scaling sized on ${f.hasQuantile ? `the ${f.quantile} quantile (rows "q${f.quantile}") and on the mean (rows "mean")` : 'the mean forecast (no --history: no quantile)'}\n`);
        if (nodePool) {
          const ca = DEFAULT_CLUSTER_AUTOSCALER;
          write(simulateCmd, `nodes (${KUBERNETES_POLICIES.join(', ')} only): ${nodePool.podsPerNode} web pods per node (${nodePool.source}); starting with ${nodePool.initialNodes ?? 'just enough nodes for the starting replicas'}, group ${nodePool.minNodes ?? ca.minNodes}–${nodePool.maxNodes ?? 'enough for --max'}; Cluster Autoscaler: scan ${ca.scanIntervalSeconds} s, node Ready ${nodePool.provisioningSeconds} s after its request, scale-down after ${ca.scaleDownUnneededSeconds / 60} min unneeded below ${ca.scaleDownUtilizationThreshold * 100} % and ${ca.scaleDownDelayAfterAddSeconds / 60} min after a scale-up; cost of these rows: node-hours × $${pricePerNodeHour} (--node-price), of the others instance-hours × $${pricePerInstanceHour} (--price)\n`);
        }
        if (!nodePool) {
          const pods = podRows.length > 0 ? `; the Kubernetes rows (${podRows.join(', ')}) count each pod as one instance at that price (pod-hours), not its share of a node: --nodes prices their node-hours (--node-price)` : '';
          write(simulateCmd, `cost: instance-hours × $${pricePerInstanceHour} (--price)${pods}\n`);
        }
        const head = ['policy', 'sizing', 'min over SLO', 'capacity lead (tightest)', 'failed requests', 'instance-hours', 'cost', 'peak replicas', 'max p95 ms', ...(nodePool ? ['start/peak nodes', 'node-hours', 'max pending pods'] : [])];
        const nodeCells = (t: (typeof totals)[number]) => (nodePool ? (t.nodes ? [`${t.nodes.initialNodes}/${t.nodes.peakNodes}`, Math.round(t.nodes.nodeHours * 10) / 10, t.nodes.maxPendingPods] : ['-', '-', '-']) : []);
        write(simulateCmd, renderTable(head, totals.map((t) => [t.policy, t.sizing, t.minutesOverSlo, formatReadiness(t.readiness), Math.round(t.failedRequests), t.instanceHours, formatMoney(t.cost), t.peakReplicas, Math.round(t.maxP95Ms), ...nodeCells(t)])));
      }
      if (workerRun) {
        const w = workerOptions.workers;
        write(simulateCmd, `${totals.length > 0 ? '\n' : ''}Workers (KEDA, redis triggers on ${workerKeys.prefix}:<queue>:wait + :prioritized for each queue (${QUEUE_NAMES.join(', ')}), modelled as one queue holding all their jobs; listLength ${workerRun.listLength} (${listLengthSource}); replicas ${w.minReplicas}–${w.maxReplicas}):`);
        const m = workerRun.queue;
        const model = Object.keys(workerOptions.queueModel).length > 0 ? 'given by --jobs-per-order/--job-seconds/--concurrency' : `the plan's queues as one: ${QUEUE_NAMES.map((q) => `${q} ${w.queues[q].concurrency} at once × ${w.queues[q].jobSeconds} s`).join(', ')}, drained at the slowest queue's pace`;
        write(simulateCmd, `jobs = demand × ${w.ordersPerRequest} orders/request × ${m.jobsPerOrder} jobs/order; ${formatRate(getWorkerThroughput(m))} jobs/s per ready worker (concurrency ${m.concurrency} / ${formatRate(m.jobSeconds)} s, ${model}); ${workerRun.windows.length} cron window(s) from the plan`);
        write(simulateCmd, `queue depth: WARNING > ${QUEUE_DEPTH_THRESHOLDS.warning}, CRITICAL > ${QUEUE_DEPTH_THRESHOLDS.critical}\n`);
        write(
          simulateCmd,
          renderTable(
            ['policy', `min > ${QUEUE_DEPTH_THRESHOLDS.warning}`, `min > ${QUEUE_DEPTH_THRESHOLDS.critical}`, 'max queue depth', 'max wait s', 'instance-hours', 'cost', 'peak replicas'],
            workerTotals.map((t) => [t.policy, t.minutesOverWarning, t.minutesOverCritical, Math.round(t.maxQueueDepth), t.maxWaitSeconds, t.instanceHours, formatMoney(t.cost), t.peakReplicas]),
          ),
        );
      }
      for (const e of aboveSpecMax) write(simulateCmd, `\n${describeSpecMaxExceedance(e)}`);
      if (chartWritten) write(simulateCmd, `\nchart written to ${o.out}`);
      else if (o.out) write(simulateCmd, '\nno chart: the chart shows web policies only');
    }),
  );

  const costCmd = addCapacityOptions(addForecastOptions(program.command('cost').description('monthly cost table (normal / peak / sale) and the cost of each policy for the sale'), NO_PROGRESS.none, 'the pre-scaled policies sized on it'))
    .option('--pricing <path>', 'pricing catalogue JSON (default: src/scaling/data/pricing-2026-11-27.json)')
    .option('--policies <list>', 'policies to price for the event', 'hpa,hpa-prescaled')
    .option('--peak-factor <x>', 'peak-season traffic relative to normal', '2')
    .option('--orders-per-request <x>', 'orders per request: the window\'s orders, the month\'s jobs and workers', String(DEFAULT_WORKER_PLAN.ordersPerRequest))
    .option('--pricing-gcp <path>', 'Google Cloud pricing catalogue JSON (default: src/scaling/data/pricing-gcp-2026-12-03.json)')
    .option('--pricing-azure <path>', 'Azure pricing catalogue JSON (default: src/scaling/data/pricing-azure-2026-12-03.json)');
  costCmd.action(
    withShopTimeZone(async (o: CommonOptions & CapacityOptions & { pricing?: string; pricingGcp?: string; pricingAzure?: string; policies: string; peakFactor: string; ordersPerRequest: string }) => {
      const pricing = await loadPricing(o.pricing);
      const clouds = await loadProviderPricing({ aws: o.pricing, gcp: o.pricingGcp, azure: o.pricingAzure });
      // Each once: a policy named twice was priced twice.
      const policies = [...new Set(o.policies.split(',').map((p) => parsePolicyName(p.trim())))];
      const peak = toBoundedNumber(o.peakFactor, '--peak-factor', { above: 0 });
      // The priced month: the whole weeks that hold the window (getSaleMonth: 10 November + 4 weeks when they
      // do, as for Black Friday). With a history the month is the learned forecast (learned through the month's
      // end: none of its hours falls back to the seed pattern), scaled like the seed's base for the peak month.
      const f = await resolveForecast(o, deps, undefined, { label: 'the month cost prices', get: getSaleMonth });
      warnAll(costCmd, f.warnings);
      const { capacity, web } = await resolveWebCapacity(o);
      const webPlan = { ...web, capacityPerInstanceRps: capacity.requestsPerSecondPerInstance };
      const ordersPerRequest = toOrdersPerRequest(o.ordersPerRequest, { atLeast: 0 });
      // The month's jobs and worker replicas follow the same orders per request as the window's orders.
      const workerPlan = { ...DEPLOYED_PLAN.workers, ordersPerRequest };
      const { start: monthStart, end: monthEnd, weeks: monthWeeks } = getSaleMonth(f.from, f.to, f.historyStart);
      const month = (rpsFactor: number, withEvents: boolean) => {
        const baseRps = (f.forecast.baseRequestsPerSecond ?? 100) * rpsFactor;
        const learnedBase = f.forecast.learnedBase && new Map([...f.forecast.learnedBase].map(([hour, rps]) => [hour, rps * rpsFactor]));
        return getMonthUsage(planCapacity(forecastHourly({ ...f.forecast, baseRequestsPerSecond: baseRps, learnedBase, events: withEvents ? f.forecast.events : [] }, monthStart, monthEnd), webPlan, workerPlan), DEFAULT_COST_ASSUMPTIONS.hoursPerMonth);
      };
      const usage = { normal: month(1, false), peak: month(peak, false), sale: month(peak, true) };
      const columns = Object.fromEntries(SCENARIOS.map((s) => [s, getMonthlyCost(usage[s], s, pricing)])) as Record<(typeof SCENARIOS)[number], ReturnType<typeof getMonthlyCost>>;
      const providerPolicies = CLOUD_PROVIDERS.map((p) => PROVIDER_SETUPS[p].policy).filter((p) => !policies.includes(p));
      // Pre-scaling sized as `plan` and `simulate` size it: on the quantile forecast (0.9 by default with a
      // history); demand, and so the reactive policies, follow the mean.
      const sizing = f.hasQuantile ? `pre-scaling sized on the ${f.quantile} quantile of the forecast (--quantile)` : 'pre-scaling sized on the mean forecast: the seed pattern has no quantile (give --history for one)';
      const sim = comparePolicies({ forecast: f.forecast, planForecast: f.quantileForecast, from: f.from, to: f.to, policies: [...policies, ...providerPolicies], capacityPerInstanceRps: capacity.requestsPerSecondPerInstance, pricePerInstanceHour: 0, web, ...DEPLOYED_ENGINES });
      warnAll(costCmd, sim.warnings);
      const hours = (f.to.getTime() - f.from.getTime()) / 3_600_000;
      // The window's workers, sized by the plan on the demand (mean) forecast as the monthly table sizes them: the
      // window total and cost per order priced the web replicas only.
      const windowPlan = planCapacity(forecastHourly(f.forecast, new Date(Math.floor(f.from.getTime() / 3_600_000) * 3_600_000), f.to), webPlan, workerPlan);
      const workerInstanceHours = getWindowWorkerHours(windowPlan, f.from.getTime(), f.to.getTime());
      // As plan and simulate say it: the roles the window needs past the spec's maxima, which every rendered file caps and
      // this window is priced at (web: the pre-scaling's plan; workers: the plan priced above).
      const inWindow = (plan: CapacityPlan) => ({ hours: plan.hours.filter((h) => Date.parse(h.hour) < f.to.getTime()) });
      const aboveSpecMax = [
        ...getSpecMaxExceedances(inWindow(sim.plan), SPEC_MAX_REPLICAS).filter((e) => e.role === 'web'),
        ...getSpecMaxExceedances(inWindow(windowPlan), SPEC_MAX_REPLICAS).filter((e) => e.role === 'worker'),
      ];
      const priced = pricePolicies(
        sim.results.filter((r) => policies.includes(r.policy)),
        pricing,
        { hours, ordersPerRequest, workerInstanceHours },
      );
      const providers = compareProviders(sim.results, clouds, { hours, ordersPerRequest, saleMonth: usage.sale, workerInstanceHours });
      const traffic = f.forecast.learnedBase ? `the forecast learned from the history (${f.baseSource.slice('learned from '.length, f.baseSource.indexOf(':'))})` : `${f.forecast.baseRequestsPerSecond} req/s at pattern 1.0 (the seed weekly pattern)`;
      const assumptions = { ...DEFAULT_COST_ASSUMPTIONS, capacity, traffic, month: { from: monthStart.toISOString(), to: monthEnd.toISOString() }, baseRps: f.forecast.learnedBase ? null : f.forecast.baseRequestsPerSecond, peakFactor: peak, saleMonth: 'peak traffic + the sale events (file/database/calendar)', pricingAsOf: pricing.asOf, region: pricing.region, sources: pricing.sources };
      if (o.json) return write(costCmd, JSON.stringify({ assumptions, sizing, quantile: f.hasQuantile ? f.quantile : null, warnings: f.warnings, aboveSpecMax, usage, monthly: columns, policies: priced, providers }, null, 2));
      // Every amount in its catalogue's currency (the header names it; "$" was printed whatever it said).
      const money = (v: number) => formatMoney(v, pricing.currency);
      write(costCmd, `Monthly cost (${pricing.region}, prices as of ${pricing.asOf}; ${pricing.currency})\n`);
      write(costCmd, renderTable(['component', 'normal', 'peak', 'sale'], [...COST_COMPONENTS, 'Total' as const].map((c) => [c, money(columns.normal[c]), money(columns.peak[c]), money(columns.sale[c])])));
      write(costCmd, '\nAssumptions:');
      write(costCmd, `  traffic: ${traffic}, ${monthWeeks} weeks from ${monthStart.toISOString().slice(0, 10)}${monthWeeks > 4 ? ' (the whole weeks of the window, scaled to a month)' : ''}; peak month ×${peak}; sale month = peak + events; capacity ${capacity.requestsPerSecondPerInstance} req/s/instance (${capacity.source})`);
      write(costCmd, `  instances: ${DEFAULT_COST_ASSUMPTIONS.instanceType}, replicas from the hourly plan at ${web.targetUtilization * 100} % (web ${web.minReplicas}–${web.maxReplicas}, workers ${DEPLOYED_PLAN.workers.minReplicas}–${DEPLOYED_PLAN.workers.maxReplicas})`);
      write(costCmd, `  PostgreSQL ${DEFAULT_COST_ASSUMPTIONS.postgresInstances} × ${SCENARIOS.map((s) => DEFAULT_COST_ASSUMPTIONS.postgresClass[s]).join(' / ')} (Multi-AZ primary, billed twice, + read replica); Redis ${DEFAULT_COST_ASSUMPTIONS.redisNodes} × ${SCENARIOS.map((s) => DEFAULT_COST_ASSUMPTIONS.redisClass[s]).join(' / ')} (queue + cache, primary + replica each); ${DEFAULT_COST_ASSUMPTIONS.responseKb} KiB per response; ${DEFAULT_COST_ASSUMPTIONS.customMetrics} metrics, ${DEFAULT_COST_ASSUMPTIONS.alarms} alarms`);
      write(costCmd, `  sources: ${Object.values(pricing.sources).join(' ')}`);
      write(costCmd, `\n${f.saleEvents ? `${f.saleEvents} window` : `The window ${f.from.toISOString().slice(0, 16)} → ${f.to.toISOString().slice(0, 16)} UTC (no sale event in it)`} (${hours.toFixed(0)} h), per policy (${sizing}):`);
      write(costCmd, renderTable(['policy', 'web + worker instance-hours', 'instances', 'LB+DB+Redis', 'total', 'orders', 'per 1000 orders', 'min over SLO'], priced.map((p) => [p.policy, formatWebWorkerHours(p), money(p.instanceCost), money(p.sharedCost), money(p.totalCost), Math.round(p.orders), formatPer1000Orders(p.costPer1000Orders, pricing.currency), p.minutesOverSlo])));
      write(costCmd, `\nThe same sale on AWS, Google Cloud and Azure (same plan; each provider's autoscaler with the plan's pre-scaling):`);
      write(
        costCmd,
        renderTable(
          ['provider', 'region (prices as of)', 'policy', 'instance', 'web + worker instance-hours', 'instances', 'LB+DB+Redis', 'window total', 'per 1000 orders', 'min over SLO', 'sale month'],
          providers.map((p) => {
            const currency = clouds[p.provider].currency;
            return [p.provider, `${p.region} (${p.asOf})`, p.sale.policy, p.instanceType, formatWebWorkerHours(p.sale), formatMoney(p.sale.instanceCost, currency), formatMoney(p.sale.sharedCost, currency), formatMoney(p.sale.totalCost, currency), formatPer1000Orders(p.sale.costPer1000Orders, currency), p.sale.minutesOverSlo, formatMoney(p.saleMonth.Total, currency)];
          }),
        ),
      );
      write(costCmd, `  sources: ${CLOUD_PROVIDERS.filter((p) => p !== 'aws').flatMap((p) => Object.values(clouds[p].sources)).join(' ')}`);
      for (const e of aboveSpecMax) write(costCmd, `\n${describeSpecMaxExceedance(e)}`);
    }),
  );

  const backtestCmd = program
    .command('backtest')
    .description('rolling-origin backtest: every candidate and the chosen model against seasonal naive on held-out weeks')
    .option('--history <csv>', 'hourly history CSV (hour,requests)')
    .option('--learn', 'use the analytics rollups from the database')
    .option('--dataset <name>', `committed real series (${Object.keys(REAL_DATASETS).join(', ')}) or synthetic (${Object.keys(TEST_DATASETS).join(', ')}); default: the real ones`)
    .option('--held-out-weeks <n>', 'weeks held out (one fold each), or "all": every week with 3 weeks of history before it', '4')
    .option('--quantile <q>', 'quantile whose coverage is reported', '0.9')
    .option('--candidates', 'also print every candidate per fold')
    .option('--country <code>', 'public holidays of this country (date-holidays code) as flags')
    .option('--tz <iana>', 'the shop\'s time zone: holidays are read in it, and with --wall-clock the models run on its clock (default: SHOP_TIME_ZONE, else UTC)')
    .option('--wall-clock', 'the history\'s hours are UTC instants and demand follows the --tz clock: model on that wall clock across its changes (always so with --learn)')
    .option('--events-csv <csv>', 'past sale events (name,start,end,kind): their hours are replaced by the baseline in the inputs and left out of the scores')
    .option('--events-file <json>', 'the same, as a JSON array of sale events (not with --events-csv)')
    .option('--json', 'print JSON')
    .option('--no-progress', NO_PROGRESS.none);
  backtestCmd.action(
    withShopTimeZone(async (o: { history?: string; learn?: boolean; dataset?: string; heldOutWeeks: string; quantile: string; candidates?: boolean; country?: string; tz: string; wallClock?: boolean; eventsCsv?: string; eventsFile?: string; json?: boolean }) => {
      const everyWeek = o.heldOutWeeks === 'all';
      const heldOutWeeks = everyWeek ? 0 : toHeldOutWeeks(o.heldOutWeeks);
      const weeksOf = (series: readonly HourlyPoint[]) => (everyWeek ? Math.max(1, Math.floor(series.length / WEEK) - MIN_HISTORY_WEEKS) : heldOutWeeks);
      const quantile = parseQuantile(o.quantile);
      const history = await loadHistory(o, deps);
      let sets: [string, HourlyPoint[]][];
      if (history) sets = [[o.history ?? 'database', history]];
      else if (o.dataset) {
        if (isRealDatasetName(o.dataset)) sets = [[o.dataset, getRealDataset(o.dataset)]];
        else if (Object.hasOwn(TEST_DATASETS, o.dataset)) sets = [[o.dataset, getTestDataset(o.dataset)]];
        else throw new ScalingInputError('INVALID_OPTION', `--dataset: unknown dataset "${o.dataset}" (known: ${[...Object.keys(REAL_DATASETS), ...Object.keys(TEST_DATASETS)].join(', ')})`);
      } else sets = Object.keys(REAL_DATASETS).map((n) => [n, getRealDataset(n as keyof typeof REAL_DATASETS)]);
      // Only the events the shop named (with --learn, also the sale_events table): a backtest scores what was observed.
      const events = (await loadNamedEvents({ ...o, db: o.learn === true }, deps))?.events;
      const isHoliday = o.country !== undefined ? createHolidayPredicate(o.country, o.tz) : undefined;
      const results = sets.map(([name, series]) => ({
        dataset: name,
        ...runBacktest(series, { heldOutWeeks: weeksOf(series), quantile, timeZone: isWallClockHistory(o) ? o.tz : 'UTC', events, selection: isHoliday && series.length > 0 ? { calendar: { startMs: series[0].hour.getTime(), isHoliday } } : undefined }),
      }));
      if (o.json) return write(backtestCmd, JSON.stringify(results, null, 2));
      write(backtestCmd, `Backtest: ${everyWeek ? `every week with ${MIN_HISTORY_WEEKS} weeks of history before it` : `${heldOutWeeks} held-out week(s)`}, rolling origin, 168 h ahead; model chosen by cross-validation on the weeks before each one\n`);
      for (const r of results) {
        write(backtestCmd, `${r.dataset} (${r.points} hours)`);
        write(
          backtestCmd,
          renderTable(
            ['week from (UTC)', 'MASE', 'snaive MASE', 'ratio', 'sMAPE %', 'snaive sMAPE %', `q${quantile} coverage`, 'chosen'],
            // A week without a ratio shows "-", as any cell without a finite number does.
            r.folds.map((f) => [f.testStart.slice(0, 16), f.model.mase, f.seasonalNaive.mase, f.ratio ?? Number.NaN, f.model.smape, f.seasonalNaive.smape, f.coverage, f.chosen]),
          ),
        );
        if (o.candidates) {
          for (const f of r.folds) {
            write(backtestCmd, `  candidates, week from ${f.testStart.slice(0, 16)}:`);
            write(backtestCmd, renderTable(['candidate', 'MASE', 'sMAPE %'], Object.entries(f.candidates).sort((a, b) => a[1].mase - b[1].mase).map(([n, sc]) => [n, sc.mase, sc.smape])));
          }
        }
        const worst = getWorstWeekRatio(r.folds);
        const withoutRatio = r.folds.filter((f) => f.ratio === null).length;
        const exactNote = withoutRatio > 0 ? ` (${withoutRatio} week(s) without a ratio: seasonal naive was exact there, MASE 0, and the model was not; counted above seasonal naive, left out of the worst week)` : '';
        write(backtestCmd, `${r.dataset}: mean MASE ${r.meanMase.toFixed(3)} vs seasonal naive ${r.seasonalNaiveMeanMase.toFixed(3)} (${r.ratio === null ? "no ratio: seasonal naive's mean MASE is 0" : `ratio ${r.ratio.toFixed(3)}`}); at or below seasonal naive on ${r.weeksAtOrBelowSeasonalNaive}/${r.folds.length} weeks, ${worst === null ? 'no week with a ratio' : `worst week ${worst.toFixed(2)} ×`}${exactNote}; q${quantile} covers ${(r.coverage * 100).toFixed(1)} % of held-out hours${r.eventHoursLeftOut > 0 ? ` (${r.eventHoursLeftOut} held-out hours inside past sale events left out)` : ''}\n`);
      }
    }),
  );
  return program;
}
