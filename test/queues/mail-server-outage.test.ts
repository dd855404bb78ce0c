import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { messageIdFor } from '../../src/modules/notifications/index.ts';
import { freePort } from '../../src/platform/local/local-stack.ts';
import { enqueueInTransaction, outboxJobId } from '../../src/platform/outbox/outbox.ts';
import { JOBS, QUEUES } from '../../src/platform/queue/queue-definitions.ts';
import { createQueueFixture, waitFor, type QueueFixture } from '../helpers/queues.ts';
import { deadLetterOf } from '../helpers/mail-queue-setup.ts';
import { startSmtpSink, type SmtpSink } from '../helpers/smtp-sink.ts';

let f: QueueFixture;
let smtp: SmtpSink | undefined;
let smtpPort: number;
before(async () => {
  smtpPort = await freePort();
  // The email queue's own attempts and backoff (3, exponential from 2 s): nothing listens on SMTP_URL yet.
  f = await createQueueFixture({ SMTP_URL: `smtp://127.0.0.1:${smtpPort}`, WORKER_QUEUES: 'email' });
});
after(async () => {
  await f?.close();
  await smtp?.close();
});

const deadLetter = (jobId: string) => deadLetterOf(f, jobId);

describe('a mail server that cannot be reached (real worker process, real SMTP server coming back)', () => {
  it('keeps an email through an outage longer than the queue\'s attempts, and sends it once the server is back', async () => {
    const worker = await f.startWorker();
    const [id] = await enqueueInTransaction(f.db.primary, { queue: QUEUES.email, name: JOBS.sendWelcomeEmail, data: { email: 'buyer@example.com', name: 'Test' } });
    const jobId = outboxJobId(id!);
    // Longer than the queue's three attempts take (2 s + 4 s of backoff): connections are refused all along.
    await new Promise((resolve) => setTimeout(resolve, 9000));
    // The outage lasts at least that long; the put-back attempts are then read from the worker's metrics, polled (a
    // loaded machine's worker may be late to its first attempt), the server still down meanwhile.
    const deferred = /^queue_jobs_processed_total\{[^}]*queue="email"[^}]*status="deferred"[^}]*\} [1-9]\d*$/m;
    const metrics = await waitFor('attempts put back during the outage', async () => {
      const text = await (await fetch(`${worker.url}/metrics`)).text();
      return deferred.test(text) ? text : null;
    }).catch(async () => (await fetch(`${worker.url}/metrics`)).text());
    assert.match(metrics, deferred, 'attempts put back during the outage counted as deferred');
    smtp = await startSmtpSink({ port: smtpPort });
    const ours = (m: { messageId: string }) => m.messageId === messageIdFor(jobId);
    await waitFor('the email to be accepted or dead-lettered', async () => smtp!.accepted.some(ours) || (await deadLetter(jobId)));
    assert.equal((await deadLetter(jobId))?.failed_reason, undefined, 'an unreachable mail server does not dead-letter the email');
    assert.equal(smtp.accepted.filter(ours).length, 1);
    await worker.stop();
  });
});
