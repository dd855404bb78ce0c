import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { enqueueInTransaction } from '../../src/platform/outbox/outbox.ts';
import { JOBS, QUEUES } from '../../src/platform/queue/queue-definitions.ts';
import { createTestApp, type TestApp } from '../helpers/app.ts';

let t: TestApp;
before(async () => {
  t = await createTestApp();
});
after(async () => {
  await t?.close();
});

describe('queue dashboard and metrics on the web role', () => {
  it('answers an unknown path under the queue dashboard with 404 ROUTE_NOT_FOUND in the error shape (not Fastify\'s default body)', async () => {
    // README: "Unknown routes are 404 ROUTE_NOT_FOUND ... all in the shape above"; "Every error has one shape".
    const reply = await t.app.inject({ url: '/admin/queues/no-such-page', headers: t.admin });
    assert.equal(reply.statusCode, 404, reply.body);
    const body = reply.json();
    assert.equal(body.error?.code, 'ROUTE_NOT_FOUND', `not the documented error shape: ${reply.body}`);
    assert.equal(body.error.requestId, reply.headers['x-request-id']);
  });

  it('refuses /admin/queues without the admin token', async () => {
    for (const url of ['/admin/queues', '/admin/queues/api/queues', '/admin/queues/static/js/main.js']) {
      const response = await t.app.inject({ url });
      assert.equal(response.statusCode, 401, url);
      assert.equal(response.json().error.code, 'UNAUTHENTICATED');
    }
    const wrong = await t.app.inject({ url: '/admin/queues', headers: { authorization: 'Bearer not-the-token-at-all' } });
    assert.equal(wrong.statusCode, 401);
  });

  it('serves the board and its queue API with the token', async () => {
    const page = await t.app.inject({ url: '/admin/queues', headers: t.admin });
    assert.equal(page.statusCode, 200);
    assert.match(page.headers['content-type'] as string, /text\/html/);
    // Its inline styles are allowed on its pages only.
    assert.match(String(page.headers['content-security-policy']), /style-src 'self' 'unsafe-inline'/);
    const api = await t.app.inject({ url: '/admin/queues/api/queues', headers: t.admin });
    assert.equal(api.statusCode, 200);
    const names = (api.json().queues as { name: string }[]).map((q) => q.name).sort();
    assert.deepEqual(names, ['email', 'inventory', 'notifications', 'order']);
  });

  it('passes a request body through to the board (a job added from the dashboard)', async () => {
    const added = await t.app.inject({
      method: 'POST',
      url: `/admin/queues/api/queues/${QUEUES.email}/add`,
      headers: t.admin,
      payload: { name: 'board-added', data: { note: 'from the dashboard' } },
    });
    assert.equal(added.statusCode, 200, added.body);
    const job = added.json().job as { id: string; name: string; data: unknown };
    assert.equal(job.name, 'board-added');
    const read = await t.app.inject({ url: `/admin/queues/api/queues/${QUEUES.email}/${job.id}`, headers: t.admin });
    assert.equal(read.statusCode, 200, read.body);
    assert.equal(read.json().job.name, 'board-added');
    // Removed again through the board: the queue depths below are of the outbox's jobs only.
    const removed = await t.app.inject({ method: 'PUT', url: `/admin/queues/api/queues/${QUEUES.email}/${job.id}/clean`, headers: t.admin });
    assert.equal(removed.statusCode, 204, removed.body);
  });

  it('serves the board\'s static files and refuses unknown board paths with its own 404', async () => {
    const page = await t.app.inject({ url: '/admin/queues', headers: t.admin });
    // Relative to the page's <base href="/admin/queues/">.
    const script = /src="(static\/[^"]+\.js)"/.exec(page.body)?.[1];
    assert.ok(script, page.body);
    const asset = await t.app.inject({ url: `/admin/queues/${script}`, headers: t.admin });
    assert.equal(asset.statusCode, 200);
    assert.match(String(asset.headers['content-type']), /javascript/);
    const missing = await t.app.inject({ url: '/admin/queues/api/no-such-thing', headers: t.admin });
    assert.equal(missing.statusCode, 404);
  });

  // Every reply is `Cache-Control: no-store` unless its route says otherwise. The board's files are served only behind
  // the admin bearer token: `public` would let a shared cache (a CDN put in front for a sale) store a reply to a
  // request that carried `Authorization` (RFC 9111 §3.5).
  it('never marks the board\'s static files publicly cacheable, as they are served only with the admin token', async () => {
    const page = await t.app.inject({ url: '/admin/queues', headers: t.admin });
    assert.equal(page.statusCode, 200, page.body);
    const scripts = page.body.match(/static\/js\/[^"]+\.js/g) ?? [];
    assert.ok(scripts.length > 0, 'the dashboard page names its scripts');
    for (const script of scripts) {
      const reply = await t.app.inject({ url: `/admin/queues/${script}`, headers: t.admin });
      assert.equal(reply.statusCode, 200, `${script}: ${reply.statusCode}`);
      const cacheControl = String(reply.headers['cache-control']);
      assert.doesNotMatch(cacheControl, /\bpublic\b/, `${script} (served only with the admin token) is Cache-Control: ${cacheControl}`);
    }
  });

  it('exposes queue depths and the outbox backlog in /metrics', async () => {
    await enqueueInTransaction(t.platform.db.primary, [
      { queue: QUEUES.email, name: JOBS.sendWelcomeEmail, data: { email: 'm@example.com', name: 'M' } },
      { queue: QUEUES.inventory, name: JOBS.updateStock, data: { productId: 1, quantity: 1 } },
    ]);
    const metrics = await t.app.inject({ url: '/metrics' });
    assert.equal(metrics.statusCode, 200);
    for (const state of ['waiting', 'prioritized', 'delayed', 'active', 'failed', 'completed']) {
      assert.match(metrics.body, new RegExp(`^queue_jobs\\{queue="email",state="${state}"[^}]*\\} 0$`, 'm'), state);
    }
    assert.match(metrics.body, /^queue_oldest_waiting_job_age_seconds\{queue="inventory"[^}]*\} 0$/m);
    assert.match(metrics.body, /^outbox_unrelayed_rows\{[^}]*\} 2$/m);
    assert.match(metrics.body, /^outbox_oldest_unrelayed_age_seconds\{[^}]*\} [0-9.e-]+$/m);
  });
});
