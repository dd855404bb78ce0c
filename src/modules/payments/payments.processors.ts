import { getTableName } from 'drizzle-orm';
import { failForGood, requirePayload, type JobHandlers } from '../../platform/queue/processing.ts';
import { JOBS } from '../../platform/queue/queue-definitions.ts';
import { ORDER_ATTRIBUTES, setSpanAttributes } from '../../platform/telemetry/trace-context.ts';
import { isOrderJob } from '../orders/processors.ts';
import type { OpenIntentsCancel } from './open-intents.ts';
import { ProviderCallRefusedError } from './payment-provider.ts';
import { STILL_OPEN_STATUSES } from './payments.repository.ts';
import { payments } from './payments.tables.ts';

/**
 * When a relayed `cancel-open-intents` row still needs its job after a queue Redis loss (the relay's `stillNeeded`, an
 * SQL condition on the outbox row `o`): while its order has a payment still open (`stillOpen`). A row whose `orderId` is
 * not an integer is queued again (its job refuses it).
 */
export const CANCEL_OPEN_INTENTS_STILL_NEEDED = `CASE WHEN (o.data->>'orderId') ~ '^[0-9]{1,18}$'
  THEN EXISTS (SELECT 1 FROM ${getTableName(payments)} p WHERE p.order_id = (o.data->>'orderId')::bigint AND p.status IN (${STILL_OPEN_STATUSES.map((status) => `'${status}'`).join(', ')})
    AND p.client_secret IS NOT NULL AND NOT p.late) ELSE true END`;

/**
 * `cancel-open-intents`: see `createOpenIntentsCancel`. A provider outage is retried (the order queue's attempts and
 * backoff); a run again cancels nothing twice (keyed, and a canceled payment is no longer open).
 */
export function paymentProcessors(deps: { openIntents: OpenIntentsCancel }): JobHandlers {
  return {
    [JOBS.cancelOpenIntents]: async (job) => {
      const { orderId } = requirePayload(job, isOrderJob);
      setSpanAttributes({ [ORDER_ATTRIBUTES.orderId]: orderId });
      return deps.openIntents.cancelOpenIntents(orderId, job.attemptsMade).catch((error: unknown) => {
        // Refused for good (an intent the provider does not know): every attempt left would be refused the same.
        if (error instanceof ProviderCallRefusedError && error.permanent) throw failForGood(`the provider refused for good to cancel an open intent of order ${orderId}: ${error.message}`);
        throw error;
      });
    },
  };
}
