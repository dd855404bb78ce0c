import assert from 'node:assert/strict';
import { argon2, createHash, createHmac, hkdfSync, randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { sql } from 'drizzle-orm';
import { loadConfig } from '../../platform/config/config.ts';
import { createTestApp, type TestApp } from '../../../test/helpers/app.ts';
import { TEST_REDIS_URL } from '../../../test/helpers/db.ts';
import { startTcpProxy, type TcpProxy } from '../../../test/helpers/tcp-proxy.ts';
import { waitFor } from '../../../test/helpers/queues.ts';
import { insertCustomers, sessionCookieOf, TEST_PASSWORD } from '../../../test/helpers/commerce.ts';
import type { Json } from '../../../test/helpers/http.ts';
import type { Database } from '../../platform/db/client.ts';
import { createAccountDigest } from './account-digest.ts';
import { InvalidCredentialsError } from './customers.errors.ts';
import type { CustomersRepository } from './customers.repository.ts';
import { createCustomerService } from './customers.service.ts';
import { noLoginGuard } from './login-guard.ts';
import { hashPassword, matchPassword } from './password.ts';
import type { PasswordGate } from './password-gate.ts';
import type { SessionStore } from './sessions.ts';

describe('customers and sessions', () => {
  let t: TestApp;

  before(async () => {
    t = await createTestApp({ RATE_LIMIT_LOGIN_MAX: '3' });
  });
  after(() => t.close());

  // A new address for every request that names none: a random one could repeat, and an address past its own `login`
  // limit (RATE_LIMIT_LOGIN_MAX=3) is refused 429 RATE_LIMITED before the account is asked.
  let addresses = 0;
  const newAddress = () => `10.0.${Math.floor(++addresses / 250)}.${(addresses % 250) + 1}`;
  const register = (payload: Record<string, unknown>, remoteAddress = newAddress()) => t.app.inject({ method: 'POST', url: '/api/v1/customers', payload, remoteAddress });
  const login = (payload: Record<string, unknown>, cookie?: string, remoteAddress = newAddress()) =>
    t.app.inject({ method: 'POST', url: '/api/v1/sessions', payload, headers: cookie ? { cookie } : {}, remoteAddress });
  const me = (cookie: string | undefined) => t.app.inject({ method: 'GET', url: '/api/v1/me', headers: cookie ? { cookie } : {} });

  it('registers a customer, signs it in with a safe cookie and queues the welcome email', async () => {
    const reply = await register({ email: 'Ada@Example.com', password: 'a long password', name: 'Ada' });
    assert.equal(reply.statusCode, 201, reply.body);
    const body: Json = reply.json();
    assert.equal(body.email, 'Ada@Example.com');
    assert.equal(body.passwordHash, undefined);
    const setCookie = String(reply.headers['set-cookie']);
    assert.match(setCookie, /HttpOnly/);
    assert.match(setCookie, /SameSite=Lax/);
    assert.doesNotMatch(setCookie, /Secure/, 'not Secure outside production (plain http on localhost)');
    const cookie = sessionCookieOf(reply.headers['set-cookie']);
    assert.equal((await me(cookie)).json().id, body.id);
    const outbox = await t.platform.db.primary.execute<{ data: Json }>(sql`select data from outbox where name = 'send-welcome-email'`);
    assert.deepEqual(outbox.rows[0]!.data, { email: 'Ada@Example.com', name: 'Ada' });
    const stored = await t.platform.db.primary.execute<{ password_hash: string }>(sql`select password_hash from customers where id = ${body.id}`);
    assert.match(stored.rows[0]!.password_hash, /^\$argon2id\$v=19\$m=\d+,t=\d+,p=\d+\$/);
  });

  it('refuses a second account for the same email in any letter case, and bad input', async () => {
    await register({ email: 'dup@example.com', password: 'a long password', name: 'A' });
    const dup = await register({ email: 'DUP@example.com', password: 'another password', name: 'B' });
    assert.equal(dup.statusCode, 409);
    assert.equal(dup.json().error.code, 'EMAIL_TAKEN');
    for (const payload of [
      { email: 'not-an-email', password: 'a long password', name: 'A' },
      { email: 'x@example.com', password: 'short', name: 'A' },
      { email: 'x@example.com', password: 'a long password', name: '' },
      // Only blanks: the service trims names, so this was stored as an empty name.
      { email: 'x@example.com', password: 'a long password', name: ' \t ' },
      // Only invisible characters (zero-width space and joiner, word joiner, Hangul filler, Braille blank): shown as nothing too.
      { email: 'x@example.com', password: 'a long password', name: '\u200b' },
      { email: 'x@example.com', password: 'a long password', name: '\u200d\u2060 \u3164\u2800' },
      // Only default-ignorable nonspacing marks, which render as nothing on their own: variation selectors (U+FE0F, the
      // supplement's U+E0100), the combining grapheme joiner (U+034F), a Mongolian free variation selector (U+180B), a
      // Khmer inherent vowel (U+17B4).
      ...['\uFE0F', '\u{E0100}', '\u034F', '\u180B', '\u17B4', '\u034F\uFE0F'].map((name) => ({ email: 'x@example.com', password: 'a long password', name })),
      { email: 'x@example.com', password: 'a long password', name: 'A', id: 1 },
      { email: 'x@example.com', password: 'a long password', name: 'A', passwordHash: 'x' },
    ]) {
      const reply = await register(payload);
      assert.equal(reply.statusCode, 400, JSON.stringify(payload));
      assert.equal(reply.json().error.code, 'VALIDATION_FAILED');
    }
    const count = await t.platform.db.primary.execute<{ n: string }>(sql`select count(*) as n from customers where lower(email) in ('x@example.com', 'dup@example.com')`);
    assert.equal(Number(count.rows[0]!.n), 1);
  });

  it('refuses a name with a line break, another control character or a bidi override, and keeps names in any script', async () => {
    // The name goes into the welcome email's subject and greeting and the admin's order views: a line break there
    // fakes a header or a new paragraph ("Jo\nBcc: …"), an override turns the text that follows it around.
    for (const name of ['Jo\r\nBcc: evil@example.com', 'Jo\nDoe', 'Jo\tDoe', 'Jo\u0007', 'Jo\u2028Doe', 'Jo\u2029Doe', 'Jo \u202Eelgoog', 'Jo\u2066Doe\u2069']) {
      const reply = await register({ email: 'control.name@example.com', password: 'a long password', name });
      assert.equal(reply.statusCode, 400, JSON.stringify(name));
      assert.equal(reply.json().error.code, 'VALIDATION_FAILED');
      assert.equal(reply.json().error.details.issues[0].path, '/name');
    }
    for (const [i, name] of ["Anne-Marie O'Neil", '山田 太郎', 'محمد\u200f علي', 'Zoe\u0308 Dupont'].entries()) {
      assert.equal((await register({ email: `script.name${i}@example.com`, password: 'a long password', name })).statusCode, 201, name);
    }
  });

  it('limits refused registrations per address like failed sign-ins, so taken emails cannot be listed in bulk', async () => {
    await register({ email: 'listed@example.com', password: 'a long password', name: 'L' });
    // EMAIL_TAKEN tells whether an address has an account (as Shopify's and Medusa's registration do); probing
    // many from one address is limited by the `login` limiter (RATE_LIMIT_LOGIN_MAX=3 here).
    const codes: string[] = [];
    for (let i = 0; i < 5; i++) codes.push((await register({ email: 'LISTED@example.com', password: 'a long password', name: 'X' }, '10.9.9.9')).json().error.code);
    assert.deepEqual(codes, ['EMAIL_TAKEN', 'EMAIL_TAKEN', 'EMAIL_TAKEN', 'RATE_LIMITED', 'RATE_LIMITED']);
    const elsewhere = await register({ email: 'new-one@example.com', password: 'a long password', name: 'N' });
    assert.equal(elsewhere.statusCode, 201, 'other addresses still register');
  });

  /** Rewrites the Redis record of a session cookie (`salescale_sid=<id>`) as if it had been made earlier. */
  async function ageSession(cookie: string, change: (session: { createdAt: number; expiresAt: number }) => void): Promise<void> {
    const config = loadConfig(t.env);
    const key = `${config.redis.prefix}:session:${createHmac('sha256', config.secrets.sessionSecret).update(cookie.split('=')[1]!).digest('base64url')}`;
    const session = JSON.parse((await t.platform.redis.get(key))!);
    change(session);
    await t.platform.redis.set(key, JSON.stringify(session), 'EX', 3600);
  }
  const DAY_MS = 86_400_000;

  it('renews the session cookie when a use extends the session, so an active customer stays signed in', async () => {
    const registered = await register({ email: 'daily@example.com', password: 'a long password', name: 'Daily' });
    const cookie = sessionCookieOf(registered.headers['set-cookie'])!;
    // Signed in six days ago (SESSION_TTL_S is 7 days): this use extends the session in Redis, and the browser,
    // which drops the cookie at its Max-Age, must be told too, or the customer is signed out tomorrow anyway.
    await ageSession(cookie, (session) => {
      session.createdAt -= 6 * DAY_MS;
      session.expiresAt -= 6 * DAY_MS;
    });
    // A publicly cacheable reply (a storefront asset) never carries the session: a shared cache could keep it.
    const asset = await t.app.inject({ method: 'GET', url: '/assets/storefront.js', headers: { cookie } });
    assert.equal(asset.statusCode, 200);
    assert.equal(asset.headers['set-cookie'], undefined);
    const used = await me(cookie);
    assert.equal(used.statusCode, 200, used.body);
    const renewed = ([] as string[]).concat((used.headers['set-cookie'] as string | string[] | undefined) ?? []).find((c) => c.startsWith(cookie));
    assert.ok(renewed, 'the extended session renews its cookie');
    assert.match(renewed, /Max-Age=604800/);
    assert.match(renewed, /HttpOnly/);
    assert.match(renewed, /SameSite=Lax/);
    // A session in the first half of its lifetime is not renewed at every request.
    assert.equal((await me(cookie)).headers['set-cookie'], undefined);
    // Signing out on a request that extends the session still ends it.
    await ageSession(cookie, (session) => {
      session.expiresAt -= 6 * DAY_MS;
    });
    const out = await t.app.inject({ method: 'DELETE', url: '/api/v1/sessions', headers: { cookie } });
    assert.equal(out.statusCode, 204);
    assert.match(String(out.headers['set-cookie']), /Max-Age=0|Expires=Thu, 01 Jan 1970/);
    assert.equal((await me(cookie)).statusCode, 401);
  });

  it('ends a session SESSION_MAX_AGE_S after its sign-in, however often it is used', async () => {
    const registered = await register({ email: 'forever@example.com', password: 'a long password', name: 'F' });
    const cookie = sessionCookieOf(registered.headers['set-cookie'])!;
    // Signed in 29 days ago and used all along (SESSION_MAX_AGE_S is 30 days): renewed, but only up to the 30th day.
    await ageSession(cookie, (session) => {
      session.createdAt -= 29 * DAY_MS;
      session.expiresAt = Date.now() + DAY_MS / 2;
    });
    const late = await me(cookie);
    assert.equal(late.statusCode, 200, late.body);
    assert.match(String(late.headers['set-cookie']), /Max-Age=(86[34]\d\d)\b/, 'renewed only until the 30th day');
    // Past 30 days a copied cookie kept alive by use is refused: the customer signs in again.
    await ageSession(cookie, (session) => {
      session.createdAt -= 2 * DAY_MS;
      session.expiresAt = Date.now() + DAY_MS;
    });
    assert.equal((await me(cookie)).statusCode, 401);
  });

  it('issues a new session id at every login and ends the previous one (no fixation)', async () => {
    const registered = await register({ email: 'grace@example.com', password: 'a long password', name: 'Grace' });
    const first = sessionCookieOf(registered.headers['set-cookie'])!;
    const reply = await login({ email: 'GRACE@example.com', password: 'a long password' }, first);
    assert.equal(reply.statusCode, 200, reply.body);
    assert.equal(reply.json().customer.email, 'grace@example.com');
    const second = sessionCookieOf(reply.headers['set-cookie'])!;
    assert.notEqual(second, first);
    assert.equal((await me(first)).statusCode, 401, 'the session presented at login is gone');
    assert.equal((await me(second)).statusCode, 200);
    const out = await t.app.inject({ method: 'DELETE', url: '/api/v1/sessions', headers: { cookie: second } });
    assert.equal(out.statusCode, 204);
    assert.match(String(out.headers['set-cookie']), /Expires=Thu, 01 Jan 1970/);
    const after = await me(second);
    assert.equal(after.statusCode, 401);
    assert.equal(after.json().error.code, 'NOT_SIGNED_IN');
    assert.equal((await me('salescale_sid=forged')).statusCode, 401);
  });

  it('ends the session a browser held when it registers a new account (a shared computer: the first account is signed out)', async () => {
    const first = sessionCookieOf((await register({ email: 'first.holder@example.com', password: 'a long password', name: 'First' })).headers['set-cookie'])!;
    const registered = await t.app.inject({
      method: 'POST',
      url: '/api/v1/customers',
      payload: { email: 'second.holder@example.com', password: 'a long password', name: 'Second' },
      headers: { cookie: first },
      remoteAddress: newAddress(),
    });
    assert.equal(registered.statusCode, 201, registered.body);
    const second = sessionCookieOf(registered.headers['set-cookie'])!;
    assert.notEqual(second, first);
    assert.equal((await me(first)).statusCode, 401, 'the session presented at registration is gone');
    assert.equal((await me(second)).json().email, 'second.holder@example.com');
  });

  it('answers a wrong password and an unknown email alike, and locks an account after repeated failures from any address', async () => {
    await register({ email: 'target@example.com', password: 'the right password', name: 'T' });
    const wrong = await login({ email: 'target@example.com', password: 'wrong password' });
    const unknown = await login({ email: 'nobody@example.com', password: 'wrong password' });
    assert.equal(wrong.statusCode, 401);
    assert.equal(unknown.statusCode, 401);
    assert.deepEqual(
      [wrong.json().error.code, wrong.json().error.message],
      [unknown.json().error.code, unknown.json().error.message],
    );
    // Two more failures (each from a new address) reach RATE_LIMIT_LOGIN_MAX=3 for this account.
    await login({ email: 'target@example.com', password: 'wrong password' });
    await login({ email: 'target@example.com', password: 'wrong password' });
    const locked = await login({ email: 'target@example.com', password: 'the right password' });
    assert.equal(locked.statusCode, 429);
    assert.equal(locked.json().error.code, 'LOGIN_RATE_LIMITED');
    // Every 429 says when to come back, in the header clients and proxies read, as RATE_LIMITED does.
    const retryAfterSeconds = locked.json().error.details.retryAfterSeconds;
    assert.ok(retryAfterSeconds >= 1, `retryAfterSeconds ${retryAfterSeconds}`);
    assert.equal(locked.headers['retry-after'], String(retryAfterSeconds));
    assert.equal(locked.headers['set-cookie'], undefined);
  });

  it('names an account in its login limit key by a keyed digest of its email (HMAC, key from SESSION_SECRET), one for every letter case, never the plain SHA-256 a list of emails would match', async () => {
    const config = loadConfig(t.env);
    const accountKeys = async () => new Set(await t.platform.redis.keys(`${config.redis.prefix}:rlu:{account:*`));
    const before = await accountKeys();
    await login({ email: 'Digest.Case@Example.com', password: 'wrong password' });
    await login({ email: 'digest.case@example.com', password: 'wrong password' });
    const added = [...(await accountKeys())].filter((key) => !before.has(key));
    assert.equal(added.length, 1, `one account, whatever the letter case: ${added.join(', ')}`);
    const key = Buffer.from(hkdfSync('sha256', config.secrets.sessionSecret, '', 'salescale account digest', 32));
    const keyed = createHmac('sha256', key).update('digest.case@example.com').digest('base64url');
    const plain = createHash('sha256').update('digest.case@example.com').digest('base64url');
    assert.ok(added[0]!.includes(`{account:${keyed}}`), `${added[0]} is not named by the keyed digest`);
    assert.ok(!added[0]!.includes(plain), 'named by the plain SHA-256 of the email');
  });

  it('lets no more password guesses through than the account limit when they arrive at once', async () => {
    await register({ email: 'burst@example.com', password: 'the right password', name: 'B' });
    // Twenty guesses sent together, each from its own address: every one was checked against the limit
    // before any failure was recorded, so all twenty were tried against the password.
    const replies = await Promise.all(Array.from({ length: 20 }, () => login({ email: 'Burst@example.com', password: 'a wrong guess' })));
    const tried = replies.filter((reply) => reply.statusCode === 401).length;
    const refused = replies.filter((reply) => reply.statusCode === 429 && reply.json().error.code === 'LOGIN_RATE_LIMITED').length;
    assert.equal(tried + refused, 20);
    assert.ok(tried <= 3, `${tried} guesses were tried, RATE_LIMIT_LOGIN_MAX is 3`);
  });

  it('does not count successful sign-ins against the account limit', async () => {
    await register({ email: 'often@example.com', password: 'the right password', name: 'O' });
    for (let i = 0; i < 5; i++) {
      const reply = await login({ email: 'often@example.com', password: 'the right password' });
      assert.equal(reply.statusCode, 200, `sign-in ${i + 1}: ${reply.body}`);
    }
  });

  it('refuses common passwords, passwords made of the shop name, the email or the name, and passwords of one repeated character or only whitespace (422 PASSWORD_TOO_COMMON), never echoing them', async () => {
    const email = 'Jane.Doe@example.com';
    const refused: Array<[string, Record<string, unknown>, string]> = [
      ['password1', { email, name: 'Jane' }, 'common'],
      ['qwerty123', { email, name: 'Jane' }, 'common'],
      ['12345678', { email, name: 'Jane' }, 'common'],
      ['iloveyou', { email, name: 'Jane' }, 'common'],
      // Compared in any letter case.
      ['PassWord1', { email, name: 'Jane' }, 'common'],
      // The email's local part, repeated: long enough, but nothing a guesser does not already know.
      ['jane.doejane.doe', { email, name: 'Someone' }, 'context'],
      ['Jane.Doe2024', { email, name: 'Someone' }, 'context'],
      ['salescale123', { email, name: 'Jane' }, 'context'],
      ['SalesCale!!', { email, name: 'Jane' }, 'context'],
      ['annabelle99', { email: 'shopper@example.com', name: 'Annabelle Smith' }, 'context'],
      // What is left once the context words are taken out is itself a common password.
      ['janepassword1', { email, name: 'Jane' }, 'context'],
      // Only whitespace or one character repeated (NIST SP 800-63B "repetitive or sequential characters"): long enough,
      // but the first thing a guesser tries; in any case and normalisation form.
      ...['        ', ' \t \u00a0 \u3000  ', 'aaaaaaaa', 'zzzzzzzzzzzzzzzz', 'ZzZzZzZzZz', 'éééééééé', 'e\u0301e\u0301e\u0301e\u0301e\u0301e\u0301e\u0301e\u0301', '🙂🙂🙂🙂🙂🙂🙂🙂'].map(
        (password): [string, Record<string, unknown>, string] => [password, { email: 'repetitive@example.com', name: 'Rep' }, 'repetitive'],
      ),
    ];
    let i = 0;
    for (const [password, who, reason] of refused) {
      const reply = await register({ ...who, password }, `10.7.0.${++i}`);
      assert.equal(reply.statusCode, 422, `${JSON.stringify(password)}: ${reply.body}`);
      const { error } = reply.json();
      assert.equal(error.code, 'PASSWORD_TOO_COMMON', JSON.stringify(password));
      assert.equal(error.details.reason, reason, JSON.stringify(password));
      assert.ok(!reply.body.includes(password) && !reply.body.toLowerCase().includes(password.toLowerCase()), `the reply echoes the password: ${reply.body}`);
    }
    const made = await t.platform.db.primary.execute<{ n: string }>(
      sql`select count(*) as n from customers where lower(email) in ('jane.doe@example.com', 'shopper@example.com', 'repetitive@example.com')`,
    );
    assert.equal(Number(made.rows[0]!.n), 0, 'no account was made');

    for (const [password, who] of [
      ['correct horse battery', { email, name: 'Jane' }],
      // A context word inside a password that is long enough without it.
      ['jane likes long walks', { email: 'jane.walker@example.com', name: 'Jane' }],
      // One character repeated, then others: not repetitive.
      ['aaaaaaab but longer', { email: 'varied@example.com', name: 'Rep' }],
    ] as const) {
      const reply = await register({ ...who, password }, `10.7.1.${++i}`);
      assert.equal(reply.statusCode, 201, `${password}: ${reply.body}`);
    }
  });

  it('refuses a new password that is the account’s own email address (PASSWORD_TOO_COMMON, reason context)', async () => {
    const email = `jane.doe.${randomBytes(4).toString('hex')}@example.com`;
    // README: a new password "a guesser would try first" is 422 PASSWORD_TOO_COMMON; `context` covers the email's
    // local part. The whole address, the first thing tried against an account, is taken.
    const reply = await t.app.inject({ method: 'POST', url: '/api/v1/customers', payload: { email, password: email, name: 'Jane Doe' } });
    assert.equal(reply.statusCode, 422, `a password equal to the email was answered ${reply.statusCode}: ${reply.body}`);
    assert.equal(reply.json().error.code, 'PASSWORD_TOO_COMMON');
    assert.equal(reply.json().error.details.reason, 'context');
  });

  it('still signs in an existing account whose password is on the common list', async () => {
    const hash = await hashPassword('password1', t.config.customers.passwordHash);
    await t.platform.db.primary.execute(sql`insert into customers (email, name, password_hash) values ('old.weak@example.com', 'Old', ${hash})`);
    const reply = await login({ email: 'old.weak@example.com', password: 'password1' });
    assert.equal(reply.statusCode, 200, reply.body);
  });

  it('hashes with argon2id and verifies only the right password', async () => {
    const params = { memoryKib: 1024, passes: 1, parallelism: 1 };
    const hash = await hashPassword('secret password', params);
    assert.notEqual(hash, await hashPassword('secret password', params), 'salted');
    assert.equal(await matchPassword('secret password', hash), 'nfc');
    assert.equal(await matchPassword('secret passwore', hash), 'none');
    assert.equal(await matchPassword('secret password', 'not a hash'), 'none');
  });

  // RFC 5321 4.5.3.1.1: a local part holds at most 64 octets; no mail server delivers to a longer one, so an account
  // registered with one could never receive its mail. Registration took up to 254 characters overall before: such
  // accounts exist, and refusing their address at sign-in too would lock them out for good (no reset can reach them).
  describe('the 64-character local part of an email', () => {
    it('refuses an email whose local part is over 64 characters at registration, and takes one of exactly 64', async () => {
      const tooLong = await register({ email: `${'a'.repeat(65)}@example.com`, password: 'a long password', name: 'Long' });
      assert.deepEqual([tooLong.statusCode, tooLong.json().error?.code], [400, 'VALIDATION_FAILED'], tooLong.body);
      const longest = await register({ email: `${'b'.repeat(64)}@example.com`, password: 'a long password', name: 'Long' });
      assert.equal(longest.statusCode, 201, longest.body);
    });

    it('signs in an account registered before the limit with a longer local part', async () => {
      const [id] = await insertCustomers(t.platform.db.primary, 1, 'old');
      const email = `${'c'.repeat(65)}@example.com`;
      await t.platform.db.primary.execute(sql`update customers set email = ${email} where id = ${id}`);
      const signIn = await login({ email, password: TEST_PASSWORD });
      assert.equal(signIn.statusCode, 200, signIn.body);
    });
  });

  // NIST SP 800-63B 5.1.1.2 / OWASP ASVS 6.2: a password is normalised (NFC) before it is hashed, so "café" typed
  // composed (U+00E9) on one keyboard and decomposed (e + U+0301) on another is the same password.
  describe('a password typed in either Unicode normalisation form (NFC, NFD)', () => {
    const NFC = 'café au lait à minuit';
    const NFD = NFC.normalize('NFD');
    const storedHash = async (id: number) =>
      (await t.platform.db.primary.execute<{ password_hash: string }>(sql`select password_hash from customers where id = ${id}`)).rows[0]!.password_hash;

    /** An argon2id PHC string of `password` exactly as given (no normalisation), with the tests' cost: a hash made before passwords were normalised. */
    function rawHash(password: string): Promise<string> {
      const salt = randomBytes(16);
      const b64 = (buffer: Buffer) => buffer.toString('base64').replace(/=+$/, '');
      return new Promise((resolve, reject) =>
        argon2('argon2id', { message: password, nonce: salt, parallelism: 1, tagLength: 32, memory: 1024, passes: 1 }, (error, key) =>
          error ? reject(error) : resolve(`$argon2id$v=19$m=1024,t=1,p=1$${b64(salt)}$${b64(key)}`),
        ),
      );
    }

    it('signs in with the decomposed (NFD) form of a password registered composed (NFC), and the other way round', async () => {
      assert.notEqual(NFC, NFD);
      assert.equal((await register({ email: 'nfc.first@example.com', password: NFC, name: 'Zoé' })).statusCode, 201);
      const nfd = await login({ email: 'nfc.first@example.com', password: NFD });
      assert.equal(nfd.statusCode, 200, `NFD sign-in after NFC registration: ${nfd.body}`);
      assert.equal((await register({ email: 'nfd.first@example.com', password: NFD, name: 'Zoé' })).statusCode, 201);
      const nfc = await login({ email: 'nfd.first@example.com', password: NFC });
      assert.equal(nfc.statusCode, 200, `NFC sign-in after NFD registration: ${nfc.body}`);
    });

    it('signs in an account whose hash was made from the raw NFD form, and rehashes it from the NFC form', async () => {
      const registered = await register({ email: 'legacy.nfd@example.com', password: 'a placeholder password', name: 'Zoé' });
      assert.equal(registered.statusCode, 201, registered.body);
      const id: number = registered.json().id;
      const legacy = await rawHash(NFD);
      await t.platform.db.primary.execute(sql`update customers set password_hash = ${legacy} where id = ${id}`);

      const wrong = await login({ email: 'legacy.nfd@example.com', password: 'cafe au lait a minuit' });
      assert.equal(wrong.statusCode, 401);
      assert.equal(await storedHash(id), legacy, 'a wrong password changes nothing');

      const typedAsBefore = await login({ email: 'legacy.nfd@example.com', password: NFD });
      assert.equal(typedAsBefore.statusCode, 200, `the old raw-NFD hash signs in: ${typedAsBefore.body}`);
      assert.notEqual(await storedHash(id), legacy, 'the old raw-NFD hash is made again from the NFC form');
      const composed = await login({ email: 'legacy.nfd@example.com', password: NFC });
      assert.equal(composed.statusCode, 200, `after the rehash the NFC form signs in too: ${composed.body}`);
    });

    it('counts the minimum length of a new password in the NFC form it is hashed in', async () => {
      // Typed decomposed, "ábćdé" is 8 code points and passes the schema's minLength, but only 5 characters are hashed.
      const password = 'ábćdé'.normalize('NFD');
      assert.equal([...password].length, 8);
      const reply = await register({ email: 'short-nfc@example.com', password, name: 'Short' });
      assert.deepEqual([reply.statusCode, reply.json().error?.code], [400, 'VALIDATION_FAILED'], reply.body);
    });
  });
});

describe('a signed-in customer while Redis is unreachable', () => {
  let t: TestApp;
  let proxy: TcpProxy;

  before(async () => {
    proxy = await startTcpProxy(Number(new URL(TEST_REDIS_URL).port || 6379));
    // Sessions (and rate limits) through the proxy; the cache keeps the direct connection.
    t = await createTestApp({ REDIS_URL: proxy.url, CACHE_REDIS_URL: TEST_REDIS_URL });
  });
  after(async () => {
    await proxy?.restore();
    await t?.close();
    await proxy?.close();
  });

  const me = (cookie: string) => t.app.inject({ method: 'GET', url: '/api/v1/me', headers: { cookie } });

  it('answers 503 instead of pretending the session ended, and ends it once Redis is back', async () => {
    const registered = await t.app.inject({ method: 'POST', url: '/api/v1/customers', payload: { email: 'out@example.com', password: 'a long password', name: 'Out' } });
    assert.equal(registered.statusCode, 201, registered.body);
    const cookie = sessionCookieOf(registered.headers['set-cookie'])!;

    await proxy.cut();
    const out = await t.app.inject({ method: 'DELETE', url: '/api/v1/sessions', headers: { cookie } });
    // A 204 here cleared this browser's cookie but left the session valid for any copy of it.
    assert.equal(out.statusCode, 503, out.body);
    assert.equal(out.json().error.code, 'REDIS_UNAVAILABLE');
    await proxy.restore();

    const deadline = Date.now() + 10_000;
    while ((await me(cookie)).statusCode !== 200 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 100));
    assert.equal((await me(cookie)).statusCode, 200, 'the session is still there: the client retries the sign-out');
    assert.equal((await t.app.inject({ method: 'DELETE', url: '/api/v1/sessions', headers: { cookie } })).statusCode, 204);
    assert.equal((await me(cookie)).statusCode, 401);
  });

  it("answers a signed-in buyer's orders and /me 503 REDIS_UNAVAILABLE with Retry-After, not 401, while a visitor without a session cookie stays 401", async () => {
    const registered = await t.app.inject({ method: 'POST', url: '/api/v1/customers', payload: { email: 'outage-reader@example.com', password: 'a long password', name: 'Reader' } });
    assert.equal(registered.statusCode, 201, registered.body);
    const cookie = sessionCookieOf(registered.headers['set-cookie'])!;

    await proxy.cut();
    try {
      // A 401 tells the storefront the buyer signed out, and sends them to a sign-in that fails the same way.
      for (const url of ['/api/v1/orders', '/api/v1/me']) {
        const reply = await t.app.inject({ method: 'GET', url, headers: { cookie } });
        assert.equal(reply.statusCode, 503, `${url}: ${reply.body}`);
        assert.equal(reply.json().error.code, 'REDIS_UNAVAILABLE', url);
        assert.ok(Number(reply.headers['retry-after']) >= 1, `${url}: Retry-After ${reply.headers['retry-after']}`);
      }
      const anonymous = await t.app.inject({ method: 'GET', url: '/api/v1/me' });
      assert.deepEqual([anonymous.statusCode, anonymous.json().error?.code], [401, 'NOT_SIGNED_IN'], anonymous.body);
    } finally {
      await proxy.restore();
    }

    await waitFor('the session read again once Redis is back', async () => (await me(cookie)).statusCode === 200);
    const orders = await t.app.inject({ method: 'GET', url: '/api/v1/orders', headers: { cookie } });
    assert.equal(orders.statusCode, 200, orders.body);
  });
});

