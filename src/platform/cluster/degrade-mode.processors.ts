import type { Logger } from 'pino';
import { requirePayload, type JobHandlers } from '../queue/processing.ts';
import { JOBS } from '../queue/queue-definitions.ts';
import type { DegradeModeChanged } from './cluster-node.ts';
import { isDegradeMode } from './degrade-mode.ts';

function isDegradeModeChanged(data: unknown): data is DegradeModeChanged {
  const d = data as Record<string, unknown> | null;
  return typeof d === 'object' && d !== null && isDegradeMode(d.from) && isDegradeMode(d.to) && (d.trigger === 'auto' || d.trigger === 'admin') && typeof d.reason === 'string';
}

/**
 * `degrade-mode-changed`: tells the team. For now the team channel is the worker's log (one
 * warn line per transition, which log-based alerting picks up); a chat or mail hook goes here.
 * Logging twice on a re-delivery is harmless, so no claim is taken.
 */
export function degradeModeProcessors(deps: { logger: Logger }): JobHandlers {
  return {
    [JOBS.degradeModeChanged]: async (job) => {
      const notice = requirePayload(job, isDegradeModeChanged);
      deps.logger.warn({ notification: 'degrade-mode', ...notice }, `degrade mode ${notice.from} → ${notice.to} (${notice.trigger}): ${notice.reason}`);
      return { notified: 'log' };
    },
  };
}
