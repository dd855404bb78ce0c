import { createServer, connect, type Socket } from 'node:net';

/**
 * Whether PostgreSQL's reply bytes, from a message boundary on, hold a ReadyForQuery message ('Z'), sent once the
 * statement is done (an implicit transaction committed). Walks the messages (a type byte, then a 4-byte length that
 * counts itself), so the same bytes inside a data row never count; a message cut across chunks waits for the rest.
 */
function holdsReadyForQuery(reply: Buffer): boolean {
  for (let at = 0; at + 5 <= reply.length; at += 1 + reply.readUInt32BE(at + 1)) {
    if (reply[at] === 0x5a) return true;
  }
  return false;
}

export interface TcpProxy {
  url: string;
  port: number;
  /**
   * The next client→server chunk containing `marker` is handled per `mode` and the promise resolves:
   * `request` holds the chunk (the server never sees it); `reply` forwards it but holds every reply
   * on that connection from then on, and resolves once the server has answered it (it acted, the client never hears back).
   */
  holdOn(marker: string, mode: 'request' | 'reply'): Promise<void>;
  /** Resets the connections whose traffic is held (see `holdOn`): the client hears the connection drop; the proxy goes on. */
  dropHeld(): void;
  /**
   * An outage: every open connection is reset, and so is each new one as it comes (the client sees ECONNRESET,
   * which the app classifies as unavailable as it does ECONNREFUSED) until `restore()`. The proxy keeps listening
   * on its port throughout: a port let go during the outage could be bound meanwhile by another test file's process
   * (tests run two files at a time; `freePort`, any server on port 0), clients would then reach that server, and
   * `restore()` would reject with EADDRINUSE. No test here needs a refused connect; add a separate, explicit method
   * for one if a test ever does, and say why.
   */
  cut(): Promise<void>;
  restore(): Promise<void>;
  /** New connections go to `port` from now on (a failover: `cut()` then `restore()` moves the open ones). */
  retarget(port: number): void;
  close(): Promise<void>;
}

/** A loopback TCP proxy to `target` (host:port) that can swallow traffic at a chosen moment. */
export async function startTcpProxy(targetPort: number, protocol = 'redis'): Promise<TcpProxy> {
  let target = targetPort;
  /**
   * Whether the reply bytes swallowed so far hold the server's whole answer. PostgreSQL's ends with ReadyForQuery ('Z', length 5), sent after
   * an implicit transaction commits; any other protocol's first reply bytes mean the server acted.
   */
  const answered = (reply: Buffer): boolean => protocol !== 'postgres' || holdsReadyForQuery(reply);
  const sockets = new Set<Socket>();
  /** The client side of connections whose traffic `holdOn` holds. */
  const held = new Set<Socket>();
  let trap: { marker: string; mode: 'request' | 'reply'; hit: () => void; fail: (error: Error) => void } | undefined;
  /** During a `cut()`: new connections are reset. */
  let down = false;
  const server = createServer((client) => {
    if (down) {
      client.resetAndDestroy();
      return;
    }
    const upstream = connect(target, '127.0.0.1');
    sockets.add(client).add(upstream);
    let holdReplies = false;
    let holdRequests = false;
    /** Resolves a `reply` trap once the server's answer to the held command has come (and was swallowed). */
    let replied: { hit: () => void; fail: (error: Error) => void } | undefined;
    let swallowed = Buffer.alloc(0);
    client.on('data', (chunk) => {
      if (holdRequests) return;
      if (trap && chunk.includes(trap.marker)) {
        const { mode, hit, fail } = trap;
        trap = undefined;
        held.add(client);
        if (mode === 'request') {
          holdRequests = true;
          hit();
          return;
        }
        holdReplies = true;
        upstream.write(chunk);
        // The test acts once the server has answered (so it acted), never after a guessed delay: under load a
        // PostgreSQL statement took longer than the 200 ms once waited here, the drop came first, and the
        // transaction the test meant to see committed rolled back instead.
        replied = { hit, fail };
        return;
      }
      upstream.write(chunk);
    });
    upstream.on('data', (chunk) => {
      if (!holdReplies) {
        client.write(chunk);
        return;
      }
      if (!replied) return;
      swallowed = Buffer.concat([swallowed, chunk]);
      if (answered(swallowed)) {
        replied.hit();
        replied = undefined;
      }
    });
    const end = () => {
      // A connection that closes before the server answered the held command fails the trap, not hang the test.
      replied?.fail(new Error('the connection closed before the server answered the held command'));
      replied = undefined;
      client.destroy();
      upstream.destroy();
      sockets.delete(client);
      sockets.delete(upstream);
      held.delete(client);
    };
    client.on('close', end).on('error', end);
    upstream.on('close', end).on('error', end);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  let listening = true;
  return {
    url: `${protocol}://127.0.0.1:${port}`,
    port,
    holdOn: (marker, mode) => new Promise((resolve, reject) => (trap = { marker, mode, hit: resolve, fail: reject })),
    dropHeld() {
      for (const client of held) client.resetAndDestroy();
    },
    async cut() {
      if (!listening) return;
      down = true;
      for (const socket of sockets) socket.resetAndDestroy();
    },
    async restore() {
      down = false;
    },
    retarget(port) {
      target = port;
    },
    async close() {
      // A trap whose marker never came fails its test's await instead of leaving it to the runner's timeout.
      trap?.fail(new Error(`the proxy closed before a request containing "${trap.marker}" came`));
      trap = undefined;
      for (const socket of sockets) socket.destroy();
      if (listening) await new Promise((resolve) => server.close(resolve));
      listening = false;
    },
  };
}