describe('password hashing under a sign-in storm', () => {
  let t: TestApp;

  before(async () => {
    // One hash at a time, two waiting; a cost high enough that the storm arrives before the first hash is done.
    t = await createTestApp({ PASSWORD_HASH_CONCURRENCY: '1', PASSWORD_HASH_QUEUE_MAX: '2', PASSWORD_HASH_MEMORY_KIB: '32768', PASSWORD_HASH_PASSES: '2', RATE_LIMIT_LOGIN_MAX: '1000' });
  });
  after(() => t?.close());

  const login = (email: string, password: string, i: number) =>
    t.app.inject({ method: 'POST', url: '/api/v1/sessions', payload: { email, password }, remoteAddress: `10.1.${Math.floor(i / 200)}.${(i % 200) + 1}` });

  it('refuses sign-ins past PASSWORD_HASH_QUEUE_MAX at once (503 PASSWORD_CHECK_BUSY) instead of queueing hashes without bound', async () => {
    const registered = await t.app.inject({ method: 'POST', url: '/api/v1/customers', payload: { email: 'storm@example.com', password: 'the right password', name: 'S' } });
    assert.equal(registered.statusCode, 201, registered.body);
    // Guesses at unknown emails from many addresses: neither the per-address nor the per-account limit stops them.
    const replies = await Promise.all(Array.from({ length: 24 }, (_, i) => login(`nobody${i}@example.com`, 'a guess', i)));
    const tried = replies.filter((reply) => reply.statusCode === 401 && reply.json().error.code === 'INVALID_CREDENTIALS');
    const busy = replies.filter((reply) => reply.statusCode === 503 && reply.json().error.code === 'PASSWORD_CHECK_BUSY');
    assert.equal(tried.length + busy.length, 24, replies.map((reply) => reply.body).join('\n'));
    assert.ok(busy.length > 0, `all ${tried.length} sign-ins waited for a hash, none was refused`);
    for (const reply of busy) assert.ok(Number(reply.headers['retry-after']) >= 1, 'a busy refusal says when to retry');
    // The refused attempts took nothing: the gate is free again, and the account's budget is intact.
    const signedIn = await login('storm@example.com', 'the right password', 999);
    assert.equal(signedIn.statusCode, 200, signedIn.body);
  });
});

