import http from 'node:http';

/**
 * The waiting-room bench's Server-Sent-Events client: one connection per stream over node:http (as a
 * browser's EventSource holds one), reading only what the bench needs. Frames are split on the blank
 * line and their state found by a substring search; only a final frame (admitted, sold out, expired)
 * is parsed as JSON. The general test helper (`test/helpers/sse.ts`) parses every frame and keeps
 * them all; 5,000 streams each get a frame a second (the countdown, then the position), and a bench
 * whose client lags measures its client (the scenario prints the client's CPU share and event-loop lag).
 */
export interface FinalFrame {
  state: 'admitted' | 'sold_out' | 'expired';
  // biome-ignore lint/suspicious/noExplicitAny: the status JSON is read field by field.
  data: any;
  /** Date.now() when the frame was read. */
  at: number;
}

export interface StreamWatch {
  status: number;
  /** Date.now() when the first `waiting` frame was read. */
  waitingAt?: number;
  /** Date.now() when the first `waiting` frame with a place in line was read (after the start). */
  positionedAt?: number;
  /** The first final frame; rejects when the stream ends or fails without one. */
  final: Promise<FinalFrame>;
  close(): void;
}

const FINAL = ['admitted', 'sold_out', 'expired'] as const;

export async function watchStream(url: string, headers: Record<string, string>): Promise<StreamWatch> {
  const response = await new Promise<http.IncomingMessage>((resolve, reject) => {
    const request = http.get(url, { agent: false, headers: { accept: 'text/event-stream', ...headers } }, resolve);
    request.on('error', reject);
  });
  let resolveFinal!: (frame: FinalFrame) => void;
  let rejectFinal!: (error: Error) => void;
  const final = new Promise<FinalFrame>((resolve, reject) => {
    resolveFinal = resolve;
    rejectFinal = reject;
  });
  // Nobody may be waiting on it yet when a stream fails.
  final.catch(() => undefined);
  const watch: StreamWatch = { status: response.statusCode ?? 0, final, close: () => response.destroy() };
  let buffer = '';
  let done = false;
  response.setEncoding('utf8');
  response.on('data', (chunk: string) => {
    buffer = buffer === '' ? chunk : buffer + chunk;
    let start = 0;
    for (let end = buffer.indexOf('\n\n'); end >= 0 && !done; end = buffer.indexOf('\n\n', start)) {
      const frame = buffer.slice(start, end);
      start = end + 2;
      const at = frame.indexOf('"state":"');
      if (at < 0) continue;
      const state = frame.slice(at + 9, frame.indexOf('"', at + 9));
      if (state === 'waiting') {
        const now = Date.now();
        watch.waitingAt ??= now;
        if (watch.positionedAt === undefined && !frame.includes('"position":null')) watch.positionedAt = now;
      } else if ((FINAL as readonly string[]).includes(state)) {
        done = true;
        resolveFinal({ state: state as FinalFrame['state'], data: JSON.parse(frame.slice(frame.indexOf('data:') + 5)), at: Date.now() });
      }
    }
    buffer = buffer.slice(start);
  });
  const fail = () => {
    if (!done) rejectFinal(new Error(`stream ended without a final state (status ${watch.status})`));
    done = true;
  };
  response.on('end', fail);
  response.on('close', fail);
  response.on('error', fail);
  return watch;
}
