import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { hasMalformedQuery } from './query-encoding.ts';

describe('hasMalformedQuery', () => {
  it('finds a malformed percent-encoding in the query string only', () => {
    for (const url of ['/p?q=%E0%A4%A', '/p?q=%ZZ', '/p?a=1&q=%', '/p?q=%C3', '/p?q=%C3&r=%A9', '/p?%FF=1']) assert.equal(hasMalformedQuery(url), true, url);
    for (const url of ['/p', '/p?q=caf%C3%A9', '/p?q=100%25&r=a+b', '/p%ZZ', '/p?q=%E0%A4%A4', '/p?']) assert.equal(hasMalformedQuery(url), false, url);
  });
});
