import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { freePort } from '../../src/platform/local/local-stack.ts';

const MAIN = path.resolve(import.meta.dirname, '../../src/main.ts');

export interface Instance {
  url: string;
  port: number;
  process: ChildProcess;
  /** Everything the process wrote, for assertions and for debugging a failure. */
  output(): string;
  /** Sends a signal and resolves with the exit code. */
  stop(signal?: NodeJS.Signals): Promise<number | null>;
  exited: Promise<number | null>;
}

/**
 * Starts `salescale <command>` as a real child process (same Node binary as the test runner)
 * on a free port and waits until `readyPath` answers 200.
 */
export async function startInstance(options: { env: Record<string, string>; command?: string; readyPath?: string; timeoutMs?: number }): Promise<Instance> {
  const port = Number(options.env.PORT ?? (await freePort()));
  const child = spawn(process.execPath, [MAIN, options.command ?? 'serve'], {
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', LOG_LEVEL: 'warn', ...options.env, PORT: String(port), HOST: '127.0.0.1' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout?.on('data', (chunk) => (output += chunk));
  child.stderr?.on('data', (chunk) => (output += chunk));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + (options.timeoutMs ?? 60_000);
  for (;;) {
    if (child.exitCode !== null) throw new Error(`instance exited with ${child.exitCode} before it was ready:\n${output}`);
    try {
      const response = await fetch(url + (options.readyPath ?? '/ready'));
      if (response.status === 200) break;
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
    process: child,
    output: () => output,
    exited,
    async stop(signal = 'SIGTERM') {
      if (child.exitCode === null) child.kill(signal);
      return exited;
    },
  };
}
