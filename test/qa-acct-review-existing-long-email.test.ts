import assert from 'node:assert/strict';
import { sql } from 'drizzle-orm';
import { after, before, it } from 'node:test';
import { createTestApp, type TestApp } from './helpers/app.ts';
import { insertCustomers, TEST_PASSWORD } from './helpers/commerce.ts';

// Registration took an email of up to 254 characters with any local part before the 64-character limit: such accounts
// exist. Refusing the address at sign-in as well locks them out for good (no password reset can reach them either).

let t: TestApp;
before(async () => {
  t = await createTestApp();
});
after(() => t.close());

it('signs in an account registered before the 64-character local-part limit with a longer local part', async () => {
  const [id] = await insertCustomers(t.platform.db.primary, 1, 'old');
  const email = `${'a'.repeat(65)}@example.com`;
  await t.platform.db.primary.execute(sql`update customers set email = ${email} where id = ${id}`);
  const signIn = await t.app.inject({ method: 'POST', url: '/api/v1/sessions', payload: { email, password: TEST_PASSWORD } });
  assert.equal(signIn.statusCode, 200, signIn.body);
});
