/**
 * The benchmark runner: `npm run bench` (every scenario) or `salescale bench <scenario…>`.
 * Runs the scenarios of bench/scenarios.ts in order, each with its own databases and instances
 * (stopped even when the scenario throws), then writes
 *   bench/results/run-<timestamp>.json  machine facts, versions, commit, every figure, ratio and check
 *   bench/results/latest.json / latest.md / latest.svg  the same run, summarised, with a chart, when it ran every
 *     scenario `npm run bench` runs (a run of some scenarios by name leaves the last full run's summary in place)
 * Exit code 1 when a check (target or threshold) fails or a scenario errors; skipped scenarios
 * (a tool missing) do not fail the run but say why.
 */
import { execFileSync } from 'node:child_process';
import { copyFile, mkdir, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import path from 'node:path';
import { Redis } from 'ioredis';
import pg from 'pg';
import { TEST_PG_ADMIN_URL, TEST_REDIS_URL } from '../test/helpers/db.ts';
import { RESULTS_DIR, machineFacts } from './lib.ts';
import { hotPathTargetLines, renderSaleMixChart, renderSummaryChart, summaryMarkdown } from './summary.ts';
import type { BenchContext, Scenario, ScenarioResult } from './scenario.ts';
import { SCENARIOS } from './scenarios.ts';
import { createBenchDatabase, startApp } from './stack.ts';

export interface RunOutcome {
  file: string;
  failed: boolean;
  results: Record<string, ScenarioResult & { seconds: number; error?: string }>;
}

const requireFromHere = createRequire(import.meta.url);

function packageVersion(name: string): string {
  try {
    return (requireFromHere(`${name}/package.json`) as { version: string }).version;
  } catch {
    return 'unknown';
  }
}

async function serviceVersions(): Promise<Record<string, string>> {
  const versions: Record<string, string> = {
    node: process.version,
    fastify: packageVersion('fastify'),
    bullmq: packageVersion('bullmq'),
    autocannon: packageVersion('autocannon'),
  };
  const client = new pg.Client({ connectionString: TEST_PG_ADMIN_URL });
  try {
    await client.connect();
    versions.postgresql = (await client.query<{ server_version: string }>('SHOW server_version')).rows[0]!.server_version;
  } catch {
    versions.postgresql = 'unreachable';
  } finally {
    await client.end().catch(() => {});
  }
  const redis = new Redis(TEST_REDIS_URL, { lazyConnect: true, maxRetriesPerRequest: 1 });
  try {
    await redis.connect();
    versions.redis = /redis_version:(\S+)/.exec(await redis.info('server'))?.[1] ?? 'unknown';
  } catch {
    versions.redis = 'unreachable';
  } finally {
    redis.disconnect();
  }
  try {
    versions.wrk = execFileSync('wrk', ['--version'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).split('\n')[0]!.trim();
  } catch (error) {
    const out = String((error as { stdout?: string }).stdout ?? '');
    versions.wrk = out.startsWith('wrk') ? out.split('\n')[0]!.trim() : 'not installed';
  }
  return versions;
}

const DEFAULT_BUDGET_S: Record<string, number> = { catalog: 90, queue: 90, capacity: 300, 'sale-mix': 200, 'checkout-hot': 170, 'sold-out': 90, 'checkout-tracing': 90 };

async function runOne(scenario: Scenario, earlier: Map<string, ScenarioResult>): Promise<ScenarioResult & { seconds: number; error?: string }> {
  const cleanups: Array<() => Promise<void> | void> = [];
  const ctx: BenchContext = {
    durationSeconds: Number(process.env.BENCH_DURATION_S ?? 8),
    connections: Number(process.env.BENCH_CONNECTIONS ?? 64),
    budgetSeconds: DEFAULT_BUDGET_S[scenario.name] ?? 120,
    earlier,
    log: (message) => process.stderr.write(`[${scenario.name}] ${message}\n`),
    onCleanup: (fn) => void cleanups.push(fn),
    async database(options) {
      const database = await createBenchDatabase(options);
      cleanups.push(() => database.drop());
      return database;
    },
    async startApp(database, options) {
      const app = await startApp(database, options);
      cleanups.push(() => app.stop());
      return app;
    },
  };
  const started = performance.now();
  try {
    const result = await scenario.run(ctx);
    return { ...result, seconds: Math.round((performance.now() - started) / 1000) };
  } catch (error) {
    ctx.log(`failed: ${(error as Error).stack ?? String(error)}`);
    return { figures: {}, ratios: {}, checks: [], seconds: Math.round((performance.now() - started) / 1000), error: (error as Error).message };
  } finally {
    for (const cleanup of cleanups.reverse()) {
      try {
        await cleanup();
      } catch (error) {
        ctx.log(`cleanup failed: ${(error as Error).message}`);
      }
    }
  }
}

/** Runs the named scenarios (all when `names` is empty) and writes the results files. */
export async function runBench(names: string[] = []): Promise<RunOutcome> {
  const unknown = names.filter((n) => !SCENARIOS.some((s) => s.name === n));
  if (unknown.length > 0) throw new Error(`unknown scenario(s) ${unknown.join(', ')}; scenarios are ${SCENARIOS.map((s) => s.name).join(', ')}`);
  const selected = names.length === 0 ? SCENARIOS.filter((s) => !s.optional) : SCENARIOS.filter((s) => names.includes(s.name));
  const startedAt = new Date();
  const machine = { ...machineFacts(), versions: await serviceVersions() };
  const results: RunOutcome['results'] = {};
  const earlier = new Map<string, ScenarioResult>();
  for (const scenario of selected) {
    process.stderr.write(`\n== ${scenario.name}: ${scenario.describe}\n`);
    const result = await runOne(scenario, earlier);
    results[scenario.name] = result;
    earlier.set(scenario.name, result);
    process.stderr.write(formatResult(scenario.name, result));
  }
  const failed = Object.values(results).some((r) => r.error || r.checks.some((c) => !c.pass));
  const run = {
    startedAt: startedAt.toISOString(),
    seconds: Math.round((Date.now() - startedAt.getTime()) / 1000),
    machine,
    note: 'Load generator and instances share this machine\'s cores; compare ratios within one run.',
    scenarios: results,
    failed,
  };
  await mkdir(RESULTS_DIR, { recursive: true });
  const stamp = startedAt.toISOString().replace(/[:.]/g, '-');
  const file = path.join(RESULTS_DIR, `run-${stamp}.json`);
  await writeFile(file, JSON.stringify(run, null, 2) + '\n');
  // Only a run of every default scenario replaces the summary: one of a scenario or two would hide the last full run's.
  const full = SCENARIOS.every((s) => s.optional || selected.includes(s));
  if (full) await writeLatest(run, file);
  const summary = full ? path.join(RESULTS_DIR, 'latest.md') : `not written (some scenarios only): ${path.join(RESULTS_DIR, 'latest.md')} keeps the last full run`;
  process.stdout.write(`\nHot-path targets (ratios against references measured in this run):\n${hotPathTargetLines(run).join('\n')}\n`);
  process.stdout.write(`\nresults: ${file}\nsummary: ${summary}\n${failed ? 'FAILED: at least one check failed or a scenario errored\n' : 'all checks passed\n'}`);
  return { file, failed, results };
}

/** latest.json / latest.md / latest.svg (and the sale-mix chart) from a run of every default scenario. */
async function writeLatest(run: Parameters<typeof summaryMarkdown>[0], file: string): Promise<void> {
  await copyFile(file, path.join(RESULTS_DIR, 'latest.json'));
  try {
    await writeFile(path.join(RESULTS_DIR, 'latest.svg'), await renderSummaryChart(run));
  } catch (error) {
    process.stderr.write(`chart not written: ${(error as Error).message}\n`);
  }
  const timeline = run.scenarios['sale-mix']?.details?.timeline as Parameters<typeof renderSaleMixChart>[0] | undefined;
  if (timeline) {
    try {
      await writeFile(path.join(RESULTS_DIR, 'latest-sale-mix.svg'), await renderSaleMixChart(timeline, `sale-mix spike, ${run.startedAt.slice(0, 16)}Z, commit ${run.machine.commit}`));
    } catch (error) {
      process.stderr.write(`sale-mix chart not written: ${(error as Error).message}\n`);
    }
  }
  await writeFile(path.join(RESULTS_DIR, 'latest.md'), summaryMarkdown(run, path.basename(file), 'latest.svg'));
}

export function formatResult(name: string, r: ScenarioResult & { seconds: number; error?: string }): string {
  const lines = [`-- ${name} (${r.seconds} s)`];
  if (r.skipped) lines.push(`   skipped: ${r.skipped}`);
  if (r.error) lines.push(`   ERROR: ${r.error}`);
  for (const [k, v] of Object.entries(r.figures)) lines.push(`   ${k}: ${v}`);
  for (const [k, v] of Object.entries(r.ratios)) lines.push(`   ratio ${k}: ${v}`);
  for (const c of r.checks) lines.push(`   ${c.pass ? 'PASS' : 'FAIL'} ${c.name}: ${c.measured} (target ${c.comparison} ${c.target})${c.note ? ` — ${c.note}` : ''}`);
  return lines.join('\n') + '\n';
}

export { SCENARIOS };

if (import.meta.main) {
  // `npm run bench -- <names>` lands here, not in `salescale bench`: the same usage, one line for a bad name.
  const names = process.argv.slice(2);
  const list = SCENARIOS.map((s) => `  ${s.name.padEnd(18)}${s.optional ? '(diagnostic, run only by name) ' : ''}${s.describe}`).join('\n');
  if (names.some((n) => n === '--help' || n === '-h')) {
    process.stdout.write(`Usage: npm run bench -- [scenarios...]   (all but the diagnostics when none is named)\n\nScenarios:\n${list}\n`);
  } else {
    const unknown = names.filter((n) => !SCENARIOS.some((s) => s.name === n));
    if (unknown.length > 0) {
      process.stderr.write(`bench: unknown scenario ${unknown.join(', ')} (scenarios: ${SCENARIOS.map((s) => s.name).join(', ')})\n`);
      process.exitCode = 2;
    } else {
      const outcome = await runBench(names);
      process.exitCode = outcome.failed ? 1 : 0;
    }
  }
}
