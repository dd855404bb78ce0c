import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { AddressInfo } from 'node:net';
import { loadConfig } from '../../src/platform/config/config.ts';
import { createLogger } from '../../src/platform/logger/logger.ts';
import { createPlatform } from '../../src/platform/platform.ts';
import { createWorkerHttpServer } from '../../src/worker/worker-http.ts';
import { testEnv } from '../helpers/app.ts';
import { createTestDatabase } from '../helpers/db.ts';
import { messageIdFor } from '../../src/modules/notifications/index.ts';
import { waitFor, type QueueFixture } from '../helpers/queues.ts';
import { messagesOf, startMailQueueSetup, writeWelcome as writeWelcomeTo, type MailQueueSetup } from '../helpers/mail-queue-setup.ts';
import type { SmtpSink } from '../helpers/smtp-sink.ts';

let s: MailQueueSetup;
let f: QueueFixture;
let smtp: SmtpSink;
before(async () => {
  // A long statement timeout (below the most the configuration accepts): a re-delivered job's claim insert may wait on the
  // first delivery's lock.
  s = await startMailQueueSetup({ WORKER_QUEUES: 'email', DB_STATEMENT_TIMEOUT_MS: '40000' });
  ({ f, smtp } = s);
});
after(async () => {
  await s?.close();
});

const writeWelcome = (email: string) => writeWelcomeTo(f, email);

const acceptedFor = (jobId: string) => messagesOf(smtp.accepted, jobId);
const receivedFor = (jobId: string) => messagesOf(smtp.received, jobId);

describe('worker crash in the middle of a job', () => {
  it('re-delivers a job whose worker was SIGKILLed mid-send, and the email is accepted once', async () => {
    const queues = await f.inspect();
    // The mail server is slow: the worker sits inside the send when it is killed.
    const held = smtp.holdNext();
    const first = await f.startWorker();
    const jobId = await writeWelcome('crash@example.com');
    const message = await held;
    assert.equal(message.messageId, messageIdFor(jobId));
    await first.stop('SIGKILL');

    const second = await f.startWorker();
    await waitFor('the re-delivered job to complete', async () => (await queues.get('email').getJob(jobId))?.finishedOn);
    const job = await queues.get('email').getJob(jobId);
    assert.equal(await job?.getState(), 'completed');
    assert.equal(receivedFor(jobId).length, 2, 'the job ran twice (the first send never finished)');
    assert.equal(acceptedFor(jobId).length, 1, 'one email accepted');
    const claims = await f.db.pools.primary.query('SELECT count(*)::int AS n FROM sent_emails WHERE job_id = $1', [jobId]);
    assert.equal(claims.rows[0].n, 1);
    await second.stop();
  });

  it('fails a job that stalls a second time, visibly: failed state and a dead letter, no email', async () => {
    const queues = await f.inspect();
    let held = smtp.holdNext();
    const first = await f.startWorker();
    const jobId = await writeWelcome('poison@example.com');
    await held;
    await first.stop('SIGKILL');
    // The first stall: delivered once more, and its worker dies under it too.
    held = smtp.holdNext();
    const second = await f.startWorker();
    await held;
    await second.stop('SIGKILL');
    const third = await f.startWorker();
    try {
      await waitFor('the job to fail', async () => (await queues.get('email').getJob(jobId))?.failedReason, 60_000);
      const job = await queues.get('email').getJob(jobId);
      assert.equal(await job?.getState(), 'failed');
      assert.match(String(job?.failedReason), /stalled more than allowable limit/);
      const letters = await waitFor('the dead letter', async () => {
        const { rows } = await f.db.pools.primary.query('SELECT failed_reason FROM dead_letters WHERE job_id = $1', [jobId]);
        return rows[0];
      });
      assert.match(letters.failed_reason, /stalled/);
      assert.equal(acceptedFor(jobId).length, 0, 'never sent');
      assert.equal(receivedFor(jobId).length, 2, 'two deliveries, no third');
    } finally {
      await third.stop();
    }
  });

  it('skips the send when a job is re-delivered while its first, stalled delivery is still finishing', async () => {
    const queues = await f.inspect();
    const held = smtp.holdNext();
    const first = await f.startWorker();
    const jobId = await writeWelcome('stalled@example.com');
    const message = await held;
    // Freeze the first worker right as its message is accepted: its lock lapses and its claim stays uncommitted.
    first.process.kill('SIGSTOP');
    message.release();
    try {
      const second = await f.startWorker();
      // The second delivery blocks on the first one's uncommitted claim row.
      await waitFor(
        'the re-delivered job to wait on the claim',
        async () => {
          const { rows } = await f.db.pools.primary.query(
            `SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock' AND query ILIKE '%sent_emails%'`,
          );
          return rows[0].n >= 1;
        },
        20_000,
      );
      first.process.kill('SIGCONT');
      await waitFor('the job to complete', async () => (await queues.get('email').getJob(jobId))?.finishedOn);
      assert.equal(acceptedFor(jobId).length, 1, 'sent once although delivered twice');
      assert.equal(receivedFor(jobId).length, 1, 'the second delivery did not even try');
      await second.stop();
    } finally {
      first.process.kill('SIGCONT');
      await first.stop();
    }
  });

  it('exits on SIGTERM within SHUTDOWN_TIMEOUT_MS when its job never ends, and the job is sent once by another worker', async () => {
    const queues = await f.inspect();
    // The mail server never answers this send: its claim's transaction stays open on a pooled connection.
    const held = smtp.holdNext();
    const worker = await f.startWorker({ SHUTDOWN_TIMEOUT_MS: '1000' });
    const jobId = await writeWelcome('hung-at-sigterm@example.com');
    await held;
    worker.process.kill('SIGTERM');
    const exited = await Promise.race([worker.exited, new Promise((resolve) => setTimeout(() => resolve('still running 10 s after SIGTERM'), 10_000))]);
    assert.equal(exited, 0, 'exits (0) once the job is handed back, without waiting for the mail server');

    const second = await f.startWorker();
    try {
      await waitFor('the handed-back job to complete on the other worker', async () => (await queues.get('email').getJob(jobId))?.finishedOn);
      assert.equal(await (await queues.get('email').getJob(jobId))?.getState(), 'completed');
      assert.equal(acceptedFor(jobId).length, 1, 'the re-delivery sent it: the first send never got its answer');
    } finally {
      await second.stop();
    }
  });

  it('hands its job back on SIGTERM without counting it as stalled: two deploys while the mail server hangs, then sent once', async () => {
    const queues = await f.inspect();
    let held = smtp.holdNext();
    const first = await f.startWorker({ SHUTDOWN_TIMEOUT_MS: '500' });
    const jobId = await writeWelcome('two-deploys@example.com');
    await held;
    assert.equal(await first.stop('SIGTERM'), 0);
    // The next worker takes it, and is shut down in the middle of the same send.
    held = smtp.holdNext();
    const second = await f.startWorker({ SHUTDOWN_TIMEOUT_MS: '500' });
    await held;
    assert.equal(await second.stop('SIGTERM'), 0);

    const third = await f.startWorker();
    try {
      await waitFor('the job to finish', async () => (await queues.get('email').getJob(jobId))?.finishedOn, 60_000);
      const job = await queues.get('email').getJob(jobId);
      assert.equal(job?.failedReason, undefined, 'handed back twice, never stalled');
      assert.equal(await job?.getState(), 'completed');
      assert.equal(job?.stalledCounter, 0);
      assert.equal(acceptedFor(jobId).length, 1);
      const { rows } = await f.db.pools.primary.query('SELECT count(*)::int AS n FROM dead_letters WHERE job_id = $1', [jobId]);
      assert.equal(rows[0].n, 0, 'no dead letter');
    } finally {
      await third.stop();
    }
  });

  it('finishes its active job on SIGTERM before it exits', async () => {
    const queues = await f.inspect();
    const held = smtp.holdNext();
    const worker = await f.startWorker();
    const jobId = await writeWelcome('sigterm@example.com');
    const message = await held;
    assert.equal(message.messageId, messageIdFor(jobId));
    worker.process.kill('SIGTERM');
    // The worker handles the signal in its own time (a loaded machine can take longer than a fixed 300 ms).
    const ready = async () => (await fetch(`${worker.url}/ready`)).status;
    await waitFor('the worker to drain', async () => (await ready()) === 503).catch(() => {});
    assert.equal(await ready(), 503, 'draining');
    assert.equal(worker.process.exitCode, null, 'still running while its job is active');
    message.release();
    assert.equal(await worker.exited, 0);
    assert.equal(await (await queues.get('email').getJob(jobId))?.getState(), 'completed');
    assert.equal(acceptedFor(jobId).length, 1);
  });
});

