import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { messageIdFor } from '../../src/modules/notifications/index.ts';
import { enqueueInTransaction, outboxJobId } from '../../src/platform/outbox/outbox.ts';
import { JOBS, QUEUES } from '../../src/platform/queue/queue-definitions.ts';
import { createQueueFixture, waitFor, type QueueFixture } from '../helpers/queues.ts';
import { deadLetterOf } from '../helpers/mail-queue-setup.ts';
import { startSmtpSink, type SmtpSink } from '../helpers/smtp-sink.ts';
import { startTcpProxy, type TcpProxy } from '../helpers/tcp-proxy.ts';

let f: QueueFixture;
let smtp: SmtpSink;
let proxy: TcpProxy;
before(async () => {
  // The mail server is reached through a proxy that is cut (every connection reset, as nodemailer's ESOCKET for a
  // refused one) until the server "comes back": the proxy keeps SMTP_URL's port bound all along, where a port let go
  // for the outage and bound again later could be taken meanwhile by another test file's server.
  smtp = await startSmtpSink();
  proxy = await startTcpProxy(Number(new URL(smtp.url).port), 'smtp');
  await proxy.cut();
  // The email queue's own attempts and backoff (3, exponential from 2 s): no mail server answers on SMTP_URL yet.
  f = await createQueueFixture({ SMTP_URL: `smtp://127.0.0.1:${proxy.port}`, WORKER_QUEUES: 'email' });
});
after(async () => {
  await f?.close();
  await proxy?.close();
  await smtp?.close();
});

const deadLetter = (jobId: string) => deadLetterOf(f, jobId);

describe('a mail server that cannot be reached (real worker process, real SMTP server coming back)', () => {
  it('keeps an email through an outage longer than the queue\'s attempts, and sends it once the server is back', async () => {
    const worker = await f.startWorker();
    const [id] = await enqueueInTransaction(f.db.primary, { queue: QUEUES.email, name: JOBS.sendWelcomeEmail, data: { email: 'buyer@example.com', name: 'Test' } });
    const jobId = outboxJobId(id!);
    // Longer than the queue's three attempts take (2 s + 4 s of backoff): connections are reset all along.
    await new Promise((resolve) => setTimeout(resolve, 9000));
    // The outage lasts at least that long; the put-back attempts are then read from the worker's metrics, polled (a
    // loaded machine's worker may be late to its first attempt), the server still down meanwhile.
    const deferred = /^queue_jobs_processed_total\{[^}]*queue="email"[^}]*status="deferred"[^}]*\} [1-9]\d*$/m;
    const metrics = await waitFor('attempts put back during the outage', async () => {
      const text = await (await fetch(`${worker.url}/metrics`)).text();
      return deferred.test(text) ? text : null;
    }).catch(async () => (await fetch(`${worker.url}/metrics`)).text());
    assert.match(metrics, deferred, 'attempts put back during the outage counted as deferred');
    await proxy.restore();
    const ours = (m: { messageId: string }) => m.messageId === messageIdFor(jobId);
    await waitFor('the email to be accepted or dead-lettered', async () => smtp.accepted.some(ours) || (await deadLetter(jobId)));
    assert.equal((await deadLetter(jobId))?.failed_reason, undefined, 'an unreachable mail server does not dead-letter the email');
    assert.equal(smtp.accepted.filter(ours).length, 1);
    await worker.stop();
  });
});
