import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { loadConfig } from '../../src/platform/config/config.ts';
import { createTestApp, testEnv, type TestApp } from '../helpers/app.ts';

/**
 * ADMIN_API_TOKEN is checked for length "not counting whitespace around" it but kept as given, while the admin check
 * reads the bearer token as `\S+` (surrounding whitespace dropped). A token that ends in a newline (a Kubernetes
 * secret or `.env` file written with `echo`, not `echo -n`) is thus accepted at boot, and no request can ever
 * present it: every admin call and the queue dashboard answer 401 INVALID_TOKEN, with the right token. Either the
 * value should be refused at boot, or the token as a client can send it should be admitted.
 */
describe('an ADMIN_API_TOKEN with whitespace around it', () => {
  const token = 'qa-admin-token-0123456789abcdef';
  let t: TestApp | undefined;
  after(() => t?.close());

  it('is refused at boot, or admits Authorization: Bearer <the token>', async () => {
    const extra = { ADMIN_API_TOKEN: `${token}\n` };
    let refusedAtBoot = false;
    try {
      loadConfig(testEnv('postgres://unused@127.0.0.1:1/unused', extra));
    } catch {
      refusedAtBoot = true;
    }
    if (refusedAtBoot) return;
    t = await createTestApp(extra);
    const reply = await t.app.inject({ url: '/api/v1/admin/sale-events', headers: { authorization: `Bearer ${token}` } });
    assert.equal(reply.statusCode, 200, `the configured admin token was started with, then refused: ${reply.statusCode} ${reply.body}`);
  });
});
