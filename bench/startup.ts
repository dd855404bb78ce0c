/**
 * Start-up: how long a fresh process takes from spawn to its first 200 on its readiness endpoint, i.e. how soon an
 * instance the autoscaler adds can take traffic. Each sample spawns a new process in its own process group on a free
 * loopback port, polls `GET /ready` every 5 ms, notes the time and the process's CPU time (user + system, /proc) at the
 * first 200, then kills the group. Sides, alternating within each round so that the shared machine's load hits all of
 * them alike: `salescale serve` (web role, /ready), `salescale worker` (worker role: its HTTP server on WORKER_PORT
 * listens only once its BullMQ workers and outbox relay run, so its /ready is "processing jobs"), and the references —
 * a bare `node` process importing only node:http (`bare-ready.ts`) and bare Fastify on the same runtime.
 * Then one `salescale serve` under `--cpu-prof` up to ready: CPU samples grouped by package / source folder, the five
 * that cost most (what the imports at start-up spend). BENCH_STARTUP_SAMPLES (5) per side; BENCH_STARTUP_COMPARE=<checkout>
 * adds that checkout's roles as further sides (`webCompare`, `workerCompare`), for the A/B of a start-up change.
 */
import { spawn } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { freePort } from '../src/platform/local/local-stack.ts';
import { cpuSecondsOf, median } from './lib.ts';
import type { Scenario } from './scenario.ts';
import { check } from './scenario.ts';
import { benchEnv, MAIN } from './stack.ts';

const BARE = path.resolve(import.meta.dirname, 'bare-ready.ts');
const ROOT = path.resolve(import.meta.dirname, '..');

interface Sample {
  readyMs: number;
  cpuMs: number;
}

