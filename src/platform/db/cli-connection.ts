import type pg from 'pg';
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
