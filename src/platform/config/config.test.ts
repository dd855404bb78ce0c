import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { ConfigError, envSchema, loadConfig } from './config.ts';

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

  it('names every bad variable at once', () => {
    assert.throws(() => loadConfig({ ...base, PORT: 'x', DB_POOL_MAX: '-1' }), /PORT, DB_POOL_MAX/);
  });

  it('accepts proxy addresses and CIDRs but never a blanket true', () => {
    assert.deepEqual(loadConfig({ ...base, TRUST_PROXY: '10.0.0.0/8, 127.0.0.1,::1' }).http.trustProxy, ['10.0.0.0/8', '127.0.0.1', '::1']);
    assert.throws(() => loadConfig({ ...base, TRUST_PROXY: 'true' }), /TRUST_PROXY/);
    assert.throws(() => loadConfig({ ...base, TRUST_PROXY: '10.0.0.0/33' }), /TRUST_PROXY/);
    // Every address is a blanket true by another name: any client could pick its X-Forwarded-For.
    for (const everyone of ['0.0.0.0/0', '::/0', '10.0.0.1, 0.0.0.0/0']) {
      assert.throws(() => loadConfig({ ...base, TRUST_PROXY: everyone }), /TRUST_PROXY: "(0\.0\.0\.0|::)\/0" trusts every address/, everyone);
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

  it('warns that a secret generated per process does not work across instances', () => {
    const [admin, session] = loadConfig(base).warnings;
    assert.match(admin ?? '', /^ADMIN_API_TOKEN is not set: using a generated value for this process only \(\S{16,}\); set ADMIN_API_TOKEN to the same value on every instance, or the admin API accepts this token on this instance only$/);
    assert.equal(session, "SESSION_SECRET is not set: using a generated value for this process only; set SESSION_SECRET to the same value on every instance, or sessions, guest carts and waiting-room passes won't work across instances");
  });

  it('lets the processes that read neither secret (worker, queues, seed) start without them, in production too, without a warning', () => {
    const config = loadConfig({ ...base, NODE_ENV: 'production' }, { secrets: 'unused' });
    assert.equal(config.warnings.some((w) => /ADMIN_API_TOKEN|SESSION_SECRET/.test(w)), false);
    assert.equal(loadConfig(base, { secrets: 'unused' }).warnings.some((w) => /ADMIN_API_TOKEN|SESSION_SECRET/.test(w)), false);
    // A given one is still checked.
    assert.throws(() => loadConfig({ ...base, NODE_ENV: 'production', SESSION_SECRET: 'short' }, { secrets: 'unused' }), { message: /SESSION_SECRET: must be at least 32 characters/ });
  });

  it('generates missing secrets outside production and accepts given ones in production', () => {
    const dev = loadConfig(base);
    assert.ok(dev.secrets.adminApiToken.length >= 16);
    assert.equal(dev.warnings.length, 2);
    const prod = loadConfig({ ...base, NODE_ENV: 'production', ADMIN_API_TOKEN: 'a'.repeat(32), SESSION_SECRET: 'b'.repeat(32) });
    assert.equal(prod.http.host, '0.0.0.0');
    assert.throws(() => loadConfig({ ...base, ADMIN_API_TOKEN: 'short' }), /at least 16/);
  });

  it('has every variable documented in the README', () => {
    const readme = readFileSync(new URL('../../../README.md', import.meta.url), 'utf8');
    const missing = Object.keys(envSchema).filter((name) => !readme.includes(`\`${name}\``));
    assert.deepEqual(missing, []);
  });
});
