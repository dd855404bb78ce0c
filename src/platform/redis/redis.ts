import { Redis, type RedisOptions } from 'ioredis';
import type { Logger } from 'pino';
import { settlesWithin } from '../../shared/settles-within.ts';
import { ConfigError } from '../config/env-schema.ts';
import { RedisUnavailableError } from './redis-errors.ts';

/**
 * How a connection behaves while Redis is away:
 * - `fast-fail` (cache): commands reject at once so a request can fall back or refuse cleanly
 *   instead of hanging; the client keeps reconnecting in the background.
 * - `state` (sessions, rate limits, carts, the stock gate, idempotency records): rejects at once
 *   while disconnected too, but gives a connected Redis 5 s to answer. A saturated event loop
 *   runs timers before it reads replies, so a 1 s timeout fires spuriously at peak: for the cache
 *   that only costs a database read, here it would turn a paying buyer away.
 * - `queue` (BullMQ): commands wait for the reconnect (BullMQ requires `maxRetriesPerRequest: null`).
 * - `subscriber`: a dedicated pub/sub connection; its owner subscribes on every 'ready'.
 */
export type RedisRole = 'fast-fail' | 'state' | 'queue' | 'subscriber';

export interface RedisClientOptions {
  name: string;
  role: RedisRole;
  logger?: Logger;
  /**
   * Whether a `rediss://` server's certificate is checked (REDIS_TLS_VERIFY). Off for a provider that serves a
   * self-signed one (Heroku Redis): the connection is still encrypted, not authenticated.
   * @defaultValue true
   */
  tlsVerify?: boolean;
}

export function createRedis(url: string, options: RedisClientOptions): Redis {
  const base: RedisOptions = {
    connectionName: options.name,
    // Reconnect forever with a capped backoff: Redis coming back must never need a restart.
    retryStrategy: (attempt) => Math.min(50 * 2 ** Math.min(attempt, 6), 2000),
    reconnectOnError: (error) => error.message.startsWith('READONLY'),
  };
  const byRole: Record<RedisRole, RedisOptions> = {
    'fast-fail': { enableOfflineQueue: false, maxRetriesPerRequest: 0, commandTimeout: 1000, connectTimeout: 2000 },
    state: { enableOfflineQueue: false, maxRetriesPerRequest: 0, commandTimeout: 5000, connectTimeout: 2000, enableAutoPipelining: true },
    queue: { maxRetriesPerRequest: null, enableReadyCheck: true },
    // Owners re-subscribe on 'ready' themselves, with their errors handled: ioredis' own automatic
    // re-subscription leaves a rejected promise nobody handles when the connection drops again.
    subscriber: { maxRetriesPerRequest: null, autoResubscribe: false },
  };
  const tls: RedisOptions = options.tlsVerify === false && /^rediss:/i.test(url) ? { tls: { rejectUnauthorized: false } } : {};
  const client = new Redis(url, { ...base, ...byRole[options.role], ...tls });
  let down = false;
  client.on('error', (error) => {
    // ioredis emits an error per failed reconnect; log the first of a streak only.
    if (!down) options.logger?.warn({ err: error, redis: options.name }, 'redis connection error');
    down = true;
  });
  client.on('ready', () => {
    if (down) options.logger?.info({ redis: options.name }, 'redis connection restored');
    down = false;
  });
  return client;
}

/** Resolves when the client is ready, or rejects with a {@link RedisUnavailableError} after `timeoutMs`. */
export async function waitForRedis(client: Redis, timeoutMs: number): Promise<void> {
  if (client.status === 'ready') return;
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => {
      client.off('ready', onReady);
      reject(new RedisUnavailableError(`redis not ready after ${timeoutMs} ms`));
    }, timeoutMs);
    const onReady = () => {
      clearTimeout(timer);
      resolve();
    };
    client.once('ready', onReady);
  });
}

/**
 * Makes sure a ready `client` works in the database its URL names (`redis://host:6379/3`). ioredis selects it once
 * the connection is ready and, when the server refuses (`ERR DB index is out of range`: a number past its `databases`
 * setting; a proxy that allows no SELECT), only emits an error and stays in database 0, where every command then
 * reads and writes keys of whatever else uses database 0. Refused: a {@link ConfigError} naming `variable`.
 */
