import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Redis } from 'ioredis';
import { startPrivateRedis, type PrivateRedis } from '../../../test/helpers/redis-server.ts';
import { createIdempotencyStore } from './idempotency-store.ts';

describe('idempotency store', () => {
  let server: PrivateRedis;
  let redis: Redis;

  before(async () => {
    // A Redis of the test's own: it is filled to its memory limit below.
    server = await startPrivateRedis({ args: ['--maxmemory', '4mb', '--maxmemory-policy', 'noeviction'] });
    redis = new Redis(server.url, { maxRetriesPerRequest: 1 });
  });

  after(async () => {
    redis.disconnect();
    await server.destroy();
  });

  it('begins, replays, refuses a changed request and holds the lease for its time', async () => {
    const store = createIdempotencyStore({ redis, prefix: 'idem-test', retentionS: 3600, leaseMs: 30_000 });
    const begun = await store.begin('customer-1', 'key-a', 'fingerprint-1');
    assert.equal(begun.kind, 'started');
    assert.deepEqual(await store.begin('customer-1', 'key-a', 'fingerprint-1'), { kind: 'in-progress' });
    const [recordKey] = await redis.keys('idem-test:idem:customer-1:*');
    const leaseTtl = await redis.pttl(recordKey!);
    assert.ok(leaseTtl > 25_000 && leaseTtl <= 30_000, `lease TTL ${leaseTtl} ms`);

    await store.complete('customer-1', 'key-a', (begun as { lease: string }).lease, 'fingerprint-1', 201, { id: 7 });
    assert.deepEqual(await store.begin('customer-1', 'key-a', 'fingerprint-1'), { kind: 'replay', status: 201, body: { id: 7 } });
    assert.deepEqual(await store.begin('customer-1', 'key-a', 'fingerprint-2'), { kind: 'mismatch' });
    const retainedTtl = await redis.ttl(recordKey!);
    assert.ok(retainedTtl > 3590 && retainedTtl <= 3600, `retention TTL ${retainedTtl} s`);
  });

  it('marks a key whose attempt failed with an unknown outcome: the next attempt begins uncertain, one at a time, until a result settles it', async () => {
    const store = createIdempotencyStore({ redis, prefix: 'idem-mark', retentionS: 3600, leaseMs: 30_000 });
    const first = await store.begin('customer-3', 'key-m', 'fp');
    assert.equal(first.kind, 'started');
    await store.abandon('customer-3', 'key-m', (first as { lease: string }).lease, { fingerprint: 'fp' });
    const [recordKey] = await redis.keys('idem-mark:idem:customer-3:*');
    const markTtl = await redis.ttl(recordKey!);
    assert.ok(markTtl > 3590 && markTtl <= 3600, `the mark is kept for the retention: ${markTtl} s`);

    assert.deepEqual(await store.begin('customer-3', 'key-m', 'other'), { kind: 'mismatch' });
    // A result known beforehand (sold out, from memory) is not stored over the mark: the attempt runs, uncertain.
    const retry = await store.beginWithResult('customer-3', 'key-m', 'fp', 409, { error: { code: 'OUT_OF_STOCK' } });
    assert.equal(retry.kind, 'started');
    assert.equal((retry as { uncertain?: true }).uncertain, true);
    assert.deepEqual(await store.begin('customer-3', 'key-m', 'fp'), { kind: 'in-progress' });
    // Refused again (its refusal is not a result): the mark stays for the next one.
    await store.abandon('customer-3', 'key-m', (retry as { lease: string }).lease, { fingerprint: 'fp' });
    const next = await store.begin('customer-3', 'key-m', 'fp');
    assert.equal((next as { uncertain?: true }).uncertain, true);
    await store.complete('customer-3', 'key-m', (next as { lease: string }).lease, 'fp', 201, { id: 9 });
    assert.deepEqual(await store.begin('customer-3', 'key-m', 'fp'), { kind: 'replay', status: 201, body: { id: 9 } });

    // Without a mark (an attempt refused before it could have any effect), the record goes.
    const plain = await store.begin('customer-3', 'key-p', 'fp');
    await store.abandon('customer-3', 'key-p', (plain as { lease: string }).lease);
    const again = await store.begin('customer-3', 'key-p', 'fp');
    assert.equal(again.kind, 'started');
    assert.equal((again as { uncertain?: true }).uncertain, undefined);
  });

  it('keeps the mark of an unknown outcome when the attempt that took it over dies before it settles (its lease runs out)', async () => {
    const store = createIdempotencyStore({ redis, prefix: `idem-mark-death-${process.pid}`, retentionS: 3600, leaseMs: 300 });
    const first = await store.begin('customer-4', 'key-d', 'fp');
    await store.abandon('customer-4', 'key-d', (first as { lease: string }).lease, { fingerprint: 'fp' });
    const taker = await store.begin('customer-4', 'key-d', 'fp');
    assert.equal((taker as { uncertain?: true }).uncertain, true);
    // The taker's process dies here: it never settles. Once its lease ran out, the next retry takes over, and must
    // still be told the first attempt's outcome is unknown (its order may exist: its refusal must not stand).
    const deadline = Date.now() + 30_000;
    let next = await store.begin('customer-4', 'key-d', 'fp');
    while (next.kind === 'in-progress' && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 50));
      next = await store.begin('customer-4', 'key-d', 'fp');
    }
    assert.equal(next.kind, 'started', `after the dead taker's lease: ${JSON.stringify(next)}`);
    assert.equal((next as { uncertain?: true }).uncertain, true, 'the mark of the unknown outcome survives its dead taker');
  });

  it('renews the lease of an attempt that took over an unknown outcome while it runs, and lets it run out once renewing stops', async () => {
    // A lease of 1 s, renewed every third of it: a loaded machine's pause of a few hundred ms does not let it lapse.
    const store = createIdempotencyStore({ redis, prefix: `idem-mark-renew-${process.pid}`, retentionS: 3600, leaseMs: 1000 });
    const first = await store.begin('customer-6', 'key-r', 'fp');
    await store.abandon('customer-6', 'key-r', (first as { lease: string }).lease, { fingerprint: 'fp' });
    const taker = await store.begin('customer-6', 'key-r', 'fp');
    assert.equal((taker as { uncertain?: true }).uncertain, true);
    const failures: unknown[] = [];
    const stop = store.hold('customer-6', 'key-r', (taker as { lease: string }).lease, (failure) => failures.push(failure));
    try {
      // Three leases long, the running taker keeps the key (its deadline in the record moves on).
      const end = Date.now() + 3000;
      while (Date.now() < end) {
        assert.deepEqual(await store.begin('customer-6', 'key-r', 'fp'), { kind: 'in-progress' });
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    } finally {
      stop();
    }
    assert.deepEqual(failures, []);
    // Renewing stopped (its process died): the next retry takes over within a lease, still uncertain.
    const deadline = Date.now() + 30_000;
    let next = await store.begin('customer-6', 'key-r', 'fp');
    while (next.kind === 'in-progress' && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 50));
      next = await store.begin('customer-6', 'key-r', 'fp');
    }
    assert.equal(next.kind, 'started', `after renewing stopped: ${JSON.stringify(next)}`);
    assert.equal((next as { uncertain?: true }).uncertain, true);
  });

  it('stops renewing a lease whose key was settled or taken, and says so', async () => {
    const store = createIdempotencyStore({ redis, prefix: `idem-renew-lost-${process.pid}`, retentionS: 3600, leaseMs: 300 });
    const begun = await store.begin('customer-7', 'key-l', 'fp');
    const lease = (begun as { lease: string }).lease;
    const failures: { lost?: true }[] = [];
    const stop = store.hold('customer-7', 'key-l', lease, (failure) => failures.push(failure));
    try {
      // The key settles while its renewal still runs (a late stop): the renewal must not extend or overwrite the result.
      await store.complete('customer-7', 'key-l', lease, 'fp', 201, { id: 1 });
      const deadline = Date.now() + 30_000;
      while (failures.length === 0 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 50));
    } finally {
      stop();
    }
    assert.deepEqual(failures, [{ lost: true }]);
    assert.deepEqual(await store.begin('customer-7', 'key-l', 'fp'), { kind: 'replay', status: 201, body: { id: 1 } });
  });

  it('a retry meeting a mark that expires before its take-over owns the key: a second retry does not run beside it', async () => {
    const prefix = `idem-mark-gone-${process.pid}`;
    const store = createIdempotencyStore({ redis, prefix, retentionS: 3600, leaseMs: 30_000 });
    const first = await store.begin('customer-5', 'key-g', 'fp');
    await store.abandon('customer-5', 'key-g', (first as { lease: string }).lease, { fingerprint: 'fp' });
    // The mark's retention runs out between the retry's `SET … NX GET` (which read the mark) and its take-over script:
    // a client whose SET is followed by the key's expiry.
    const racy = new Redis(server.url, { maxRetriesPerRequest: 1 });
    try {
      const set = racy.set.bind(racy) as (...args: unknown[]) => Promise<unknown>;
      (racy as unknown as { set: (...args: unknown[]) => Promise<unknown> }).set = async (...args: unknown[]) => {
        const reply = await set(...args);
        await redis.del(String(args[0]));
        return reply;
      };
      const racyStore = createIdempotencyStore({ redis: racy, prefix, retentionS: 3600, leaseMs: 30_000 });
      const retry = await racyStore.begin('customer-5', 'key-g', 'fp');
      assert.equal(retry.kind, 'started');
      // The retry runs: the key must be its own (a concurrent retry waits), and its result must be kept.
      assert.deepEqual(await store.begin('customer-5', 'key-g', 'fp'), { kind: 'in-progress' }, 'a second retry runs beside the first');
    } finally {
      racy.disconnect();
    }
  });

  it('still answers a retry from its record when Redis is out of memory, and refuses a new key', async () => {
    const store = createIdempotencyStore({ redis, prefix: 'idem-oom', retentionS: 3600 });
    assert.equal((await store.beginWithResult('customer-2', 'sold-out', 'fp', 409, { error: { code: 'OUT_OF_STOCK' } })).kind, 'started');

    // Memory above the limit: from then on `noeviction` refuses every write command.
    for (let i = 0; i < 32; i++) await redis.set(`idem-oom:filler:${i}`, 'x'.repeat(64 * 1024));
    await redis.config('SET', 'maxmemory', String(1024 * 1024));
    await assert.rejects(redis.set('idem-oom:probe', 'v'), /OOM command not allowed/);
    // `SET … NX GET` is refused too, though the key exists: the store answers from the record regardless.
    const [recordKey] = await redis.keys('idem-oom:idem:customer-2:*');
    await assert.rejects(redis.set(recordKey!, 'v', 'PX', 1000, 'NX', 'GET'), /OOM command not allowed/);

    assert.deepEqual(await store.begin('customer-2', 'sold-out', 'fp'), { kind: 'replay', status: 409, body: { error: { code: 'OUT_OF_STOCK' } } });
    assert.deepEqual(await store.begin('customer-2', 'sold-out', 'other'), { kind: 'mismatch' });
    await assert.rejects(store.begin('customer-2', 'new-key', 'fp'), /OOM command not allowed/);
  });
});
