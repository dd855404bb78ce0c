import { createServer, connect, type Socket } from 'node:net';

export interface TcpProxy {
  url: string;
  port: number;
  /**
   * The next client→server chunk containing `marker` is handled per `mode` and the promise resolves:
   * `request` holds the chunk (the server never sees it); `reply` forwards it but holds every reply
   * on that connection from then on (the server acted, the client never hears back).
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
  const sockets = new Set<Socket>();
  /** The client side of connections whose traffic `holdOn` holds. */
  const held = new Set<Socket>();
  let trap: { marker: string; mode: 'request' | 'reply'; hit: () => void } | undefined;
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
    client.on('data', (chunk) => {
      if (holdRequests) return;
      if (trap && chunk.includes(trap.marker)) {
        const { mode, hit } = trap;
        trap = undefined;
        held.add(client);
        if (mode === 'request') {
          holdRequests = true;
          hit();
          return;
        }
        holdReplies = true;
        upstream.write(chunk);
        // Give the server time to execute the command before the test acts on the held reply.
        setTimeout(hit, 200);
        return;
      }
      upstream.write(chunk);
    });
    upstream.on('data', (chunk) => {
      if (!holdReplies) client.write(chunk);
    });
    const end = () => {
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
    holdOn: (marker, mode) => new Promise((resolve) => (trap = { marker, mode, hit: resolve })),
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
      for (const socket of sockets) socket.destroy();
      if (listening) await new Promise((resolve) => server.close(resolve));
      listening = false;
    },
  };
}
