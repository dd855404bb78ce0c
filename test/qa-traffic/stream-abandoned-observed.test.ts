import assert from 'node:assert/strict';
import { connect, type AddressInfo } from 'node:net';
import { Readable } from 'node:stream';
import { setImmediate as nextTurn } from 'node:timers/promises';
import { after, before, describe, it } from 'node:test';
import { createTestApp, type TestApp } from '../helpers/app.ts';
import { capturingLogger } from '../helpers/log-lines.ts';
import { parsePrometheusText, total } from '../helpers/prometheus-text.ts';

/**
 * `onReplyDone` (src/web/http/reply-done.ts) promises its handlers run once per request: when the response finishes,
 * or at onSend for a client that hung up before the reply. A client that hangs up in the middle of a streamed reply
 * (headers and a first chunk sent, the rest still coming: an export, an event stream, a slow download) is neither:
 * Node's ServerResponse then emits 'close' only — no 'finish', no 'error' — so the request vanishes from the latency
 * histogram, `/health`, the degrade signal and the access log (README "Metrics, health and alerts": one `request`
 * line per request).
 */
describe('a streamed reply the client hangs up on after its first chunk (real socket)', () => {
  let t: TestApp;
  const log = capturingLogger('info');
  let bodyClosed: Promise<void> | undefined;
  let failBody: (() => void) | undefined;
  let failingBodyClosed: Promise<void> | undefined;

  before(async () => {
    t = await createTestApp(
      { LOG_LEVEL: 'info', RATE_LIMIT_ENABLED: 'false' },
      (app) => {
        app.get('/test/stream', { schema: { hide: true } }, async (_request, reply) => {
          // A body that sends one chunk and then waits for more (never ended by the server).
          const body = new Readable({ read() {} });
          bodyClosed = new Promise((resolve) => body.once('close', () => resolve()));
          body.push('first chunk\n');
          return reply.header('content-type', 'text/plain').send(body);
        });
        app.get('/test/stream-fails', { schema: { hide: true } }, async (_request, reply) => {
          // A body that sends one chunk and then fails (a read error after the headers went out).
          const body = new Readable({ read() {} });
          failingBodyClosed = new Promise((resolve) => body.once('close', () => resolve()));
          failBody = () => body.destroy(new Error('the source failed mid-stream'));
          body.push('first chunk\n');
          return reply.header('content-type', 'text/plain').send(body);
        });
      },
      { logger: log.logger },
    );
    await t.app.listen({ port: 0, host: '127.0.0.1' });
  });
  after(async () => {
    await t?.close();
  });

  it('is still recorded once: a request log line and an http_request_duration_seconds sample', async () => {
    const { port } = t.app.server.address() as AddressInfo;
    await new Promise<void>((resolve, reject) => {
      const socket = connect(port, '127.0.0.1', () => socket.write('GET /test/stream HTTP/1.1\r\nHost: x\r\n\r\n'));
      socket.on('error', reject);
      socket.once('data', () => socket.destroy());
      socket.on('close', () => resolve());
    });
    // The server sees the hang-up: Fastify destroys the stream's body when the response closes.
    await bodyClosed;
    await nextTurn();

    const lines = log.lines.filter((line) => line.msg === 'request' && line.route === '/test/stream');
    const samples = parsePrometheusText((await t.app.inject({ method: 'GET', url: '/metrics' })).body);
    assert.deepEqual(
      { logLines: lines.length, durationSamples: total(samples, 'http_request_duration_seconds_count', { route: '/test/stream' }) },
      { logLines: 1, durationSamples: 1 },
      'the streamed request the client hung up on is recorded once',
    );
  });

  it('is recorded once when its body fails after the first chunk (Fastify destroys the response: no finish, no error)', async () => {
    const { port } = t.app.server.address() as AddressInfo;
    await new Promise<void>((resolve, reject) => {
      const socket = connect(port, '127.0.0.1', () => socket.write('GET /test/stream-fails HTTP/1.1\r\nHost: x\r\n\r\n'));
      socket.on('error', reject);
      socket.once('data', () => failBody?.());
      socket.resume();
      socket.on('close', () => resolve());
    });
    await failingBodyClosed;
    await nextTurn();

    const lines = log.lines.filter((line) => line.msg === 'request' && line.route === '/test/stream-fails');
    const samples = parsePrometheusText((await t.app.inject({ method: 'GET', url: '/metrics' })).body);
    assert.deepEqual(
      { logLines: lines.length, durationSamples: total(samples, 'http_request_duration_seconds_count', { route: '/test/stream-fails' }) },
      { logLines: 1, durationSamples: 1 },
      'the streamed request whose body failed is recorded once',
    );
  });
});
