import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { redactUrl } from './redact-url.ts';

describe('redactUrl', () => {
  it('replaces the segments a route names :token, keeps the rest and the query string', () => {
    assert.equal(redactUrl('/api/v1/guest-orders/7.abc_-x/pay?x=1', '/api/v1/guest-orders/:token/pay'), '/api/v1/guest-orders/[redacted]/pay?x=1');
  });
  it('leaves URLs of routes without a secret parameter, and of no route, as they are', () => {
    assert.equal(redactUrl('/api/v1/products/12?x=1', '/api/v1/products/:id'), '/api/v1/products/12?x=1');
    assert.equal(redactUrl('/nowhere/7.abc', undefined), '/nowhere/7.abc');
  });
  it('replaces what follows guest-orders in a URL no route answers (a 404, a 405)', () => {
    assert.equal(redactUrl('/api/v1/guest-orders/7.abc/pay?x=1', undefined), '/api/v1/guest-orders/[redacted]/pay?x=1');
    assert.equal(redactUrl('/guest-orders/7.abc', undefined), '/guest-orders/[redacted]');
    assert.equal(redactUrl('/api/v1/guest-orders/', undefined), '/api/v1/guest-orders/');
  });
});
