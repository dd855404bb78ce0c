import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import Fastify from 'fastify';
import { onReplyDone, ReplyDoneLogController } from './reply-done.ts';

describe('onReplyDone', () => {
  it('refuses an app built without ReplyDoneLogController: its handlers would never run', async () => {
    const app = Fastify();
    try {
      assert.throws(() => onReplyDone(app, () => {}), /ReplyDoneLogController/);
    } finally {
      await app.close();
    }
  });

  it('accepts an app built with ReplyDoneLogController and runs its handler once per request', async () => {
    const app = Fastify({ logController: new ReplyDoneLogController({ disableRequestLogging: true }) });
    try {
      const statuses: number[] = [];
      onReplyDone(app, (_request, reply) => void statuses.push(reply.statusCode));
      app.get('/ok', async () => 'ok');
      await app.inject({ method: 'GET', url: '/ok' });
      await app.inject({ method: 'GET', url: '/missing' });
      assert.deepEqual(statuses, [200, 404]);
    } finally {
      await app.close();
    }
  });
});
