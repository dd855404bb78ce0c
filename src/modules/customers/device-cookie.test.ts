import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { createDeviceCookies, DEVICE_COOKIE } from './device-cookie.ts';

describe('device cookies', () => {
  let clock = 1_700_000_000_000;
  const devices = createDeviceCookies({ secret: 'a test secret of some length', secure: true, ttlS: 3600, now: () => clock });
  const issued = (email: string) => {
    let value = '';
    let attributes: Record<string, unknown> = {};
    const reply = { request: { cookies: {} }, setCookie: (name: string, v: string, o: Record<string, unknown>) => { assert.equal(name, `__Host-${DEVICE_COOKIE}`, 'Secure: the __Host- name'); value = v; attributes = o; } };
    devices.issue(reply as unknown as FastifyReply, email);
    return { value, attributes };
  };
  const presenting = (value: string) => ({ cookies: { [`__Host-${DEVICE_COOKIE}`]: value } }) as unknown as FastifyRequest;

  it('trusts a cookie for the account it was issued to, in any letter case, until it expires', () => {
    const { value, attributes } = issued('Dev@Example.com');
    assert.deepEqual(attributes, { httpOnly: true, sameSite: 'lax', secure: true, path: '/', maxAge: 3600 });
    const id = devices.read(presenting(value), ' dev@example.COM ');
    assert.match(id ?? '', /^[A-Za-z0-9_-]{24}$/);
    assert.equal(devices.read(presenting(value), 'other@example.com'), undefined, 'bound to its account');
    clock += 3599_000;
    assert.equal(devices.read(presenting(value), 'dev@example.com'), id);
    clock += 1000;
    assert.equal(devices.read(presenting(value), 'dev@example.com'), undefined, 'expired');
  });

  it('gives a new id at every issue and trusts nothing signed with another secret', () => {
    const first = issued('dev@example.com').value;
    assert.notEqual(first.split('.')[0], issued('dev@example.com').value.split('.')[0]);
    const elsewhere = createDeviceCookies({ secret: 'another secret', secure: true, ttlS: 3600, now: () => clock });
    assert.equal(elsewhere.read(presenting(first), 'dev@example.com'), undefined);
    assert.equal(devices.read({ cookies: {} } as unknown as FastifyRequest, 'dev@example.com'), undefined);
  });
});
