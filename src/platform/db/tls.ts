import { readFileSync } from 'node:fs';
import type { ConnectionOptions } from 'node:tls';

/** The URL parameters through which pg sets up TLS; with a CA of our own they are replaced by `ssl`. */
const TLS_PARAMS = ['ssl', 'sslmode', 'sslrootcert', 'sslcert', 'sslkey', 'uselibpqcompat'];

/** The `sslmode` values pg 8 takes as `verify-full` (and says so in a nine-line warning on stderr). */
const VERIFY_FULL_ALIASES = ['prefer', 'require', 'verify-ca'];

/**
 * pg's connection settings for `url`. With `caCert` (DATABASE_CA_CERT, PEM: the CA that signed the server's
 * certificate, as DigitalOcean's managed PostgreSQL has one of its own) the server's certificate is verified in
 * full (chain to that CA, host name) whatever the URL's `sslmode` asks for short of turning TLS or verification off,
 * which the config refuses beside a CA: pg lets the URL's TLS parameters override an `ssl` option, so they are taken
 * out of the URL and a client certificate (`sslcert`, `sslkey`) is read here. Without it the URL is pg's to read, but
 * an `sslmode` pg 8 treats as `verify-full` (`require`, DigitalOcean's) is named so: the same connection, without the
 * warning pg prints on stderr for it (a `salescale: …` error line came after nine lines of it).
 */
export function pgConnection(url: string, caCert?: string): { connectionString: string; ssl?: ConnectionOptions } {
  const parsed = new URL(url);
  const params = parsed.searchParams;
  if (caCert === undefined) {
    const sslmode = params.get('sslmode');
    if (sslmode === null || !VERIFY_FULL_ALIASES.includes(sslmode) || params.has('uselibpqcompat')) return { connectionString: url };
    params.set('sslmode', 'verify-full');
    return { connectionString: parsed.toString() };
  }
  const read = (param: string) => {
    const file = params.get(param);
    return file === null ? {} : { [param === 'sslcert' ? 'cert' : 'key']: readFileSync(file, 'utf8') };
  };
  const ssl: ConnectionOptions = { ca: caCert, rejectUnauthorized: true, ...read('sslcert'), ...read('sslkey') };
  for (const param of TLS_PARAMS) params.delete(param);
  return { connectionString: parsed.toString(), ssl };
}
