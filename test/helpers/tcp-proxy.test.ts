import assert from 'node:assert/strict';
import { connect, createServer, type Server } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { startTcpProxy, type TcpProxy } from './tcp-proxy.ts';

/** Sends `message` through a new connection to `port`: what came back before the connection closed, and its error code if any. */
function exchange(port: number, message: string): Promise<{ reply: string; error?: string }> {
  return new Promise((resolve) => {
    let reply = '';
    let error: string | undefined;
    const socket = connect(port, '127.0.0.1', () => socket.write(message));
    socket.setEncoding('utf8');
    socket.on('data', (chunk) => {
      reply += chunk;
      if (reply === message) socket.end();
    });
    socket.on('error', (e: NodeJS.ErrnoException) => (error = e.code));
    socket.on('close', () => resolve({ reply, error }));
  });
}

describe('the TCP proxy an outage test cuts', () => {
  let echo: Server;
  let proxy: TcpProxy;

  before(async () => {
    echo = createServer((socket) => socket.pipe(socket));
    await new Promise<void>((resolve) => echo.listen(0, '127.0.0.1', resolve));
    proxy = await startTcpProxy((echo.address() as { port: number }).port);
  });
  after(async () => {
    await proxy?.close();
    await new Promise((resolve) => echo?.close(resolve));
  });

  it('keeps its port through a cut: new connections are reset (not refused, not served), no other server can take the port, and restore() serves again', async () => {
    assert.deepEqual(await exchange(proxy.port, 'before'), { reply: 'before', error: undefined });

    await proxy.cut();
    const during = await exchange(proxy.port, 'during');
    assert.equal(during.reply, '', 'nothing is forwarded during the outage');
    assert.notEqual(during.error, 'ECONNREFUSED', 'the port is still listened on');
    // Another test file's server on port 0 could have been given a port let go; this one is still the proxy's.
    const other = createServer();
    const bound = await new Promise<string>((resolve) => {
      other.once('error', (e: NodeJS.ErrnoException) => resolve(e.code ?? 'error'));
      other.listen(proxy.port, '127.0.0.1', () => resolve('listening'));
    });
    if (bound === 'listening') await new Promise((resolve) => other.close(resolve));
    assert.equal(bound, 'EADDRINUSE');

    await proxy.restore();
    assert.deepEqual(await exchange(proxy.port, 'after'), { reply: 'after', error: undefined });
  });
});