/** Spawns `args` on this Node with PORT (and WORKER_PORT) free, waits for the first 200 on `url(port)/ready`, kills the group. */
async function sampleStartup(args: string[], env: Record<string, string>, nodeArgs: string[] = [], stopGracefully = false): Promise<Sample> {
  const port = await freePort();
  const workerPort = await freePort();
  const readyPort = args.includes('worker') ? workerPort : port;
  const t0 = performance.now();
  const child = spawn(process.execPath, [...nodeArgs, ...args], {
    cwd: ROOT,
    env: { ...process.env, ...env, PORT: String(port), WORKER_PORT: String(workerPort), HOST: '127.0.0.1' },
    stdio: ['ignore', 'ignore', 'inherit'],
    detached: true,
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const pid = child.pid!;
  try {
    for (const deadline = Date.now() + 60_000; ; ) {
      if (child.exitCode !== null) throw new Error(`${args.join(' ')} exited with ${child.exitCode} before it was ready`);
      const ok = await fetch(`http://127.0.0.1:${readyPort}/ready`, { signal: AbortSignal.timeout(2000) }).then(
        (r) => r.status === 200,
        () => false,
      );
      if (ok) {
        const readyMs = performance.now() - t0;
        return { readyMs, cpuMs: cpuSecondsOf(pid) * 1000 };
      }
      if (Date.now() > deadline) throw new Error(`${args.join(' ')} not ready after 60 s`);
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
  } finally {
    try {
      process.kill(-pid, stopGracefully ? 'SIGTERM' : 'SIGKILL');
    } catch {
      // already gone
    }
    await exited;
  }
}

/** Self time of a `--cpu-prof` profile by package (node_modules/<name>) or source folder, ms, largest first. */
export function profileCostsByModule(profile: { nodes: Array<{ id: number; callFrame: { url: string; functionName: string } }>; samples: number[]; timeDeltas: number[] }): Array<{ module: string; ms: number }> {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const totals = new Map<string, number>();
  for (let i = 0; i < profile.samples.length; i++) {
    const node = byId.get(profile.samples[i]!);
    if (!node) continue;
    const key = moduleOf(node.callFrame.url, node.callFrame.functionName);
    totals.set(key, (totals.get(key) ?? 0) + (profile.timeDeltas[i] ?? 0) / 1000);
  }
  return [...totals].map(([module, ms]) => ({ module, ms: Math.round(ms) })).sort((a, b) => b.ms - a.ms);
}

function moduleOf(url: string, functionName: string): string {
  if (!url) return `(${functionName.replace(/[()]/g, '') || 'native'})`;
  const file = url.replace(/^file:\/\//, '');
  const nm = file.lastIndexOf('/node_modules/');
  if (nm >= 0) {
    const parts = file.slice(nm + 14).split('/');
    return parts[0]!.startsWith('@') ? `${parts[0]}/${parts[1]}` : parts[0]!;
  }
  if (url.startsWith('node:')) return 'node: built-ins (the module loader, compiling)';
  if (url.startsWith('wasm:')) return 'TypeScript type stripping (amaro, wasm)';
  const relative = path.relative(ROOT, file);
  if (relative.startsWith('..')) return file;
  const parts = relative.split('/');
  return parts.length > 3 ? parts.slice(0, 3).join('/') : relative;
}

export const startupScenario: Scenario = {
  name: 'startup',
  describe: 'spawn → first 200 on /ready of the web and worker roles (and their CPU time up to it) vs bare node:http and bare Fastify; the costliest modules at start-up (--cpu-prof)',
  async run(ctx) {
    const db = await ctx.database();
    const env = benchEnv(db);
    const samples = Math.max(1, Number(process.env.BENCH_STARTUP_SAMPLES ?? 5));
    const sides: Record<string, () => Promise<Sample>> = {
      bareNode: () => sampleStartup([BARE], { BARE_READY: 'node' }),
      bareFastify: () => sampleStartup([BARE], { BARE_READY: 'fastify' }),
      web: () => sampleStartup([MAIN, 'serve'], env),
      worker: () => sampleStartup([MAIN, 'worker'], env),
    };
    // BENCH_STARTUP_COMPARE=<another checkout>: its roles too, alternating with these (A/B of a start-up change).
    const compare = process.env.BENCH_STARTUP_COMPARE;
    if (compare) {
      const otherMain = path.resolve(compare, 'src/main.ts');
      sides.webCompare = () => sampleStartup([otherMain, 'serve'], env);
      sides.workerCompare = () => sampleStartup([otherMain, 'worker'], env);
    }
    const names = Object.keys(sides);
    const results: Record<string, Sample[]> = Object.fromEntries(names.map((n) => [n, []]));
    for (let round = 0; round < samples; round++) {
      // Rotate the order each round: no side always runs right after another's exit.
      for (let k = 0; k < names.length; k++) {
        const name = names[(round + k) % names.length]!;
        results[name]!.push(await sides[name]!());
      }
      ctx.log(`startup round ${round + 1}/${samples}: ${names.map((n) => `${n} ${results[n]!.at(-1)!.readyMs.toFixed(0)} ms`).join(', ')}`);
    }
    const med = (name: string, key: keyof Sample) => median(results[name]!.map((s) => s[key]));
    const max = (name: string) => Math.max(...results[name]!.map((s) => s.readyMs));
    const paired = (a: string, b: string, key: keyof Sample) => median(results[a]!.map((s, i) => s[key] / results[b]![i]![key]));

    // One profiled start of the web role, stopped gracefully once ready so that Node writes the profile.
    const dir = await mkdtemp(path.join(os.tmpdir(), 'salescale-startup-prof-'));
    let topModules: Array<{ module: string; ms: number }> = [];
    try {
      await sampleStartup([MAIN, 'serve'], { ...env, SHUTDOWN_DRAIN_DELAY_MS: '0' }, ['--cpu-prof', `--cpu-prof-dir=${dir}`, '--cpu-prof-interval=500'], true);
      const file = (await readdir(dir)).find((f) => f.endsWith('.cpuprofile'));
      if (file) topModules = profileCostsByModule(JSON.parse(await readFile(path.join(dir, file), 'utf8'))).filter((m) => m.module !== '(idle)').slice(0, 8);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
    ctx.log(`startup: web ${med('web', 'readyMs').toFixed(0)} ms, worker ${med('worker', 'readyMs').toFixed(0)} ms, bare node ${med('bareNode', 'readyMs').toFixed(0)} ms, bare Fastify ${med('bareFastify', 'readyMs').toFixed(0)} ms (medians of ${samples})`);
    ctx.log(`startup: costliest at start-up (web, --cpu-prof self time): ${topModules.slice(0, 5).map((m) => `${m.module} ${m.ms} ms`).join(', ')}`);

    const figures: Record<string, number> = {};
    for (const name of names) {
      figures[`${name}ReadyMs`] = med(name, 'readyMs');
      figures[`${name}ReadyMaxMs`] = max(name);
      figures[`${name}CpuMsToReady`] = med(name, 'cpuMs');
    }
    return {
      figures,
      ratios: {
        webVsBareNode: med('web', 'readyMs') / med('bareNode', 'readyMs'),
        workerVsBareNode: med('worker', 'readyMs') / med('bareNode', 'readyMs'),
        webVsBareFastify: med('web', 'readyMs') / med('bareFastify', 'readyMs'),
        webCpuVsBareNode: med('web', 'cpuMs') / med('bareNode', 'cpuMs'),
        // A/B: the median over rounds of each round's ratio (the two sides of a round ran seconds apart, under the same load).
        ...(compare
          ? {
              webVsCompare: paired('web', 'webCompare', 'readyMs'),
              workerVsCompare: paired('worker', 'workerCompare', 'readyMs'),
              webCpuVsCompare: paired('web', 'webCompare', 'cpuMs'),
              workerCpuVsCompare: paired('worker', 'workerCompare', 'cpuMs'),
            }
          : {}),
      },
      // No target yet: what the scaling toolkit assumes is compared in the README; this check only says the roles came up.
      checks: [check('web role ready (median ms)', med('web', 'readyMs'), '<', 60_000), check('worker role ready (median ms)', med('worker', 'readyMs'), '<', 60_000)],
      details: { ...(compare ? { compare } : {}), samples: results, topModulesAtStartup: topModules, profile: '--cpu-prof of one `salescale serve` from spawn to its first 200 on /ready, self time by package or source folder (3 levels)' },
    };
  },
};
