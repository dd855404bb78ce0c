import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { createServer } from 'node:net';
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
  let port = 0;
  let url = '';
  let child: ChildProcess | undefined;

  /** 'port taken' when the server could not bind its port (another process took it after freePort found it free). */
  async function startOnce(): Promise<'started' | 'port taken'> {
    const server = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--save', '', '--daemonize', 'no', ...(options.args ?? [])], {
      stdio: ['ignore', 'ignore', 'inherit'],
    });
    child = server;
    // Bounded commands: whatever else listens on the port may never answer.
    const probe = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null, connectTimeout: 1000, commandTimeout: 1000 });
    probe.on('error', () => {});
    const deadline = Date.now() + 10_000;
    try {
      for (;;) {
        try {
          await probe.connect();
          // With AOF, the server answers LOADING until it has replayed the file.
          if ((await probe.ping()) === 'PONG') {
            // Ours, not another test's server on the same port.
            if ((await probe.info('server')).includes(`process_id:${server.pid}\r\n`)) return 'started';
            throw new Error(`another server answers on port ${port}`);
          }
        } catch (error) {
          probe.disconnect();
          if (server.exitCode !== null) {
            // Exited at once while something else holds the port: try another port (the first start only).
            if (!(await portFree(port))) return 'port taken';
            throw new Error(`redis-server did not start: ${(error as Error).message}`);
          }
          if (Date.now() > deadline) throw new Error(`redis-server did not start: ${(error as Error).message}`);
          await new Promise((resolve) => setTimeout(resolve, 50));
        }
      }
    } finally {
      probe.disconnect();
    }
  }

  async function start(): Promise<void> {
    if ((await startOnce()) === 'port taken') throw new Error(`redis-server could not bind port ${port} again: another process took it`);
  }

  async function stop(signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
    const running = child;
    if (!running || running.exitCode !== null || running.signalCode !== null) return;
    const exited = new Promise((resolve) => running.once('exit', resolve));
    running.kill(signal);
    await exited;
  }

  for (let attempt = 1; ; attempt++) {
    port = await freePort();
    url = `redis://127.0.0.1:${port}`;
    if ((await startOnce()) === 'started') break;
    if (attempt >= 5) throw new Error('every free port found was taken by another process before redis-server bound it');
  }
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

/** Whether nothing listens on 127.0.0.1:`port`. */
function portFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}
