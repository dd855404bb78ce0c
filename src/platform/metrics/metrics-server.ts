import { createServer, type Server } from 'node:http';
import type client from 'prom-client';
import { isScrapeAuthorized } from './scrape-auth.ts';

/**
 * A separate listener that serves only `GET /metrics` (METRICS_PORT), so the public port does not
 * expose metrics; METRICS_TOKEN applies here too.
 */
export function createMetricsServer(deps: { registry: client.Registry; token: string | undefined }): Server {
  return createServer((request, response) => {
    const send = (status: number, body: string, type = 'application/json') => {
      response.writeHead(status, { 'content-type': type });
      response.end(body);
    };
    const path = (request.url ?? '/').split('?')[0];
    if (path !== '/metrics') return send(404, JSON.stringify({ error: { code: 'NOT_FOUND', message: 'only /metrics is served here' } }));
    if (request.method !== 'GET') return send(405, JSON.stringify({ error: { code: 'METHOD_NOT_ALLOWED', message: 'GET only' } }));
    if (!isScrapeAuthorized(request.headers.authorization, deps.token)) {
      response.setHeader('www-authenticate', 'Bearer');
      return send(401, JSON.stringify({ error: { code: 'UNAUTHORIZED', message: 'a valid metrics token is required' } }));
    }
    deps.registry.metrics().then(
      (text) => send(200, text, deps.registry.contentType),
      (error: Error) => send(500, JSON.stringify({ error: { code: 'METRICS_FAILED', message: error.message } })),
    );
  });
}

/** Starts the METRICS_PORT listener; resolves once it listens. */
export async function listenMetricsServer(deps: { registry: client.Registry; token: string | undefined; port: number; host: string }): Promise<{ close(): Promise<void> }> {
  const server = createMetricsServer(deps);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(deps.port, deps.host, () => resolve());
  });
  return {
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
