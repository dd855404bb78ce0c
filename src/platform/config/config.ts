import { randomBytes, X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { BlockList, isIP } from 'node:net';
import { STATEMENT_END_MARGIN_MS } from '../db/statement-timeout.ts';
import { IDEMPOTENCY_LEASE_MS } from '../idempotency/idempotency-lease.ts';
import { findRedisPrefixProblem } from '../redis/redis-prefix.ts';
import { DEFAULT_JOB_TRANSACTION_LIMITS, MAX_JOB_TRANSACTION_LIMIT_MS, type JobTransactionLimits } from '../queue/job-transaction.ts';
import { DEFAULT_CONCURRENCY, isQueueName, QUEUE_NAMES, type QueueName } from '../queue/queue-definitions.ts';
import { ConfigError, bool, int, list, oneOf, optionalStr, parseEnv, secretStr, str, timeZone, url, type Field, timerMs } from './env-schema.ts';
import { loadShedConfigFrom, loadShedEnv, type LoadShedConfig } from '../load/load-shed.config.ts';
import { cacheLocalConfigFrom, cacheLocalEnv, type CacheLocalConfig } from '../cache/cache.config.ts';
import { clusterConfigFrom, clusterEnv, type ClusterConfig } from '../cluster/cluster.config.ts';
import { rateLimitConfigFrom, rateLimitEnv, type RateLimitConfig } from '../rate-limit/rate-limit.config.ts';
import { observabilityConfigFrom, observabilityEnv, type ObservabilityConfig } from '../metrics/observability.config.ts';
import { customersConfigFrom, customersEnv, type CustomersConfig } from './customers.config.ts';
import { checkoutConfigFrom, checkoutEnv, type CheckoutConfig } from './checkout.config.ts';
import { waitingRoomConfigFrom, waitingRoomEnv, type WaitingRoomConfig } from './waiting-room.config.ts';
import { paymentsConfigFrom, paymentsEnv, type PaymentsConfig } from './payments.config.ts';

export { ConfigError } from './env-schema.ts';

function cidr(raw: string, name: string): string {
  const [address, bits, extra] = raw.split('/');
  const family = isIP(address ?? '');
  const maxBits = family === 6 ? 128 : 32;
  if (family === 0 || extra !== undefined || (bits !== undefined && !(/^\d+$/.test(bits) && Number(bits) <= maxBits))) {
    throw new ConfigError(name, `"${raw}" is not an IP address or CIDR (a blanket "true" is never accepted)`);
  }
  // A /0 is a blanket "true": every client could set its own X-Forwarded-For (a fresh rate-limit budget per request).
  if (bits !== undefined && Number(bits) === 0) throw new ConfigError(name, `"${raw}" trusts every address, as a blanket "true" would: list the load balancer's addresses or subnet`);
  // IPv4 clients are checked against IPv4-mapped entries (`::ffff:a.b.c.d`), so `::ffff:0:0/96` is 0.0.0.0/0 by another
  // spelling; a shorter mapped prefix spans it too (and the trust left it out without a word).
  if (family === 6 && bits !== undefined && Number(bits) <= 96 && IPV4_MAPPED.check(address ?? '', 'ipv6')) {
    throw new ConfigError(name, `"${raw}" trusts every IPv4 address, as 0.0.0.0/0 or a blanket "true" would: list the load balancer's addresses or subnet`);
  }
  // A floor per entry: halves of every address listed together (`0.0.0.0/1,128.0.0.0/1`, `::/1,8000::/1`) are a /0 by
  // another spelling, each entry wide of the checks above. No load balancer's subnet is wider than a private range:
  // IPv4 /8 (10.0.0.0/8), IPv4-mapped /104 (the same /8), other IPv6 /7 (fc00::/7, unique-local).
  if (bits !== undefined) {
    const mapped = family === 6 && IPV4_MAPPED.check(address ?? '', 'ipv6');
    const floor = family === 4 ? 8 : mapped ? 104 : 7;
    if (Number(bits) < floor) {
      throw new ConfigError(name, `"${raw}" is wider than a /${floor}${mapped ? ' (IPv4-mapped: a /8)' : ''}, the widest private range: a few such entries trust every client, as a blanket "true" would; list the load balancer's addresses or subnet`);
    }
  }
  return raw;
}

const IPV4_MAPPED = new BlockList();
IPV4_MAPPED.addSubnet('::ffff:0:0', 96, 'ipv6');

/** The most proxies a hop count may trust: a platform router and perhaps a CDN in front of it; more is a typo. */
const MAX_TRUSTED_HOPS = 5;

/**
 * TRUST_PROXY: the addresses/CIDRs of the proxies whose X-Forwarded-For is believed, or a hop count (`1`): the
 * client is the address that many entries from the right of X-Forwarded-For, for a router of no fixed address
 * that appends the address it saw (Heroku's). Never a blanket `true`.
 */
function trustProxy(): Field<string[] | number> {
  const cidrs = list(cidr);
  return {
    describe: 'comma-separated addresses/CIDRs, or a hop count',
    parse(raw, name) {
      const parts = (raw ?? '').split(',').map((part) => part.trim());
      if (parts.length === 1 && /^\d+$/.test(parts[0]!)) {
        const hops = Number(parts[0]);
        if (hops < 1 || hops > MAX_TRUSTED_HOPS || parts[0]!.startsWith('0')) {
          throw new ConfigError(name, `a hop count must be between 1 and ${MAX_TRUSTED_HOPS}, got "${parts[0]}" (the number of proxies that append to X-Forwarded-For in front of the app; unset TRUST_PROXY for none)`);
        }
        return hops;
      }
      if (parts.length > 1 && parts.some((part) => /^\d+$/.test(part))) throw new ConfigError(name, `a hop count stands alone, not in a list of addresses: "${raw}"`);
      return cidrs.parse(raw, name);
    },
  };
}

/**
 * TRUST_PROXY's value as the app reads it at start-up: the CIDR list or the hop count, or the ConfigError the app
 * refuses to start with. The deployment spec checks `web.trustedProxyCidrs` with it, so a value the web role would
 * refuse is refused when the manifests are rendered, not by crash-looping pods.
 */
export function parseTrustProxy(raw: string | undefined): string[] | number {
  return envSchema.TRUST_PROXY.parse(raw, 'TRUST_PROXY');
}

/**
 * CLIENT_ADDRESS_HEADER: a request header in which the platform's edge names the client it saw, replacing whatever
 * the client sent (DigitalOcean App Platform's `DO-Connecting-IP`), for a port reachable only through that edge.
 * Lowercase, as Node keys headers. X-Forwarded-For and Forwarded are lists a client can write into: TRUST_PROXY reads those.
 */
function clientAddressHeader(): Field<string | undefined> {
  return {
    describe: 'a header name (optional)',
    parse(raw, name) {
      const header = raw?.trim().toLowerCase() ?? '';
      if (header === '') return undefined;
      if (!/^[a-z0-9][a-z0-9-]*$/.test(header)) throw new ConfigError(name, `"${raw}" is not a header name`);
      if (header === 'x-forwarded-for' || header === 'forwarded') throw new ConfigError(name, `"${raw}" is a list a client can write into: set TRUST_PROXY to read it instead`);
      return header;
    },
  };
}

function queueName(raw: string, name: string): QueueName {
  if (!isQueueName(raw)) throw new ConfigError(name, `unknown queue "${raw}" (queues: ${QUEUE_NAMES.join(', ')})`);
  return raw;
}

/**
 * WORKER_QUEUES: unset is every queue, a value a subset of them. A value naming none (",", " ") is refused, as
 * `worker --queues ","` is: read as an empty list, it ran every queue, the opposite of a subset.
 */
function workerQueues(): Field<QueueName[]> {
  const queues = list(queueName);
  return {
    describe: queues.describe,
    parse(raw, name) {
      const value = queues.parse(raw, name);
      if (value.length === 0 && raw !== undefined && raw !== '') throw new ConfigError(name, `names no queue ("${raw}"): list some of ${QUEUE_NAMES.join(', ')}, or leave it unset for every queue`);
      return value;
    },
  };
}

/** A browser origin (`https://shop.example.com`, no path), for CORS. */
function origin(raw: string, name: string): string {
  let parsed: URL;
  try {
    parsed = new URL(raw);
  } catch {
    throw new ConfigError(name, `"${raw}" is not an origin like https://shop.example.com`);
  }
  if (!['http:', 'https:'].includes(parsed.protocol) || parsed.origin !== raw.replace(/\/$/, '')) {
    throw new ConfigError(name, `"${raw}" is not an origin like https://shop.example.com (scheme, host and port only)`);
  }
  return parsed.origin;
}

/** The `sslmode` values pg knows; any other it takes silently as `verify-full`. */
const SSL_MODES = ['disable', 'prefer', 'require', 'verify-ca', 'verify-full', 'no-verify'];

/**
 * PGSSLMODE: pg reads it itself (from process.env) when DATABASE_URL has no `sslmode`, the way to ask for TLS where
 * the platform writes the URL (Heroku Postgres). pg ignores a value it does not know (no TLS then), so it is checked here.
 */
const pgSslMode: Field<string | undefined> = {
  describe: `one of ${SSL_MODES.join('|')} (optional)`,
  parse(raw, name) {
    if (raw === undefined || raw === '') return undefined;
    if (!SSL_MODES.includes(raw)) throw new ConfigError(name, `must be one of ${SSL_MODES.join(', ')}, got "${raw}"`);
    return raw;
  },
};

/**
 * A PostgreSQL URL whose TLS parameters pg can use: pg reads `sslrootcert`, `sslcert` and `sslkey` when it
 * first connects (a missing file was a stack trace then, or a web role that never reached its database) and
 * reads an unknown `sslmode` as `verify-full`. Messages name the parameter, never the URL (it holds the password).
 */
function postgresUrl(): Field<string | undefined> {
  const field = url({ protocols: ['postgres:', 'postgresql:'], optional: true });
  return {
    describe: field.describe,
    parse(raw, name) {
      const value = field.parse(raw, name);
      if (value === undefined) return value;
      const params = new URL(value).searchParams;
      const sslmode = params.get('sslmode');
      if (sslmode !== null && !SSL_MODES.includes(sslmode)) throw new ConfigError(name, `sslmode must be one of ${SSL_MODES.join(', ')}, got "${sslmode}"`);
      for (const param of ['sslrootcert', 'sslcert', 'sslkey']) {
        const file = params.get(param);
        if (file === null) continue;
        try {
          readFileSync(file);
        } catch (error) {
          throw new ConfigError(name, `${param} "${file}" cannot be read (${(error as NodeJS.ErrnoException).code ?? 'unreadable'})`);
        }
      }
      return value;
    },
  };
}

/**
 * DATABASE_CA_CERT: the PEM text of the CA (or CAs, one after the other) that signed PostgreSQL's certificate, for a
 * provider whose CA Node does not trust and that hands it over as a value, not a file (DigitalOcean's `${db.CA_CERT}`).
 * Each certificate must parse: a damaged one would fail every connection. Messages never repeat the value.
 */
const pemCertificates: Field<string | undefined> = {
  describe: 'PEM certificates (optional)',
  parse(raw, name) {
    if (raw === undefined || raw.trim() === '') return undefined;
    // A platform whose variables hold one line: the PEM's line breaks written as \n.
    const text = (raw.includes('\n') ? raw : raw.replaceAll('\\n', '\n')).trim();
    const blocks = text.match(/-----BEGIN CERTIFICATE-----[^-]+-----END CERTIFICATE-----/g) ?? [];
    if (blocks.length === 0 || text.replace(/-----BEGIN CERTIFICATE-----[^-]+-----END CERTIFICATE-----/g, '').trim() !== '') {
      const file = /^[./~]/.test(text) && !text.includes('\n') ? ' (this looks like a file name: give the file in DATABASE_URL\'s sslrootcert instead)' : '';
      throw new ConfigError(name, `is not a PEM certificate (the text from -----BEGIN CERTIFICATE----- to -----END CERTIFICATE-----)${file}`);
    }
    for (const [i, block] of blocks.entries()) {
      try {
        new X509Certificate(block);
      } catch {
        throw new ConfigError(name, `certificate ${i + 1} of ${blocks.length} is damaged (not a certificate once decoded)`);
      }
    }
    return `${blocks.join('\n')}\n`;
  },
};

/**
 * DATABASE_CA_CERT asks for the server's certificate to be verified against it: a URL that turns TLS or verification
 * off (`sslmode=disable`/`no-verify`, or PGSSLMODE's where the URL has no `sslmode`) or names a CA of its own
 * (`sslrootcert`) contradicts it, and is refused rather than one of the two silently winning.
 */
function checkCaCertUse(e: { DATABASE_URL?: string; DATABASE_REPLICA_URL?: string; PGSSLMODE?: string; DATABASE_CA_CERT?: string }): void {
  if (e.DATABASE_CA_CERT === undefined) return;
  for (const name of ['DATABASE_URL', 'DATABASE_REPLICA_URL'] as const) {
    const value = e[name];
    if (value === undefined) continue;
    const params = new URL(value).searchParams;
    const sslmode = params.get('sslmode') ?? (params.has('ssl') ? null : (e.PGSSLMODE ?? null));
    const from = params.has('sslmode') ? name : 'PGSSLMODE';
    if (sslmode === 'disable' || sslmode === 'no-verify') {
      throw new ConfigError('DATABASE_CA_CERT', `${name} turns certificate verification off (sslmode=${sslmode}${from === name ? '' : ' from PGSSLMODE'}): with a CA, use sslmode=verify-full or leave sslmode out`);
    }
    if (['0', 'false', 'no-verify'].includes(params.get('ssl') ?? '')) throw new ConfigError('DATABASE_CA_CERT', `${name} turns TLS or certificate verification off (ssl=${params.get('ssl')}): with a CA, leave it out`);
    if (params.has('sslrootcert')) throw new ConfigError('DATABASE_CA_CERT', `${name} names a CA of its own (sslrootcert): keep one of the two`);
  }
}

/**
 * A Redis URL ioredis can read: it decodes the user name and password with decodeURIComponent (a bare `%`, as in
 * a generated password, threw URIError from the client's constructor: a stack trace, exit 1) and sends the path
 * as `SELECT` (a name there failed every connection). Messages never repeat the URL (it holds the password).
 * The scheme comes back in lower case, the only one ioredis recognises for TLS.
 */
function redisUrl(): Field<string | undefined> {
  const field = url({ protocols: ['redis:', 'rediss:'], optional: true });
  return {
    describe: field.describe,
    parse(raw, name) {
      const value = field.parse(raw, name);
      if (value === undefined) return value;
      const parsed = new URL(value);
      for (const part of ['username', 'password'] as const) {
        try {
          decodeURIComponent(parsed[part]);
        } catch {
          throw new ConfigError(name, `the ${part === 'username' ? 'user name' : 'password'} is not percent-encoded (a % must be written %25)`);
        }
      }
      if (parsed.pathname !== '' && parsed.pathname !== '/' && !/^\/\d+$/.test(parsed.pathname)) {
        throw new ConfigError(name, `the path must be a database number (/0, /1, …), got "${parsed.pathname}"`);
      }
      // ioredis turns TLS on for a URL starting with `rediss://` exactly: `REDISS://` went in clear, password and all.
      return value.replace(/^rediss?:/i, (scheme) => scheme.toLowerCase());
    },
  };
}

/**
 * REDIS_PREFIX: every key is built from it, many as `{prefix}:…` (a Redis Cluster hash tag: all of them in one slot,
 * which the Lua scripts need) and the stock gate and the prefix sweeps SCAN `{prefix}:…:*`. A `{` or `}` in it ends or
 * opens the hash tag elsewhere (keys in different slots, a script refused on a cluster), a glob character (`*`, `?`,
 * `[`, `]`, `\`) makes a sweep's pattern match other prefixes' keys, and whitespace is a copy-paste slip.
 */
function redisPrefix(): Field<string> {
  const prefix = str({ default: 'salescale' });
  return {
    describe: prefix.describe,
    parse(raw, name) {
      const value = prefix.parse(raw, name);
      const problem = findRedisPrefixProblem(value);
      if (problem !== undefined) throw new ConfigError(name, problem);
      return value;
    },
  };
}

/**
 * MAIL_FROM: one sender, `shop@example.com` or `Shop <shop@example.com>` (a display name with a comma, colon, semicolon or parentheses quoted). nodemailer
 * takes a value it reads no address from ("not an address", a blank, "shop@") without a word and sends with an empty
 * envelope sender (`MAIL FROM:<>`, a bounce's), which providers refuse or file as spam.
 */
function mailFrom(): Field<string> {
  const from = str({ default: 'Salescale <no-reply@salescale.local>' });
  const address = /^[^\s@<>",]+@[^\s@<>",.][^\s@<>",]*$/;
  return {
    describe: from.describe,
    parse(raw, name) {
      const value = from.parse(raw, name);
      // A display name is quoted (a `\"` inside it escaped) or free of what nodemailer reads otherwise: unquoted, a ':' or
      // ';' makes it group syntax (`From: Salescale:Orders <…>;`: clients show "Orders"), '(…)' a comment it drops.
      const bracketed = /^(?:"(?:[^"\\]|\\.)*"|[^"<>,@:;()]*)\s*<([^<>]*)>$/.exec(value.trim());
      if (!address.test(bracketed ? (bracketed[1] ?? '') : value.trim())) {
        throw new ConfigError(name, `"${value}" is not one sender address (shop@example.com or Shop <shop@example.com>; a display name with a comma, colon, semicolon or parentheses in quotes)`);
      }
      return value;
    },
  };
}

