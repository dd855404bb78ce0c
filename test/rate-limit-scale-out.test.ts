import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { testEnv } from './helpers/app.ts';
import { createTestDatabase, type TestDatabase } from './helpers/db.ts';
import { request } from './helpers/http.ts';
import { startInstance, type Instance } from './helpers/instances.ts';

const LIMIT = 6;

/** Two `salescale serve` processes sharing one database and one Redis prefix. */
async function startPair(database: TestDatabase, extra: Record<string, string>): Promise<Instance[]> {
  const env = testEnv(database.url, {
    LOG_LEVEL: 'warn',
    RATE_LIMIT_GENERAL_MAX: String(LIMIT),
    RATE_LIMIT_GENERAL_WINDOW_MS: '600000',
    ...extra,
  });
  // A minute to start: child processes are slow to boot on a shared 2-core machine.
  return Promise.all([startInstance({ env, timeoutMs: 60_000 }), startInstance({ env, timeoutMs: 60_000 })]);
}

describe('rate limits shared across instances (real sockets)', () => {
  let database: TestDatabase;
  let direct: Instance[] = [];
  let proxied: Instance[] = [];

  before(async () => {
    database = await createTestDatabase();
    [direct, proxied] = await Promise.all([startPair(database, {}), startPair(database, { TRUST_PROXY: '127.0.0.1' })]);
  });
  after(async () => {
    await Promise.all([...direct, ...proxied].map((instance) => instance.stop()));
    await database.drop();
  });

  const get = (instance: Instance, headers: Record<string, string> = {}) => request(`${instance.url}/api/v1/categories`, { headers });

  it('limits a client spreading requests over two instances at the configured total, and ignores a forged X-Forwarded-For', async () => {
    const statuses: number[] = [];
    for (let i = 0; i < LIMIT; i++) statuses.push((await get(direct[i % 2]!)).status);
    assert.deepEqual(statuses, Array(LIMIT).fill(200));
    // Over the total on both instances, even with a fresh forged address on every request.
    for (let i = 0; i < 6; i++) {
      const reply = await get(direct[i % 2]!, { 'x-forwarded-for': `203.0.113.${100 + i}` });
      assert.equal(reply.status, 429, `request ${LIMIT + i + 1}`);
      assert.equal(reply.body.error.code, 'RATE_LIMITED');
      assert.ok(Number(reply.headers.get('retry-after')) >= 1);
      assert.equal(reply.headers.get('ratelimit-policy'), `"general";q=${LIMIT};w=600`);
    }
    // Probes are never limited.
    for (const instance of direct) assert.equal((await request(`${instance.url}/ready`)).status, 200);
  });

  it('honours X-Forwarded-For from a trusted proxy: two forwarded clients get separate budgets', async () => {
    const clientA = { 'x-forwarded-for': '203.0.113.10' };
    for (let i = 0; i < LIMIT; i++) assert.equal((await get(proxied[i % 2]!, clientA)).status, 200, `client A request ${i + 1}`);
    assert.equal((await get(proxied[0]!, clientA)).status, 429);
    // Client A forging a leftmost entry still arrives as itself: the trusted proxy appended its real address.
    assert.equal((await get(proxied[1]!, { 'x-forwarded-for': '198.51.100.77, 203.0.113.10' })).status, 429);
    const clientB = await get(proxied[1]!, { 'x-forwarded-for': '203.0.113.11' });
    assert.equal(clientB.status, 200);
    assert.equal(clientB.headers.get('ratelimit'), `"general";r=${LIMIT - 1};t=100`);
  });
});
