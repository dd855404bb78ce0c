import { randomUUID } from 'node:crypto';
import fp from 'fastify-plugin';
import type { FastifyInstance, FastifyPluginAsync, FastifyRequest } from 'fastify';
import type { Logger } from 'pino';
import type { Database } from '../../platform/db/client.ts';
import { enqueueInTransaction } from '../../platform/outbox/outbox.ts';
import { JOBS, QUEUES } from '../../platform/queue/queue-definitions.ts';
import { startOfHour } from './analytics.service.ts';

/** Probes and scrapes are not demand: they stay out of the history the forecast learns from. */
const NOT_DEMAND = new Set(['/health', '/ready', '/metrics']);

/** `/api/v1/products/:id` → `products`, `/api/v1/admin/…` → `admin`, anything else outside the API → `other`. */
export function routeGroupOf(routeUrl: string | undefined): string | undefined {
  if (routeUrl === undefined || NOT_DEMAND.has(routeUrl) || routeUrl.startsWith('/admin/queues')) return undefined;
  const match = /^\/api\/v\d+\/([^/]+)/.exec(routeUrl);
  return match ? match[1] : 'other';
}

const HOUR_MS = 3_600_000;

/** The most outbox rows one flush insert carries (6 bind parameters a row; PostgreSQL takes at most 65,535). */
export const MAX_ROWS_PER_INSERT = 1000;

/**
 * Splits batches, in order, into chunks of whole batches of at most `maxRows` rows together (a batch of more rows
 * than that is a chunk of its own).
 */
export function chunksOf<B extends { rows: unknown[] }>(batches: B[], maxRows: number): B[][] {
  const chunks: B[][] = [];
  let chunk: B[] = [];
  let rows = 0;
  for (const batch of batches) {
    if (chunk.length > 0 && rows + batch.rows.length > maxRows) {
      chunks.push(chunk);
      chunk = [];
      rows = 0;
    }
    chunk.push(batch);
    rows += batch.rows.length;
  }
  if (chunk.length > 0) chunks.push(chunk);
  return chunks;
}

/**
 * Counts per hour (ISO) per route group; pure, so the flush logic is testable. `record` runs on every
 * request: it formats an hour only when the hour changes (profiled: formatting per request was a fifth
 * of a cached product read's CPU).
 */
export class RequestTally {
  private counts = new Map<string, Map<string, number>>();
  private hourStartMs = Number.NaN;
  private hourGroups = new Map<string, number>();

  record(group: string, at: Date | number): void {
    const ms = typeof at === 'number' ? at : at.getTime();
    if (!(ms >= this.hourStartMs && ms < this.hourStartMs + HOUR_MS)) {
      this.hourStartMs = Math.floor(ms / HOUR_MS) * HOUR_MS;
      const hour = startOfHour(new Date(this.hourStartMs)).toISOString();
      const groups = this.counts.get(hour) ?? new Map<string, number>();
      this.counts.set(hour, groups);
      this.hourGroups = groups;
    }
    this.hourGroups.set(group, (this.hourGroups.get(group) ?? 0) + 1);
  }

  /** Takes everything counted so far. */
  drain(): { hour: string; counts: Record<string, number> }[] {
    const out = [...this.counts].map(([hour, groups]) => ({ hour, counts: Object.fromEntries(groups) }));
    this.counts = new Map();
    this.hourStartMs = Number.NaN;
    return out;
  }

  /** Puts back a drained batch whose flush failed. */
  restore(batch: { hour: string; counts: Record<string, number> }[]): void {
    for (const { hour, counts } of batch) {
      for (const [group, n] of Object.entries(counts)) {
        const groups = this.counts.get(hour) ?? new Map<string, number>();
        groups.set(group, (groups.get(group) ?? 0) + n);
        this.counts.set(hour, groups);
      }
    }
  }
}

