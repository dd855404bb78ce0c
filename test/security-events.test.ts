import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createLogger } from '../src/platform/logger/logger.ts';
import { createTestApp, type TestApp } from './helpers/app.ts';

/** Every log line the app writes, parsed. */
const lines: { level: number; msg: string; security?: Record<string, unknown>; [key: string]: unknown }[] = [];
const logger = createLogger({ level: 'info', destination: { write: (line: string) => void lines.push(JSON.parse(line)) } });

describe('security events in the log', () => {
  let t: TestApp;

  before(async () => {
    t = await createTestApp({ RATE_LIMIT_LOGIN_MAX: '2' }, undefined, { logger });
  });
  after(() => t?.close());

  const events = (event: string) => lines.filter((line) => line.msg === 'security event' && line.security?.event === event).map((line) => line.security!);
  const post = (url: string, payload: Record<string, unknown>, remoteAddress: string) => t.app.inject({ method: 'POST', url, payload, remoteAddress });

  it('records every sign-in and registration, refused or not, with its outcome, the client address and the account, never the password or the email', async () => {
    assert.equal((await post('/api/v1/customers', { email: 'Audit@Example.com', password: 'the right password', name: 'A' }, '10.9.0.1')).statusCode, 201);
    assert.equal((await post('/api/v1/customers', { email: 'audit@example.com', password: 'another password', name: 'B' }, '10.9.0.2')).statusCode, 409);
    assert.equal((await post('/api/v1/sessions', { email: 'audit@example.com', password: 'a wrong guess' }, '10.9.0.3')).statusCode, 401);
    assert.equal((await post('/api/v1/sessions', { email: 'audit@example.com', password: 'the right password' }, '10.9.0.4')).statusCode, 200);
    // RATE_LIMIT_LOGIN_MAX=2 failures per account: the second locks it (the successful sign-in gave its unit back).
    assert.equal((await post('/api/v1/sessions', { email: 'audit@example.com', password: 'guess 2' }, '10.9.0.5')).statusCode, 401);
    assert.equal((await post('/api/v1/sessions', { email: 'AUDIT@example.com', password: 'guess 3' }, '10.9.0.6')).statusCode, 429);

    const registrations = events('registration');
    assert.deepEqual(registrations.map((e) => [e.outcome, e.client]), [['OK', '10.9.0.1'], ['EMAIL_TAKEN', '10.9.0.2']]);
    assert.equal(typeof registrations[0]!.customerId, 'number');
    const signIns = events('sign-in');
    assert.deepEqual(signIns.map((e) => [e.outcome, e.client]), [
      ['INVALID_CREDENTIALS', '10.9.0.3'],
      ['OK', '10.9.0.4'],
      ['INVALID_CREDENTIALS', '10.9.0.5'],
      ['LOGIN_RATE_LIMITED', '10.9.0.6'],
    ]);
    // None of these came from a browser that had signed in to the account before.
    assert.deepEqual(signIns.map((e) => e.trustedDevice), [false, false, false, false]);
    // One account, whatever the letter case: the attempts on it can be found together.
    assert.equal(new Set([...registrations, ...signIns].map((e) => e.account)).size, 1);
    const text = JSON.stringify(lines);
    for (const secret of ['the right password', 'a wrong guess', 'audit@example.com', 'Audit@Example.com', 'AUDIT@example.com']) assert.ok(!text.includes(secret), `the log holds "${secret}"`);
  });

  it('records refused admin tokens with the client address, never the token', async () => {
    const missing = await t.app.inject({ method: 'GET', url: '/api/v1/admin/orders', remoteAddress: '10.9.1.1' });
    const invalid = await t.app.inject({ method: 'GET', url: '/api/v1/admin/orders', headers: { authorization: 'Bearer a-guessed-admin-token' }, remoteAddress: '10.9.1.2' });
    assert.deepEqual([missing.statusCode, invalid.statusCode], [401, 401]);
    assert.deepEqual(events('admin-auth').map((e) => [e.outcome, e.client, e.route]), [
      ['UNAUTHENTICATED', '10.9.1.1', '/api/v1/admin/orders'],
      ['INVALID_TOKEN', '10.9.1.2', '/api/v1/admin/orders'],
    ]);
    assert.ok(!JSON.stringify(lines).includes('a-guessed-admin-token'));
  });
});
