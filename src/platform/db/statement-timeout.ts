/**
 * Beyond the statement timeout (DB_STATEMENT_TIMEOUT_MS), for PostgreSQL to cancel a statement and end its
 * transaction: a statement begun that long ago has surely ended (see the waiting room's checkout rule).
 */
export const STATEMENT_END_MARGIN_MS = 500;
