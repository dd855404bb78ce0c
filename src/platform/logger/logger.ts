import { pino, type Logger, type LoggerOptions } from 'pino';

export type { Logger } from 'pino';

export function createLogger(options: { level: string; name?: string; instanceId?: string }): Logger {
  const config: LoggerOptions = {
    level: options.level,
    name: options.name,
    base: options.instanceId ? { instance: options.instanceId } : undefined,
    // Never log credentials that arrive in headers.
    redact: { paths: ['req.headers.authorization', 'req.headers.cookie', 'res.headers["set-cookie"]'], censor: '[redacted]' },
  };
  return pino(config);
}
