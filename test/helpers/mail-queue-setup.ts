import { messageIdFor } from '../../src/modules/notifications/index.ts';
import { enqueueInTransaction, outboxJobId } from '../../src/platform/outbox/outbox.ts';
import { JOBS, QUEUES } from '../../src/platform/queue/queue-definitions.ts';
import { createQueueFixture, type QueueFixture } from './queues.ts';
import { startSmtpSink, type SinkMessage, type SmtpSink } from './smtp-sink.ts';

export interface MailQueueSetup {
  f: QueueFixture;
  smtp: SmtpSink;
  /** Closes the fixture (and the workers it started), then the SMTP server. For the test file's `after`. */
  close(): Promise<void>;
}

/** An SMTP server of the test's own and a queue fixture whose workers send to it (`env` added to their environment). */
export async function startMailQueueSetup(env: Record<string, string>): Promise<MailQueueSetup> {
  const smtp = await startSmtpSink();
  let f: QueueFixture;
  try {
    f = await createQueueFixture({ SMTP_URL: smtp.url, ...env });
  } catch (error) {
    await smtp.close();
    throw error;
  }
  return {
    f,
    smtp,
    async close() {
      try {
        await f.close();
      } finally {
        await smtp.close();
      }
    },
  };
}

/** Writes a welcome email to `email` into the outbox; returns its job id. */
export async function writeWelcome(f: QueueFixture, email: string): Promise<string> {
  const [id] = await enqueueInTransaction(f.db.primary, { queue: QUEUES.email, name: JOBS.sendWelcomeEmail, data: { email, name: 'Test' } });
  return outboxJobId(id!);
}

/** The messages (received or accepted) of the job `jobId`. */
export function messagesOf(messages: SinkMessage[], jobId: string): SinkMessage[] {
  return messages.filter((m) => m.messageId === messageIdFor(jobId));
}

/** The dead letter of `jobId` (its failure), if any. */
export async function deadLetterOf(f: QueueFixture, jobId: string): Promise<{ failed_reason: string } | undefined> {
  const { rows } = await f.db.pools.primary.query('SELECT failed_reason FROM dead_letters WHERE job_id = $1', [jobId]);
  return rows[0];
}
