import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { messageIdFor } from '../../src/modules/notifications/index.ts';
import { enqueueInTransaction, outboxJobId } from '../../src/platform/outbox/outbox.ts';
import { JOBS, QUEUES } from '../../src/platform/queue/queue-definitions.ts';
import { createQueueFixture, waitFor, type QueueFixture } from '../helpers/queues.ts';
import { deadLetterOf, messagesOf, startMailQueueSetup, writeWelcome as writeWelcomeTo, type MailQueueSetup } from '../helpers/mail-queue-setup.ts';
import type { SmtpSink } from '../helpers/smtp-sink.ts';

let s: MailQueueSetup;
let f: QueueFixture;
let smtp: SmtpSink;
before(async () => {
  // Short backoffs, so a job that is retried shows its retries within the test.
  s = await startMailQueueSetup({ WORKER_QUEUES: 'email', QUEUE_ATTEMPTS: 'email=3', QUEUE_BACKOFF_MS: 'email=50' });
  ({ f, smtp } = s);
});
after(async () => {
  await s?.close();
});

const writeWelcome = (email: string) => writeWelcomeTo(f, email);

const receivedFor = (jobId: string) => messagesOf(smtp.received, jobId);
const deadLetter = (jobId: string) => deadLetterOf(f, jobId);

