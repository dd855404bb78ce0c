import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { QUEUES } from '../src/platform/queue/queue-definitions.ts';
import type { WebServices } from '../src/web/compose.ts';
import { createTestApp, type TestApp } from './helpers/app.ts';

interface Action {
  actor: string | null;
  method: string;
  route: string;
  target: Record<string, unknown>;
  status: number;
}

/**
 * The queue dashboard (Bull Board at /admin/queues, behind the admin token) changes the queues: it adds jobs,
 * deletes them, cleans a whole state (the order queue's delayed expiries), pauses a queue. The README: "Every
 * successful admin change (a POST, PUT, PATCH or DELETE under `/admin` answered below 400) is audited".
 */
describe('admin audit trail of the queue dashboard', () => {
  let t: TestApp;
  let web: WebServices;
  before(async () => {
    t = await createTestApp({}, undefined, {
      services: (composed) => {
        web = composed;
      },
    });
  });
  after(() => t?.close());

  const board = (method: 'POST' | 'PUT', url: string, payload?: object) =>
    t.app.inject({ method, url: `/admin/queues/api/queues${url}`, headers: { ...t.admin, 'x-admin-actor': 'carol (on call)' }, ...(payload ? { payload } : {}) });
  /**
   * The audit rows once `until` holds. Each row is written after its reply (onResponse): the audit service's writes
   * in flight are settled before each read; the deadline (30 s, for a loaded machine) only bounds a failing run.
   */
  async function actions(until: (items: Action[]) => boolean): Promise<Action[]> {
    const deadline = Date.now() + 30_000;
    for (;;) {
      await web.audit.settle();
      const reply = await t.app.inject({ url: '/api/v1/admin/actions?limit=100', headers: t.admin });
      assert.equal(reply.statusCode, 200, reply.body);
      const items: Action[] = reply.json().items;
      if (until(items) || Date.now() > deadline) return items;
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  }

  it('records a job added, a job deleted, a queue paused and a queue cleaned through the dashboard, with the actor', async () => {
    const added = await board('POST', `/${QUEUES.email}/add`, { name: 'board-added', data: { note: 'from the dashboard' } });
    assert.equal(added.statusCode, 200, added.body);
    const deleted = await board('PUT', `/${QUEUES.email}/${added.json().job.id}/clean`);
    assert.equal(deleted.statusCode, 204, deleted.body);
    const paused = await board('PUT', `/${QUEUES.order}/pause`);
    assert.equal(paused.statusCode, 200, paused.body);
    const cleaned = await board('PUT', `/${QUEUES.order}/clean/delayed`);
    assert.equal(cleaned.statusCode, 200, cleaned.body);
    // An API change after them: once its row is there, the dashboard's would be too.
    const mode = await t.app.inject({ method: 'PUT', url: '/api/v1/admin/mode', headers: t.admin, payload: { mode: 'elevated' } });
    assert.equal(mode.statusCode, 200, mode.body);

    const items = await actions((rows) => rows.some((row) => row.route === '/api/v1/admin/mode') && rows.filter((row) => row.route.startsWith('/admin/queues')).length >= 4);
    assert.ok(items.some((row) => row.route === '/api/v1/admin/mode'), 'the API change is recorded');
    // Each row is written after its reply, so rows of changes made in quick succession can land in either order:
    // compare them by route.
    const jobId = String(added.json().job.id);
    const boardRows = items
      .filter((row) => row.route.startsWith('/admin/queues'))
      .map((row) => [row.route, row.method, row.actor, row.status, row.target] as const)
      .sort(([a], [b]) => a.localeCompare(b));
    assert.deepEqual(
      boardRows,
      [
        ['/admin/queues/api/queues/:queueName/:jobId/clean', 'PUT', 'carol (on call)', 204, { queue: QUEUES.email, jobId }],
        ['/admin/queues/api/queues/:queueName/add', 'POST', 'carol (on call)', 200, { queue: QUEUES.email, jobId }],
        ['/admin/queues/api/queues/:queueName/clean/:queueStatus', 'PUT', 'carol (on call)', 200, { queue: QUEUES.order, state: 'delayed' }],
        ['/admin/queues/api/queues/:queueName/pause', 'PUT', 'carol (on call)', 200, { queue: QUEUES.order }],
      ],
      `the dashboard's changes are in the audit trail, each naming its route, queue, job and state; recorded: ${JSON.stringify(items.map((row) => `${row.method} ${row.route}`))}`,
    );
  });
});
