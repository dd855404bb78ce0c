import { SMTPServer } from 'smtp-server';
import { freePort } from '../../src/platform/local/local-stack.ts';

export interface SinkMessage {
  messageId: string;
  to: string[];
  raw: string;
}

export interface SmtpSink {
  url: string;
  /** Messages the sink accepted (answered 250 to). */
  accepted: SinkMessage[];
  /** Every DATA the sink received, accepted or not. */
  received: SinkMessage[];
  /**
   * Holds the reply to the next DATA (the client waits, as with a slow mail server). Resolves with
   * the held message once it arrives; call `release()` on the result to accept it, or leave it.
   */
  holdNext(): Promise<SinkMessage & { release(): void }>;
  /**
   * Holds the reply to every DATA from now on (a mail server that stopped answering) until `release()`,
   * which accepts the held messages and the ones after. `held` lists the messages waiting.
   */
  holdAll(): { held: SinkMessage[]; release(): void };
  /**
   * Answers every DATA from now on with this SMTP reply instead of 250 (`550 …` a permanent refusal,
   * `451 …` a temporary one), until called with `undefined`. Refused messages are in `received` only.
   */
  refuse(reply: { code: number; text: string } | undefined): void;
  /** Resolves once `count` messages have been accepted. */
  waitForAccepted(count: number, timeoutMs?: number): Promise<void>;
  close(): Promise<void>;
}

function header(raw: string, name: string): string {
  const match = new RegExp(`^${name}:\\s*(.*)$`, 'im').exec(raw);
  return match?.[1]?.trim() ?? '';
}

/**
 * A real SMTP server (smtp-server) that records what it is sent, on `port` (a mail server coming back where the
 * worker expects it) or a free one.
 */
export async function startSmtpSink(options: { port?: number } = {}): Promise<SmtpSink> {
  const accepted: SinkMessage[] = [];
  const received: SinkMessage[] = [];
  let hold: ((message: SinkMessage & { release(): void }) => void) | undefined;
  let holdingAll: { held: SinkMessage[]; accepts: (() => void)[] } | undefined;
  let refusal: { code: number; text: string } | undefined;
  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS', 'AUTH'],
    logger: false,
    onData(stream, session, callback) {
      const chunks: Buffer[] = [];
      stream.on('data', (chunk: Buffer) => chunks.push(chunk));
      stream.on('end', () => {
        const raw = Buffer.concat(chunks).toString('utf8');
        const message = { messageId: header(raw, 'Message-ID'), to: session.envelope.rcptTo.map((r) => r.address), raw };
        received.push(message);
        if (refusal) return callback(Object.assign(new Error(refusal.text), { responseCode: refusal.code }));
        const accept = () => {
          accepted.push(message);
          callback();
        };
        if (holdingAll) {
          holdingAll.held.push(message);
          holdingAll.accepts.push(accept);
        } else if (hold) {
          const resolve = hold;
          hold = undefined;
          resolve({ ...message, release: accept });
        } else accept();
      });
    },
  });
  // A client that dies mid-session (a SIGKILLed worker) resets its connection: smtp-server reports it as an
  // 'error' event, which without a listener would crash the test process.
  server.on('error', () => {});
  const port = options.port ?? (await freePort());
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  return {
    url: `smtp://127.0.0.1:${port}`,
    accepted,
    received,
    holdNext: () => new Promise((resolve) => (hold = resolve)),
    holdAll() {
      const holding = { held: [] as SinkMessage[], accepts: [] as (() => void)[] };
      holdingAll = holding;
      return {
        held: holding.held,
        release() {
          if (holdingAll === holding) holdingAll = undefined;
          for (const accept of holding.accepts.splice(0)) accept();
        },
      };
    },
    refuse(reply) {
      refusal = reply;
    },
    async waitForAccepted(count, timeoutMs = 30_000) {
      const deadline = Date.now() + timeoutMs;
      while (accepted.length < count) {
        if (Date.now() > deadline) throw new Error(`SMTP sink accepted ${accepted.length} of ${count} messages in ${timeoutMs} ms`);
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    },
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}
