import type { ChildProcess } from 'node:child_process';
import { freePort } from '../../src/platform/local/local-stack.ts';

export interface ListeningChild {
  child: ChildProcess;
  port: number;
  url: string;
  /** Everything the process wrote, for a failure's message. */
  output(): string;
}

/**
 * Starts a server process (Prometheus, Alertmanager, …) on a port found free here. The port can be taken by
 * another test file's server (three files run at once, many bind port 0) before the child binds it: the child
 * then exits with "address already in use", and it is started again on another port (up to five). `ours` tells
 * the child from a foreign server that answers on the port meanwhile (its own configuration file, say).
 */
export async function startListeningChild(options: {
  what: string;
  spawn(port: number): ChildProcess;
  /** Resolves true once the server on `url` is ready and is this child (false: not yet, or not ours). */
  ours(url: string): Promise<boolean>;
  timeoutMs?: number;
}): Promise<ListeningChild> {
  for (let attempt = 1; ; attempt++) {
    const port = await freePort();
    const url = `http://127.0.0.1:${port}`;
    const child = options.spawn(port);
    let output = '';
    child.stdout?.on('data', (chunk) => (output += chunk));
    child.stderr?.on('data', (chunk) => (output += chunk));
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    const deadline = Date.now() + (options.timeoutMs ?? 30_000);
    for (;;) {
      if (child.exitCode !== null || child.signalCode !== null) {
        await exited;
        if (attempt < 5 && /address already in use|EADDRINUSE/i.test(output)) break;
        throw new Error(`${options.what} exited (${child.exitCode ?? child.signalCode}) before it was ready on port ${port}:\n${output}`);
      }
      // Bounded: a foreign listener on the port may accept and never answer; the child's exit is checked between tries.
      const answer = await Promise.race([options.ours(url).catch(() => false), new Promise<false>((resolve) => setTimeout(resolve, 5000, false).unref())]);
      if (answer) return { child, port, url, output: () => output };
      if (Date.now() > deadline) {
        child.kill('SIGKILL');
        await exited;
        throw new Error(`${options.what} not ready on port ${port} after ${options.timeoutMs ?? 30_000} ms:\n${output}`);
      }
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
  }
}
