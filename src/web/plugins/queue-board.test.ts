import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import Fastify from 'fastify';
import type { AuditService } from '../../modules/audit/index.ts';
import type { QueueSet } from '../../platform/queue/queues.ts';
import { queueBoard } from './queue-board.ts';

/** These requests change nothing: nothing is recorded. */
const NO_AUDIT = { record() {}, async settle() {} } as unknown as AuditService;

const TOKEN = 'queue-board-test-token-0123456789';

/** A queue the board accepts (it checks BullMQ's meta version) whose every Redis read fails. */
function failingQueue(message: string) {
  const fail = () => Promise.reject(new Error(message));
  return new Proxy({ name: 'failing', metaValues: { version: 'bullmq:5.0.0' }, opts: {} } as Record<string | symbol, unknown>, {
    get: (target, key) => (key in target ? target[key] : fail),
  });
}

describe('queue board', () => {
  it('hands a failure inside the board to the web app\'s error handler (its code and logging), not the board\'s own reply', async () => {
    const app = Fastify({ logger: false });
    const seen: string[] = [];
    app.setErrorHandler((error: Error, _request, reply) => {
      seen.push(error.message);
      return reply.code(503).send({ error: { code: 'HANDLED_BY_THE_APP' } });
    });
    await app.register(queueBoard({ queues: { all: () => [failingQueue('redis went away')] } as unknown as QueueSet, adminToken: TOKEN, audit: NO_AUDIT }));
    try {
      const response = await app.inject({ url: '/admin/queues/api/queues', headers: { authorization: `Bearer ${TOKEN}` } });
      assert.equal(response.statusCode, 503, response.body);
      assert.equal(response.json().error.code, 'HANDLED_BY_THE_APP');
      assert.doesNotMatch(response.body, /redis went away/);
      assert.deepEqual(seen, ['redis went away']);
    } finally {
      await app.close();
    }
  });

  it('answers a path the board has no route or file for with 404 ROUTE_NOT_FOUND, and keeps the board\'s own refusals for its UI', async () => {
    const app = Fastify({ logger: false });
    await app.register(queueBoard({ queues: { all: () => [] } as unknown as QueueSet, adminToken: TOKEN, audit: NO_AUDIT }));
    const get = (url: string) => app.inject({ url, headers: { authorization: `Bearer ${TOKEN}` } });
    try {
      for (const url of ['/admin/queues/no-such-page', '/admin/queues/static/no-such-file.js', '/admin/queues/api/no-such-call?x=1']) {
        const response = await get(url);
        assert.equal(response.statusCode, 404, `${url}: ${response.body}`);
        assert.equal(response.json().error.code, 'ROUTE_NOT_FOUND', url);
        assert.equal(response.headers['x-salescale-board-not-found'], undefined, 'the internal mark stays inside');
      }
      // The dashboard's UI shows its API's refusals by their translation key.
      const unknownQueue = await get('/admin/queues/api/queues/no-such-queue/metrics');
      assert.equal(unknownQueue.statusCode, 404, unknownQueue.body);
      assert.deepEqual(unknownQueue.json().error, { key: 'ERRORS.QUEUE_NOT_FOUND' });
      assert.equal((await get('/admin/queues')).statusCode, 200);
    } finally {
      await app.close();
    }
  });
});
