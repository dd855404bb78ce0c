import type { FastifyRequest } from 'fastify';

/**
 * A route's `preValidation` hook putting the query-string search term `name` in the form it is searched for, before
 * the schema checks it: in NFC (the form names are stored in) and trimmed. The schema's limits then hold for the term
 * used: a short term pasted with blanks around it is not refused as too long, and a blank one (`q=`, what a search box
 * submitted empty sends, or only blanks) is removed, as if absent: no filter. A repeated parameter (an array) is left
 * as it is, for the schema to refuse.
 */
export function normalizeSearchTerm(name: string): (request: FastifyRequest) => Promise<void> {
  return async (request) => {
    const query = request.query as Record<string, unknown>;
    const value = query[name];
    if (typeof value !== 'string') return;
    const term = value.normalize('NFC').trim();
    if (term === '') delete query[name];
    else query[name] = term;
  };
}
