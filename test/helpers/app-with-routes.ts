import type { App } from '../../src/web/server.ts';
import { createTestApp, type TestApp } from './app.ts';

export type AppWithRoutes = TestApp;

/** `createTestApp` with test-only routes added before the app is made ready. */
export function createAppWithRoutes(extraEnv: Record<string, string>, addRoutes: (app: App) => void): Promise<AppWithRoutes> {
  return createTestApp(extraEnv, addRoutes);
}
