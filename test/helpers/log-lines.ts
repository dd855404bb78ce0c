import { createLogger, type Logger } from '../../src/platform/logger/logger.ts';

/** One line of an app's log, parsed (pino's JSON): its level (30 info, 40 warn, 50 error), message and fields. */
export interface LogLine {
  level: number;
  msg: string;
  orderId?: number;
  reason?: string;
  [field: string]: unknown;
}

/** A logger at `level` and above whose lines are parsed into `lines`, for a test to read what an app logged. */
export function capturingLogger(level: 'info' | 'warn'): { logger: Logger; lines: LogLine[] } {
  const lines: LogLine[] = [];
  return { logger: createLogger({ level, destination: { write: (line: string) => void lines.push(JSON.parse(line)) } }), lines };
}
