import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { getPollAfterSeconds, MAX_POLL_S, MIN_POLL_S } from './waiting-room.poll.ts';

describe('getPollAfterSeconds', () => {
  it('asks a waiting client back after a quarter of its wait, between the bounds', () => {
    assert.equal(getPollAfterSeconds({ state: 'waiting', etaSeconds: 1 }), MIN_POLL_S);
    assert.equal(getPollAfterSeconds({ state: 'waiting', etaSeconds: 40 }), 10);
    assert.equal(getPollAfterSeconds({ state: 'waiting', etaSeconds: 7200 }), MAX_POLL_S);
    assert.equal(getPollAfterSeconds({ state: 'waiting', etaSeconds: null }), MIN_POLL_S);
  });

  it('keeps a sold-out client polling, for units that come back, and stops the others', () => {
    assert.equal(getPollAfterSeconds({ state: 'sold_out', etaSeconds: null }), 15);
    for (const state of ['admitted', 'expired', 'closed'] as const) assert.equal(getPollAfterSeconds({ state, etaSeconds: null }), undefined);
  });

  it('asks a client of a paused line back at the sold-out pace: nothing moves until the shop resumes', () => {
    assert.equal(getPollAfterSeconds({ state: 'waiting', etaSeconds: null, paused: true }), 15);
  });
});
