import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { SHOPPER_ROUTES } from '../../src/scaling/alerts/alert-rules.ts';
import { PROBE_ROUTES } from '../../src/web/plugins/health.ts';

/**
 * The alert and recording rules leave the probes out by a `route` matcher written in `src/scaling`, which may
 * not import the web role that defines the probes: this test holds the two lists together.
 */
describe('probe routes', () => {
  it('are exactly the routes the shopper-traffic matcher of the alert rules leaves out', () => {
    const match = /^route!~"(.*)"$/.exec(SHOPPER_ROUTES);
    assert.ok(match, `unexpected matcher ${SHOPPER_ROUTES}`);
    assert.deepEqual(match[1].split('|').sort(), [...PROBE_ROUTES].sort());
  });
});
