import type { AppConfig } from '../platform/config/config.ts';
import { listenOrExplain } from '../platform/http/listen-error.ts';
import { listenMetricsServer } from '../platform/metrics/metrics-server.ts';
import { createPlatform, type Platform } from '../platform/platform.ts';
import { composeWeb } from './compose.ts';
import { buildServer, type App } from './server.ts';

export interface RunningWeb {
  app: App;
  platform: Platform;
  /** http://host:port the server listens on. */
  url: string;
  /** Drain and stop: readiness flips to 503, in-flight requests finish, pools close. */
  shutdown(reason: string): Promise<void>;
}

/**
 * Starts the web role: builds the app, listens, and returns a handle to drain it. If it cannot start (a
 * port taken), it closes what it opened before rethrowing, the platform too when it created it, so that a
 * caller which then stops PostgreSQL and Redis (`salescale up`) logs no lost connections over the cause.
 */
export async function startWeb(config: AppConfig, givenPlatform?: Platform): Promise<RunningWeb> {
  const platform = givenPlatform ?? createPlatform(config, 'web');
  const { logger } = platform;
  const { app, url, metricsServer } = await listen(config, platform).catch(async (error: unknown) => {
    if (!givenPlatform) await platform.close().catch(() => {});
    throw error;
  });

  let stopping: Promise<void> | undefined;
  const shutdown = (reason: string) => {
    stopping ??= (async () => {
      logger.info({ reason }, 'draining: readiness now answers 503');
      app.lifecycle.draining = true;
      if (config.shutdown.drainDelayMs > 0) await new Promise((resolve) => setTimeout(resolve, config.shutdown.drainDelayMs));
      // SHUTDOWN_TIMEOUT_MS=0 is no limit, as 0 is for the other timeouts (the worker's too): the platform's kill is the only one.
      const { timeoutMs } = config.shutdown;
      const force =
        timeoutMs > 0
          ? setTimeout(() => {
              logger.error({ timeoutMs }, 'shutdown timed out; exiting with requests still open');
              process.exit(1);
            }, timeoutMs)
          : undefined;
      force?.unref();
      // Keep-alive connections whose request was still running when close() began become idle
      // only later: sweep them so the server can finish instead of waiting for keepAliveTimeout.
      const closing = app.close();
      const sweeper = setInterval(() => app.server.closeIdleConnections(), 100);
      await closing;
      clearInterval(sweeper);
      await platform.close();
      await metricsServer?.close();
      clearTimeout(force);
      logger.info('web role stopped');
    })();
    return stopping;
  };
  return { app, platform, url, shutdown };
}

/** Builds the app and opens its listeners; closes the app again when one of them cannot listen. */
async function listen(config: AppConfig, platform: Platform): Promise<{ app: App; url: string; metricsServer?: { close(): Promise<void> } }> {
  // Before anything reads or writes Redis: a database the server does not have is a configuration error, not database 0.
  await platform.checkRedisDatabases();
  const app = await buildServer(await composeWeb(platform));
  try {
    const { host, port } = config.http;
    const url = (await listenOrExplain({ host, port, portVariable: 'PORT' }, () => app.listen({ host, port }))).replace('[::1]', 'localhost');
    // No `instance` here: the platform's logger puts it on every line, and a second one made the key appear twice.
    platform.logger.info({ url }, 'web role listening');
    // METRICS_PORT: /metrics on its own listener (not on the public port); closed last so the final scrape still works.
    const { metricsPort, metricsToken } = config.observability;
    const metricsServer =
      metricsPort > 0
        ? await listenOrExplain({ host, port: metricsPort, portVariable: 'METRICS_PORT' }, () => listenMetricsServer({ registry: platform.metrics.registry, token: metricsToken, port: metricsPort, host }))
        : undefined;
    return { app, url, metricsServer };
  } catch (error) {
    await app.close().catch(() => {});
    throw error;
  }
}
