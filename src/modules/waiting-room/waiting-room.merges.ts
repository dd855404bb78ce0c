import type { Logger } from 'pino';
import type { MergedTicket } from './waiting-room.repository.ts';

/*
 * The record in PostgreSQL of tickets a merge took out of the line (a shopper signing in with a guest ticket while
 * their account holds another: JOIN and STATUS merge them), so that their passes buy nothing whatever Redis loses.
 * Written before the reply that follows the merge; one PostgreSQL refused is tried again in the background.
 */

export interface MergeRecordDeps {
  /**
   * Records in PostgreSQL the tickets a merge took out of the line, each with the ticket kept (the repository's
   * `recordMerges`): their passes then buy nothing whatever Redis loses.
   */
  recordMerges: (eventId: number, merges: readonly MergedTicket[]) => Promise<void>;
  logger: Logger;
}

/** A merge record PostgreSQL refused is tried again after this, doubling per try up to `MERGE_RECORD_RETRY_MAX_MS`. */
const MERGE_RECORD_RETRY_MS = 500;
const MERGE_RECORD_RETRY_MAX_MS = 30_000;
/** Tries of a merge record in all (about 7 minutes of retries): a PostgreSQL outage or failover passes in less. */
const MERGE_RECORD_ATTEMPTS = 20;

/** The pairs (ticket dropped, ticket kept) a script's merges returned from `from` on (see `merge`). */
export function mergesIn(reply: readonly unknown[], from: number): MergedTicket[] {
  const merges: MergedTicket[] = [];
  for (let i = from; i + 1 < reply.length; i += 2) merges.push({ ticketId: String(reply[i]), keptId: String(reply[i + 1]) });
  return merges;
}

export function createMergeRecords(deps: MergeRecordDeps) {
  /** Merge records PostgreSQL refused, waiting for their next try (see `recordMerges`). */
  const unrecorded = new Map<NodeJS.Timeout, { eventId: number; merges: readonly MergedTicket[] }>();
  /** Set by `stop`: a try still running then is not followed by another (its timer would outlive the room). */
  let stopped = false;

  /** Tries a failed merge record again after a backoff, until it is written, `MERGE_RECORD_ATTEMPTS` ran out or the room stopped. */
  function retryRecord(eventId: number, merges: readonly MergedTicket[], attempt: number): void {
    if (stopped) {
      deps.logger.error({ saleEvent: eventId, merges }, 'waiting room: stopped before merged tickets were recorded in PostgreSQL (only Redis refuses their passes)');
      return;
    }
    const handle = setTimeout(() => {
      unrecorded.delete(handle);
      deps.recordMerges(eventId, merges).then(
        () => deps.logger.info({ saleEvent: eventId, merges, attempt }, 'waiting room: merged tickets recorded in PostgreSQL on a retry'),
        (error: unknown) => {
          if (attempt + 1 < MERGE_RECORD_ATTEMPTS) return retryRecord(eventId, merges, attempt + 1);
          deps.logger.error({ err: error, saleEvent: eventId, merges }, 'waiting room: gave up recording merged tickets in PostgreSQL (only Redis refuses their passes)');
        },
      );
    }, Math.min(MERGE_RECORD_RETRY_MS * 2 ** (attempt - 1), MERGE_RECORD_RETRY_MAX_MS));
    handle.unref();
    unrecorded.set(handle, { eventId, merges });
  }

  /**
   * Records what a merge dropped in PostgreSQL before the reply that follows it (rare: a shopper signing in with a
   * guest ticket while their account holds another). A failure is logged and the record tried again in the
   * background with a backoff (a PostgreSQL outage or failover passes): meanwhile Redis's `merged` refuses the dropped
   * ticket's pass at checkout. A record still unwritten when the instance stops is logged (Redis alone holds it then).
   */
  async function recordMerges(eventId: number, merges: readonly MergedTicket[]): Promise<void> {
    if (merges.length === 0) return;
    await deps.recordMerges(eventId, merges).catch((error: unknown) => {
      deps.logger.error({ err: error, saleEvent: eventId, merges }, 'waiting room: could not record merged tickets in PostgreSQL (tried again in the background)');
      retryRecord(eventId, merges, 1);
    });
  }

  return {
    recordMerges,
    /** Retries are scheduled again (the room started, or started again after a `stop`). */
    start(): void {
      stopped = false;
    },
    /** A try still running from now on is not followed by another (see `stopped`). */
    stop(): void {
      stopped = true;
    },
    /** Cancels the retries still waiting, each logged: only Redis refuses those passes now. */
    dropUnrecorded(): void {
      for (const [handle, record] of unrecorded) {
        clearTimeout(handle);
        deps.logger.error({ saleEvent: record.eventId, merges: record.merges }, 'waiting room: stopped before merged tickets were recorded in PostgreSQL (only Redis refuses their passes)');
      }
      unrecorded.clear();
    },
  };
}
