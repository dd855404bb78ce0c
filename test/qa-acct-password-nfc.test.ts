import assert from 'node:assert/strict';
import { argon2, randomBytes } from 'node:crypto';
import { sql } from 'drizzle-orm';
import { after, before, it } from 'node:test';
import { createTestApp, type TestApp } from './helpers/app.ts';

// NIST SP 800-63B 5.1.1.2 / OWASP ASVS 6.2: a password is normalised (NFC) before it is hashed, so "café" typed
// composed (U+00E9) on one keyboard and decomposed (e + U+0301) on another is the same password.

const NFC = 'café au lait à minuit';
const NFD = NFC.normalize('NFD');

let t: TestApp;
before(async () => {
  t = await createTestApp();
});
after(() => t.close());

const register = (email: string, password: string) => t.app.inject({ method: 'POST', url: '/api/v1/customers', payload: { email, password, name: 'Zoé' } });
const signIn = (email: string, password: string) => t.app.inject({ method: 'POST', url: '/api/v1/sessions', payload: { email, password } });
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
  assert.equal((await register('nfc.first@example.com', NFC)).statusCode, 201);
  const nfd = await signIn('nfc.first@example.com', NFD);
  assert.equal(nfd.statusCode, 200, `NFD sign-in after NFC registration: ${nfd.body}`);
  assert.equal((await register('nfd.first@example.com', NFD)).statusCode, 201);
  const nfc = await signIn('nfd.first@example.com', NFC);
  assert.equal(nfc.statusCode, 200, `NFC sign-in after NFD registration: ${nfc.body}`);
});

it('signs in an account whose hash was made from the raw NFD form, and rehashes it from the NFC form', async () => {
  const registered = await register('legacy.nfd@example.com', 'a placeholder password');
  assert.equal(registered.statusCode, 201, registered.body);
  const id: number = registered.json().id;
  const legacy = await rawHash(NFD);
  await t.platform.db.primary.execute(sql`update customers set password_hash = ${legacy} where id = ${id}`);

  const wrong = await signIn('legacy.nfd@example.com', 'cafe au lait a minuit');
  assert.equal(wrong.statusCode, 401);
  assert.equal(await storedHash(id), legacy, 'a wrong password changes nothing');

  const typedAsBefore = await signIn('legacy.nfd@example.com', NFD);
  assert.equal(typedAsBefore.statusCode, 200, `the old raw-NFD hash signs in: ${typedAsBefore.body}`);
  assert.notEqual(await storedHash(id), legacy, 'the old raw-NFD hash is made again from the NFC form');
  const composed = await signIn('legacy.nfd@example.com', NFC);
  assert.equal(composed.statusCode, 200, `after the rehash the NFC form signs in too: ${composed.body}`);
});
