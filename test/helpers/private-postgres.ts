import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { appendFile, chown, mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
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
  let server!: ChildProcess;
  const stop = async () => {
    if (server?.pid && server.exitCode === null) {
      const exited = new Promise((resolve) => server.once('exit', resolve));
      process.kill(-server.pid, 'SIGQUIT'); // immediate shutdown of the postmaster and its backends
      await exited;
    }
    await rm(dir, { recursive: true, force: true });
  };
  // A port found free may be taken by another process before the server binds it: the server then exits, and
  // another port is tried (up to five, as startInstance does). Later `port` lines in postgresql.conf win.
  for (let attempt = 1; ; attempt++) {
    const port = await freePort();
    const conf = [`port = ${port}`, "listen_addresses = '127.0.0.1'", `unix_socket_directories = '${dir}'`, 'fsync = off', ...(options.conf ?? []), ''];
    await appendFile(join(dir, 'data', 'postgresql.conf'), conf.join('\n'));
    server = spawn(join(bin, 'postgres'), ['-D', join(dir, 'data')], { ...ids, cwd: dir, detached: true, stdio: 'ignore' });
    const exited = new Promise<void>((resolve) => server.once('exit', () => resolve()));
    for (let started = Date.now(); ; ) {
      // Bounded: whatever else listens on the port may never answer.
      const client = new pg.Client({ ...options.client(), host: '127.0.0.1', port, connectionTimeoutMillis: 2000 });
      try {
        await client.connect();
        // Ours, not another test's server on the same port.
        const socketDir = (await client.query<{ unix_socket_directories: string }>('show unix_socket_directories')).rows[0]!.unix_socket_directories;
        if (socketDir !== dir) throw new Error(`another PostgreSQL answers on port ${port}`);
        await options.onReady?.(client);
        await client.end();
        return { dir, port, stop };
      } catch (error) {
        await client.end().catch(() => {});
        if (server.exitCode !== null || server.signalCode !== null) {
          await exited;
          if (attempt < 5 && !(await portFree(port))) break; // the port was taken meanwhile: another one
          await stop();
          throw new Error(`postgres did not start on port ${port}: ${(error as Error).message}`);
        }
        if (Date.now() - started > 30_000) {
          await stop();
          throw error;
        }
        await new Promise((resolve) => setTimeout(resolve, 200));
      }
    }
  }
}

/** Whether nothing listens on 127.0.0.1:`port`. */
function portFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}