describe('a mail server that refuses a message (real worker process, real SMTP server)', () => {
  it('dead-letters a permanent refusal (5xx) at once, without sending it again', async () => {
    const worker = await f.startWorker();
    smtp.refuse({ code: 550, text: '5.1.1 no such mailbox' });
    const jobId = await writeWelcome('gone@example.com');
    const letter = await waitFor('the refused job to be a dead letter', () => deadLetter(jobId));
    assert.match(letter.failed_reason, /550/);
    // Long enough for the retries of a 50 ms backoff to have happened, had the job been retried.
    await new Promise((resolve) => setTimeout(resolve, 1000));
    assert.equal(receivedFor(jobId).length, 1, 'a permanent refusal is not sent again');
    const claims = await f.db.pools.primary.query('SELECT count(*)::int AS n FROM sent_emails WHERE job_id = $1', [jobId]);
    assert.equal(claims.rows[0].n, 0, 'a refused email is not recorded as sent');
    smtp.refuse(undefined);
    await worker.stop();
  });

  it('keeps the recipient\'s address out of the dead letter and the log when the server\'s reply names it', async () => {
    // Mail servers echo the mailbox they refuse ("550 5.1.1 <a@b>: Recipient address rejected"): its owner's address
    // must not travel into the failed job's reason, the dead letters table or the worker's log lines.
    const worker = await f.startWorker({ LOG_LEVEL: 'info' });
    smtp.refuse({ code: 550, text: '5.1.1 <unknown.person@example.com>: Recipient address rejected: User unknown' });
    const jobId = await writeWelcome('unknown.person@example.com');
    const letter = await waitFor('the refused job to be a dead letter', () => deadLetter(jobId));
    await waitFor('the failed attempt\'s log line', () => worker.output().includes('job attempt failed'));
    smtp.refuse(undefined);
    await worker.stop();
    assert.match(letter.failed_reason, /550 5\.1\.1 <\[redacted\]>: Recipient address rejected/, 'the reply itself stays to read');
    assert.deepEqual(worker.output().split('\n').filter((line) => line.includes('unknown.person')), [], 'no log line holds the address');
    // A refusal is the mail server's answer, not a bug: one line, no stack trace (a provider refusing a sale's batch
    // wrote a stack per email).
    const failed = worker.output().split('\n').filter((line) => line.includes('"msg":"job attempt failed"')).map((line) => JSON.parse(line));
    assert.deepEqual(failed.map((line) => [line.err.message, line.err.stack]), [[letter.failed_reason, undefined]]);
  });

  it('retries a temporary refusal (4xx), and the email is accepted once the server takes it', async () => {
    const worker = await f.startWorker();
    smtp.refuse({ code: 451, text: '4.7.1 greylisted, try again later' });
    const jobId = await writeWelcome('later@example.com');
    await waitFor('a first refused attempt', () => receivedFor(jobId).length >= 1);
    smtp.refuse(undefined);
    await waitFor('the email to be accepted', () => smtp.accepted.some((m) => m.messageId === messageIdFor(jobId)));
    assert.equal(await deadLetter(jobId), undefined);
    await worker.stop();
  });

  it('offers a deferred message (4xx) again later when the job was queued with a long delay (a degrade mode\'s, up to an hour), not only its attempts', async () => {
    // A confirmation a critical degrade mode deferred by its maximum (DEGRADE_CRITICAL_QUEUE_DELAY_MS, 1 h) is due
    // an hour after it was queued: the hour of offers again later must count from then, or the first greylisting
    // after the peak spends the queue's attempts in a fraction of a second and leaves a dead letter. The job is
    // added as the relay adds one, with its creation time an hour back, so that it is due now.
    const worker = await f.startWorker();
    smtp.refuse({ code: 451, text: '4.7.1 greylisted, try again later' });
    const email = (await f.inspect()).get(QUEUES.email);
    const jobId = 'outbox-delayed-by-degrade-mode';
    const hour = 3_600_000;
    await email.add(JOBS.sendWelcomeEmail, { email: 'after-the-peak@example.com', name: 'Test' }, { jobId, timestamp: Date.now() - hour, delay: hour, attempts: 3, backoff: { type: 'fixed', delay: 50 } });
    // Either outcome of the first refusals: put back for later (it records when it is due again) or failed for good.
    const settled = await waitFor('the refused job to be put back for later or to fail', async () => {
      const job = await email.getJob(jobId);
      return job && (job.finishedOn !== undefined || (job.data as Record<string, unknown>).runnableAt !== undefined) ? job : undefined;
    });
    assert.equal(settled.failedReason, undefined, 'put back for later, not failed');
    assert.equal(await deadLetter(jobId), undefined);
    smtp.refuse(undefined);
    await waitFor('the email to be accepted', () => smtp.accepted.some((m) => m.messageId === messageIdFor(jobId)));
    assert.equal(await deadLetter(jobId), undefined, 'no dead letter');
    await worker.stop();
  });

  it('keeps offering a deferred message (4xx) past the queue\'s attempts, until the server takes it, without a dead letter', async () => {
    // Two attempts 50 ms apart: a server that says "try again later" for longer (greylisting, a provider's
    // sending rate exceeded during a sale) would have the job dead-lettered after the second refusal.
    const g = await createQueueFixture({ SMTP_URL: smtp.url, WORKER_QUEUES: 'email', QUEUE_ATTEMPTS: 'email=2', QUEUE_BACKOFF_MS: 'email=50' });
    try {
      const worker = await g.startWorker();
      smtp.refuse({ code: 451, text: '4.7.1 greylisted, try again later' });
      const [id] = await enqueueInTransaction(g.db.primary, { queue: QUEUES.email, name: JOBS.sendWelcomeEmail, data: { email: 'greylisted@example.com', name: 'Test' } });
      // Job ids restart with this database: told apart from the earlier tests' messages by their recipient.
      const ours = (m: { messageId: string; to: string[] }) => m.messageId === messageIdFor(outboxJobId(id!)) && m.to.includes('greylisted@example.com');
      await waitFor('four refused offers of the message', () => smtp.received.filter(ours).length >= 4);
      smtp.refuse(undefined);
      await waitFor('the email to be accepted', () => smtp.accepted.some(ours));
      const { rows } = await g.db.pools.primary.query('SELECT count(*)::int AS n FROM dead_letters');
      assert.equal(rows[0].n, 0, 'no dead letter');
      assert.equal(smtp.accepted.filter(ours).length, 1);
      await worker.stop();
    } finally {
      await g.close();
    }
  });
});
