import assert from 'node:assert/strict';
import { after, before, it } from 'node:test';
import { createTestApp, type TestApp } from './helpers/app.ts';

// OWASP ASVS 6.2 / NIST SP 800-63B 3.1.1.2 ("repetitive or sequential characters"): eight spaces or one character
// repeated pass the length check, but are the first thing a guesser tries. They are refused like the other
// guessable passwords: 422 PASSWORD_TOO_COMMON, with a reason of their own.

let t: TestApp;
before(async () => {
  t = await createTestApp();
});
after(() => t.close());

it('refuses a new password made only of whitespace or of one repeated character (422 PASSWORD_TOO_COMMON, reason repetitive)', async () => {
  const refused = ['        ', ' \t \u00a0 \u3000  ', 'aaaaaaaa', 'zzzzzzzzzzzzzzzz', 'ZzZzZzZzZz', 'éééééééé', 'e\u0301e\u0301e\u0301e\u0301e\u0301e\u0301e\u0301e\u0301', '🙂🙂🙂🙂🙂🙂🙂🙂'];
  let i = 0;
  for (const password of refused) {
    const reply = await t.app.inject({
      method: 'POST',
      url: '/api/v1/customers',
      payload: { email: `repetitive${++i}@example.com`, password, name: 'Rep' },
    });
    assert.equal(reply.statusCode, 422, `${JSON.stringify(password)}: ${reply.body}`);
    const { error } = reply.json();
    assert.deepEqual([error.code, error.details?.reason], ['PASSWORD_TOO_COMMON', 'repetitive'], JSON.stringify(password));
    assert.ok(!reply.body.includes(password), 'the reply never holds the password');
  }
  const kept = await t.app.inject({ method: 'POST', url: '/api/v1/customers', payload: { email: 'varied@example.com', password: 'aaaaaaab but longer', name: 'Rep' } });
  assert.equal(kept.statusCode, 201, kept.body);
});
