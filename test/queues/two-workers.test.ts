import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { messageIdFor } from '../../src/modules/notifications/index.ts';
import { enqueueInTransaction, outboxJobId } from '../../src/platform/outbox/outbox.ts';
import { JOBS, QUEUES } from '../../src/platform/queue/queue-definitions.ts';
import { waitFor, type QueueFixture } from '../helpers/queues.ts';
import { startMailQueueSetup, type MailQueueSetup } from '../helpers/mail-queue-setup.ts';
import type { SmtpSink } from '../helpers/smtp-sink.ts';

let s: MailQueueSetup;
let f: QueueFixture;
let smtp: SmtpSink;
before(async () => {
  s = await startMailQueueSetup({ WORKER_QUEUES: 'email', OUTBOX_BATCH_SIZE: '20' });
  ({ f, smtp } = s);
});
after(async () => {
  await s?.close();
});

function processedBy(metrics: string): number {
  const match = /^queue_jobs_processed_total\{queue="email",name="send-welcome-email",status="completed"[^}]*\} (\d+)/m.exec(metrics);
  return match ? Number(match[1]) : 0;
}

describe('two worker processes on one queue', () => {
  it('process every job, each email accepted exactly once', async () => {
    const workers = await Promise.all([f.startWorker(), f.startWorker()]);
    const total = 200;
    const ids: number[] = [];
    // Many small transactions while both relays and both workers run.
    await Promise.all(
      Array.from({ length: 20 }, async (_, batch) => {
        await f.db.primary.transaction(async (tx) => {
          const jobs = Array.from({ length: total / 20 }, (_, i) => ({ queue: QUEUES.email, name: JOBS.sendWelcomeEmail, data: { email: `c${batch}-${i}@example.com`, name: 'C' } }));
          ids.push(...(await enqueueInTransaction(tx, jobs)));
        });
      }),
    );
    await smtp.waitForAccepted(total, 60_000);
    const queues = await f.inspect();
    await waitFor('the queue to finish', async () => {
      const counts = await queues.get('email').getJobCounts('waiting', 'active', 'delayed', 'completed');
      return counts.waiting === 0 && counts.active === 0 && counts.delayed === 0;
    });

    const expected = new Set(ids.map((id) => messageIdFor(outboxJobId(id))));
    const accepted = smtp.accepted.map((m) => m.messageId).filter((id) => expected.has(id));
    assert.equal(accepted.length, total, 'no email sent twice');
    assert.equal(new Set(accepted).size, total, 'every job sent its email');
    const share = await Promise.all(workers.map(async (worker) => processedBy(await (await fetch(`${worker.url}/metrics`)).text())));
    assert.equal(share[0]! + share[1]!, total, `completions per worker: ${share.join(' + ')}`);
    assert.ok(share.every((n) => n > 0), `both workers took jobs: ${share.join(' + ')}`);
  });
});
