import assert from 'node:assert/strict';
import { chmodSync, existsSync, mkdtempSync, readFileSync, realpathSync, rmSync } from 'node:fs';
import { type AddressInfo, createServer, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import { Redis } from 'ioredis';
import pg from 'pg';
import { createLogger } from '../logger/logger.ts';
import { findRedisServer, freePort, type LocalService, LocalStackError, startEmbeddedPostgres, startLocalRedis } from './local-stack.ts';

describe('findRedisServer', () => {
  it('refuses with the install hint, not a crash, when PATH holds neither redis-server nor a shell', () => {
    // Windows has no `sh`, and a trimmed PATH (a container, a service unit) may lack one: `up` must still say in one
    // line what is missing instead of throwing a TypeError from the lookup.
    const empty = mkdtempSync(path.join(tmpdir(), 'salescale-empty-path-'));
    const saved = process.env.PATH;
    process.env.PATH = empty;
    try {
      assert.throws(() => findRedisServer(), (error: unknown) => error instanceof LocalStackError && /redis-server was not found on PATH/.test(error.message));
    } finally {
      process.env.PATH = saved;
      rmSync(empty, { recursive: true, force: true });
    }
  });
});

/** A foreign server holding a port: it answers every Redis command with +PONG, or (for PostgreSQL) hangs up at once. */
async function foreignServer(onConnection: (socket: Socket) => void): Promise<{ port: number; close: () => Promise<void> }> {
  const sockets = new Set<Socket>();
  const server = createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => {});
    onConnection(socket);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  return {
    port: (server.address() as AddressInfo).port,
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}

const answersPong = (socket: Socket) => socket.on('data', () => socket.write('+PONG\r\n'));

/** A data folder the `postgres` system user can enter when the tests run as root (mkdtemp makes it 0700). */
function dataDir(): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'salescale-local-stack-'));
  chmodSync(dir, 0o755);
  return dir;
}

/** Hands out `taken` first, then real free ports; `handedOut` lists what it gave, in order. */
function takenFirst(taken: number): { freePort: () => Promise<number>; handedOut: number[] } {
  const handedOut: number[] = [];
  return {
    handedOut,
    async freePort() {
      const port = handedOut.length === 0 ? taken : await freePort();
      handedOut.push(port);
      return port;
    },
  };
}

describe('startLocalRedis', () => {
  const logger = createLogger({ level: 'silent' });

  it('starts on another port when another process took the one it chose, and answers as our own redis-server', async () => {
    // Between freePort() and redis-server binding the port, anything may bind it (parallel test files do on CI). A
    // foreign server that answers PING must not be taken for ours either.
    const foreign = await foreignServer(answersPong);
    const dir = dataDir();
    let redis: Awaited<ReturnType<typeof startLocalRedis>> | undefined;
    try {
      const ports = takenFirst(foreign.port);
      redis = await startLocalRedis(dir, logger, { freePort: ports.freePort });
      assert.equal(ports.handedOut[0], foreign.port, 'the start chose its port with the freePort given');
      assert.notEqual(redis.port, foreign.port);
      assert.equal(redis.port, ports.handedOut.at(-1));
      const client = new Redis(redis.url, { maxRetriesPerRequest: 0, lazyConnect: true });
      client.on('error', () => {});
      try {
        await client.connect();
        const pid = Number(readFileSync(path.join(dir, 'redis', 'redis.pid'), 'utf8'));
        assert.match(await client.info('server'), new RegExp(`process_id:${pid}\\r?\\n`));
        await client.set('local-stack-test', 'ours');
        assert.equal(await client.get('local-stack-test'), 'ours');
      } finally {
        client.disconnect();
      }
    } finally {
      await redis?.stop();
      await foreign.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('does not move an explicit port that is taken: it fails in one line saying the address is in use', async () => {
    const foreign = await foreignServer(answersPong);
    const dir = dataDir();
    let redis: Awaited<ReturnType<typeof startLocalRedis>> | undefined;
    try {
      await assert.rejects(
        (async () => {
          redis = await startLocalRedis(dir, logger, { port: foreign.port });
        })(),
        (error: unknown) => error instanceof LocalStackError && /redis-server did not start/.test(error.message) && /already in use/i.test(error.message),
      );
      assert.equal(existsSync(path.join(dir, 'redis', 'redis.pid')), false);
    } finally {
      await redis?.stop();
      await foreign.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('startEmbeddedPostgres', () => {
  const logger = createLogger({ level: 'silent' });

  it('starts on another port when another process took the one it chose, and serves our data folder', async () => {
    const foreign = await foreignServer((socket) => socket.destroy());
    const dir = dataDir();
    let postgres: LocalService | undefined;
    try {
      const ports = takenFirst(foreign.port);
      postgres = await startEmbeddedPostgres(dir, logger, undefined, { freePort: ports.freePort });
      assert.equal(ports.handedOut[0], foreign.port, 'the start chose its port with the freePort given');
      assert.notEqual(new URL(postgres.url).port, String(foreign.port));
      assert.equal(new URL(postgres.url).port, String(ports.handedOut.at(-1)));
      const client = new pg.Client({ connectionString: postgres.url, connectionTimeoutMillis: 10_000 });
      await client.connect();
      try {
        const { rows } = await client.query<{ data_directory: string }>('SHOW data_directory');
        assert.equal(realpathSync(rows[0]!.data_directory), realpathSync(path.join(dir, 'postgres')));
      } finally {
        await client.end();
      }
    } finally {
      await postgres?.stop();
      await foreign.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
