import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { createQueueFixture, type QueueFixture } from '../helpers/queues.ts';
import { createServer, connect, type Server, type Socket } from 'node:net';

const MAIN = path.resolve(import.meta.dirname, '../../src/main.ts');
/** PostgreSQL's Terminate message ('X', length 4): the client closing its connection. */
const TERMINATE = 'X\u0000\u0000\u0000\u0004';

let f: QueueFixture;
let proxy: Server;
const sockets = new Set<Socket>();
let terminateHeld: () => void;
const held = new Promise<void>((resolve) => (terminateHeld = resolve));

/**
 * A loopback proxy to PostgreSQL that swallows every Terminate and keeps the server side open after the client
 * closes (the shared tcp-proxy ends both sides together): the server never hears the client leave.
 */
async function startProxy(target: number): Promise<Server> {
  const server = createServer({ allowHalfOpen: true }, (client) => {
    const upstream = connect(target, '127.0.0.1');
    sockets.add(client).add(upstream);
    client.on('data', (chunk) => {
      if (chunk.includes(TERMINATE)) return terminateHeld();
      upstream.write(chunk);
    });
    upstream.on('data', (chunk) => client.write(chunk));
    const end = () => {
      client.destroy();
      upstream.destroy();
    };
    client.on('error', () => {});
    upstream.on('close', end).on('error', end);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return server;
}

before(async () => {
  f = await createQueueFixture();
  proxy = await startProxy(Number(new URL(f.database.url).port || 5432));
});
after(async () => {
  for (const socket of sockets) socket.destroy();
  await new Promise((resolve) => proxy?.close(resolve));
  await f?.close();
});

describe('a CLI command whose closing connection the server terminates', () => {
  // `pool.end()` resolves once it has asked its idle clients to end, not once they have: a server that terminates
  // the backend before reading the Terminate (a failover, pg_terminate_backend, the test helpers' DROP DATABASE …
  // WITH (FORCE)) sends 57P01 to a client still in the pool's idle list. The proxy swallows that Terminate so the
  // server's message always comes first.
  it('`salescale queues` exits 0 when its connection is terminated while it closes', async () => {
    const through = new URL(f.database.url);
    through.port = String((proxy.address() as { port: number }).port);
    const child = spawn(process.execPath, [MAIN, 'queues'], {
      env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', ...f.env, DATABASE_URL: through.toString() },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (chunk) => (output += chunk));
    child.stderr.on('data', (chunk) => (output += chunk));
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    // Bounded: the command's connection timeout is 10 s and its queries are a handful of counts.
    let timer: NodeJS.Timeout | undefined;
    const bound = (what: string) =>
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`${what} within 30 s; output:\n${output}`)), 30_000);
      });
    try {
      const first = await Promise.race([held.then(() => 'held' as const), exited.then(() => 'exited' as const), bound('the command neither closed its connection nor exited')]);
      clearTimeout(timer);
      assert.equal(first, 'held', `the command exited before closing a connection through the proxy:\n${output}`);
      const { rows } = await f.db.pools.primary.query(
        "SELECT count(*)::int AS n FROM (SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'salescale-cli' AND datname = current_database()) AS killed",
      );
      assert.ok(rows[0].n >= 1, `no backend of the CLI's held connection: ${JSON.stringify((await f.db.pools.primary.query('SELECT application_name, state, query FROM pg_stat_activity WHERE datname = current_database()')).rows)}`);
      const code = await Promise.race([exited, bound('the command did not exit once its connection was terminated')]);
      assert.equal(code, 0, `the command crashed on its terminated closing connection:\n${output}`);
    } finally {
      clearTimeout(timer);
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    }
  });
});
