import { loadConfig, type AppConfig } from '../../src/platform/config/config.ts';
import { createLogger } from '../../src/platform/logger/logger.ts';
import { createPlatform, type Platform } from '../../src/platform/platform.ts';
import { buildServer, type App } from '../../src/web/server.ts';
import { ADMIN_TOKEN } from './app.ts';
import { TEST_REDIS_URL, createTestDatabase, testPrefix, type TestDatabase } from './db.ts';

export interface AppWithRoutes {
  app: App;
  platform: Platform;
  config: AppConfig;
  database: TestDatabase;
  close(): Promise<void>;
}

/**
 * Like `createTestApp`, but lets the test add routes of its own (a route that fails on demand, one
 * that blocks the event loop) before the app is made ready.
 */
export async function createAppWithRoutes(extraEnv: Record<string, string>, addRoutes: (app: App) => void): Promise<AppWithRoutes> {
  const database = await createTestDatabase();
  const config = loadConfig({
    NODE_ENV: 'test',
    DATABASE_URL: database.url,
    REDIS_URL: TEST_REDIS_URL,
    REDIS_PREFIX: testPrefix(),
    ADMIN_API_TOKEN: ADMIN_TOKEN,
    SESSION_SECRET: 'test-session-secret-0123456789abcdef',
    LOG_LEVEL: 'silent',
    ...extraEnv,
  });
  const platform = createPlatform(config, 'web', createLogger({ level: 'silent' }));
  const app = await buildServer(platform);
  addRoutes(app);
  await app.ready();
  return {
    app,
    platform,
    config,
    database,
    async close() {
      await app.close();
      await platform.close();
      await database.drop();
    },
  };
}
