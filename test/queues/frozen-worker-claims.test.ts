import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { messageIdFor } from '../../src/modules/notifications/index.ts';
import { enqueueInTransaction, outboxJobId } from '../../src/platform/outbox/outbox.ts';
import { JOBS, QUEUES } from '../../src/platform/queue/queue-definitions.ts';
import { createQueueFixture, waitFor, type QueueFixture } from '../helpers/queues.ts';
import { startSmtpSink, type SmtpSink } from '../helpers/smtp-sink.ts';

/**
 * A worker frozen (SIGSTOP, a paused VM, a long GC stall) in the middle of a job's transaction keeps its claim
 * uncommitted: its TCP connection stays open (the kernel still ACKs), so PostgreSQL never ends the session by
 * itself. BullMQ re-delivers the job to a healthy worker once the lock lapses, and that worker's claim insert of
 * the same key waited on the frozen one for as long as the freeze lasted (the chaos run's pg_locks samples).
 * The frozen holder's transaction must be ended by PostgreSQL, and the job applied once by the healthy worker.
 */
describe('a worker frozen inside a job transaction', () => {
  let f: QueueFixture;
  let smtp: SmtpSink;
  before(async () => {
    smtp = await startSmtpSink();
    f = await createQueueFixture({ WORKER_QUEUES: 'inventory', SMTP_URL: smtp.url });
  });
  after(async () => {
    await f?.close();
    await smtp?.close();
  });

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

  it('puts the re-delivery of an email it is sending back for later instead of waiting, and it is sent once after the frozen one dies', async () => {
    const queues = await f.inspect();
    // The mail server holds its reply: the first worker sits in the send, its claim uncommitted.
    const held = smtp.holdNext();
    const first = await f.startWorker({ WORKER_QUEUES: 'email' });
    let frozen = false;
    try {
      const [id] = await enqueueInTransaction(f.db.primary, { queue: QUEUES.email, name: JOBS.sendWelcomeEmail, data: { email: `frozen-${randomUUID()}@example.com`, name: 'Frozen' } });
      const jobId = outboxJobId(id!);
      assert.equal((await held).messageId, messageIdFor(jobId));
      first.process.kill('SIGSTOP');
      frozen = true;
      const frozenAt = Date.now();

      const second = await f.startWorker({ WORKER_QUEUES: 'email' });
      try {
        // The healthy worker gives up on the frozen claim and puts the job back (no attempt used), rather than waiting
        // (until the statement timeout, an attempt used each time: a dead letter, never sent once the frozen one died).
        await waitFor('the re-delivery to be put back for later', async () => (await queues.get('email').getJob(jobId))?.data?.runnableAt, Math.max(1000, BOUND_MS - (Date.now() - frozenAt)));
        first.process.kill('SIGKILL');
        await first.exited;
        await waitFor('the email job to complete', async () => (await queues.get('email').getJob(jobId))?.finishedOn, 90_000);
        const job = await queues.get('email').getJob(jobId);
        assert.equal(await job?.getState(), 'completed', String(job?.failedReason));
        assert.equal(smtp.accepted.filter((m) => m.messageId === messageIdFor(jobId)).length, 1, 'accepted once');
        const { rows } = await f.db.pools.primary.query(
          'SELECT (SELECT count(*)::int FROM sent_emails WHERE job_id = $1) AS sent, (SELECT count(*)::int FROM dead_letters WHERE job_id = $1) AS dead',
          [jobId],
        );
        assert.deepEqual(rows[0], { sent: 1, dead: 0 });
      } finally {
        await second.stop();
      }
    } finally {
      if (frozen) first.process.kill('SIGCONT');
      await first.stop('SIGKILL');
    }
  });
});
