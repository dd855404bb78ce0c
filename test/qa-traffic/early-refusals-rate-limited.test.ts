import assert from 'node:assert/strict';
import { connect, type AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { createTestApp, type TestApp } from '../helpers/app.ts';

/** Writes `bytes` on a fresh connection and resolves with everything received until the server closes it. */
function sendRaw(port: number, bytes: string): Promise<string> {
  return new Promise((resolve, reject) => {
    let received = '';
    const socket = connect(port, '127.0.0.1', () => socket.write(bytes));
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => {
      received += chunk;
    });
    socket.on('error', reject);
    socket.on('close', () => resolve(received));
    socket.setTimeout(15_000, () => socket.destroy(new Error(`no answer to ${JSON.stringify(bytes.slice(0, 60))}`)));
  });
}

const statusOf = (reply: string) => Number(/^HTTP\/1\.1 (\d{3}) /.exec(reply)?.[1]);

/**
 * README "Rate limits and load shedding": every request but the probes, docs, webhooks and the admin API with its token
 * counts against `general`. The refusals answered by the web role's own first onRequest hooks — a missing or doubled
 * Host, an asterisk-form target other than OPTIONS, a malformed query string — are requests too: answered before the
 * rate-limit hook, an address over its budget can send them without end (and each counts in the cluster's requests/min,
 * which the degrade mode trusts no single client can push past its rate limit).
 */
describe('requests refused by the early onRequest checks, once the address has spent its general budget (real sockets)', () => {
  let t: TestApp;
  let port: number;

  before(async () => {
    t = await createTestApp({ RATE_LIMIT_GENERAL_MAX: '3' });
    await t.app.listen({ port: 0, host: '127.0.0.1' });
    port = (t.app.server.address() as AddressInfo).port;
  });
  after(async () => {
    await t?.close();
  });

  it('are refused with 429 RATE_LIMITED like any other request from that address', async () => {
    const spend = Array.from({ length: 3 }, () => 'GET /no-such-path HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
    for (const bytes of spend) assert.equal(statusOf(await sendRaw(port, bytes)), 404, 'within the budget of 3');
    assert.equal(statusOf(await sendRaw(port, 'GET /no-such-path HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n')), 429, 'the budget is spent');

    const early = [
      { name: 'a malformed query', bytes: 'GET /api/v1/products?q=%zz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n' },
      { name: 'no Host', bytes: 'GET /api/v1/categories HTTP/1.1\r\nConnection: close\r\n\r\n' },
      { name: 'two Hosts', bytes: 'GET /api/v1/categories HTTP/1.1\r\nHost: a\r\nHost: b\r\nConnection: close\r\n\r\n' },
      { name: 'GET *', bytes: 'GET * HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n' },
    ];
    const statuses: Record<string, number> = {};
    for (const c of early) statuses[c.name] = statusOf(await sendRaw(port, c.bytes));
    assert.deepEqual(statuses, { 'a malformed query': 429, 'no Host': 429, 'two Hosts': 429, 'GET *': 429 }, 'each answered although the address is over its budget');
  });
});
