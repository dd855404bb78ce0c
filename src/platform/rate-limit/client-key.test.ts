import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { clientAddressKey, rateLimitSubject } from './client-key.ts';

describe('rate limit subjects', () => {
  it('counts a signed-in customer by id, whatever address they come from', () => {
    assert.deepEqual(rateLimitSubject({ ip: '100.64.0.1', customerId: '42' }), { key: 'customer:42', signedIn: true });
    assert.deepEqual(rateLimitSubject({ ip: '100.64.0.2', customerId: '42' }), { key: 'customer:42', signedIn: true });
  });

  it('counts an anonymous client by address', () => {
    assert.deepEqual(rateLimitSubject({ ip: '203.0.113.7' }), { key: 'ip:203.0.113.7', signedIn: false });
    assert.deepEqual(rateLimitSubject({ ip: '203.0.113.7', customerId: '' }), { key: 'ip:203.0.113.7', signedIn: false });
  });

  it('groups IPv6 addresses by /64 and unwraps IPv4-mapped addresses', () => {
    assert.equal(clientAddressKey('2001:db8:1:2::1'), '2001:db8:1:2::/64');
    assert.equal(clientAddressKey('2001:0db8:0001:0002:ffff:1:2:3'), '2001:db8:1:2::/64');
    assert.equal(clientAddressKey('::1'), '0:0:0:0::/64');
    assert.equal(clientAddressKey('::ffff:198.51.100.9'), '198.51.100.9');
  });

  it('unwraps an IPv4-mapped address in any spelling a proxy may write (else every IPv4 client shares one budget)', () => {
    // Python's ipaddress (before 3.13) prints a mapped address in hex; others write all eight groups.
    assert.equal(clientAddressKey('::ffff:c633:6409'), '198.51.100.9');
    assert.equal(clientAddressKey('::FFFF:C633:640A'), '198.51.100.10');
    assert.equal(clientAddressKey('0:0:0:0:0:ffff:198.51.100.9'), '198.51.100.9');
    assert.equal(clientAddressKey('[::ffff:c633:6409]:443'), '198.51.100.9');
    assert.notEqual(rateLimitSubject({ ip: '::ffff:c633:6409' }).key, rateLimitSubject({ ip: '::ffff:cb00:7107' }).key);
    // An IPv6 address with an embedded dotted quad keeps its /64.
    assert.equal(clientAddressKey('2001:db8:1:2::198.51.100.9'), '2001:db8:1:2::/64');
    assert.equal(clientAddressKey('64:ff9b::198.51.100.9'), '64:ff9b:0:0::/64');
  });

  it('ignores a source port a proxy wrote into X-Forwarded-For (else every connection is a new client)', () => {
    // Azure Application Gateway and some other proxies write `address:port`.
    assert.equal(clientAddressKey('198.51.100.9:51234'), '198.51.100.9');
    assert.equal(clientAddressKey('[2001:db8:1:2::1]:443'), '2001:db8:1:2::/64');
    assert.equal(clientAddressKey('[::ffff:198.51.100.9]:443'), '198.51.100.9');
    assert.equal(rateLimitSubject({ ip: '203.0.113.7:40001' }).key, rateLimitSubject({ ip: '203.0.113.7:40002' }).key);
  });
});
