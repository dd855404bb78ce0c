import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { PasswordLengthError, PasswordTooCommonError } from './customers.errors.ts';
import { checkNewPassword, isCommonPassword } from './password-policy.ts';

const reasonOf = (password: string, who = { email: 'jane.doe@example.com', name: 'Jane Doe' }) => {
  try {
    checkNewPassword(password, who);
    return 'accepted';
  } catch (error) {
    return (error as { details: { reason: string } }).details.reason;
  }
};

describe('new password policy', () => {
  it('counts the 8-to-256 length in the NFC form hashed, not in the form typed', () => {
    const who = { email: 'jane.doe@example.com', name: 'Jane Doe' };
    const issueOf = (password: string) => {
      try {
        checkNewPassword(password, who);
        return 'accepted';
      } catch (error) {
        assert.ok(error instanceof PasswordLengthError);
        return (error.details as { issues: { message: string }[] }).issues[0]!.message;
      }
    };
    assert.equal(issueOf('ábćdé'.normalize('NFD')), 'must NOT have fewer than 8 characters');
    assert.equal(issueOf('ábćdéfgh'.normalize('NFD')), 'accepted');
    // 256 characters in NFC, 512 code points as typed decomposed: accepted; one more is too many.
    assert.equal(issueOf('ábćdéfgh'.repeat(32).normalize('NFD')), 'accepted');
    assert.equal(issueOf(`${'ábćdéfgh'.repeat(32)}x`), 'must NOT have more than 256 characters');
  });

  it('refuses a password made only of whitespace or of one character repeated, in any case or normalisation form', () => {
    for (const password of ['        ', '\t\t\t\t\n\n\n\n', '\u00a0\u2003\u3000 \u00a0\u2003\u3000 ', 'aaaaaaaa', 'QqQqQqQqQq', 'xxxxxxxxxxxxxxxxxxxx', 'e\u0301e\u0301e\u0301e\u0301e\u0301e\u0301e\u0301e\u0301', '🙂🙂🙂🙂🙂🙂🙂🙂'])
      assert.equal(reasonOf(password), 'repetitive', JSON.stringify(password));
    assert.equal(reasonOf('aaaaaaab and more'), 'accepted');
    assert.equal(reasonOf('  a  b  c  d  e  '), 'accepted');
  });

  it('knows the most common passwords in any letter case', () => {
    for (const password of ['123456', 'password', 'iloveyou', 'QWERTY123', 'Password1', 'trustno1']) assert.equal(isCommonPassword(password), true, password);
    assert.equal(isCommonPassword('correct horse battery'), false);
  });

  it('refuses a password that is mostly a context word, and keeps one long enough without it', () => {
    assert.equal(reasonOf('salescale'), 'context');
    assert.equal(reasonOf('doe-jane-doe'), 'context');
    assert.equal(reasonOf('JaneDoe1234'), 'context');
    assert.equal(reasonOf('jane.doe.password'), 'context', 'what is left is common');
    assert.equal(reasonOf('jane likes long walks'), 'accepted');
    // The email is the username: the whole address, in any case and with a suffix, and its domain are context words.
    assert.equal(reasonOf('jane.doe@example.com'), 'context', 'the whole address');
    assert.equal(reasonOf('Jane.Doe@Example.COM!'), 'context', 'the address in another case');
    assert.equal(reasonOf('example.com2026'), 'context', 'the domain');
    assert.equal(reasonOf('jane.doe.1a2b3c4d@example.com', { email: 'Jane.Doe.1A2B3C4D@example.com', name: 'Jane Doe' }), 'context');
    // Two-letter parts of a name are not context words: "jo" would refuse every password holding "job".
    assert.equal(reasonOf('jobs and joys', { email: 'jo@example.com', name: 'Jo' }), 'accepted');
  });

  it('refuses a password made of the name whatever the normalisation form of the name and the password', () => {
    // The password is checked in NFC (the form hashed); the name and email it is compared with must be read in the
    // same form, or a keyboard that sends NFD for both (the name and the password typed alike) slips past `context`.
    const name = 'Zoë Laurène';
    const password = 'zoëlaurène';
    const reasonFor = (password: string, name: string) => {
      try {
        checkNewPassword(password, { email: 'x@example.com', name });
        return 'accepted';
      } catch (error) {
        assert.ok(error instanceof PasswordTooCommonError);
        return (error.details as { reason: string }).reason;
      }
    };
    assert.equal(reasonFor(password, name), 'context', 'both NFC');
    assert.equal(reasonFor(password.normalize('NFD'), name.normalize('NFD')), 'context', 'both NFD');
    assert.equal(reasonFor(password, name.normalize('NFD')), 'context', 'name NFD, password NFC');
  });
});
