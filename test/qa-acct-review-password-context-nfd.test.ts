import assert from 'node:assert/strict';
import { it } from 'node:test';
import { PasswordTooCommonError } from '../src/modules/customers/customers.errors.ts';
import { checkNewPassword } from '../src/modules/customers/password-policy.ts';

// The policy checks the password in NFC (the form hashed); the name and email it is compared with must be read in
// the same form, or a keyboard that sends NFD for both (the name and the password typed alike) slips past `context`.

const reasonOf = (password: string, who: { email: string; name: string }) => {
  try {
    checkNewPassword(password, who);
    return 'accepted';
  } catch (error) {
    assert.ok(error instanceof PasswordTooCommonError);
    return (error.details as { reason: string }).reason;
  }
};

it('refuses a password made of the name whatever the normalisation form of the name and the password', () => {
  const name = 'Zoë Laurène';
  const password = 'zoëlaurène';
  assert.equal(reasonOf(password, { email: 'x@example.com', name }), 'context', 'both NFC');
  assert.equal(reasonOf(password.normalize('NFD'), { email: 'x@example.com', name: name.normalize('NFD') }), 'context', 'both NFD');
  assert.equal(reasonOf(password, { email: 'x@example.com', name: name.normalize('NFD') }), 'context', 'name NFD, password NFC');
});
