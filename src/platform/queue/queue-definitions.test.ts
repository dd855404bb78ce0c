import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { defaultJobOptions, JOB_DEFAULTS, QUEUE_OF_JOB, queuePrefix } from './queue-definitions.ts';
import { jobOptions } from './queues.ts';

describe('queue definitions', () => {
  it("keeps the seed strategy's defaults per queue", () => {
    assert.deepEqual(defaultJobOptions('email'), { attempts: 3, backoff: { type: 'exponential', delay: 2000 }, removeOnComplete: 100, removeOnFail: 50 });
    assert.deepEqual(defaultJobOptions('order'), { attempts: 5, backoff: { type: 'exponential', delay: 5000 }, removeOnComplete: 100, removeOnFail: 50 });
    assert.deepEqual(defaultJobOptions('inventory'), { attempts: 10, backoff: { type: 'fixed', delay: 1000 }, removeOnComplete: 50, removeOnFail: 25 });
    assert.deepEqual(defaultJobOptions('notifications'), { attempts: 3, removeOnComplete: 200 });
  });

  it('applies configured attempts and backoff overrides to one queue only', () => {
    const overrides = { attempts: { email: 7 }, backoffMs: { email: 50, notifications: 300 } };
    assert.deepEqual(defaultJobOptions('email', overrides), { attempts: 7, backoff: { type: 'exponential', delay: 50 }, removeOnComplete: 100, removeOnFail: 50 });
    assert.deepEqual(defaultJobOptions('notifications', overrides), { attempts: 3, backoff: { type: 'fixed', delay: 300 }, removeOnComplete: 200 });
    assert.equal(defaultJobOptions('order', overrides).attempts, 5);
  });

  it('gives stock updates priority 10 and delays order confirmations by 1 s, unless the caller says otherwise', () => {
    assert.deepEqual(jobOptions('update-stock'), { priority: 10 });
    assert.deepEqual(jobOptions('send-order-confirmation', { delay: 0 }), { delay: 0 });
    assert.deepEqual(JOB_DEFAULTS['send-order-confirmation'], { delay: 1000 });
    assert.equal(QUEUE_OF_JOB['update-analytics'], 'notifications');
  });

  it("puts the provider cancels of orders that can no longer be paid behind the order queue's other jobs (a priority; those have none)", () => {
    assert.deepEqual(jobOptions('cancel-open-intents'), { priority: 100 });
    for (const name of ['order-paid', 'expire-order'] as const) assert.equal(JOB_DEFAULTS[name]?.priority, undefined, name);
  });

  it('hash-tags the BullMQ prefix so a queue lives in one Redis Cluster slot', () => {
    assert.equal(queuePrefix('salescale'), '{salescale}');
  });
});
