import { execFile, spawn } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { appendFile, chown, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import pg from 'pg';
import { freePort } from '../../src/platform/local/local-stack.ts';

const run = promisify(execFile);

export interface PrivatePostgres {
  /** Its folder (the data in `data/`, beside whatever `setUp` wrote). */
  dir: string;
  port: number;
  /** Stops the server at once (SIGQUIT to its process group) and removes its folder. */
  stop(): Promise<void>;
}

export interface PrivatePostgresOptions {
  /** The temporary folder's name prefix. */
  prefix: string;
  /** Writes what the server needs before initdb (certificates, a password file); `own` hands a file to the server's user. */
  setUp?(dir: string, own: (file: string) => Promise<void>): Promise<void>;
  /** initdb's arguments besides `-D`, `-U postgres` and `--no-sync` (its authentication, a password file: initdb runs in the folder). */
  initdbArgs: string[];
  /** postgresql.conf lines besides the port, address, socket folder and fsync (relative paths are the data folder's: `../x` is the folder's `x`). */
  conf?: string[];
  /** How to connect once it runs (read after `setUp`; the server is ready when this connects). */
  client(): Omit<pg.ClientConfig, 'host' | 'port'>;
  /** Run on that first connection (create databases). */
  onReady?(client: pg.Client): Promise<void>;
}

/**
 * A PostgreSQL server of a test's own, from the machine's server binaries, on a free loopback port: for what the
 * shared one cannot show (it trusts every local connection and speaks no TLS). As root, its folder and process are the
 * `postgres` user's (PostgreSQL refuses to run as root). It leads its own process group; `stop()` ends it.
 */
export async function startPrivatePostgres(options: PrivatePostgresOptions): Promise<PrivatePostgres> {
  const bin = join('/usr/lib/postgresql', readdirSync('/usr/lib/postgresql').sort().at(-1) ?? '', 'bin');
  const ids = process.getuid?.() === 0 ? { uid: Number((await run('id', ['-u', 'postgres'])).stdout), gid: Number((await run('id', ['-g', 'postgres'])).stdout) } : {};
  const dir = await mkdtemp(join(tmpdir(), options.prefix));
  const own = async (file: string) => {
    if (ids.uid !== undefined) await chown(join(dir, file), ids.uid, ids.gid);
  };
  await own('');
  await options.setUp?.(dir, own);
  await run(join(bin, 'initdb'), ['-D', join(dir, 'data'), '-U', 'postgres', ...options.initdbArgs, '--no-sync'], { ...ids, cwd: dir });
  const port = await freePort();
  const conf = [`port = ${port}`, "listen_addresses = '127.0.0.1'", `unix_socket_directories = '${dir}'`, 'fsync = off', ...(options.conf ?? []), ''];
  await appendFile(join(dir, 'data', 'postgresql.conf'), conf.join('\n'));
  const server = spawn(join(bin, 'postgres'), ['-D', join(dir, 'data')], { ...ids, cwd: dir, detached: true, stdio: 'ignore' });
  const stop = async () => {
    if (server.pid && server.exitCode === null) {
      const exited = new Promise((resolve) => server.once('exit', resolve));
      process.kill(-server.pid, 'SIGQUIT'); // immediate shutdown of the postmaster and its backends
      await exited;
    }
    await rm(dir, { recursive: true, force: true });
  };
  for (let started = Date.now(); ; ) {
    const client = new pg.Client({ ...options.client(), host: '127.0.0.1', port });
    try {
      await client.connect();
      await options.onReady?.(client);
      await client.end();
      return { dir, port, stop };
    } catch (error) {
      await client.end().catch(() => {});
      if (Date.now() - started > 30_000) {
        await stop();
        throw error;
      }
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
  }
}
