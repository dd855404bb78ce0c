import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createLogger } from '../src/platform/logger/logger.ts';
import { createTestApp, type TestApp } from './helpers/app.ts';
import { startTcpProxy, type TcpProxy } from './helpers/tcp-proxy.ts';

const lines: { level: number; msg: string; [key: string]: unknown }[] = [];
const logger = createLogger({ level: 'info', destination: { write: (line: string) => void lines.push(JSON.parse(line)) } });

/** The read replica: the test database itself, reached through a proxy that can be cut (a real outage). */
let replica: TcpProxy;
let t: TestApp;
const productIds: number[] = [];

before(async () => {
  const pgPort = Number(new URL(process.env.TEST_PG_ADMIN_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres').port || 5432);
  replica = await startTcpProxy(pgPort, 'postgres');
  t = await createTestApp({}, undefined, {
    replicaUrl: (url) => {
      const through = new URL(url);
      through.port = String(replica.port);
      return through.toString();
    },
    logger,
  });
  for (let i = 0; i < 3; i++) {
    const created = await t.app.inject({ method: 'POST', url: '/api/v1/admin/products', headers: t.admin, payload: { sku: `REP-${i}`, name: `Replica ${i}`, priceCents: 100 + i } });
    assert.equal(created.statusCode, 201, created.body);
    productIds.push(created.json().id);
  }
});
after(async () => {
  await replica?.restore();
  await t?.close();
  await replica?.close();
});

describe('read replica unreachable while the primary serves (a real outage through a TCP proxy)', () => {
  it('serves catalog reads from the replica while it is up', async () => {
    const reply = await t.app.inject({ url: '/api/v1/products?q=replica' });
    assert.equal(reply.statusCode, 200, reply.body);
    assert.ok((t.platform.db.pools.replica?.totalCount ?? 0) > 0, 'the read went through the replica pool');
  });

  it('answers catalog reads from the primary when the replica is down, and logs it once, without an error-level line', async () => {
    const logged = lines.length;
    await replica.cut();
    // Routes whose reads go to the replica, each a cache miss (new query, new product, categories not read yet).
    for (const url of [`/api/v1/products/${productIds[0]}`, '/api/v1/products?q=replica%200', '/api/v1/products', '/api/v1/categories']) {
      const reply = await t.app.inject({ url });
      assert.equal(reply.statusCode, 200, `${url}: ${reply.body}`);
    }
    const during = lines.slice(logged);
    assert.equal(during.filter((line) => line.msg === 'read replica unreachable; reading from the primary').length, 1, JSON.stringify(during.map((l) => l.msg)));
    assert.deepEqual(during.filter((line) => line.level >= 50).map((line) => line.msg), []);
  });

  it('goes back to the replica once it is reachable again', async () => {
    await replica.restore();
    const pool = t.platform.db.pools.replica;
    assert.ok(pool);
    const deadline = Date.now() + 15_000;
    let reads = 0;
    while (Date.now() < deadline && pool.totalCount === 0) {
      const reply = await t.app.inject({ url: `/api/v1/products?q=again${reads++}` });
      assert.equal(reply.statusCode, 200, reply.body);
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    assert.ok(pool.totalCount > 0, 'the replica pool connected again');
  });
});
