import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { messageIdFor } from '../../src/modules/notifications/index.ts';
import { enqueueInTransaction, outboxJobId } from '../../src/platform/outbox/outbox.ts';
import { JOBS, QUEUES } from '../../src/platform/queue/queue-definitions.ts';
import { waitFor, type QueueFixture } from '../helpers/queues.ts';
import { startMailQueueSetup, type MailQueueSetup } from '../helpers/mail-queue-setup.ts';
import type { SmtpSink } from '../helpers/smtp-sink.ts';

/**
 * An email job holds its claim's transaction, and so a database connection, for the whole SMTP
 * conversation. The manifests' DB_POOL_MAX=5 with the default email concurrency of 5: a mail server
 * that stops answering must not take every connection the worker has (the relay, order fan-out,
 * expiry, analytics all need one).
 */
let s: MailQueueSetup;
let f: QueueFixture;
let smtp: SmtpSink;
before(async () => {
  s = await startMailQueueSetup({ WORKER_QUEUES: 'email,notifications', DB_POOL_MAX: '5', WORKER_CONCURRENCY: 'email=5' });
  ({ f, smtp } = s);
});
after(async () => {
  await s?.close();
});

describe('a mail server that stops answering', () => {
  it('keeps the relay and the other queues running, and sends each email once when it answers again', async () => {
    const worker = await f.startWorker();
    const stalled = smtp.holdAll();
    const ids = await enqueueInTransaction(
      f.db.primary,
      Array.from({ length: 8 }, (_, i) => ({ queue: QUEUES.email, name: JOBS.sendWelcomeEmail, data: { email: `slow-${i}@example.com`, name: 'Slow' } })),
    );
    await waitFor('sends to be waiting on the mail server', async () => stalled.held.length >= 2);
    await new Promise((resolve) => setTimeout(resolve, 500));

    const [analytics] = await enqueueInTransaction(f.db.primary, {
      queue: QUEUES.notifications,
      name: JOBS.updateAnalytics,
      data: { eventType: 'order_created', orderId: 1, amountCents: 2500, occurredAt: '2026-11-27T10:15:00Z' },
    });
    const applied = await waitFor(
      'the analytics job to be relayed and applied while the mail server hangs',
      async () => (await f.db.pools.primary.query('SELECT 1 FROM job_claims WHERE job_id = $1', [outboxJobId(analytics!)])).rowCount === 1,
      10_000,
    ).catch((error: Error) => error);
    const heldWhileWaiting = stalled.held.length;
    stalled.release();
    assert.equal(applied, true, `${String(applied)} (${heldWhileWaiting} sends held by the mail server)`);

    await smtp.waitForAccepted(ids.length, 30_000);
    const accepted = smtp.accepted.map((m) => m.messageId);
    for (const id of ids) assert.equal(accepted.filter((m) => m === messageIdFor(outboxJobId(id))).length, 1, `one email for ${outboxJobId(id)}`);
    await worker.stop();
  });
});
