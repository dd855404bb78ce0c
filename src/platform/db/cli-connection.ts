import pg from 'pg';
import { pgConnection } from './tls.ts';

/**
 * How long a CLI connection attempt may take. pg waits for ever by default, so a server that accepts
 * the connection and never answers (a firewall dropping packets, a port forwarded to something else)
 * would hang `migrate` in a release step; the web and worker pools use 5 s.
 */
export const CLI_CONNECTION_TIMEOUT_MS = 10_000;

/**
 * Settings for the CLI's short-lived connections (migrate, seed, queues, the scaling toolkit); `caCert`:
 * DATABASE_CA_CERT, the CA the server's certificate is verified against (see `pgConnection`).
 */
export function getCliConnectionConfig(databaseUrl: string, applicationName: string, caCert?: string): pg.ClientConfig {
  return { ...pgConnection(databaseUrl, caCert), application_name: applicationName, connectionTimeoutMillis: CLI_CONNECTION_TIMEOUT_MS };
}

/**
 * Keeps a connection the server ends from crashing a CLI command, and returns `db`. pg emits 'error' (fatal without a
 * listener) when a connection that runs no query is lost: a pool's idle client, a client between two statements, and
 * one closing (`pool.end()` resolves before the server has read the Terminate, and a client's `end()` leaves a moment
 * while it runs, so a failover, pg_terminate_backend or DROP DATABASE … WITH (FORCE) can send it 57P01 after the
 * command's work is done). Nothing
 * is lost by ignoring it: a query running on the connection fails with its own error, a later one with "not queryable",
 * and the command reports that; a pool replaces the client.
 */
export function survivingLostConnections<T extends pg.Pool | pg.Client>(db: T): T {
  const ignore = () => {};
  if (db instanceof pg.Pool) {
    db.on('error', ignore);
    // A checked-out client has no pool listener (pg-pool removes it while the client is out).
    db.on('connect', (client) => client.on('error', ignore));
  } else {
    (db as pg.Client).on('error', ignore);
  }
  return db;
}
