import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { sql } from 'drizzle-orm';
import { Redis } from 'ioredis';
import pg from 'pg';
import { createSessionStore, SESSION_COOKIE } from '../src/modules/customers/index.ts';
import { createTestApp, type TestApp } from './helpers/app.ts';
import { insertCustomers } from './helpers/commerce.ts';
import { startPrivateRedis, type PrivateRedis } from './helpers/redis-server.ts';
import { startTcpProxy, type TcpProxy } from './helpers/tcp-proxy.ts';

/**
 * A Redis failover mid-sale: the replica promoted had the reservation of a checkout but not its release
 * (replication is asynchronous), so its reservation hash holds a reservation nobody will ever release or
 * confirm. Two real redis-servers (a primary and its replica) behind a real TCP proxy that moves the app's
 * connections to the replica, as a failover's new address would; the checkout fails in PostgreSQL (its
 * statement times out behind a held row lock) so that the gate releases its units on the old primary only.
 * The claim: after the failover every unit PostgreSQL holds is sellable (the gate may err generous after a
 * failure, never stingy).
 */
describe('stock gate after a Redis failover', () => {
  let primary: PrivateRedis;
  let replica: PrivateRedis;
  let proxy: TcpProxy;
  let t: TestApp;
  let holder: pg.Client;
  const direct: Redis[] = [];

  before(async () => {
    primary = await startPrivateRedis({ args: ['--repl-diskless-sync-delay', '0'] });
    replica = await startPrivateRedis({ args: ['--replicaof', '127.0.0.1', String(primary.port)] });
    proxy = await startTcpProxy(primary.port);
    t = await createTestApp({ REDIS_URL: proxy.url, STOCK_SHARDS: '4', STOCK_GATE_TTL_S: '3600', STOCK_VIEW_REFRESH_MS: '0', DB_STATEMENT_TIMEOUT_MS: '1000', WORKER_JOB_LOCK_TIMEOUT_MS: '500' });
    holder = new pg.Client({ connectionString: t.env.DATABASE_URL });
    await holder.connect();
  });
  after(async () => {
    for (const redis of direct) redis.disconnect();
    await holder?.end();
    await t?.close();
    await proxy?.close();
    await Promise.all([primary?.destroy(), replica?.destroy()]);
  });

  const connect = (server: PrivateRedis) => {
    const redis = new Redis(server.url);
    direct.push(redis);
    return redis;
  };

  async function until(what: string, check: () => Promise<boolean>, ms = 10_000): Promise<void> {
    const deadline = Date.now() + ms;
    while (!(await check())) {
      if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}`);
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  }

  it('sells every unit after a failover to a replica that missed a release', async () => {
    const toPrimary = connect(primary);
    const toReplica = connect(replica);
    await until('the replica is in sync', async () => (await toReplica.info('replication')).includes('master_link_status:up'));
    const created = await t.app.inject({ method: 'POST', url: '/api/v1/admin/products', headers: t.admin, payload: { sku: `fo-${randomUUID()}`, name: 'F', priceCents: 100, available: 3 } });
    assert.equal(created.statusCode, 201, created.body);
    const id: number = created.json().id;
    const sessions = createSessionStore({ redis: toPrimary, prefix: t.config.redis.prefix, secret: t.config.secrets.sessionSecret, ttlS: 3600 });
    const cookies = await Promise.all((await insertCustomers(t.platform.db.primary, 4, 'failover')).map(async (c) => `${SESSION_COOKIE}=${await sessions.create(c)}`));
    const order = (cookie: string) => t.app.inject({ method: 'POST', url: '/api/v1/orders', headers: { cookie, 'idempotency-key': randomUUID() }, payload: { items: [{ productId: id, quantity: 1 }] } });
    const reservations = `{${t.config.redis.prefix}}:stock:${id}:r`;
    const figure = `{${t.config.redis.prefix}}:stock:${id}:a`;

    // A checkout reserves a unit, then waits in PostgreSQL behind a held stock row until its statement times out.
    await holder.query('begin');
    await holder.query('select 1 from product_stock where product_id = $1 for update', [id]);
    const failing = order(cookies[0]!);
    await until('the reservation reached the replica', async () => (await toReplica.hlen(reservations)) === 1);
    await toReplica.replicaof('NO', 'ONE'); // replication stops here: the replica is promoted
    const failed = await failing;
    await holder.query('rollback');
    assert.equal(failed.statusCode, 503, failed.body);
    assert.equal(await toPrimary.hlen(reservations), 0, 'released on the old primary');
    assert.equal(await toReplica.hlen(reservations), 1, 'the promoted replica still holds it');

    // The failover: the app's connections move to the promoted replica (another server: another run_id).
    proxy.retarget(replica.port);
    await proxy.cut();
    await proxy.restore();
    await until('the app dropped the gate figures of the new server', async () => (await toReplica.exists(figure)) === 0);

    const bought = await Promise.all(cookies.slice(1).map(order));
    assert.deepEqual(
      bought.map((r) => r.statusCode),
      [201, 201, 201],
      bought.map((r) => r.body).join('\n'),
    );
    const left = await t.platform.db.primary.execute<{ n: string }>(sql`select sum(available) as n from product_stock where product_id = ${id}`);
    assert.equal(Number(left.rows[0]!.n), 0);
  });
});
