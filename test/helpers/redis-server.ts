import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Redis } from 'ioredis';
import { freePort } from '../../src/platform/local/local-stack.ts';

export interface PrivateRedis {
  url: string;
  port: number;
  /** Stops the server (SIGTERM: graceful, SIGKILL: a crash) and waits for it to exit. */
  stop(signal?: NodeJS.Signals): Promise<void>;
  /** Starts it again on the same port and folder (AOF, if enabled, is replayed). */
  start(): Promise<void>;
  /** Stops it and removes its folder. */
  destroy(): Promise<void>;
}

/**
 * A redis-server of the test's own on a free loopback port, for tests that stop or reconfigure
 * Redis: the machine's Redis on 6379 is shared by concurrently running test files.
 */
export async function startPrivateRedis(options: { args?: string[] } = {}): Promise<PrivateRedis> {
  const dir = await mkdtemp(path.join(tmpdir(), 'salescale-test-redis-'));
  const port = await freePort();
  const url = `redis://127.0.0.1:${port}`;
  let child: ChildProcess | undefined;

  async function start(): Promise<void> {
    child = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--save', '', '--daemonize', 'no', ...(options.args ?? [])], {
      stdio: ['ignore', 'ignore', 'inherit'],
    });
    const probe = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
    probe.on('error', () => {});
    const deadline = Date.now() + 10_000;
    for (;;) {
      try {
        await probe.connect();
        // With AOF, the server answers LOADING until it has replayed the file.
        if ((await probe.ping()) === 'PONG') break;
      } catch (error) {
        probe.disconnect();
        if (child.exitCode !== null || Date.now() > deadline) throw new Error(`redis-server did not start: ${(error as Error).message}`);
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    }
    probe.disconnect();
  }

  async function stop(signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
    const running = child;
    if (!running || running.exitCode !== null || running.signalCode !== null) return;
    const exited = new Promise((resolve) => running.once('exit', resolve));
    running.kill(signal);
    await exited;
  }

  await start();
  return {
    url,
    port,
    stop,
    start,
    async destroy() {
      await stop('SIGKILL');
      await rm(dir, { recursive: true, force: true });
    },
  };
}
