import { createBullBoard } from '@bull-board/api';
import { BullMQAdapter } from '@bull-board/api/bullMQAdapter';
import { FastifyAdapter } from '@bull-board/fastify';
import type { FastifyPluginAsync } from 'fastify';
import type { QueueSet } from '../../platform/queue/queues.ts';
import { requireAdminToken } from './admin-auth.ts';

export const QUEUE_BOARD_PATH = '/admin/queues';

/**
 * Bull Board (inspect, retry, promote and clean jobs) at /admin/queues. It has no authentication of
 * its own, so every route it adds (pages, API, static files) sits behind the admin bearer token.
 */
export function queueBoard(deps: { queues: QueueSet; adminToken: string }): FastifyPluginAsync {
  return async (app) => {
    const serverAdapter = new FastifyAdapter();
    serverAdapter.setBasePath(QUEUE_BOARD_PATH);
    createBullBoard({ queues: deps.queues.all().map((queue) => new BullMQAdapter(queue)), serverAdapter, options: { uiConfig: { boardTitle: 'Salescale queues' } } });
    await app.register(
      async (board) => {
        // Part of the operator's console during an overload (is the backlog draining?): never shed, as the admin API.
        board.addHook('onRoute', (route) => {
          route.config = { ...route.config, shed: false };
        });
        board.addHook('onRequest', requireAdminToken(deps.adminToken));
        await board.register(serverAdapter.registerPlugin());
      },
      { prefix: QUEUE_BOARD_PATH },
    );
  };
}
