import { execSync, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import autocannon from 'autocannon';
import { freePort } from '../src/platform/local/local-stack.ts';

export const RESULTS_DIR = path.resolve(import.meta.dirname, 'results');

export interface LoadResult {
  requestsPerSecond: number;
  latencyMs: { p50: number; p90: number; p99: number; max: number };
  non2xx: number;
  errors: number;
  total: number;
}

/** A bounded autocannon run against a loopback URL (or a list of paths). */
export async function load(options: { url: string; paths?: string[]; connections: number; durationSeconds: number }): Promise<LoadResult> {
  const target = new URL(options.url);
  if (!['127.0.0.1', 'localhost', '[::1]'].includes(target.hostname)) throw new Error('benchmarks target loopback only');
  const result = await autocannon({
    url: options.url,
    connections: options.connections,
    duration: options.durationSeconds,
    requests: options.paths?.map((p) => ({ method: 'GET', path: p })),
  });
  return loadResult(result);
}

/** The figures of one autocannon run that every scenario reports. */
export function loadResult(result: autocannon.Result): LoadResult {
  return {
    requestsPerSecond: result.requests.average,
    latencyMs: { p50: result.latency.p50, p90: result.latency.p90, p99: result.latency.p99, max: result.latency.max },
    non2xx: result.non2xx,
    errors: result.errors,
    total: result.requests.total,
  };
}

/**
 * Starts a child process running a TypeScript file on this Node, on a free loopback port (env PORT),
 * and waits until `readyPath` answers 200.
 */
export async function startChild(file: string, args: string[], env: Record<string, string>, readyPath = '/', nodeArgs: string[] = []): Promise<{ url: string; pid: number; stop(): Promise<void> }> {
  const port = await freePort();
  const child = spawn(process.execPath, [...nodeArgs, file, ...args], { env: { ...process.env, ...env, PORT: String(port), HOST: '127.0.0.1' }, stdio: ['ignore', 'pipe', 'inherit'] });
  // Pass on the instances' error lines (JSON on stdout), so a 5xx seen by a load run has its cause in the output.
  // Warnings (slow queries under load, degrade-mode transitions) would drown it.
  const name = path.basename(file, '.ts');
  let partial = '';
  child.stdout?.setEncoding('utf8').on('data', (chunk: string) => {
    const lines = (partial + chunk).split('\n');
    partial = lines.pop() ?? '';
    for (const line of lines) if (Number(/"level":(\d+)/.exec(line)?.[1] ?? 0) >= 50) process.stderr.write(`[${name} ${child.pid}] ${line}\n`);
  });
  const url = `http://127.0.0.1:${port}`;
  // Start-up can take over 20 s on a loaded 2-core machine.
  for (const deadline = Date.now() + 60_000; ; ) {
    if (child.exitCode !== null) throw new Error(`${file} exited with ${child.exitCode} before it was ready`);
    const ok = await fetch(url + readyPath).then((r) => r.status === 200, () => false);
    if (ok) break;
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`${file} not ready after 60 s`);
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return {
    url,
    pid: child.pid!,
    stop: () =>
      new Promise((resolve) => {
        if (child.exitCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
      }),
  };
}

export function machineFacts() {
  let commit = 'unknown';
  try {
    commit = execSync('git rev-parse --short HEAD', { encoding: 'utf8' }).trim();
  } catch {
    // not a git checkout
  }
  return {
    at: new Date().toISOString(),
    commit,
    node: process.version,
    cpus: os.cpus().length,
    cpuModel: os.cpus()[0]?.model ?? 'unknown',
    memoryGiB: Math.round(os.totalmem() / 2 ** 30),
    loadAverage: os.loadavg().map((n) => Math.round(n * 100) / 100),
  };
}

export async function writeResult(name: string, data: unknown): Promise<string> {
  await mkdir(RESULTS_DIR, { recursive: true });
  const file = path.join(RESULTS_DIR, `${name}.json`);
  await writeFile(file, JSON.stringify(data, null, 2) + '\n');
  return file;
}

/**
 * CPU seconds (user + system) a process has used so far, from /proc (Linux). CPU time per request is
 * far steadier than requests/s on a shared machine: a process that waits for a core is not charged.
 */
export function cpuSecondsOf(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // Fields 14 and 15 of stat (utime, stime), counted from after the command name: indexes 11 and 12.
  return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS;
}

/**
 * Starts counting a process's CPU time; the returned function gives µs of it per `count` (requests,
 * replies, orders) since the start.
 */
export function startCpuMeter(pid: number): (count: number) => number {
  const before = cpuSecondsOf(pid);
  return (count) => ((cpuSecondsOf(pid) - before) * 1e6) / Math.max(1, count);
}

/** The median of a list (NaN when empty). */
export function median(values: number[]): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/**
 * The median over rounds of one side's expected replies/s ÷ another's in the same round: both runs of
 * a pair are seconds apart, so a burst of other work on the shared cores hits one pair rather than
 * pairing one side's luckiest round with the other's unluckiest (which best-of-rounds per side can).
 */
export function pairedMedianRatio<R>(rounds: R[], numerator: (r: R) => number, denominator: (r: R) => number): number {
  return median(rounds.map((r) => numerator(r) / denominator(r)));
}

const CLOCK_TICKS = (() => {
  try {
    return Number(execSync('getconf CLK_TCK', { encoding: 'utf8' }).trim()) || 100;
  } catch {
    return 100;
  }
})();