describe('password hashes made with an older cost', () => {
  let t: TestApp;

  before(async () => {
    // The operator raised the cost (PASSWORD_HASH_PASSES 1 → 2) after accounts were made.
    t = await createTestApp({ PASSWORD_HASH_PASSES: '2' });
  });
  after(() => t?.close());

  const storedHash = async (id: number) =>
    (await t.platform.db.primary.execute<{ password_hash: string }>(sql`select password_hash from customers where id = ${id}`)).rows[0]!.password_hash;

  it('are rehashed with the current cost at the next successful sign-in, and only then', async () => {
    const registered = await t.app.inject({ method: 'POST', url: '/api/v1/customers', payload: { email: 'old.hash@example.com', password: 'the right password', name: 'O' } });
    assert.equal(registered.statusCode, 201, registered.body);
    const id: number = registered.json().id;
    const old = await hashPassword('the right password', { memoryKib: 1024, passes: 1, parallelism: 1 });
    await t.platform.db.primary.execute(sql`update customers set password_hash = ${old} where id = ${id}`);

    const wrong = await t.app.inject({ method: 'POST', url: '/api/v1/sessions', payload: { email: 'old.hash@example.com', password: 'a wrong password' } });
    assert.equal(wrong.statusCode, 401);
    assert.equal(await storedHash(id), old, 'a wrong password changes nothing');

    const signedIn = await t.app.inject({ method: 'POST', url: '/api/v1/sessions', payload: { email: 'old.hash@example.com', password: 'the right password' } });
    assert.equal(signedIn.statusCode, 200, signedIn.body);
    const upgraded = await storedHash(id);
    assert.match(upgraded, /^\$argon2id\$v=19\$m=1024,t=2,p=1\$/);
    assert.equal(await matchPassword('the right password', upgraded), 'nfc');
    const again = await t.app.inject({ method: 'POST', url: '/api/v1/sessions', payload: { email: 'old.hash@example.com', password: 'the right password' } });
    assert.equal(again.statusCode, 200, again.body);
    assert.equal(await storedHash(id), upgraded, 'a hash with the current cost is kept');
  });
});

