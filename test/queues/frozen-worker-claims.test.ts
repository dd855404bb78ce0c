import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { enqueueInTransaction, outboxJobId } from '../../src/platform/outbox/outbox.ts';
import { JOBS, QUEUES } from '../../src/platform/queue/queue-definitions.ts';
import { createQueueFixture, waitFor, type QueueFixture } from '../helpers/queues.ts';

/**
 * A worker frozen (SIGSTOP, a paused VM, a long GC stall) in the middle of a job's transaction keeps its claim
 * uncommitted: its TCP connection stays open (the kernel still ACKs), so PostgreSQL never ends the session by
 * itself. BullMQ re-delivers the job to a healthy worker once the lock lapses, and that worker's claim insert of
 * the same key waited on the frozen one for as long as the freeze lasted (the chaos run's pg_locks samples).
 * The frozen holder's transaction must be ended by PostgreSQL, and the job applied once by the healthy worker.
 */
describe('a worker frozen inside a job transaction', () => {
  let f: QueueFixture;
  before(async () => {
    f = await createQueueFixture({ WORKER_QUEUES: 'inventory' });
  });
  after(() => f?.close());

  /** How long after the freeze the healthy worker must have applied the job (the frozen one still frozen). */
  const BOUND_MS = 25_000;

  it('does not hold the re-delivered job on a healthy worker: it is applied once while the other stays frozen', async (t) => {
    const pool = f.db.pools.primary;
    const sku = `frozen-claim-${randomUUID()}`;
    const { rows } = await pool.query<{ id: number }>(`INSERT INTO products (sku, name, price_cents, popularity) VALUES ($1, 'Frozen claim', 100, 7) RETURNING id::int`, [sku]);
    const productId = rows[0]!.id;
    const queues = await f.inspect();

    // The test holds the product's row: the first worker's job claims its id, then waits on the row.
    const holder = await pool.connect();
    let frozenPid: number | undefined;
    const first = await f.startWorker();
    try {
      await holder.query('BEGIN');
      await holder.query('SELECT 1 FROM products WHERE id = $1 FOR UPDATE', [productId]);
      const [id] = await enqueueInTransaction(f.db.primary, { queue: QUEUES.inventory, name: JOBS.updateStock, data: { productId, quantity: 3 } });
      const jobId = outboxJobId(id!);
      const backend = await waitFor('the first worker to claim the job and wait on the product row', async () => {
        const { rows: waiting } = await pool.query<{ pid: number }>(
          `SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock' AND query ILIKE '%update "products"%'`,
        );
        return waiting[0]?.pid;
      });
      // Frozen with its claim inserted; the row is let go, so its statement ends and its session sits idle in the transaction.
      first.process.kill('SIGSTOP');
      frozenPid = first.process.pid;
      const frozenAt = Date.now();
      await holder.query('COMMIT');
      await waitFor('the frozen worker to sit idle in its transaction', async () => {
        const { rows: state } = await pool.query<{ state: string }>('SELECT state FROM pg_stat_activity WHERE pid = $1', [backend]);
        return state[0]?.state === 'idle in transaction';
      });

      const second = await f.startWorker();
      try {
        await waitFor(
          'the job to be applied by the healthy worker while the other is frozen',
          async () => (await queues.get('inventory').getJob(jobId))?.returnvalue?.applied === true,
          BOUND_MS - (Date.now() - frozenAt),
        ).catch((error: unknown) => {
          throw new Error(`${(error as Error).message}: the re-delivered job is held behind the frozen worker's uncommitted claim`);
        });
        const job = await queues.get('inventory').getJob(jobId);
        t.diagnostic(`applied ${Date.now() - frozenAt} ms after the freeze; put back for later: ${job?.data?.runnableAt !== undefined}`);
        const { rows: after } = await pool.query<{ popularity: number; claims: number }>(
          `SELECT popularity, (SELECT count(*)::int FROM job_claims WHERE queue = $2 AND job_id = $3) AS claims FROM products WHERE id = $1`,
          [productId, QUEUES.inventory, jobId],
        );
        assert.deepEqual(after[0], { popularity: 10, claims: 1 }, 'applied once');
        const { rows: frozenSession } = await pool.query('SELECT state FROM pg_stat_activity WHERE pid = $1', [backend]);
        assert.equal(frozenSession.length, 0, 'PostgreSQL ended the frozen worker\'s session');
      } finally {
        await second.stop();
      }
    } finally {
      await holder.query('ROLLBACK').catch(() => {});
      holder.release();
      if (frozenPid !== undefined) first.process.kill('SIGCONT');
      await first.stop('SIGKILL');
    }
  });
});
