import { randomBytes } from 'node:crypto';
import { link, mkdir, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { Transporter } from 'nodemailer';

export interface MailMessage {
  to: string;
  subject: string;
  text: string;
  html: string;
  /**
   * Stable per job (`<job-id@sender-domain>`), so a re-sent message is recognisably the same one: the
   * file transport writes it at most once, and mail providers that dedupe by Message-ID drop a copy.
   */
  messageId: string;
}

/**
 * The mail server refused the message for good (a 5xx reply: no such mailbox, message refused as spam, …):
 * sending it again gets the same answer, and repeated attempts to a refused address count against the
 * sender's reputation. A 4xx reply is a `MailDeferredError`; a server that cannot be reached is a `MailUnavailableError`;
 * anything else (a bad configuration, a failed login) is thrown as it comes.
 */
export class MailRefusedError extends Error {
  readonly responseCode: number;
  constructor(responseCode: number, message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'MailRefusedError';
    this.responseCode = responseCode;
  }
}

/**
 * The mail server deferred the message (a 4xx reply: greylisting, a provider's sending rate exceeded, a
 * mailbox over quota): it asks to be offered the message again later, which may be minutes away.
 */
export class MailDeferredError extends Error {
  readonly responseCode: number;
  constructor(responseCode: number, message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'MailDeferredError';
    this.responseCode = responseCode;
  }
}

/**
 * The mail server could not be reached or the conversation broke off before it answered (connection refused or
 * reset, a timeout, DNS): an outage or a restart of the server, which ends. Like a deferral, the message is to be
 * offered again later; sending it at once again gets the same failure.
 */
export class MailUnavailableError extends Error {
  /** nodemailer's error code (`ESOCKET`, `ECONNECTION`, `ETIMEDOUT`, `EDNS`). */
  readonly code: string;
  constructor(code: string, message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'MailUnavailableError';
    this.code = code;
  }
}

/**
 * nodemailer's codes for a server not reached or lost mid-conversation: `ESOCKET` (refused, reset), `ECONNECTION`
 * (closed unexpectedly), `ETIMEDOUT` (no connection, no greeting, no answer), `EDNS` (its name not resolved).
 */
const UNAVAILABLE_CODES = new Set(['ESOCKET', 'ECONNECTION', 'ETIMEDOUT', 'EDNS']);

/** An email address in free text: a mail server's reply names the mailbox it refuses. */
const EMAIL_ADDRESS = /[^\s<>()[\]"',;:]+@[^\s<>()[\]"',;:]+/g;

/**
 * The reply's text with every address replaced by `[redacted]` ("550 5.1.1 <[redacted]>: Recipient address
 * rejected"): the message becomes the failed job's reason, its dead letter, its span's status and a log line,
 * none of which may hold a customer's email. nodemailer's own error (its `response`, `rejected`, `envelope`) is
 * not kept as the cause for the same reason.
 */
function redactedReply(error: unknown): string {
  return String((error as Error)?.message ?? error).replaceAll(EMAIL_ADDRESS, '[redacted]');
}

/** nodemailer's error for an SMTP reply carries the reply's code as `responseCode`. */
function smtpReplyCode(error: unknown): number | undefined {
  const code = (error as { responseCode?: unknown } | null)?.responseCode;
  return typeof code === 'number' ? code : undefined;
}

export interface SendResult {
  /** False when the file transport found the message already written (a re-delivered job). */
  delivered: boolean;
  where: string;
}

/** The port the email processors use. */
export interface Mailer {
  /** `smtp://host:port` or the folder `.eml` files go to. */
  describe: string;
  send(message: MailMessage): Promise<SendResult>;
  close(): void;
}

export interface MailerOptions {
  /** SMTP_URL; without it messages are written as `.eml` files into `mailDir`. */
  smtpUrl: string | undefined;
  from: string;
  mailDir: string;
}

/**
 * The domain of a sender address as MAIL_FROM gives it (`shop@example.com`, `Shop <shop@example.com>`, which config
 * checked), lower-cased: the right-hand side of the Message-IDs sent from it (RFC 5322 3.6.4), so that they are unique to
 * the shop, not shared by every installation.
 */
export function senderDomain(from: string): string {
  const address = /<([^<>]*)>\s*$/.exec(from)?.[1] ?? from;
  return address.slice(address.lastIndexOf('@') + 1).trim().toLowerCase();
}

function fileNameFor(messageId: string): string {
  return messageId.replace(/^<|>$/g, '').replace(/[^A-Za-z0-9._@-]/g, '_') + '.eml';
}

/**
 * How long a send waits on the mail server, in ms, unless SMTP_URL's query says otherwise
 * (`?greetingTimeout=30000`: the URL's options win). A send holds a database connection while it waits (its
 * claim's transaction), and nodemailer's own defaults are 2 min to connect, 30 s for the greeting and 10 min
 * on a silent socket; a timeout is a server that cannot be reached, offered again later (`MailUnavailableError`).
 */
const SMTP_TIMEOUTS = { connectionTimeout: 10_000, greetingTimeout: 10_000, socketTimeout: 60_000 };

/** nodemailer (about 70 ms of the worker's start-up on 2 cores) is loaded with the first mail, not at start. */
let nodemailerLoaded: Promise<typeof import('nodemailer')> | undefined;
function transportOf(options: Parameters<typeof import('nodemailer').createTransport>[0]): Promise<Transporter> {
  nodemailerLoaded ??= import('nodemailer');
  return nodemailerLoaded.then(({ default: nodemailer }) => nodemailer.createTransport(options));
}

export function createMailer(options: MailerOptions): Mailer {
  if (options.smtpUrl) {
    const smtpUrl = options.smtpUrl;
    let transport: Promise<Transporter> | undefined;
    const where = new URL(options.smtpUrl);
    return {
      describe: `${where.protocol}//${where.host}`,
      async send(message) {
        transport ??= transportOf({ url: smtpUrl, ...SMTP_TIMEOUTS });
        const smtp = await transport;
        try {
          await smtp.sendMail({ from: options.from, to: message.to, subject: message.subject, text: message.text, html: message.html, messageId: message.messageId });
        } catch (error) {
          const code = smtpReplyCode(error);
          if (code !== undefined && code >= 500 && code < 600) throw new MailRefusedError(code, redactedReply(error));
          if (code !== undefined && code >= 400 && code < 500) throw new MailDeferredError(code, redactedReply(error));
          const connectionCode = (error as { code?: unknown } | null)?.code;
          if (code === undefined && typeof connectionCode === 'string' && UNAVAILABLE_CODES.has(connectionCode)) throw new MailUnavailableError(connectionCode, redactedReply(error));
          throw error;
        }
        return { delivered: true, where: this.describe };
      },
      close: () => void transport?.then((smtp) => smtp.close()),
    };
  }
  let composer: Promise<Transporter> | undefined;
  return {
    describe: path.resolve(options.mailDir),
    async send(message) {
      composer ??= transportOf({ streamTransport: true, buffer: true, newline: 'unix' });
      const info = await (await composer).sendMail({ from: options.from, to: message.to, subject: message.subject, text: message.text, html: message.html, messageId: message.messageId });
      await mkdir(options.mailDir, { recursive: true });
      const target = path.join(options.mailDir, fileNameFor(message.messageId));
      // Written whole under a temporary name, then linked into place: link() fails if the target
      // exists, so a half-written or second copy is never visible.
      const temporary = path.join(options.mailDir, `.${randomBytes(6).toString('hex')}.tmp`);
      await writeFile(temporary, info.message as Buffer);
      try {
        await link(temporary, target);
        return { delivered: true, where: target };
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === 'EEXIST') return { delivered: false, where: target };
        throw error;
      } finally {
        await rm(temporary, { force: true });
      }
    },
    close() {},
  };
}
