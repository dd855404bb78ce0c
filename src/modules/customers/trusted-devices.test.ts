import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createTestApp, type TestApp } from '../../../test/helpers/app.ts';

const DEVICE_COOKIE = 'salescale_device';

/** `name=value` of the named cookie in a reply's Set-Cookie, and its attributes. */
function cookieOf(setCookie: string | string[] | undefined, name: string): { pair: string; attributes: string } | undefined {
  const all = Array.isArray(setCookie) ? setCookie : setCookie === undefined ? [] : [setCookie];
  const found = all.find((c) => c.startsWith(`${name}=`));
  if (found === undefined) return undefined;
  const [pair, ...attributes] = found.split(';');
  return { pair: pair!, attributes: attributes.join(';') };
}

describe('sign-in lockout with device cookies (OWASP: slow down online guessing)', () => {
  let t: TestApp;
  let address = 0;

  before(async () => {
    t = await createTestApp({ RATE_LIMIT_LOGIN_MAX: '10' });
  });
  after(() => t?.close());

  // Every attempt from an address of its own: a botnet, which the per-address `login` limit does not stop.
  const nextAddress = () => `10.77.${Math.floor(++address / 250)}.${(address % 250) + 1}`;
  const register = (email: string) =>
    t.app.inject({ method: 'POST', url: '/api/v1/customers', payload: { email, password: 'the right password', name: 'V' }, remoteAddress: nextAddress() });
  const login = (email: string, password: string, cookie?: string) =>
    t.app.inject({ method: 'POST', url: '/api/v1/sessions', payload: { email, password }, headers: cookie ? { cookie } : {}, remoteAddress: nextAddress() });
  /** Signs in with the right password and returns the device cookie it was given. */
  const trustedDevice = async (email: string): Promise<string> => {
    const reply = await login(email, 'the right password');
    assert.equal(reply.statusCode, 200, reply.body);
    const device = cookieOf(reply.headers['set-cookie'], DEVICE_COOKIE);
    assert.ok(device, `a sign-in sets the ${DEVICE_COOKIE} cookie`);
    return device.pair;
  };
  const lockUntrusted = async (email: string) => {
    for (let i = 0; i < 10; i++) assert.equal((await login(email, `wrong guess ${i}`)).statusCode, 401);
  };

  it('issues an HttpOnly, SameSite=Lax device cookie at sign-in and at registration', async () => {
    const registered = await register('cookie@example.com');
    assert.equal(registered.statusCode, 201, registered.body);
    const device = cookieOf(registered.headers['set-cookie'], DEVICE_COOKIE);
    assert.ok(device);
    assert.match(device.attributes, /HttpOnly/);
    assert.match(device.attributes, /SameSite=Lax/);
    assert.match(device.attributes, /Max-Age=\d+/);
    assert.doesNotMatch(device.attributes, /Secure/, 'Secure as the session cookie is: not outside production');
    assert.ok(!device.pair.includes('cookie@example.com') && !device.pair.includes('cookie%40example.com'), 'the email is not in the cookie');
  });

  it('lets a customer sign in from their trusted device while failures from everywhere else lock the account', async () => {
    assert.equal((await register('victim@example.com')).statusCode, 201);
    const device = await trustedDevice('victim@example.com');
    await lockUntrusted('victim@example.com');

    const untrusted = await login('victim@example.com', 'the right password');
    assert.equal(untrusted.statusCode, 429, 'untrusted clients share the account lockout');
    assert.equal(untrusted.json().error.code, 'LOGIN_RATE_LIMITED');
    assert.equal(untrusted.json().error.message, 'too many failed sign-in attempts for this account, please retry later');
    assert.ok(Number(untrusted.headers['retry-after']) >= 1);

    const trusted = await login('VICTIM@example.com', 'the right password', device);
    assert.equal(trusted.statusCode, 200, `the victim on their device: ${trusted.body}`);
    assert.ok(cookieOf(trusted.headers['set-cookie'], DEVICE_COOKIE), 'a new device cookie for the next sign-in');
  });

  it('does not exempt a device cookie of another account, nor a forged or tampered one', async () => {
    assert.equal((await register('locked@example.com')).statusCode, 201);
    assert.equal((await register('attacker@example.com')).statusCode, 201);
    const own = await trustedDevice('locked@example.com');
    const others = await trustedDevice('attacker@example.com');
    await lockUntrusted('locked@example.com');

    const [name, value] = own.split('=') as [string, string];
    const parts = value.split('.');
    const tampered = [
      others,
      `${name}=${parts.slice(0, -1).join('.')}.${'A'.repeat(parts.at(-1)!.length)}`,
      `${name}=${parts[0]!.slice(0, -1)}${parts[0]!.endsWith('A') ? 'B' : 'A'}.${parts.slice(1).join('.')}`,
      `${name}=${parts[0]}.${Number(parts[1]) + 1_000_000}.${parts[2]}`,
      `${name}=forged`,
      `${name}=`,
    ];
    for (const cookie of tampered) {
      const reply = await login('locked@example.com', 'the right password', cookie);
      assert.equal(reply.statusCode, 429, `${cookie}: ${reply.body}`);
      assert.equal(reply.json().error.code, 'LOGIN_RATE_LIMITED');
    }
    assert.equal((await login('locked@example.com', 'the right password', own)).statusCode, 200);
  });

  it('locks only the device cookie whose holder guessed wrong too often', async () => {
    assert.equal((await register('forgetful@example.com')).statusCode, 201);
    const device = await trustedDevice('forgetful@example.com');
    const otherDevice = await trustedDevice('forgetful@example.com');
    for (let i = 0; i < 10; i++) assert.equal((await login('forgetful@example.com', `wrong guess ${i}`, device)).statusCode, 401, `guess ${i + 1}`);

    const locked = await login('forgetful@example.com', 'the right password', device);
    assert.equal(locked.statusCode, 429, 'that device cookie is locked');
    assert.equal(locked.json().error.code, 'LOGIN_RATE_LIMITED');
    assert.equal(locked.json().error.message, 'too many failed sign-in attempts from this device, please retry later or sign in from another device', 'the device is locked, not the account');
    assert.ok(Number(locked.headers['retry-after']) >= 1);
    assert.equal((await login('forgetful@example.com', 'the right password', otherDevice)).statusCode, 200, 'another trusted device signs in');
    assert.equal((await login('forgetful@example.com', 'the right password')).statusCode, 200, 'untrusted clients were not locked by it');
  });
});
