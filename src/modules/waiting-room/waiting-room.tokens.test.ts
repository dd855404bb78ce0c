import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { describe, it } from 'node:test';
import { admissionRate } from './waiting-room.rate.ts';
import { createTokenSigner } from './waiting-room.tokens.ts';

describe('waiting-room tokens', () => {
  const secret = 'a-session-secret-of-at-least-32-characters';
  const signer = createTokenSigner(secret);

  it('verifies its own tickets and refuses altered or foreign ones', () => {
    const ticket = signer.ticket(7, 'AAAAAAAAAAAAAAAAAAAAAA', '1796423493052123');
    assert.deepEqual(signer.verifyTicket(7, ticket), { id: 'AAAAAAAAAAAAAAAAAAAAAA', place: '1796423493052123' });
    assert.equal(signer.verifyTicket(8, ticket), undefined, 'a ticket names one event');
    assert.equal(signer.verifyTicket(7, ticket.replace(/^A/, 'B')), undefined);
    assert.equal(signer.verifyTicket(7, ticket.replace('.1796423493052123.', '.1796423493052122.')), undefined, 'a ticket’s place is signed');
    assert.equal(signer.verifyTicket(7, ticket.replace('.1796423493052123.', '.p.')), undefined);
    assert.equal(signer.verifyTicket(7, `${ticket}.x`), undefined);
    assert.equal(createTokenSigner('another-secret-of-at-least-32-characters!').verifyTicket(7, ticket), undefined);
    assert.deepEqual(signer.verifyTicket(7, signer.ticket(7, 'AAAAAAAAAAAAAAAAAAAAAA', 'p')), { id: 'AAAAAAAAAAAAAAAAAAAAAA', place: 'p' });
  });

  it('refuses a ticket or pass whose signature has the right length in characters but not in bytes, without throwing', () => {
    const ticket = signer.ticket(7, 'AAAAAAAAAAAAAAAAAAAAAA', 'p');
    assert.equal(signer.verifyTicket(7, `${ticket.slice(0, -1)}é`), undefined);
    const pass = signer.pass({ e: 7, t: 'AAAAAAAAAAAAAAAAAAAAAA', h: ['g:x'], x: Date.now() + 60_000 });
    assert.equal(signer.verifyPass(`${pass.slice(0, -1)}é`), undefined);
  });

  it('still takes a ticket signed before tickets carried their place, with its place unknown', () => {
    const mac = createHmac('sha256', createHmac('sha256', secret).update('salescale waiting room v1').digest()).update('ticket:7:AAAAAAAAAAAAAAAAAAAAAA').digest('base64url');
    assert.deepEqual(signer.verifyTicket(7, `AAAAAAAAAAAAAAAAAAAAAA.${mac}`), { id: 'AAAAAAAAAAAAAAAAAAAAAA', place: undefined });
    assert.equal(signer.verifyTicket(8, `AAAAAAAAAAAAAAAAAAAAAA.${mac}`), undefined);
  });

  it('draws a pre-queue place in [0, 1) from the ticket id: the same every time, unrelated between tickets', () => {
    const draws = Array.from({ length: 2000 }, (_, i) => Number(signer.preQueueScore(7, `ticket-${i}-0123456789abcdef`)));
    assert.equal(signer.preQueueScore(7, 'ticket-0-0123456789abcdef'), String(draws[0]));
    assert.notEqual(signer.preQueueScore(8, 'ticket-0-0123456789abcdef'), String(draws[0]), 'another event draws again');
    assert.ok(draws.every((d) => d >= 0 && d < 1));
    // Spread evenly: each tenth of [0, 1) gets 200 ± 60 of 2,000 draws.
    const tenths = Array.from({ length: 10 }, (_, k) => draws.filter((d) => Math.floor(d * 10) === k).length);
    assert.ok(tenths.every((n) => n > 140 && n < 260), `draws per tenth: ${tenths}`);
    assert.equal(new Set(draws).size, draws.length);
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
    // One stored above the maximum by an earlier release is admitted (and its waits estimated) at the maximum the steps run.
    assert.deepEqual(admissionRate({ configured: 1_000_000, liveWebInstances: 4, capacityRpsPerInstance: 4000, safetyFactor: 0.5, requestsPerVisitor: 20 }), { perSecond: 10_000, source: 'configured' });
  });

  it('derives it from live instances × capacity × safety factor ÷ requests per visitor', () => {
    // 2 × 4082 × 0.5 ÷ 20 = 204.1
    assert.deepEqual(admissionRate({ configured: null, liveWebInstances: 2, capacityRpsPerInstance: 4082, safetyFactor: 0.5, requestsPerVisitor: 20 }), { perSecond: 204.1, source: 'capacity' });
    // Scaling out raises it; before the first heartbeat this instance counts as one.
    assert.equal(admissionRate({ configured: null, liveWebInstances: 0, capacityRpsPerInstance: 4082, safetyFactor: 0.5, requestsPerVisitor: 20 }).perSecond, 102.05);
    assert.equal(admissionRate({ configured: null, liveWebInstances: 1, capacityRpsPerInstance: 10, safetyFactor: 0.1, requestsPerVisitor: 20 }).perSecond, 1, 'never below one visitor a second');
    assert.equal(admissionRate({ configured: null, liveWebInstances: 1000, capacityRpsPerInstance: 1000, safetyFactor: 1, requestsPerVisitor: 20 }).perSecond, 10_000, 'never above what the steps run');
  });
});
