import assert from 'node:assert/strict';
import net from 'node:net';
import { after, before, describe, it } from 'node:test';
import { createMailer, MailUnavailableError, senderDomain } from './mailer.ts';

/**
 * A mail server that accepts the connection and then says nothing (hung, overloaded, or a firewall answering
 * for it). An email send holds a database connection while it waits (its claim's transaction), so the wait
 * must end in seconds: nodemailer's own defaults wait 30 s for the greeting, 2 min to connect and 10 min on a
 * silent socket.
 */
describe('the SMTP mailer against a server that never answers', () => {
  let server: net.Server;
  let port: number;
  const sockets = new Set<net.Socket>();
  before(async () => {
    server = net.createServer((socket) => {
      sockets.add(socket);
      socket.on('error', () => {});
      socket.on('close', () => sockets.delete(socket));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    port = (server.address() as net.AddressInfo).port;
  });
  after(async () => {
    for (const socket of sockets) socket.destroy();
    await new Promise((resolve) => server.close(resolve));
  });

  it('gives up on the greeting within its 10 s, as a mail server that cannot be reached (retried later)', async () => {
    const mailer = createMailer({ smtpUrl: `smtp://127.0.0.1:${port}`, from: 'shop@example.com', mailDir: '/nonexistent' });
    const started = performance.now();
    const error = await mailer.send({ to: 'buyer@example.com', subject: 'S', text: 'T', html: '<p>T</p>', messageId: '<t@salescale>' }).then(
      () => assert.fail('a silent server accepted the message'),
      (e: unknown) => e,
    );
    const waitedS = (performance.now() - started) / 1000;
    mailer.close();
    assert.ok(error instanceof MailUnavailableError, String(error));
    assert.ok(waitedS < 20, `waited ${waitedS.toFixed(1)} s for a greeting that never came`);
  });

  it('takes shorter or longer timeouts from SMTP_URL\'s query', async () => {
    const mailer = createMailer({ smtpUrl: `smtp://127.0.0.1:${port}?greetingTimeout=300`, from: 'shop@example.com', mailDir: '/nonexistent' });
    const started = performance.now();
    await assert.rejects(mailer.send({ to: 'buyer@example.com', subject: 'S', text: 'T', html: '<p>T</p>', messageId: '<u@salescale>' }), MailUnavailableError);
    mailer.close();
    assert.ok(performance.now() - started < 5000);
  });
});

describe('the SMTP mailer against a mail server that is down', () => {
  it('takes a refused connection as a mail server that cannot be reached (retried later), as it does a reset one', async () => {
    // Port 1 on loopback: nothing listens there, so the connect is refused (the worker's mail-server-outage test
    // covers a connection reset by a proxy standing in for the server).
    const mailer = createMailer({ smtpUrl: 'smtp://127.0.0.1:1', from: 'shop@example.com', mailDir: '/nonexistent' });
    const error = await mailer.send({ to: 'buyer@example.com', subject: 'S', text: 'T', html: '<p>T</p>', messageId: '<r@salescale>' }).then(
      () => assert.fail('a refused connection delivered the message'),
      (e: unknown) => e,
    );
    mailer.close();
    assert.ok(error instanceof MailUnavailableError, String(error));
    assert.match(String((error as Error).message), /ECONNREFUSED/);
  });
});

describe('the sender domain of Message-IDs', () => {
  it('reads the domain of every sender form MAIL_FROM takes, lower-cased', () => {
    assert.equal(senderDomain('shop@Example.COM'), 'example.com');
    assert.equal(senderDomain('Salescale <no-reply@salescale.local>'), 'salescale.local');
    assert.equal(senderDomain('"Shop: a@b Orders" <orders@shop.example>'), 'shop.example');
  });
});
