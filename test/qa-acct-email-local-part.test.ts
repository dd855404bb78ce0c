import assert from 'node:assert/strict';
import { after, before, it } from 'node:test';
import { createTestApp, type TestApp } from './helpers/app.ts';

// RFC 5321 4.5.3.1.1: a local part holds at most 64 octets; no mail server delivers to a longer one, so an account
// (or a guest order) registered with one could never receive its mail. The schemas checked only the 254 overall.

let t: TestApp;
before(async () => {
  t = await createTestApp();
});
after(() => t.close());

it('refuses an email whose local part is over 64 characters, and takes one of exactly 64', async () => {
  const register = (email: string) => t.app.inject({ method: 'POST', url: '/api/v1/customers', payload: { email, password: 'a long password', name: 'Long' } });
  const tooLong = await register(`${'a'.repeat(65)}@example.com`);
  assert.deepEqual([tooLong.statusCode, tooLong.json().error?.code], [400, 'VALIDATION_FAILED'], tooLong.body);
  const longest = await register(`${'b'.repeat(64)}@example.com`);
  assert.equal(longest.statusCode, 201, longest.body);
});
