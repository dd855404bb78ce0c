import assert from 'node:assert/strict';
import { after, before, it } from 'node:test';
import { createTestApp, type TestApp } from './helpers/app.ts';

// Passwords are hashed in NFC: the secret is the NFC form, so the 8-character minimum must hold for it. Typed
// decomposed, "ábćdé" is 8 code points and passes the schema's minLength, but only 5 characters are hashed.

let t: TestApp;
before(async () => {
  t = await createTestApp();
});
after(() => t.close());

it('counts the minimum length of a new password in the NFC form it is hashed in', async () => {
  const password = 'ábćdé'.normalize('NFD');
  assert.equal([...password].length, 8);
  const reply = await t.app.inject({ method: 'POST', url: '/api/v1/customers', payload: { email: 'short-nfc@example.com', password, name: 'Short' } });
  assert.deepEqual([reply.statusCode, reply.json().error?.code], [400, 'VALIDATION_FAILED'], reply.body);
});
