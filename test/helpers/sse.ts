import http from 'node:http';

/**
 * A minimal Server-Sent-Events client over node:http (one connection per stream, destroyed on
 * `close`, as a browser's EventSource does), for tests that hold many streams open. (fetch's abort
 * left the server holding a connection that then delayed its graceful stop.)
 */
export interface SseMessage {
  event: string;
  // biome-ignore lint/suspicious/noExplicitAny: JSON payloads in tests are checked by assertions, not types.
  data: any;
  /** Date.now() when the message was read. */
  at: number;
}

export interface SseStream {
  status: number;
  headers: http.IncomingHttpHeaders;
  messages: SseMessage[];
  /** Resolves with the first message (already read or still to come) that matches, or rejects after `timeoutMs`. */
  next(match: (message: SseMessage) => boolean, timeoutMs: number): Promise<SseMessage>;
  /** Resolves when the server ends the stream. */
  ended: Promise<void>;
  close(): void;
}

export async function openSse(url: string, headers: Record<string, string> = {}): Promise<SseStream> {
  const response = await new Promise<http.IncomingMessage>((resolve, reject) => {
    const request = http.get(url, { agent: false, headers: { accept: 'text/event-stream', ...headers } }, resolve);
    request.on('error', reject);
  });
  const messages: SseMessage[] = [];
  const waiters = new Set<() => void>();
  const notify = () => {
    for (const waiter of waiters) waiter();
  };
  let done = false;
  const ended = (async () => {
    response.setEncoding('utf8');
    let buffer = '';
    try {
      for await (const chunk of response) {
        buffer += chunk as string;
        for (let end = buffer.indexOf('\n\n'); end >= 0; end = buffer.indexOf('\n\n')) {
          const block = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          let event = 'message';
          const data: string[] = [];
          for (const line of block.split('\n')) {
            if (line.startsWith('event:')) event = line.slice(6).trim();
            else if (line.startsWith('data:')) data.push(line.slice(5).trimStart());
          }
          if (data.length === 0) continue;
          let parsed: unknown = data.join('\n');
          try {
            parsed = JSON.parse(parsed as string);
          } catch {
            // keep the text
          }
          messages.push({ event, data: parsed, at: Date.now() });
          notify();
        }
      }
    } catch {
      // destroyed or the connection dropped
    } finally {
      done = true;
      notify();
    }
  })();
  return {
    status: response.statusCode ?? 0,
    headers: response.headers,
    messages,
    ended,
    next(match, timeoutMs) {
      return new Promise((resolve, reject) => {
        const check = () => {
          const found = messages.find(match);
          if (found) {
            cleanup();
            resolve(found);
          } else if (done) {
            cleanup();
            reject(new Error(`stream ended without a matching message (got ${JSON.stringify(messages.map((m) => m.data))})`));
          }
        };
        const timer = setTimeout(() => {
          cleanup();
          reject(new Error(`no matching message within ${timeoutMs} ms (got ${JSON.stringify(messages.slice(-3).map((m) => m.data))})`));
        }, timeoutMs);
        const cleanup = () => {
          clearTimeout(timer);
          waiters.delete(check);
        };
        waiters.add(check);
        check();
      });
    },
    close: () => response.destroy(),
  };
}
