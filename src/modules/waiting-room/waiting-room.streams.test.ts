import assert from 'node:assert/strict';
import { createServer, get, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { Redis } from 'ioredis';
import { TEST_REDIS_URL, testPrefix } from '../../../test/helpers/db.ts';
import { createLogger } from '../../platform/logger/logger.ts';
import type { WaitingRoom } from './waiting-room.service.ts';
import { createStreamHub } from './waiting-room.streams.ts';

/**
 * The stream hub on a real HTTP server and Redis subscriber. The room behind it is a stand-in answering
 * "waiting": what is tested is which responses the hub holds open.
 */
describe('waiting-room event streams at shutdown', () => {
  let subscriber: Redis;
  let server: Server;
  let url: string;
  const responses: ServerResponse[] = [];
  const room = {
    statuses: async (_eventId: number, tickets: readonly unknown[]) => ({ now: Date.now(), statuses: tickets.map(() => ({ state: 'waiting' as const, position: 1, etaSeconds: 1 })) }),
    presented: async () => undefined,
    liveEventIds: () => [1],
  } as unknown as WaitingRoom;

  before(async () => {
    subscriber = new Redis(TEST_REDIS_URL);
    server = createServer((_request, response) => {
      response.writeHead(200, { 'content-type': 'text/event-stream' });
      response.write('retry: 2000\n\n');
      responses.push(response);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
  });
  after(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
    subscriber.disconnect();
  });

  /** A client's stream request; resolves with the server's response to it and the client's side. */
  async function stream(): Promise<{ response: ServerResponse; ended: Promise<string> }> {
    const client = await new Promise<IncomingMessage>((resolve, reject) => get(url, { agent: false }, resolve).on('error', reject));
    const response = responses.at(-1)!;
    client.setEncoding('utf8');
    let text = '';
    client.on('data', (chunk: string) => (text += chunk));
    const ended = new Promise<string>((resolve) => client.on('end', () => resolve(text)));
    return { response, ended };
  }

  // The route reads a stream's first status (a Redis round trip) before handing it to the hub: a stream
  // whose read was in flight when the instance began to shut down (the hub ended its streams) was adopted
  // after, held by no refresh and ended by nothing, so the server's close waited on it until the shutdown
  // timeout killed the process (exit 1).
  it('ends a stream handed over after the streams were ended for shutdown', async () => {
    const hub = createStreamHub({ room, subscriber, channel: `${testPrefix()}:waiting-room`, refreshMs: 100, keepAliveMs: 15_000, logger: createLogger({ level: 'silent' }) });
    hub.start();
    const { response, ended } = await stream();
    hub.close();
    hub.open(1, { id: 'ticket-after-close', place: '', score: '', holders: [] }, response, { state: 'waiting', position: 1, etaSeconds: 1 }, hub.generation(1), Date.now());
    const outcome = await Promise.race([ended.then((text) => ({ ended: true, text })), new Promise<{ ended: false }>((resolve) => setTimeout(() => resolve({ ended: false }), 2000))]);
    assert.ok(outcome.ended, 'the stream handed over after shutdown began is ended (the client reconnects to another instance)');
    assert.equal(hub.count(), 0);
  });
});
