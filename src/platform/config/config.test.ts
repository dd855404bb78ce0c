import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { ConfigError, envSchema, loadCapacityCheckConfig, loadConfig } from './config.ts';

const base = { DATABASE_URL: 'postgres://u@h/db', REDIS_URL: 'redis://h:6379' };

describe('loadConfig', () => {
  it('applies documented defaults', () => {
    const config = loadConfig(base);
    assert.equal(config.http.port, 3030);
    assert.equal(config.redis.cacheUrl, base.REDIS_URL);
    assert.equal(config.cacheTtl.popularS, 600);
    assert.equal(config.cacheTtl.productS, 300);
    assert.equal(config.http.keepAliveTimeoutMs, 65_000);
    assert.equal(config.http.requestTimeoutMs, 90_000);
    assert.deepEqual(config.http.trustProxy, []);
  });

  it('names the variable when one is malformed', () => {
    assert.throws(() => loadConfig({ ...base, PORT: 'eighty' }), (error: ConfigError) => error instanceof ConfigError && error.variable === 'PORT');
    assert.throws(() => loadConfig({ ...base, DATABASE_URL: 'mysql://x' }), /DATABASE_URL: must use postgres:/);
    assert.throws(() => loadConfig({ ...base, DB_POOL_MIN: '20', DB_POOL_MAX: '10' }), /DB_POOL_MIN/);
    // After a queue Redis loss the relay sends again the rows of OUTBOX_RETENTION_HOURS that have no job claim: a claim
    // deleted before its row would let a stock decrement or an analytics count apply twice.
    assert.throws(() => loadConfig({ ...base, OUTBOX_RETENTION_HOURS: '200', JOB_CLAIM_RETENTION_HOURS: '168' }), /OUTBOX_RETENTION_HOURS: must not exceed JOB_CLAIM_RETENTION_HOURS \(168\)/);
    assert.equal(loadConfig({ ...base, OUTBOX_RETENTION_HOURS: '168', JOB_CLAIM_RETENTION_HOURS: '168' }).outbox.retentionHours, 168);
    assert.throws(() => loadConfig({ ...base, LOG_LEVEL: 'loud' }), /LOG_LEVEL: must be one of/);
  });

  // A frozen worker's job transaction must be ended (its claim gone) before BullMQ re-delivers the job, and a job
  // waiting on a lock must give up (put back without an attempt) before its statement times out (an attempt used).
  it('refuses job transaction limits that do not fit the worker lock and the statement timeout (0: none)', () => {
    assert.throws(
      () => loadConfig({ ...base, WORKER_JOB_IDLE_TIMEOUT_MS: '30000', WORKER_LOCK_DURATION_MS: '30000' }),
      (error: ConfigError) => error instanceof ConfigError && /WORKER_JOB_IDLE_TIMEOUT_MS/.test(error.message) && /WORKER_LOCK_DURATION_MS \(30000\)/.test(error.message),
    );
    assert.throws(
      () => loadConfig({ ...base, WORKER_JOB_LOCK_TIMEOUT_MS: '6000', DB_STATEMENT_TIMEOUT_MS: '5000' }),
      (error: ConfigError) => error instanceof ConfigError && /WORKER_JOB_LOCK_TIMEOUT_MS/.test(error.message) && /DB_STATEMENT_TIMEOUT_MS \(5000\)/.test(error.message),
    );
    assert.doesNotThrow(() => loadConfig({ ...base, WORKER_JOB_IDLE_TIMEOUT_MS: '29999', WORKER_LOCK_DURATION_MS: '30000', WORKER_JOB_LOCK_TIMEOUT_MS: '4999', DB_STATEMENT_TIMEOUT_MS: '5000' }));
    assert.doesNotThrow(() => loadConfig({ ...base, WORKER_JOB_IDLE_TIMEOUT_MS: '0', WORKER_LOCK_DURATION_MS: '1000', WORKER_JOB_LOCK_TIMEOUT_MS: '6000', DB_STATEMENT_TIMEOUT_MS: '0' }));
    assert.doesNotThrow(() => loadConfig({ ...base, WORKER_JOB_LOCK_TIMEOUT_MS: '0', DB_STATEMENT_TIMEOUT_MS: '5000' }));
  });

  // PostgreSQL holds lock_timeout in a 32-bit integer of ms: a larger value fails `set_config` ("Value exceeds integer
  // range") in every job transaction, so each job of every queue failed while the worker started without a word.
  it('refuses a WORKER_JOB_LOCK_TIMEOUT_MS PostgreSQL cannot hold, also with no statement timeout', () => {
    assert.throws(
      () => loadConfig({ ...base, WORKER_JOB_LOCK_TIMEOUT_MS: '2147483648', DB_STATEMENT_TIMEOUT_MS: '0' }),
      (error: ConfigError) => error instanceof ConfigError && error.variable === 'WORKER_JOB_LOCK_TIMEOUT_MS',
    );
    assert.equal(loadConfig({ ...base, WORKER_JOB_LOCK_TIMEOUT_MS: '2147483647', DB_STATEMENT_TIMEOUT_MS: '0' }).queues.jobTransaction.lockTimeoutMs, 2147483647);
  });

  // A retry refused under an unknown-outcome mark waits DB_STATEMENT_TIMEOUT_MS + 500 ms before it gives back the pass the
  // earlier attempt kept (waiting-room.checkout.ts); it holds the key's idempotency lease (60 s) meanwhile. A wait that
  // outlasted the lease would let a second retry with the same key run beside it, and the pass go back while that one
  // buys an order with it: the wait, plus 15 s for the retry's own work around it, must end within the lease.
  it('refuses a guest order link that ends within the payment window: a guest paying late would be emailed a link that no longer opens the order', () => {
    assert.throws(() => loadConfig({ ...base, PAYMENT_WINDOW_S: String(2 * 86_400), GUEST_ORDER_LINK_TTL_S: '86400' }), (error: ConfigError) => error instanceof ConfigError && error.variable === 'GUEST_ORDER_LINK_TTL_S');
    assert.equal(loadConfig({ ...base, PAYMENT_WINDOW_S: String(2 * 86_400), GUEST_ORDER_LINK_TTL_S: String(3 * 86_400) }).checkout.guestOrderLinkTtlS, 3 * 86_400);
  });

  it('refuses a statement timeout whose wait before a pass goes back would not end well inside the idempotency lease', () => {
    for (const value of ['60000', '44501']) {
      assert.throws(
        () => loadConfig({ ...base, DB_STATEMENT_TIMEOUT_MS: value }),
        (error: ConfigError) => error instanceof ConfigError && error.variable === 'DB_STATEMENT_TIMEOUT_MS' && /idempotency lease \(60000 ms\)/.test(error.message) && /at most 44500/.test(error.message),
      );
    }
    // The default, the largest accepted, the documented and tested examples, and none.
    for (const value of [undefined, '44500', '5000', '1000', '0']) {
      const env = value === undefined ? base : { ...base, DB_STATEMENT_TIMEOUT_MS: value, WORKER_JOB_LOCK_TIMEOUT_MS: '500' };
      assert.equal(loadConfig(env).db.statementTimeoutMs, value === undefined ? 5000 : Number(value));
    }
  });

  it('names every bad variable at once', () => {
    assert.throws(
      () => loadConfig({ ...base, PORT: 'x', DB_POOL_MAX: '-1' }),
      (error: ConfigError) => error.variable === 'PORT, DB_POOL_MAX' && error.message === 'PORT: must be an integer, got "x"; DB_POOL_MAX: must be between 1 and 1000, got -1',
    );
  });

  it("sends the waiting room's keep-alive every 15 s unless WAITING_ROOM_KEEPALIVE_MS says otherwise, between 1 s and 5 min", () => {
    assert.equal(loadConfig(base).waitingRoom.keepAliveMs, 15_000);
    assert.equal(loadConfig({ ...base, WAITING_ROOM_KEEPALIVE_MS: '5000' }).waitingRoom.keepAliveMs, 5000);
    assert.equal(loadConfig({ ...base, WAITING_ROOM_KEEPALIVE_MS: '1000' }).waitingRoom.keepAliveMs, 1000);
    assert.equal(loadConfig({ ...base, WAITING_ROOM_KEEPALIVE_MS: '300000' }).waitingRoom.keepAliveMs, 300_000);
    for (const [raw, message] of [
      ['999', /^WAITING_ROOM_KEEPALIVE_MS: must be between 1000 and 300000, got 999$/],
      ['0', /^WAITING_ROOM_KEEPALIVE_MS: must be between 1000 and 300000, got 0$/],
      ['300001', /^WAITING_ROOM_KEEPALIVE_MS: must be between 1000 and 300000, got 300001$/],
      ['15s', /^WAITING_ROOM_KEEPALIVE_MS: must be an integer, got "15s"$/],
      ['1500.5', /^WAITING_ROOM_KEEPALIVE_MS: must be an integer, got "1500.5"$/],
    ] as const) {
      assert.throws(() => loadConfig({ ...base, WAITING_ROOM_KEEPALIVE_MS: raw }), (error: ConfigError) => error instanceof ConfigError && error.variable === 'WAITING_ROOM_KEEPALIVE_MS' && message.test(error.message), raw);
    }
  });

  it('accepts proxy addresses and CIDRs but never a blanket true', () => {
    assert.deepEqual(loadConfig({ ...base, TRUST_PROXY: '10.0.0.0/8, 127.0.0.1,::1' }).http.trustProxy, ['10.0.0.0/8', '127.0.0.1', '::1']);
    assert.throws(() => loadConfig({ ...base, TRUST_PROXY: 'true' }), /TRUST_PROXY/);
    assert.throws(() => loadConfig({ ...base, TRUST_PROXY: '10.0.0.0/33' }), /TRUST_PROXY/);
    // Every address is a blanket true by another name: any client could pick its X-Forwarded-For.
    for (const everyone of ['0.0.0.0/0', '::/0', '10.0.0.1, 0.0.0.0/0']) {
      assert.throws(() => loadConfig({ ...base, TRUST_PROXY: everyone }), /TRUST_PROXY: "(0\.0\.0\.0|::)\/0" trusts every address/, everyone);
    }
    // IPv4-mapped IPv6 spellings of 0.0.0.0/0: an IPv4 client is checked against them as ::ffff:a.b.c.d, so they trust
    // every IPv4 address (and a shorter prefix was silently left out of the trust, not refused).
    for (const everyone of ['::ffff:0:0/96', '::ffff:0.0.0.0/96', '::ffff:10.0.0.0/80']) {
      assert.throws(() => loadConfig({ ...base, TRUST_PROXY: everyone }), /TRUST_PROXY: ".*" trusts every IPv4 address/, everyone);
    }
    assert.deepEqual(loadConfig({ ...base, TRUST_PROXY: '::ffff:10.0.0.0/104' }).http.trustProxy, ['::ffff:10.0.0.0/104']);
    // Halves (or quarters) of every address, listed together, trust every client as a /0 does: each entry has a floor,
    // IPv4 /8, IPv4-mapped /104 (the same /8), other IPv6 /7 (fc00::/7, unique-local, the widest private range).
    for (const [everyone, entry] of [
      ['0.0.0.0/1,128.0.0.0/1', '0.0.0.0/1'],
      ['10.0.0.0/8, 0.0.0.0/7', '0.0.0.0/7'],
      ['::ffff:0:0/97,::ffff:8000:0/97', '::ffff:0:0/97'],
      ['::ffff:10.0.0.0/103', '::ffff:10.0.0.0/103'],
      ['::/1,8000::/1', '::/1'],
      ['2000::/3', '2000::/3'],
      ['fc00::/6', 'fc00::/6'],
    ] as const) {
      assert.throws(
        () => loadConfig({ ...base, TRUST_PROXY: everyone }),
        (error: ConfigError) => error instanceof ConfigError && error.variable === 'TRUST_PROXY' && error.message.startsWith(`TRUST_PROXY: "${entry}" `) && !error.message.includes('\n'),
        everyone,
      );
    }
    const legit = ['10.0.0.0/8', '172.16.0.0/12', '192.168.0.0/16', 'fc00::/7', '::ffff:10.0.0.0/104', '203.0.113.7', '2001:db8::1', '2001:db8::/32'];
    assert.deepEqual(loadConfig({ ...base, TRUST_PROXY: legit.join(',') }).http.trustProxy, legit);
    assert.equal(loadConfig({ ...base, TRUST_PROXY: '2' }).http.trustProxy, 2);
  });

  it('reads the client address from a platform edge\'s own header (CLIENT_ADDRESS_HEADER), never with TRUST_PROXY nor from X-Forwarded-For', () => {
    assert.equal(loadConfig(base).http.clientAddressHeader, undefined);
    assert.equal(loadConfig({ ...base, CLIENT_ADDRESS_HEADER: ' DO-Connecting-IP ' }).http.clientAddressHeader, 'do-connecting-ip');
    for (const [env, message] of [
      [{ CLIENT_ADDRESS_HEADER: 'do connecting ip' }, /^CLIENT_ADDRESS_HEADER: "do connecting ip" is not a header name/],
      [{ CLIENT_ADDRESS_HEADER: 'X-Forwarded-For' }, /^CLIENT_ADDRESS_HEADER: "X-Forwarded-For" is a list a client can write into: set TRUST_PROXY/],
      [{ CLIENT_ADDRESS_HEADER: 'do-connecting-ip', TRUST_PROXY: '1' }, /^CLIENT_ADDRESS_HEADER: cannot be set with TRUST_PROXY/],
    ] as const) {
      assert.throws(() => loadConfig({ ...base, ...env }), (error: ConfigError) => error instanceof ConfigError && message.test(error.message), JSON.stringify(env));
    }
  });

  it('accepts a hop count for a router of no fixed address that appends to X-Forwarded-For (Heroku), and nothing but a small positive integer', () => {
    assert.equal(loadConfig({ ...base, TRUST_PROXY: '1' }).http.trustProxy, 1);
    assert.equal(loadConfig({ ...base, TRUST_PROXY: ' 2 ' }).http.trustProxy, 2);
    for (const [raw, message] of [
      ['0', /^TRUST_PROXY: a hop count must be between 1 and 5, got "0"/],
      ['6', /^TRUST_PROXY: a hop count must be between 1 and 5, got "6"/],
      ['-1', /^TRUST_PROXY: "-1" is not an IP address or CIDR/],
      ['1.5', /^TRUST_PROXY: "1.5" is not an IP address or CIDR/],
      ['01', /^TRUST_PROXY: a hop count must be between 1 and 5, got "01"/],
      ['1,10.0.0.0/8', /^TRUST_PROXY: a hop count stands alone, not in a list of addresses/],
    ] as const) {
      assert.throws(() => loadConfig({ ...base, TRUST_PROXY: raw }), (error: ConfigError) => error instanceof ConfigError && message.test(error.message) && !error.message.includes('\n'), raw);
    }
  });

  it('names every missing secret in production in one line, saying every instance needs the same value', () => {
    assert.throws(
      () => loadConfig({ ...base, NODE_ENV: 'production' }),
      (error: ConfigError) =>
        error.message === 'ADMIN_API_TOKEN, SESSION_SECRET: are required in production (NODE_ENV=production): set each to the same value on every instance',
    );
    assert.throws(() => loadConfig({ ...base, NODE_ENV: 'production', ADMIN_API_TOKEN: 'a'.repeat(16) }), {
      message: 'SESSION_SECRET: is required in production (NODE_ENV=production): set it to the same value on every instance',
    });
  });

  it('warns that a secret generated per process does not work across instances, and never writes the admin token into the log', () => {
    const config = loadConfig(base);
    const [admin, session] = config.warnings;
    assert.equal(config.warnings.some((warning) => warning.includes(config.secrets.adminApiToken)), false, 'a log line carries no credential: logs are shipped and kept');
    assert.equal(
      admin,
      'ADMIN_API_TOKEN is not set: using a generated value for this process only, never written anywhere, so the admin API refuses every token; set ADMIN_API_TOKEN to the same value on every instance, or run `salescale up`, which keeps one in DATA_DIR/secrets.json',
    );
    assert.equal(session, "SESSION_SECRET is not set: using a generated value for this process only; set SESSION_SECRET to the same value on every instance, or sessions, guest carts, guest order links (also those a worker emails) and waiting-room passes won't work across instances");
  });

  it('lets the processes that read neither secret (queues, seed) start without them, in production too, without a warning, and asks only for what a process reads', () => {
    const config = loadConfig({ ...base, NODE_ENV: 'production' }, { secrets: [] });
    assert.equal(config.warnings.some((w) => /ADMIN_API_TOKEN|SESSION_SECRET/.test(w)), false);
    assert.equal(loadConfig(base, { secrets: [] }).warnings.some((w) => /ADMIN_API_TOKEN|SESSION_SECRET/.test(w)), false);
    // A given one is still checked.
    assert.throws(() => loadConfig({ ...base, NODE_ENV: 'production', SESSION_SECRET: 'short' }, { secrets: [] }), { message: /SESSION_SECRET: must be at least 32 characters/ });
    // The worker reads SESSION_SECRET only: that one is required in production, the admin token is not.
    assert.throws(() => loadConfig({ ...base, NODE_ENV: 'production' }, { secrets: ['SESSION_SECRET'] }), {
      message: 'SESSION_SECRET: is required in production (NODE_ENV=production): set it to the same value on every instance',
    });
    const worker = loadConfig(base, { secrets: ['SESSION_SECRET'] });
    assert.deepEqual(worker.warnings.filter((w) => /ADMIN_API_TOKEN|SESSION_SECRET/.test(w)).map((w) => w.split(' ')[0]), ['SESSION_SECRET']);
  });

  it('generates missing secrets outside production and accepts given ones in production', () => {
    const dev = loadConfig(base);
    assert.ok(dev.secrets.adminApiToken.length >= 16);
    assert.equal(dev.warnings.length, 2);
    const prod = loadConfig({ ...base, NODE_ENV: 'production', ADMIN_API_TOKEN: 'a'.repeat(32), SESSION_SECRET: 'b'.repeat(32) });
    assert.equal(prod.http.host, '0.0.0.0');
    assert.throws(() => loadConfig({ ...base, ADMIN_API_TOKEN: 'short' }), /at least 16/);
  });

  it('refuses a duration in milliseconds longer than a Node timer holds (2147483647), instead of firing it after 1 ms', () => {
    // setTimeout/setInterval take a delay above 2^31 - 1 ms as 1 ms (a TimeoutOverflowWarning): SHUTDOWN_TIMEOUT_MS=2147483648
    // made the web role exit 1 ("shutdown timed out") at once on every SIGTERM, PAYMENT_SWEEP_INTERVAL_MS=3000000000 swept every ms.
    // The variables that are timer delays (timeouts and intervals), not thresholds compared with a measurement.
    const timers = ['SHUTDOWN_TIMEOUT_MS', 'SHUTDOWN_DRAIN_DELAY_MS', 'KEEP_ALIVE_TIMEOUT_MS', 'REQUEST_TIMEOUT_MS', 'OUTBOX_POLL_INTERVAL_MS', 'ANALYTICS_FLUSH_INTERVAL_MS', 'PAYMENT_SWEEP_INTERVAL_MS', 'RATE_LIMIT_SALE_REFRESH_MS', 'LOAD_SHED_SAMPLE_MS', 'CLOUDWATCH_EMF_INTERVAL_MS'];
    for (const name of timers) assert.ok(name in envSchema, name);
    const accepted = timers.filter((name) => {
        try {
          loadConfig({ ...base, [name]: '2147483648' });
          return true;
        } catch (error) {
          return !(error instanceof ConfigError);
      }
    });
    assert.deepEqual(accepted, [], 'timer variables that accept 2147483648 ms');
  });

  it('refuses a REDIS_PREFIX with a hash-tag brace, whitespace or a glob character, which would break the keys built from it', () => {
    // Keys are `{prefix}:…` (one Redis Cluster slot per prefix): a `}` ends the hash tag early, a `{` opens another. The
    // stock gate and the prefix sweeps SCAN `{prefix}:stock:*`: a `*`, `?`, `[` or `\\` would match other prefixes' keys.
    const accepted = ['shop}', '{shop', 'a{b}c', 'my shop', ' shop', 'shop\t', 'shop*', 'sh?p', 'shop[1]', 'sh\\op'].filter((value) => {
      try {
        loadConfig({ ...base, REDIS_PREFIX: value });
        return true;
      } catch (error) {
        return !(error instanceof ConfigError && error.variable === 'REDIS_PREFIX');
      }
    });
    assert.deepEqual(accepted, [], 'REDIS_PREFIX values accepted');
    assert.equal(loadConfig({ ...base, REDIS_PREFIX: 'shop-eu_1.prod:v2' }).redis.prefix, 'shop-eu_1.prod:v2');
    assert.equal(loadCapacityCheckConfig({ REDIS_PREFIX: 'shop' }).redisPrefix, 'shop');
    assert.throws(() => loadCapacityCheckConfig({ REDIS_PREFIX: 'shop}' }), (error: ConfigError) => error.variable === 'REDIS_PREFIX');
  });

  it('refuses an ADMIN_API_TOKEN or SESSION_SECRET made of whitespace or too short, and an ADMIN_API_TOKEN with whitespace around it', () => {
    for (const [name, minLength] of [['ADMIN_API_TOKEN', 16], ['SESSION_SECRET', 32]] as const) {
      for (const value of [' '.repeat(64), '\t'.repeat(40), `  ${'a'.repeat(minLength - 1)}   `, 'a'.repeat(minLength - 1)]) {
        assert.throws(
          () => loadConfig({ ...base, NODE_ENV: 'production', ADMIN_API_TOKEN: 'a'.repeat(32), SESSION_SECRET: 'b'.repeat(32), [name]: value }),
          (error: ConfigError) => error instanceof ConfigError && error.variable === name,
          `${name}=${JSON.stringify(value)} accepted`,
        );
      }
      assert.ok(loadConfig({ ...base, [name]: 'c'.repeat(minLength) }));
    }
    for (const value of [`${'a'.repeat(16)}\n`, ` ${'a'.repeat(16)}`]) {
      assert.throws(() => loadConfig({ ...base, ADMIN_API_TOKEN: value }), {
        message: 'ADMIN_API_TOKEN: has leading or trailing whitespace (a file written with `echo` ends in a newline: write it with `printf %s`): remove it',
      });
    }
    // A signing key is kept as given: one with a newline in use keeps signing the same way after an upgrade.
    assert.equal(loadConfig({ ...base, SESSION_SECRET: `${'s'.repeat(32)}\n` }).secrets.sessionSecret, `${'s'.repeat(32)}\n`);
  });

  it('refuses a METRICS_TOKEN with whitespace around it or shorter than 16 characters', () => {
    for (const value of [`${'m'.repeat(16)}\n`, ` ${'m'.repeat(16)}`, `  ${'m'.repeat(15)}  `, 'm'.repeat(15)]) {
      assert.throws(() => loadConfig({ ...base, METRICS_TOKEN: value }), (error: ConfigError) => error instanceof ConfigError && error.variable === 'METRICS_TOKEN', `METRICS_TOKEN=${JSON.stringify(value)} accepted`);
    }
    assert.equal(loadConfig({ ...base, METRICS_TOKEN: 'm'.repeat(16) }).observability.metricsToken, 'm'.repeat(16));
  });

  it('refuses a STRIPE_SECRET_KEY or STRIPE_WEBHOOK_SECRET with whitespace around it', () => {
    const stripe = { ...base, PAYMENT_PROVIDER: 'stripe', STRIPE_SECRET_KEY: 'sk_test_0123456789', STRIPE_WEBHOOK_SECRET: 'whsec_0123456789' };
    assert.equal(loadConfig(stripe).payments.stripe?.webhookSecret, 'whsec_0123456789');
    for (const name of ['STRIPE_SECRET_KEY', 'STRIPE_WEBHOOK_SECRET'] as const) {
      assert.throws(() => loadConfig({ ...stripe, [name]: `${stripe[name]}\n` }), (error: ConfigError) => error instanceof ConfigError && error.variable === name);
    }
  });

  // A 5xx share above 100 % is never crossed: /health would never say degraded or unhealthy, without a word.
  it('refuses a HEALTH_ERROR_*_PERCENT above 100', () => {
    assert.throws(() => loadConfig({ ...base, HEALTH_ERROR_DEGRADED_PERCENT: '101', HEALTH_ERROR_UNHEALTHY_PERCENT: '101' }), /HEALTH_ERROR_DEGRADED_PERCENT: must be ≤ 100/);
    assert.throws(() => loadConfig({ ...base, HEALTH_ERROR_UNHEALTHY_PERCENT: '150' }), (error: ConfigError) => error instanceof ConfigError && error.variable === 'HEALTH_ERROR_UNHEALTHY_PERCENT');
    assert.equal(loadConfig({ ...base, HEALTH_ERROR_UNHEALTHY_PERCENT: '100' }).observability.health.thresholds.unhealthyErrorPercent, 100);
  });

  it('refuses a WAITING_ROOM_SAFETY_FACTOR above 1: a share of the measured capacity cannot exceed all of it', () => {
    assert.throws(() => loadConfig({ ...base, WAITING_ROOM_SAFETY_FACTOR: '1.5' }), (error: ConfigError) => error instanceof ConfigError && error.variable === 'WAITING_ROOM_SAFETY_FACTOR');
    assert.throws(() => loadConfig({ ...base, WAITING_ROOM_SAFETY_FACTOR: '2' }), (error: ConfigError) => error instanceof ConfigError && error.variable === 'WAITING_ROOM_SAFETY_FACTOR');
    assert.equal(loadConfig({ ...base, WAITING_ROOM_SAFETY_FACTOR: '1' }).waitingRoom.safetyFactor, 1);
    assert.equal(loadConfig({ ...base, WAITING_ROOM_SAFETY_FACTOR: '0.8' }).waitingRoom.safetyFactor, 0.8);
  });

  // nodemailer takes a sender it cannot read an address from ("not an address", a blank, "shop@") without a word and
  // sends with an empty envelope sender (MAIL FROM:<>, a bounce's): every order and payment email went out so.
  it('refuses a MAIL_FROM that is not one sender address (bare or "Name <address>")', () => {
    for (const value of ['not an address', ' ', 'shop@', '@example.com', 'Shop <shop@example.com', 'a@example.com, b@example.com', 'Shop <>']) {
      assert.throws(() => loadConfig({ ...base, MAIL_FROM: value }), (error: ConfigError) => error instanceof ConfigError && error.variable === 'MAIL_FROM', JSON.stringify(value));
    }
    for (const value of ['shop@example.com', 'Shop <shop@example.com>', '"Shop, Inc." <shop@example.com>', 'no-reply@localhost']) {
      assert.equal(loadConfig({ ...base, MAIL_FROM: value }).mail.from, value);
    }
    assert.equal(loadConfig(base).mail.from, 'Salescale <no-reply@salescale.local>');
  });

  // An unquoted ':' in the display name makes it RFC 5322 group syntax: nodemailer writes the From header
  // `Salescale:Orders <orders@shop.example>;` (a group named "Salescale", which a From header may not be), and the
  // buyer's client shows "Orders". Quoted, the colon is part of the name.
  it('refuses a MAIL_FROM whose display name nodemailer reads as a group (an unquoted colon)', () => {
    assert.throws(() => loadConfig({ ...base, MAIL_FROM: 'Salescale: Orders <orders@shop.example>' }), (error: ConfigError) => error instanceof ConfigError && error.variable === 'MAIL_FROM');
    assert.equal(loadConfig({ ...base, MAIL_FROM: '"Salescale: Orders" <orders@shop.example>' }).mail.from, '"Salescale: Orders" <orders@shop.example>');
  });

  it("has every variable in the README's table", () => {
    const readme = readFileSync(new URL('../../../README.md', import.meta.url), 'utf8');
    const table = readme.split('\n## Environment variables\n')[1]?.split('\n## ')[0] ?? '';
    // A row's first cell: one name, or several written `A` / `B` (a mention elsewhere in the README is no row).
    const rows = table.split('\n').filter((line) => line.startsWith('| `')).map((line) => line.split('|')[1] ?? '');
    const missing = Object.keys(envSchema).filter((name) => !rows.some((cell) => cell.includes(`\`${name}\``)));
    assert.deepEqual(missing, []);
  });

  // The README lists the variables that are a timer's delay, capped at Node's longest timer: a new one is listed too.
  it("lists in the README exactly the variables capped at Node's longest timer", () => {
    const readme = readFileSync(new URL('../../../README.md', import.meta.url), 'utf8');
    const paragraph = readme.split('\n## Environment variables\n')[1]?.split('\n\n').find((p) => p.startsWith("A variable that is a timer's delay")) ?? '';
    const listed = [...paragraph.matchAll(/`([A-Z][A-Z0-9_]*)`/g)].map((match) => match[1] as string);
    const capped = Object.entries(envSchema)
      .filter(([name, field]) => {
        try {
          field.parse('2147483648', name);
          return false;
        } catch (error) {
          return error instanceof ConfigError && /at most 2147483647 ms/.test(error.message);
        }
      })
      .map(([name]) => name);
    assert.ok(capped.length > 5, `found only ${capped.length} timer variables`);
    assert.deepEqual(listed.sort(), capped.sort());
  });

  // A default the README gets wrong is believed: a new engineer sizes pools and limits from this table, not the code.
  it("documents in the README table each variable's default as the code applies it", () => {
    const readme = readFileSync(new URL('../../../README.md', import.meta.url), 'utf8');
    const table = readme.split('\n## Environment variables\n')[1]?.split('\n## ')[0] ?? '';
    // The first literal of each row's default cell, per name: `A` / `B` rows give one default each, in order.
    const documented = new Map<string, string | undefined>();
    for (const line of table.split('\n').filter((l) => l.startsWith('| `'))) {
      const [, names = '', defaults = ''] = line.split('|');
      const vars = [...names.matchAll(/`([A-Z][A-Z0-9_]*)`/g)].map((match) => match[1] as string);
      const parts = defaults.split(' / ');
      for (const [i, name] of vars.entries()) {
        documented.set(name, /`([^`]*)`/.exec(vars.length > 1 && parts.length === vars.length ? (parts[i] as string) : defaults)?.[1]);
      }
    }
    const literal = (value: unknown): string | undefined => {
      if (value === undefined || (Array.isArray(value) && value.length === 0)) return undefined;
      if (Array.isArray(value)) return value.map((item) => (Array.isArray(item) ? item.join('=') : String(item))).join(',');
      return String(value);
    };
    const wrong: string[] = [];
    for (const [name, field] of Object.entries(envSchema)) {
      let applied: string | undefined;
      try {
        applied = literal(field.parse(undefined, name));
      } catch {
        continue; // required: no default to document
      }
      // Without a schema default the value is derived when the config is built (HOST, WORKER_CONCURRENCY, …): below.
      if (applied !== undefined && documented.get(name) !== applied) wrong.push(`${name}: code ${applied}, README ${documented.get(name)}`);
    }
    const config = loadConfig(base);
    const derived: Record<string, string> = {
      HOST: config.http.host,
      CACHE_REDIS_URL: 'REDIS_URL',
      WORKER_CONCURRENCY: Object.entries(config.queues.concurrency).map(([queue, n]) => `${queue}=${n}`).join(','),
      METRICS_PUBLIC: String(loadConfig({ ...base, NODE_ENV: 'production', ADMIN_API_TOKEN: 'a'.repeat(16), SESSION_SECRET: 's'.repeat(32) }).observability.metricsPublic),
    };
    for (const [name, applied] of Object.entries(derived)) if (documented.get(name) !== applied) wrong.push(`${name}: code ${applied}, README ${documented.get(name)}`);
    assert.deepEqual(wrong, []);
  });

  it('documents in the README table only variables something still reads', () => {
    const readme = readFileSync(new URL('../../../README.md', import.meta.url), 'utf8');
    const table = readme.split('\n## Environment variables\n')[1]?.split('\n## ')[0] ?? '';
    // The first cell of every row: one name, or several written `A` / `B`. "other `OTEL_*`" names no variable.
    const documented = new Set(
      table
        .split('\n')
        .filter((line) => line.startsWith('| `') || line.startsWith('| other'))
        .flatMap((line) => [...(line.split('|')[1] ?? '').matchAll(/`([A-Z][A-Z0-9_]*)`/g)].map((match) => match[1] as string)),
    );
    assert.ok(documented.size > 100, `parsed only ${documented.size} rows of the README's table`);
    // What the code reads: the schema, plus any other `env.NAME` / `env['NAME']` in the sources (main.ts and the
    // tracing switch read the environment before the config module).
    const src = fileURLToPath(new URL('../../', import.meta.url));
    const read = new Set<string>(Object.keys(envSchema));
    for (const file of readdirSync(src, { recursive: true, encoding: 'utf8' })) {
      if (!file.endsWith('.ts') || file.endsWith('.test.ts')) continue;
      for (const match of readFileSync(path.join(src, file), 'utf8').matchAll(/\benv(?:\.([A-Z][A-Z0-9_]*)\b|\[['"]([A-Z][A-Z0-9_]*)['"]\])/g)) read.add((match[1] ?? match[2]) as string);
    }
    // Variables a library reads itself that the README documents on purpose, because they change what Salescale
    // does. Each entry names its reader; drop it here and from the README together when that stops being true.
    const readByLibraries: Record<string, string> = {
      // The OpenTelemetry Node SDK (src/platform/telemetry/tracing.config.ts looks at these to decide whether to load it).
      OTEL_EXPORTER_OTLP_ENDPOINT: '@opentelemetry/sdk-node',
      OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: '@opentelemetry/sdk-node',
      OTEL_TRACES_EXPORTER: '@opentelemetry/sdk-node',
      OTEL_SDK_DISABLED: '@opentelemetry/sdk-node',
      // Salescale sets these to `none` when unset (tracing.config.ts sdkEnvDefaults); the SDK reads them.
      OTEL_METRICS_EXPORTER: '@opentelemetry/sdk-node',
      OTEL_LOGS_EXPORTER: '@opentelemetry/sdk-node',
      OTEL_SERVICE_NAME: '@opentelemetry/sdk-node',
    };
    for (const name of Object.keys(readByLibraries)) read.add(name);
    const stale = [...documented].filter((name) => !read.has(name));
    assert.deepEqual(stale, [], 'README rows for variables nothing reads');
    // The allow-list does not outlive the README rows it is for.
    assert.deepEqual(
      Object.keys(readByLibraries).filter((name) => !documented.has(name)),
      [],
    );
  });
});
