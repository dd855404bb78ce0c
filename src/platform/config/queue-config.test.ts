import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { type ConfigError, loadConfig } from './config.ts';

const base = { NODE_ENV: 'test' };

describe('queue and worker configuration', () => {
  it('defaults to every queue with the default concurrencies', () => {
    const config = loadConfig(base);
    assert.deepEqual(config.queues.worker, ['email', 'order', 'inventory', 'notifications']);
    assert.deepEqual(config.queues.concurrency, { email: 5, order: 5, inventory: 10, notifications: 100 });
    assert.equal(config.worker.port, 3031);
    assert.equal(config.mail.smtpUrl, undefined);
  });

  it('parses queue=n lists and a queue subset', () => {
    const config = loadConfig({ ...base, WORKER_QUEUES: 'email, inventory', WORKER_CONCURRENCY: 'email=20', QUEUE_ATTEMPTS: 'order=8', QUEUE_BACKOFF_MS: 'inventory=250' });
    assert.deepEqual(config.queues.worker, ['email', 'inventory']);
    assert.equal(config.queues.concurrency.email, 20);
    assert.equal(config.queues.concurrency.inventory, 10);
    assert.deepEqual(config.queues.attempts, { order: 8 });
    assert.deepEqual(config.queues.backoffMs, { inventory: 250 });
  });

  it('names unknown queues and malformed pairs', () => {
    assert.throws(() => loadConfig({ ...base, WORKER_QUEUES: 'emails' }), (error: ConfigError) => error.variable === 'WORKER_QUEUES' && /unknown queue "emails"/.test(error.message));
    assert.throws(() => loadConfig({ ...base, WORKER_CONCURRENCY: 'email=0' }), /expected queue=<positive integer>/);
    assert.throws(() => loadConfig({ ...base, SMTP_URL: 'http://mail' }), /SMTP_URL/);
  });

  it('refuses a WORKER_QUEUES that names no queue (",", " "), as `worker --queues ","` is refused, instead of running every queue', () => {
    for (const value of [',', ' ', ' , ']) {
      assert.throws(
        () => loadConfig({ ...base, WORKER_QUEUES: value }),
        (error: ConfigError) => error.variable === 'WORKER_QUEUES',
        `WORKER_QUEUES=${JSON.stringify(value)} ran ${JSON.stringify(loadConfigQueues(value))}`,
      );
    }
  });
});

function loadConfigQueues(value: string): string[] | string {
  try {
    return loadConfig({ ...base, WORKER_QUEUES: value }).queues.worker;
  } catch (error) {
    return (error as Error).message;
  }
}