/**
 * Counts requests per hour and route group and flushes them through the outbox as
 * `update-analytics` jobs every `flushIntervalMs` (and on close). A crash loses at most one
 * interval of counts; a database outage keeps them in memory until the next flush. Closing waits for a flush
 * in flight, then flushes what is left (a failed flush's counts too); if that final flush fails, its counts are
 * lost, and logged as lost (with how many requests).
 * `whenDone` registers the per-request hook: the web role's, which also runs for a request whose client hung up
 * before the reply (Fastify's onResponse does not) — at a sale's overload those are demand the forecast must see.
 */
export function requestCounter(deps: {
  db: Database;
  logger: Logger;
  flushIntervalMs: number;
  whenDone: (app: FastifyInstance, handler: (request: FastifyRequest) => void) => void;
}): FastifyPluginAsync {
  const plugin: FastifyPluginAsync = async (app) => {
    const tally = new RequestTally();
    // Route patterns are few and fixed: classify each once.
    const groups = new Map<string | undefined, string | undefined>();
    deps.whenDone(app, (request) => {
      const url = request.routeOptions.url;
      let group = groups.get(url);
      if (group === undefined && !groups.has(url)) {
        group = routeGroupOf(url);
        if (groups.size < 1000) groups.set(url, group);
      }
      if (group !== undefined) tally.record(group, Date.now());
    });
    /** The number of requests a batch counts (for the log). */
    const requestsIn = (batch: { counts: Record<string, number> }[]) => batch.reduce((sum, { counts }) => sum + Object.values(counts).reduce((a, b) => a + b, 0), 0);
    /**
     * Batches drained but not known to be in the outbox, each with an id made before its first attempt. A failed
     * flush may have committed (its reply lost): each batch is sent again as it was, under its own id, and the
     * outbox keeps one row per id and hour (`dedupe_key`, ON CONFLICT DO NOTHING), so its counts are applied once.
     * Counts made since go in a new batch with a new id, never into a batch already tried.
     */
    let unsent: { id: string; rows: { hour: string; counts: Record<string, number> }[] }[] = [];
    const flush = async (final: boolean) => {
      const drained = tally.drain();
      if (drained.length > 0) unsent.push({ id: randomUUID(), rows: drained });
      if (unsent.length === 0) return;
      // In chunks of whole batches (≤ MAX_ROWS_PER_INSERT rows, at 6 bind parameters a row): after a long outage the
      // kept batches together exceed PostgreSQL's 65,535 parameters, and one insert of them all would fail for good.
      // Each chunk leaves `unsent` once its insert committed; the first failure stops the flush.
      for (const batches of chunksOf(unsent, MAX_ROWS_PER_INSERT)) {
        try {
          await enqueueInTransaction(
            deps.db.primary,
            batches.flatMap(({ id, rows }) =>
              rows.map((data) => ({ queue: QUEUES.notifications, name: JOBS.updateAnalytics, data: { eventType: 'requests', ...data }, dedupeKey: `requests:${id}:${data.hour}` })),
            ),
          );
          const sent = new Set(batches);
          unsent = unsent.filter((batch) => !sent.has(batch));
        } catch (error) {
          if (final) {
            deps.logger.error({ err: error, requests: requestsIn(unsent.flatMap((batch) => batch.rows)) }, 'request counts not flushed at shutdown; lost');
            unsent = [];
            return;
          }
          deps.logger.warn({ err: error }, 'request counts not flushed; kept for the next flush');
          return;
        }
      }
    };
    // One flush at a time: a timed flush that falls due while one is still running (a slow or waiting database)
    // is skipped, its counts go with the next one.
    let inFlight: Promise<void> | undefined;
    const timer = setInterval(() => {
      if (inFlight) return;
      inFlight = flush(false).finally(() => (inFlight = undefined));
    }, deps.flushIntervalMs);
    timer.unref();
    app.addHook('onClose', async () => {
      clearInterval(timer);
      // A flush still running may fail and put its counts back: the final flush runs after it, and takes them.
      if (inFlight) {
        deps.logger.info('request counts: waiting for the flush in flight before the final flush');
        await inFlight;
      }
      await flush(true);
    });
  };
  // Like fastify-plugin: the hook applies to the whole app, not only to routes inside this plugin.
  return fp(plugin, { name: 'salescale-request-counter', fastify: '5.x' });
}
