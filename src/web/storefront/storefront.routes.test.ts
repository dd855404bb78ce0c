import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createTestApp, type TestApp } from '../../../test/helpers/app.ts';

describe('storefront assets', () => {
  let t: TestApp;
  before(async () => {
    t = await createTestApp();
  });
  after(() => t.close());

  it('serves its own files', async () => {
    const script = await t.app.inject({ url: '/assets/storefront.js' });
    assert.equal(script.statusCode, 200);
    assert.match(String(script.headers['content-type']), /^text\/javascript/);
  });

  // The names were looked up on an object literal, so the names its prototype has were "found" and answered 500:
  // any visitor could raise the error rate that /health and the cluster's degrade signal read.
  it('answers 404 for every other name, the names an object inherits included', async () => {
    for (const name of ['nope.js', 'constructor', 'toString', '__proto__', 'hasOwnProperty', 'valueOf', '__defineGetter__']) {
      const reply = await t.app.inject({ url: `/assets/${name}` });
      assert.equal(reply.statusCode, 404, `${name}: ${reply.body.slice(0, 200)}`);
      assert.match(String(reply.headers['content-type']), /^text\/html/);
    }
  });
});