export async function checkSelectedDatabase(client: Redis, variable: string): Promise<void> {
  const db = client.options.db ?? 0;
  if (db === 0) return;
  try {
    await client.select(db);
  } catch (error) {
    // A reply is the server's refusal; anything else (the connection dropped) is not about the URL.
    if (!(error instanceof Error) || error.name !== 'ReplyError') throw error;
    throw new ConfigError(variable, `names database ${db}, which this Redis server does not have (${error.message})`);
  }
}

/** A connection and the variable its URL came from, for {@link checkSelectedDatabases}. */
export interface NamedRedisConnection {
  client: Redis;
  /** The variable its URL came from (`REDIS_URL`, `CACHE_REDIS_URL`), named by the refusal. */
  variable: string;
}

/**
 * {@link checkSelectedDatabase} for each connection a role opens, at its start and on every reconnect: a role given a
 * database its Redis does not have must not run in database 0, sharing keys with whatever else uses it. A connection
 * that answers within `timeoutMs` is checked now, and a refusal rejects with the {@link ConfigError} (the role does not
 * start). From then on (or, for one that does not answer yet because Redis is down at start, which a role survives,
 * from its first connect) the connection is checked on every 'ready': a server that refuses the database (a failover
 * to one with fewer databases) gets it closed for good, the refusal logged at error level: the role stays unready
 * instead of working in database 0. Connections to database 0 are not waited for (there is nothing to check).
 *
 * The window this leaves: ioredis sends the SELECT with the connection's handshake and, refused, goes on to 'ready'
 * anyway, writing its offline queue (commands a `queue` connection held during the outage) before it emits 'ready';
 * commands sent between 'ready' and the refusal of this check's own SELECT go out too. Those few run in database 0 of
 * that server before the connection is closed. Closing it from the handshake's 'error' would depend on ioredis'
 * internal order of handshake, ready check and queue flush, which its releases change; the window is bounded to one
 * round trip after each reconnect.
 */
export async function checkSelectedDatabases(connections: readonly NamedRedisConnection[], options: { timeoutMs: number; logger?: Logger }): Promise<void> {
  const checked = connections.filter(({ client }) => (client.options.db ?? 0) !== 0);
  await Promise.all(
    checked.map(async ({ client, variable }) => {
      const checkOnEveryReady = () =>
        client.on('ready', () => {
          checkSelectedDatabase(client, variable).catch((error: unknown) => {
            if (!(error instanceof ConfigError)) return; // the connection dropped again: checked at its next 'ready'
            options.logger?.error({ redis: client.options.connectionName }, `configuration error: ${error.message}; this connection is closed`);
            client.disconnect();
          });
        });
      try {
        await waitForRedis(client, options.timeoutMs);
      } catch {
        checkOnEveryReady();
        return;
      }
      await checkSelectedDatabase(client, variable);
      checkOnEveryReady();
    }),
  );
}

/**
 * Quits gracefully when connected, disconnects otherwise (quit would wait for a reconnect), and disconnects when
 * QUIT gets no answer within `quitTimeoutMs` (a black-holed Redis keeps the connection 'ready' and never replies).
 */
export async function closeRedis(client: Redis, quitTimeoutMs = 1000): Promise<void> {
  if (client.status === 'ready' && (await settlesWithin(client.quit().catch(() => {}), quitTimeoutMs))) return;
  client.disconnect();
}

/**
 * Calls `onRestart` when the connection comes back to a Redis server that is not the one it left
 * (its `run_id` changed: the server restarted, whatever it restored from its append-only file).
 * The first connection only records the id. Errors of the check are left to the next reconnect.
 */
export function onServerRestart(client: Redis, onRestart: () => Promise<unknown>): void {
  let runId: string | undefined;
  const check = () => {
    client
      .info('server')
      .then(async (info) => {
        const current = /^run_id:(\w+)/m.exec(info)?.[1];
        const previous = runId;
        runId = current;
        if (previous !== undefined && current !== undefined && current !== previous) await onRestart();
      })
      .catch(() => {});
  };
  client.on('ready', check);
  // Already connected: record the server it is on now.
  if (client.status === 'ready') check();
}