// A new release's worker started before its migrations ran answered /ready 200 while its jobs failed on tables or
// columns not there yet: a rolling update went on. Behind the release's newest migration it is not ready.
describe('worker /ready against a database behind this release', () => {
  it('answers 503 with checks.schema "behind" until the newest migration is applied, then 200', async () => {
    const database = await createTestDatabase();
    const config = loadConfig(testEnv(database.url), { secrets: ['SESSION_SECRET'] });
    const platform = createPlatform(config, 'worker', createLogger({ level: 'silent' }));
    const server = createWorkerHttpServer({ db: platform.db, redis: platform.redis, metrics: platform.metrics, status: () => ({ draining: false, queues: {} }) });
    try {
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/ready`;
      const pool = platform.db.pools.primary;
      const { rows } = await pool.query<{ id: number; hash: string; created_at: string }>('DELETE FROM drizzle.__drizzle_migrations WHERE created_at = (SELECT max(created_at) FROM drizzle.__drizzle_migrations) RETURNING id, hash, created_at');
      assert.equal(rows.length, 1);
      const behind = await fetch(url);
      const body = (await behind.json()) as { checks: Record<string, string> };
      assert.equal(behind.status, 503, JSON.stringify(body));
      assert.equal(body.checks.schema, 'behind');
      await pool.query('INSERT INTO drizzle.__drizzle_migrations (id, hash, created_at) VALUES ($1, $2, $3)', [rows[0]!.id, rows[0]!.hash, rows[0]!.created_at]);
      const current = await fetch(url);
      assert.equal(current.status, 200);
      assert.equal(((await current.json()) as { checks: Record<string, string> }).checks.schema, 'up');
    } finally {
      await new Promise((resolve) => server.close(resolve));
      await platform.close();
      await database.drop();
    }
  });
});