/** `queue=n` pairs, e.g. `email=10,inventory=20`. */
function queueNumber(raw: string, name: string): [QueueName, number] {
  const [queue = '', value = ''] = raw.split('=').map((part) => part.trim());
  if (!/^\d+$/.test(value) || Number(value) < 1) throw new ConfigError(name, `expected queue=<positive integer>, got "${raw}"`);
  return [queueName(queue, name), Number(value)];
}

/**
 * Every environment variable Salescale reads. `loadConfig` is the only reader of `process.env`;
 * the README's table of variables is checked against this object by a test.
 */
/**
 * The work of a checkout retry refused after an unknown outcome, besides its wait for the earlier attempt's statements
 * (see the DB_STATEMENT_TIMEOUT_MS check): its pass spend before the wait, the read of whether the order was placed and
 * the give-back after it. Milliseconds each on a healthy database; 15 s allows each of the three a full wait for a pool
 * connection (5 s, `db/client.ts`).
 */
const REFUSED_RETRY_WORK_MS = 15_000;

export const envSchema = {
  NODE_ENV: oneOf(['development', 'production', 'test'], 'development'),
  PORT: int({ default: 3030, min: 0, max: 65535 }),
  HOST: optionalStr(),
  INSTANCE_ID: optionalStr(),
  DATA_DIR: str({ default: '.salescale' }),
  DATABASE_URL: postgresUrl(),
  DATABASE_REPLICA_URL: postgresUrl(),
  PGSSLMODE: pgSslMode,
  DATABASE_CA_CERT: pemCertificates,
  DB_POOL_MIN: int({ default: 0, min: 0, max: 1000 }),
  DB_POOL_MAX: int({ default: 10, min: 1, max: 1000 }),
  DB_POOL_QUEUE_MAX: int({ default: 100, min: 0, max: 100_000 }),
  DB_STATEMENT_TIMEOUT_MS: int({ default: 5000, min: 0 }),
  REDIS_URL: redisUrl(),
  CACHE_REDIS_URL: redisUrl(),
  REDIS_PREFIX: redisPrefix(),
  REDIS_TLS_VERIFY: bool(true),
  ADMIN_API_TOKEN: secretStr(),
  // A signing key no client presents: kept exactly as given (a newline in it signs as it always did; refusing it at an
  // upgrade would end every session, cart and pass signed with it).
  SESSION_SECRET: optionalStr(),
  TRUST_PROXY: trustProxy(),
  CLIENT_ADDRESS_HEADER: clientAddressHeader(),
  CORS_ORIGINS: list(origin),
  LOG_LEVEL: oneOf(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'], 'info'),
  BODY_LIMIT_BYTES: int({ default: 102_400, min: 1024 }),
  CACHE_TTL_PRODUCT_S: int({ default: 300, min: 1 }),
  CACHE_TTL_POPULAR_S: int({ default: 600, min: 1 }),
  CACHE_TTL_CATEGORIES_S: int({ default: 600, min: 1 }),
  SHUTDOWN_TIMEOUT_MS: timerMs({ default: 25_000, min: 0 }),
  SHUTDOWN_DRAIN_DELAY_MS: timerMs({ default: 0, min: 0 }),
  KEEP_ALIVE_TIMEOUT_MS: timerMs({ default: 65_000, min: 1000 }),
  REQUEST_TIMEOUT_MS: timerMs({ default: 90_000, min: 1000 }),
  API_DOCS: bool(true),
  WORKER_PORT: int({ default: 3031, min: 0, max: 65535 }),
  WORKER_QUEUES: workerQueues(),
  WORKER_CONCURRENCY: list(queueNumber),
  WORKER_LOCK_DURATION_MS: timerMs({ default: 30_000, min: 1000 }),
  WORKER_JOB_LOCK_TIMEOUT_MS: int({ default: DEFAULT_JOB_TRANSACTION_LIMITS.lockTimeoutMs, min: 0, max: MAX_JOB_TRANSACTION_LIMIT_MS }),
  WORKER_JOB_IDLE_TIMEOUT_MS: int({ default: DEFAULT_JOB_TRANSACTION_LIMITS.idleTimeoutMs, min: 0, max: MAX_JOB_TRANSACTION_LIMIT_MS }),
  QUEUE_ATTEMPTS: list(queueNumber),
  QUEUE_BACKOFF_MS: list(queueNumber),
  OUTBOX_POLL_INTERVAL_MS: timerMs({ default: 500, min: 10 }),
  OUTBOX_BATCH_SIZE: int({ default: 200, min: 1, max: 10_000 }),
  OUTBOX_RETENTION_HOURS: int({ default: 72, min: 1 }),
  JOB_CLAIM_RETENTION_HOURS: int({ default: 168, min: 24 }),
  SMTP_URL: url({ protocols: ['smtp:', 'smtps:'], optional: true }),
  MAIL_FROM: mailFrom(),
  SHOP_URL: url({ protocols: ['http:', 'https:'], optional: true }),
  ANALYTICS_FLUSH_INTERVAL_MS: timerMs({ default: 60_000, min: 100 }),
  SHOP_TIME_ZONE: timeZone('UTC'),
  ...customersEnv,
  ...checkoutEnv,
  ...waitingRoomEnv,
  ...paymentsEnv,
  ...rateLimitEnv,
  ...loadShedEnv,
  ...cacheLocalEnv,
  ...observabilityEnv,
  ...clusterEnv,
};

export type Env = ReturnType<typeof parseEnvOnly>;

function parseEnvOnly(env: Record<string, string | undefined>) {
  return parseEnv(envSchema, env);
}

export interface AppConfig {
  env: Env['NODE_ENV'];
  isProduction: boolean;
  instanceId: string;
  dataDir: string;
  http: { host: string; port: number; bodyLimit: number; keepAliveTimeoutMs: number; requestTimeoutMs: number; trustProxy: string[] | number; clientAddressHeader: string | undefined; apiDocs: boolean; corsOrigins: string[] };
  /** `caCert`: DATABASE_CA_CERT, the CA the primary's and the replica's certificates are verified against. */
  db: { url: string | undefined; replicaUrl: string | undefined; caCert: string | undefined; poolMin: number; poolMax: number; poolQueueMax: number; statementTimeoutMs: number };
  /** `tlsVerify`: whether a `rediss://` server's certificate is checked (false for a provider's self-signed one). */
  redis: { url: string | undefined; cacheUrl: string | undefined; prefix: string; tlsVerify: boolean };
  secrets: { adminApiToken: string; sessionSecret: string };
  logLevel: Env['LOG_LEVEL'];
  cacheTtl: { productS: number; popularS: number; categoriesS: number };
  /** The in-process layer in front of the Redis cache. */
  cacheLocal: CacheLocalConfig;
  shutdown: { timeoutMs: number; drainDelayMs: number };
  queues: {
    /** Queues the worker role processes (all when WORKER_QUEUES is unset). */
    worker: QueueName[];
    concurrency: Record<QueueName, number>;
    /** How long a worker's job lock lasts without renewal; a killed worker's jobs are re-delivered after it. */
    lockDurationMs: number;
    /** PostgreSQL's lock and idle timeouts on job transactions (`limitJobTransaction`): a frozen worker stalls no other. */
    jobTransaction: JobTransactionLimits;
    attempts: Partial<Record<QueueName, number>>;
    backoffMs: Partial<Record<QueueName, number>>;
  };
  worker: { port: number };
  outbox: { pollIntervalMs: number; batchSize: number; retentionHours: number; claimRetentionHours: number };
  /** `shopUrl`: the shop's address, linked from emails that send the buyer back to it (SHOP_URL). */
  mail: { smtpUrl: string | undefined; from: string; shopUrl?: string };
  analytics: { flushIntervalMs: number };
  customers: CustomersConfig;
  checkout: CheckoutConfig;
  waitingRoom: WaitingRoomConfig;
  /** The payment provider and the payment window of reservations. */
  payments: PaymentsConfig;
  rateLimit: RateLimitConfig;
  loadShed: LoadShedConfig;
  /** Metrics exposure, /health thresholds, slow queries, CloudWatch EMF. */
  observability: ObservabilityConfig;
  /** Degrade modes and the instance heartbeat. */
  cluster: ClusterConfig;
  /** Messages about generated development values; the caller logs them once a logger exists. */
  warnings: string[];
}

export type SecretName = 'ADMIN_API_TOKEN' | 'SESSION_SECRET';

/** The secrets every web instance must share, and what breaks when one is generated per process instead. */
const SECRETS: Record<SecretName, { minLength: number; unshared: string }> = {
  ADMIN_API_TOKEN: { minLength: 16, unshared: 'the admin API refuses every token' },
  SESSION_SECRET: { minLength: 32, unshared: "sessions, guest carts, guest order links (also those a worker emails) and waiting-room passes won't work across instances" },
};
const ALL_SECRETS = Object.keys(SECRETS) as SecretName[];

/** WORKER_CONCURRENCY's `queue:n` pairs over the app's defaults: the jobs of each queue a worker runs at once. */
function workerConcurrencyOf(pairs: readonly (readonly [QueueName, number])[]): Record<QueueName, number> {
  return { ...DEFAULT_CONCURRENCY, ...Object.fromEntries(pairs) };
}

/**
 * Parses and validates the environment once at boot. Throws a ConfigError naming every bad
 * variable. In production missing secrets are fatal; elsewhere they are generated (and warned about).
 * `secrets` names the secrets the process reads (default: both): the worker reads SESSION_SECRET only (it signs the
 * guest order links its emails carry), the queue commands and seed neither. A secret it does not read is generated
 * without a word when missing, in production too.
 */
export function loadConfig(env: Record<string, string | undefined> = process.env, options: { secrets: readonly SecretName[] } = { secrets: ALL_SECRETS }): AppConfig {
  const e = parseEnvOnly(env);
  checkCaCertUse(e);
  const isProduction = e.NODE_ENV === 'production';
  const warnings: string[] = [];
  const read = (name: SecretName) => options.secrets.includes(name);

  // An instance refuses a session, guest cart, guest order link or waiting-room pass signed with another
  // SESSION_SECRET, and an admin token other than its own: values generated per process break every request
  // that lands on another instance than the one before. Production refuses to start without them.
  const missingSecrets = ALL_SECRETS.filter((name) => read(name) && e[name] === undefined);
  if (isProduction && missingSecrets.length > 0) {
    const plural = missingSecrets.length > 1;
    throw new ConfigError(missingSecrets.join(', '), `${plural ? 'are' : 'is'} required in production (NODE_ENV=production): set ${plural ? 'each' : 'it'} to the same value on every instance`);
  }
  const secret = (name: SecretName): string => {
    const { minLength, unshared } = SECRETS[name];
    const value = e[name];
    if (value !== undefined) {
      // Counted without the whitespace around it (ADMIN_API_TOKEN has none, `secretStr`): 64 spaces are no secret.
      if (value.trim().length < minLength) throw new ConfigError(name, `must be at least ${minLength} characters, not counting whitespace around them`);
      return value;
    }
    const generated = randomBytes(24).toString('base64url');
    if (!read(name)) return generated;
    // The generated admin token is never written into the log (log lines are shipped to aggregators and kept): nobody
    // can present it, so the admin API refuses every token until ADMIN_API_TOKEN is set (`up` keeps one in DATA_DIR).
    warnings.push(
      name === 'ADMIN_API_TOKEN'
        ? `${name} is not set: using a generated value for this process only, never written anywhere, so ${unshared}; set ${name} to the same value on every instance, or run \`salescale up\`, which keeps one in DATA_DIR/secrets.json`
        : `${name} is not set: using a generated value for this process only; set ${name} to the same value on every instance, or ${unshared}`,
    );
    return generated;
  };
  // Two answers to "who is the client" would each be right only in front of a different proxy.
  const trustsProxy = typeof e.TRUST_PROXY === 'number' || e.TRUST_PROXY.length > 0;
  if (e.CLIENT_ADDRESS_HEADER !== undefined && trustsProxy) throw new ConfigError('CLIENT_ADDRESS_HEADER', 'cannot be set with TRUST_PROXY: the client is named either by the edge\'s own header or by X-Forwarded-For, not both');
  if (e.DB_POOL_MIN > e.DB_POOL_MAX) throw new ConfigError('DB_POOL_MIN', `must not exceed DB_POOL_MAX (${e.DB_POOL_MAX})`);
  // A guest's order is read by its link from the checkout reply and from the confirmation the worker emails once it is
  // paid, which may be at the end of the payment window: the link must outlive the window.
  if (e.GUEST_ORDER_LINK_TTL_S <= e.PAYMENT_WINDOW_S) {
    throw new ConfigError('GUEST_ORDER_LINK_TTL_S', `must be above PAYMENT_WINDOW_S (${e.PAYMENT_WINDOW_S}): the link a guest is emailed on paying must still open the order`);
  }
  // A frozen worker's job transaction must be ended (its claim and locks gone) before BullMQ re-delivers the job, or
  // the re-delivery waits on its claim; a job waiting on a lock must give up (put back, no attempt used) before its
  // statement times out (an attempt used). 0 is "none" for both timeouts.
  if (e.WORKER_JOB_IDLE_TIMEOUT_MS > 0 && e.WORKER_JOB_IDLE_TIMEOUT_MS >= e.WORKER_LOCK_DURATION_MS) {
    throw new ConfigError('WORKER_JOB_IDLE_TIMEOUT_MS', `must be below WORKER_LOCK_DURATION_MS (${e.WORKER_LOCK_DURATION_MS}), or 0: a frozen worker's claims must be gone before BullMQ re-delivers its jobs`);
  }
  if (e.WORKER_JOB_LOCK_TIMEOUT_MS > 0 && e.DB_STATEMENT_TIMEOUT_MS > 0 && e.WORKER_JOB_LOCK_TIMEOUT_MS >= e.DB_STATEMENT_TIMEOUT_MS) {
    throw new ConfigError('WORKER_JOB_LOCK_TIMEOUT_MS', `must be below DB_STATEMENT_TIMEOUT_MS (${e.DB_STATEMENT_TIMEOUT_MS}), or 0: a job waiting on a lock must be put back (no attempt used) before its statement times out (an attempt used)`);
  }
  // A checkout retry refused under an unknown-outcome mark waits the statement timeout + 500 ms (any statement of the
  // earlier attempt has ended) before it gives back the pass that attempt kept, holding its key's idempotency lease
  // (waiting-room.checkout.ts). A wait that outlasted the lease would let a second retry with the key take over and
  // run beside it, and the pass go back while that one buys an order with it: the wait, plus a margin for the retry's
  // own work around it, must end within the lease.
  const statementWaitLimitMs = IDEMPOTENCY_LEASE_MS - STATEMENT_END_MARGIN_MS - REFUSED_RETRY_WORK_MS;
  if (e.DB_STATEMENT_TIMEOUT_MS > statementWaitLimitMs) {
    throw new ConfigError(
      'DB_STATEMENT_TIMEOUT_MS',
      `must be at most ${statementWaitLimitMs} (0: none): a checkout retry refused after an unknown outcome waits it + ${STATEMENT_END_MARGIN_MS} ms before giving back the earlier attempt's pass, and that wait plus ${REFUSED_RETRY_WORK_MS} ms for the retry's own work must end within its idempotency lease (${IDEMPOTENCY_LEASE_MS} ms), or a second retry with the key could buy with the pass while it goes back`,
    );
  }
  // After a queue Redis loss the relay sends again every row of the retention whose job took no claim: a claim
  // already deleted (older than its own retention) would let that job apply twice (a stock decrement, a count).
  if (e.OUTBOX_RETENTION_HOURS > e.JOB_CLAIM_RETENTION_HOURS) {
    throw new ConfigError('OUTBOX_RETENTION_HOURS', `must not exceed JOB_CLAIM_RETENTION_HOURS (${e.JOB_CLAIM_RETENTION_HOURS}): after a queue Redis loss the relay re-sends rows that far back, and a job whose claim is already deleted would apply twice`);
  }

  return {
    env: e.NODE_ENV,
    isProduction,
    instanceId: e.INSTANCE_ID ?? `${hostname()}-${process.pid}`,
    dataDir: e.DATA_DIR,
    http: {
      host: e.HOST ?? (isProduction ? '0.0.0.0' : '127.0.0.1'),
      port: e.PORT,
      bodyLimit: e.BODY_LIMIT_BYTES,
      keepAliveTimeoutMs: e.KEEP_ALIVE_TIMEOUT_MS,
      requestTimeoutMs: e.REQUEST_TIMEOUT_MS,
      trustProxy: e.TRUST_PROXY,
      clientAddressHeader: e.CLIENT_ADDRESS_HEADER,
      apiDocs: e.API_DOCS,
      corsOrigins: e.CORS_ORIGINS,
    },
    db: {
      url: e.DATABASE_URL,
      replicaUrl: e.DATABASE_REPLICA_URL,
      caCert: e.DATABASE_CA_CERT,
      poolMin: e.DB_POOL_MIN,
      poolMax: e.DB_POOL_MAX,
      poolQueueMax: e.DB_POOL_QUEUE_MAX,
      statementTimeoutMs: e.DB_STATEMENT_TIMEOUT_MS,
    },
    redis: { url: e.REDIS_URL, cacheUrl: e.CACHE_REDIS_URL ?? e.REDIS_URL, prefix: e.REDIS_PREFIX, tlsVerify: e.REDIS_TLS_VERIFY },
    secrets: { adminApiToken: secret('ADMIN_API_TOKEN'), sessionSecret: secret('SESSION_SECRET') },
    logLevel: e.LOG_LEVEL,
    cacheTtl: { productS: e.CACHE_TTL_PRODUCT_S, popularS: e.CACHE_TTL_POPULAR_S, categoriesS: e.CACHE_TTL_CATEGORIES_S },
    cacheLocal: cacheLocalConfigFrom(e),
    shutdown: { timeoutMs: e.SHUTDOWN_TIMEOUT_MS, drainDelayMs: e.SHUTDOWN_DRAIN_DELAY_MS },
    queues: {
      worker: e.WORKER_QUEUES.length > 0 ? [...new Set(e.WORKER_QUEUES)] : [...QUEUE_NAMES],
      concurrency: workerConcurrencyOf(e.WORKER_CONCURRENCY),
      lockDurationMs: e.WORKER_LOCK_DURATION_MS,
      jobTransaction: { lockTimeoutMs: e.WORKER_JOB_LOCK_TIMEOUT_MS, idleTimeoutMs: e.WORKER_JOB_IDLE_TIMEOUT_MS },
      attempts: Object.fromEntries(e.QUEUE_ATTEMPTS),
      backoffMs: Object.fromEntries(e.QUEUE_BACKOFF_MS),
    },
    worker: { port: e.WORKER_PORT },
    outbox: { pollIntervalMs: e.OUTBOX_POLL_INTERVAL_MS, batchSize: e.OUTBOX_BATCH_SIZE, retentionHours: e.OUTBOX_RETENTION_HOURS, claimRetentionHours: e.JOB_CLAIM_RETENTION_HOURS },
    mail: { smtpUrl: e.SMTP_URL, from: e.MAIL_FROM, ...(e.SHOP_URL ? { shopUrl: e.SHOP_URL } : {}) },
    analytics: { flushIntervalMs: e.ANALYTICS_FLUSH_INTERVAL_MS },
    customers: customersConfigFrom(e),
    checkout: checkoutConfigFrom(e),
    waitingRoom: waitingRoomConfigFrom(e),
    payments: paymentsConfigFrom(e, isProduction, Boolean(env.PAYMENT_PROVIDER)),
    rateLimit: rateLimitConfigFrom(e),
    loadShed: loadShedConfigFrom(e),
    observability: observabilityConfigFrom(e, isProduction),
    cluster: clusterConfigFrom(e),
    warnings,
  };
}

/**
 * What `salescale migrate` needs: DATABASE_URL only. A migration job (Kubernetes Job, release phase,
 * pre-deploy job) gets no app secrets, which loadConfig() demands with NODE_ENV=production.
 */
export function loadMigrationConfig(env: Record<string, string | undefined> = process.env): { databaseUrl: string; caCert: string | undefined } {
  const e = parseEnv({ DATABASE_URL: envSchema.DATABASE_URL, PGSSLMODE: envSchema.PGSSLMODE, DATABASE_CA_CERT: envSchema.DATABASE_CA_CERT }, env);
  if (!e.DATABASE_URL) throw new ConfigError('DATABASE_URL', 'is required for migrate');
  checkCaCertUse(e);
  return { databaseUrl: e.DATABASE_URL, caCert: e.DATABASE_CA_CERT };
}

/**
 * What the scaling toolkit (forecast, plan, simulate, cost, backtest) reads: where the history and the
 * sale events are, and the shop's time zone (the default of `--tz`). Like migrate, it needs no app
 * secrets, so a planning job runs with NODE_ENV=production and nothing else.
 */
export function loadScalingConfig(env: Record<string, string | undefined> = process.env): { databaseUrl: string | undefined; caCert: string | undefined; analyticsFlushIntervalMs: number; timeZone: string } {
  const e = parseEnv({ DATABASE_URL: envSchema.DATABASE_URL, PGSSLMODE: envSchema.PGSSLMODE, DATABASE_CA_CERT: envSchema.DATABASE_CA_CERT, ANALYTICS_FLUSH_INTERVAL_MS: envSchema.ANALYTICS_FLUSH_INTERVAL_MS, SHOP_TIME_ZONE: envSchema.SHOP_TIME_ZONE }, env);
  checkCaCertUse(e);
  return { databaseUrl: e.DATABASE_URL, caCert: e.DATABASE_CA_CERT, analyticsFlushIntervalMs: e.ANALYTICS_FLUSH_INTERVAL_MS, timeZone: e.SHOP_TIME_ZONE };
}

/** The app's settings `salescale plan` checks against the plan: read from the same variables, with the same defaults. */
export interface CapacityCheckConfig {
  /** DB_POOL_MAX of every process (the app's default when unset). */
  dbPoolMax: number;
  /** Whether DB_POOL_MAX was set (else `dbPoolMax` is the app's default). */
  dbPoolMaxSet: boolean;
  /** Whether the cache has a Redis of its own (CACHE_REDIS_URL set and not REDIS_URL); else it shares the queue Redis. */
  cacheHasOwnRedis: boolean;
  /** REDIS_PREFIX: BullMQ's keys are `{prefix}:<queue>:wait` and `…:prioritized`. */
  redisPrefix: string;
  rateLimit: RateLimitConfig;
  /** WORKER_CONCURRENCY over the app's defaults: the jobs of each queue a worker runs at once. */
  workerConcurrency: Record<QueueName, number>;
  /** Whether WORKER_CONCURRENCY was set (else `workerConcurrency` is the app's default). */
  workerConcurrencySet: boolean;
}

/**
 * What `salescale plan` checks the plan against: the pool size, where the cache lives, the Redis prefix and
 * the rate limits, as the app would read them from `env`. Needs no app secrets (a planning job has none).
 */
export function loadCapacityCheckConfig(env: Record<string, string | undefined> = process.env): CapacityCheckConfig {
  const e = parseEnv({ DB_POOL_MAX: envSchema.DB_POOL_MAX, REDIS_URL: envSchema.REDIS_URL, CACHE_REDIS_URL: envSchema.CACHE_REDIS_URL, REDIS_PREFIX: envSchema.REDIS_PREFIX, WORKER_CONCURRENCY: envSchema.WORKER_CONCURRENCY, ...rateLimitEnv }, env);
  return {
    dbPoolMax: e.DB_POOL_MAX,
    dbPoolMaxSet: env.DB_POOL_MAX !== undefined && env.DB_POOL_MAX !== '',
    cacheHasOwnRedis: e.CACHE_REDIS_URL !== undefined && e.CACHE_REDIS_URL !== e.REDIS_URL,
    redisPrefix: e.REDIS_PREFIX,
    rateLimit: rateLimitConfigFrom(e),
    workerConcurrency: workerConcurrencyOf(e.WORKER_CONCURRENCY),
    workerConcurrencySet: e.WORKER_CONCURRENCY.length > 0,
  };
}

/** For roles that cannot run without PostgreSQL and Redis (serve, worker, migrate). */
export function requireServices(config: AppConfig): { databaseUrl: string; redisUrl: string; cacheRedisUrl: string } {
  if (!config.db.url) throw new ConfigError('DATABASE_URL', 'is required for this command (or use `salescale up` for a local all-in-one)');
  if (!config.redis.url) throw new ConfigError('REDIS_URL', 'is required for this command (or use `salescale up` for a local all-in-one)');
  return { databaseUrl: config.db.url, redisUrl: config.redis.url, cacheRedisUrl: config.redis.cacheUrl ?? config.redis.url };
}
