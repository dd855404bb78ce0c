import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { findMalformedParameter, hasMalformedQuery } from './query-encoding.ts';

describe('hasMalformedQuery', () => {
  it('finds a malformed percent-encoding in the query string only', () => {
    for (const url of ['/p?q=%E0%A4%A', '/p?q=%ZZ', '/p?a=1&q=%', '/p?q=%C3', '/p?q=%C3&r=%A9', '/p?%FF=1']) assert.equal(hasMalformedQuery(url), true, url);
    for (const url of ['/p', '/p?q=caf%C3%A9', '/p?q=100%25&r=a+b', '/p%ZZ', '/p?q=%E0%A4%A4', '/p?']) assert.equal(hasMalformedQuery(url), false, url);
  });
});

describe('findMalformedParameter', () => {
  it('names a parameter the page reads whose value is malformed, and ignores any other', () => {
    const read = new Set(['q', 'category']);
    assert.equal(findMalformedParameter('/?q=%E0%A4%A', read), 'q');
    assert.equal(findMalformedParameter('/?utm_campaign=50%off&category=%ZZ', read), 'category');
    assert.equal(findMalformedParameter('/?c%61tegory=%ZZ', read), 'category');
    for (const url of ['/', '/?utm_campaign=50%off', '/?q=caf%C3%A9&gclid=abc%', '/?q%ZZ=%ZZ', '/?q', '/?qq=%ZZ']) assert.equal(findMalformedParameter(url, read), undefined, url);
  });
});
