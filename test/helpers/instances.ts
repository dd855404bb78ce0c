import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { freePort } from '../../src/platform/local/local-stack.ts';

const MAIN = path.resolve(import.meta.dirname, '../../src/main.ts');

export interface Instance {
  url: string;
  port: number;
  /** Its METRICS_PORT, when it has one (see `StartInstanceOptions.metricsPort`). */
  metricsPort?: number;
  /** Its INSTANCE_ID (the caller's, else a random `test-instance-…`). */
  instanceId: string;
  process: ChildProcess;
  /** Everything the process wrote, for assertions and for debugging a failure. */
  output(): string;
  /** Sends a signal and resolves with the exit code. */
  stop(signal?: NodeJS.Signals): Promise<number | null>;
  exited: Promise<number | null>;
}

/**
 * Starts `salescale <command>` as a real child process (same Node binary as the test runner)
 * on a free port and waits until `readyPath` answers 200 — from this child: a free port found here can be
 * taken by another test file's server before the child binds it (`--test-concurrency=3`), and that server
 * would answer `/ready` for it (a CI run once created its products on one database and its sale on another).
 * So the child gets its own INSTANCE_ID and its `/metrics` must carry it; on a port taken by someone else
 * (a foreign `/metrics`, or the child's exit with EADDRINUSE) the child is stopped and started again on other ports.
 * Every port it listens on is found here, for each attempt, unless the caller fixed it: PORT, WORKER_PORT for
 * the worker (the same port, which `url` and `port` name), METRICS_PORT with `metricsPort` (read it from the
 * instance). A caller that fixes PORT or METRICS_PORT gets no retry (its port is taken: the start fails), and
 * where `/metrics` cannot be read (production, METRICS_PUBLIC=false) only the readiness is checked.
 */
export interface StartInstanceOptions {
  env: Record<string, string>;
  command?: string;
  readyPath?: string;
  timeoutMs?: number;
  /** Start it as the leader of a process group of its own, so a test can check it leaves no process behind. */
  detached?: boolean;
  /** Give it a METRICS_PORT of its own, found free here for each attempt: `Instance.metricsPort`. */
  metricsPort?: boolean;
}

export async function startInstance(options: StartInstanceOptions): Promise<Instance> {
  for (let attempt = 1; ; attempt++) {
    const started = await startOnce(options);
    if (started !== 'port taken') return started;
    if (attempt >= 5) throw new Error('every free port found was taken by another process before the instance bound it');
  }
}

async function startOnce(options: StartInstanceOptions): Promise<Instance | 'port taken'> {
  const port = Number(options.env.PORT ?? (await freePort()));
  const metricsPort = options.metricsPort ? await freePort() : options.env.METRICS_PORT ? Number(options.env.METRICS_PORT) : undefined;
  // Whether every port the child binds was found here: only then is a taken one worth another attempt.
  const portsOurs = options.env.PORT === undefined && (options.metricsPort || !options.env.METRICS_PORT);
  const instanceId = options.env.INSTANCE_ID ?? `test-instance-${randomBytes(6).toString('hex')}`;
  const token = options.env.METRICS_TOKEN;
  // Where its /metrics (which carries its INSTANCE_ID) answers: on METRICS_PORT when it has one, which the web
  // role opens after PORT (so it is only ours once PORT is), else on PORT (the worker's WORKER_PORT).
  const canCheckOwner = portsOurs && (metricsPort !== undefined || (options.env.NODE_ENV !== 'production' && options.env.METRICS_PUBLIC !== 'false'));
  const worker = (options.command ?? 'serve') === 'worker';
  const child = spawn(process.execPath, [MAIN, options.command ?? 'serve'], {
    env: {
      PATH: process.env.PATH ?? '',
      HOME: process.env.HOME ?? '/tmp',
      LOG_LEVEL: 'warn',
      ...(worker ? { WORKER_PORT: String(port) } : {}),
      ...options.env,
      ...(metricsPort !== undefined ? { METRICS_PORT: String(metricsPort) } : {}),
      INSTANCE_ID: instanceId,
      PORT: String(port),
      HOST: '127.0.0.1',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: options.detached ?? false,
  });
  let output = '';
  child.stdout?.on('data', (chunk) => (output += chunk));
  child.stderr?.on('data', (chunk) => (output += chunk));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + (options.timeoutMs ?? 60_000);
  for (;;) {
    if (child.exitCode !== null) {
      // The port found free was bound meanwhile by something that does not answer /ready (another file's proxy,
      // Redis or SMTP sink): the child exits "cannot listen: … EADDRINUSE". Another port, as for a foreign server.
      if (portsOurs && output.includes('EADDRINUSE')) return 'port taken';
      throw new Error(`instance exited with ${child.exitCode} before it was ready:\n${output}`);
    }
    try {
      // Bounded: a foreign listener on the port (a proxy, an SMTP sink) may never answer, and the child's exit is checked between tries.
      const response = await fetch(url + (options.readyPath ?? '/ready'), { signal: AbortSignal.timeout(5000) });
      if (response.status === 200) {
        if (!canCheckOwner) break;
        const metricsUrl = metricsPort !== undefined ? `http://127.0.0.1:${metricsPort}/metrics` : `${url}/metrics`;
        const metrics = await fetch(metricsUrl, { signal: AbortSignal.timeout(5000), ...(token ? { headers: { authorization: `Bearer ${token}` } } : {}) }).then((r) => r.text());
        if (metrics.includes(`instance_id="${instanceId}"`)) break;
        child.kill('SIGKILL');
        await exited;
        return 'port taken';
      }
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`instance not ready after ${options.timeoutMs ?? 60_000} ms:\n${output}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return {
    url,
    port,
    metricsPort,
    instanceId,
    process: child,
    output: () => output,
    exited,
    async stop(signal = 'SIGTERM') {
      if (child.exitCode === null) child.kill(signal);
      return exited;
    },
  };
}
