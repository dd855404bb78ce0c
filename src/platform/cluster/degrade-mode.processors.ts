import type { Logger } from 'pino';
import type { Database } from '../db/client.ts';
import { jobIdOf, requirePayload, type JobHandlers } from '../queue/processing.ts';
import { JOBS, QUEUES } from '../queue/queue-definitions.ts';
import { jobClaims } from '../queue/queue.tables.ts';
import { limitJobTransaction, type JobTransactionLimits } from '../queue/job-transaction.ts';
import type { DegradeModeChanged } from './cluster-node.ts';
import { isDegradeMode } from './degrade-mode.ts';

function isDegradeModeChanged(data: unknown): data is DegradeModeChanged {
  const d = data as Record<string, unknown> | null;
  return typeof d === 'object' && d !== null && isDegradeMode(d.from) && isDegradeMode(d.to) && (d.trigger === 'auto' || d.trigger === 'admin') && typeof d.reason === 'string';
}

/**
 * `degrade-mode-changed`: tells the team. For now the team channel is the worker's log (one
 * warn line per transition, which log-based alerting picks up); a chat or mail hook goes here.
 * Told under the job's claim, committed after the line is written: a re-delivery before the commit tells it
 * again (harmless), and after a queue Redis loss the outbox relay does not queue the notices already told
 * again. Without the claim it queued every transition of the outbox's retention, and the team was told again,
 * out of order and as if now, of days-old transitions.
 */
export function degradeModeProcessors(deps: { logger: Logger; db: Database; jobTransaction?: JobTransactionLimits }): JobHandlers {
  return {
    [JOBS.degradeModeChanged]: async (job) => {
      const notice = requirePayload(job, isDegradeModeChanged);
      const jobId = jobIdOf(job);
      return deps.db.primary.transaction(async (tx) => {
        await limitJobTransaction(tx, deps.jobTransaction);
        const claimed = await tx.insert(jobClaims).values({ queue: QUEUES.notifications, jobId }).onConflictDoNothing().returning({ jobId: jobClaims.jobId });
        if (claimed.length === 0) return { notified: false };
        deps.logger.warn({ notification: 'degrade-mode', ...notice }, `degrade mode ${notice.from} → ${notice.to} (${notice.trigger}): ${notice.reason}`);
        return { notified: 'log' };
      });
    },
  };
}