describe('the decoy hash unknown emails are checked against', () => {
  it('is made when the service is created, so that no sign-in pays for it (the first unknown email would stand out)', async () => {
    // Every read of the hash parameters is counted: making a hash reads them, checking against a stored one does not.
    let reads = 0;
    const passwordHash = new Proxy(
      { memoryKib: 1024, passes: 1, parallelism: 1 },
      {
        get(target, key, receiver) {
          reads++;
          return Reflect.get(target, key, receiver);
        },
      },
    );
    const service = createCustomerService({
      db: { primary: {} } as unknown as Database,
      repo: { findByEmail: async () => undefined } as unknown as CustomersRepository,
      sessions: {} as SessionStore,
      passwordHash,
      passwordGate: { run: (task) => task() } as PasswordGate,
      loginGuard: noLoginGuard,
    });
    assert.ok(reads > 0, 'no hash was begun when the service was created');
    await service.ready();
    const made = reads;
    await assert.rejects(service.login({ email: 'nobody@example.com', password: 'a guess' }, undefined), InvalidCredentialsError);
    assert.equal(reads, made, 'the sign-in of an unknown email made a hash');
  });
});

describe('the digest that names an account in logs and rate-limit keys', () => {
  it('is one for every letter case of an email, differs with the secret, and is not the plain SHA-256 of the email', () => {
    const digest = createAccountDigest('a-secret-every-instance-shares-0123');
    assert.equal(digest('Ann.Lee@Example.COM'), digest(' ann.lee@example.com'));
    assert.match(digest('ann.lee@example.com'), /^[A-Za-z0-9_-]{43}$/);
    assert.notEqual(createAccountDigest('another-secret-of-another-shop-4567')('ann.lee@example.com'), digest('ann.lee@example.com'));
    assert.notEqual(digest('ann.lee@example.com'), createHash('sha256').update('ann.lee@example.com').digest('base64url'));
  });
});
