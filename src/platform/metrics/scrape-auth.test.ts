import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isScrapeAuthorized } from './scrape-auth.ts';

describe('isScrapeAuthorized', () => {
  it('lets every scrape through without a token', () => {
    assert.equal(isScrapeAuthorized(undefined, undefined), true);
  });
  it('requires exactly Bearer <token> when one is configured', () => {
    const token = 'metrics-token-0123456789';
    assert.equal(isScrapeAuthorized(`Bearer ${token}`, token), true);
    assert.equal(isScrapeAuthorized(`bearer ${token}`, token), true);
    assert.equal(isScrapeAuthorized(undefined, token), false);
    assert.equal(isScrapeAuthorized(`Bearer ${token}x`, token), false);
    assert.equal(isScrapeAuthorized(token, token), false);
    assert.equal(isScrapeAuthorized(`Basic ${token}`, token), false);
  });
});
