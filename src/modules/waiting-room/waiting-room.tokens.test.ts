import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { admissionRate } from './waiting-room.rate.ts';
import { createTokenSigner } from './waiting-room.tokens.ts';

describe('waiting-room tokens', () => {
  const signer = createTokenSigner('a-session-secret-of-at-least-32-characters');

  it('verifies its own tickets and refuses altered or foreign ones', () => {
    const ticket = signer.ticket(7, 'AAAAAAAAAAAAAAAAAAAAAA');
    assert.equal(signer.verifyTicket(7, ticket), 'AAAAAAAAAAAAAAAAAAAAAA');
    assert.equal(signer.verifyTicket(8, ticket), undefined, 'a ticket names one event');
    assert.equal(signer.verifyTicket(7, ticket.replace(/^A/, 'B')), undefined);
    assert.equal(signer.verifyTicket(7, `${ticket}.x`), undefined);
    assert.equal(createTokenSigner('another-secret-of-at-least-32-characters!').verifyTicket(7, ticket), undefined);
  });

  it('round-trips pass claims and refuses a pass whose claims were changed', () => {
    const claims = { e: 3, t: 'ticket-id-0123456789', h: ['c:1', 'g:abc'], x: 1_800_000_000_000 };
    const pass = signer.pass(claims);
    assert.deepEqual(signer.verifyPass(pass), claims);
    const [payload, mac] = pass.split('.');
    const changed = Buffer.from(JSON.stringify({ ...claims, h: ['c:2'] })).toString('base64url');
    assert.equal(signer.verifyPass(`${changed}.${mac}`), undefined);
    assert.equal(signer.verifyPass(`${payload}.${mac}x`), undefined);
    assert.equal(signer.verifyPass('not a pass'), undefined);
  });
});

describe('admission rate', () => {
  it('uses the configured rate when the event has one', () => {
    assert.deepEqual(admissionRate({ configured: 200, liveWebInstances: 4, capacityRpsPerInstance: 4000, safetyFactor: 0.5, requestsPerVisitor: 20 }), { perSecond: 200, source: 'configured' });
    // A rate stored before the minimum existed is admitted at the minimum (1e-300 admitted nobody, with waits of 1e300 s).
    assert.deepEqual(admissionRate({ configured: 1e-300, liveWebInstances: 4, capacityRpsPerInstance: 4000, safetyFactor: 0.5, requestsPerVisitor: 20 }), { perSecond: 1, source: 'configured' });
  });

  it('derives it from live instances × capacity × safety factor ÷ requests per visitor', () => {
    // 2 × 4082 × 0.5 ÷ 20 = 204.1
    assert.deepEqual(admissionRate({ configured: null, liveWebInstances: 2, capacityRpsPerInstance: 4082, safetyFactor: 0.5, requestsPerVisitor: 20 }), { perSecond: 204.1, source: 'capacity' });
    // Scaling out raises it; before the first heartbeat this instance counts as one.
    assert.equal(admissionRate({ configured: null, liveWebInstances: 0, capacityRpsPerInstance: 4082, safetyFactor: 0.5, requestsPerVisitor: 20 }).perSecond, 102.05);
    assert.equal(admissionRate({ configured: null, liveWebInstances: 1, capacityRpsPerInstance: 10, safetyFactor: 0.1, requestsPerVisitor: 20 }).perSecond, 1, 'never below one visitor a second');
  });
});
