/**
 * A process that owns one Idempotency-Key and keeps its lease renewed until it is killed, for tests of what a dead
 * owner leaves behind. Prints one JSON line once it holds the key: `{ "lease": … }`.
 *
 * Run: `node test/helpers/idempotency-owner-process.ts` with REDIS_URL, PREFIX, SCOPE, KEY, LEASE_MS.
 */
import { Redis } from 'ioredis';
import { createIdempotencyStore } from '../../src/platform/idempotency/idempotency-store.ts';

const env = process.env;
const redis = new Redis(env.REDIS_URL ?? 'redis://127.0.0.1:6379');
const store = createIdempotencyStore({ redis, prefix: env.PREFIX ?? 'owner', retentionS: 3600, leaseMs: Number(env.LEASE_MS ?? 1000) });
const begun = await store.begin(env.SCOPE ?? 's', env.KEY ?? 'k', 'fingerprint');
if (begun.kind !== 'started') throw new Error(`the key was not free: ${begun.kind}`);
store.hold(env.SCOPE ?? 's', env.KEY ?? 'k', begun.lease, (failure) => process.stderr.write(`renewal failed: ${String(failure.error ?? 'lost')}\n`));
process.stdout.write(`${JSON.stringify({ lease: begun.lease })}\n`);
// Runs until killed (the renewal timer does not keep a process alive).
setInterval(() => {}, 60_000);
