/**
 * Lock waits during a case: every `intervalMs` one query of `pg_stat_activity` for the sessions that
 * wait for a lock (`pg_blocking_pids`), with who holds it. Tells a latency figure caused by a lock
 * (a frozen worker holding rows the web needs) from one caused by a busy machine (no waits at all).
 */
import type pg from 'pg';
import { sleep } from './processes.ts';

export interface LockWaitFigures {
  samples: number;
  /** Samples in which a web session (`salescale-web`) waited for a lock. */
  samplesWithWebWaiting: number;
  /** Samples in which any session waited for a lock. */
  samplesWithAnyWaiting: number;
  /** The longest wait seen (the waiting statement's age when sampled). */
  maxWaitMs: number;
  /** The most frequent waits: `waiter app: statement <- holder app (state): statement`, with the samples they were seen in. */
  top: Record<string, number>;
}

interface Row {
  app: string;
  wait_s: string;
  query: string;
  holders: { app: string; state: string; query: string }[] | null;
}

/** Samples until `stop()`, which resolves to the figures. A failed sample (a restart, a crash) is skipped. */
export function sampleLockWaits(pool: pg.Pool, intervalMs = 200): { stop(): Promise<LockWaitFigures> } {
  const figures: LockWaitFigures = { samples: 0, samplesWithWebWaiting: 0, samplesWithAnyWaiting: 0, maxWaitMs: 0, top: {} };
  const short = (q: string) => q.replace(/\s+/g, ' ').trim().slice(0, 70);
  let stopped = false;
  const running = (async () => {
    while (!stopped) {
      try {
        const { rows } = await pool.query<Row>(
          `SELECT w.application_name AS app, extract(epoch FROM now() - w.query_start) AS wait_s, w.query,
                  (SELECT json_agg(json_build_object('app', b.application_name, 'state', b.state, 'query', b.query))
                   FROM pg_stat_activity b WHERE b.pid = ANY (pg_blocking_pids(w.pid))) AS holders
           FROM pg_stat_activity w WHERE w.datname = current_database() AND cardinality(pg_blocking_pids(w.pid)) > 0`,
        );
        figures.samples++;
        if (rows.length > 0) figures.samplesWithAnyWaiting++;
        if (rows.some((r) => r.app === 'salescale-web')) figures.samplesWithWebWaiting++;
        for (const row of rows) {
          figures.maxWaitMs = Math.max(figures.maxWaitMs, Math.round(Number(row.wait_s) * 1000));
          const holders = (row.holders ?? []).map((h) => `${h.app} (${h.state}): ${short(h.query)}`).join(' + ');
          const key = `${row.app}: ${short(row.query)} <- ${holders}`;
          figures.top[key] = (figures.top[key] ?? 0) + 1;
        }
      } catch {
        // The database may be down in this case: the next sample tells.
      }
      await sleep(intervalMs);
    }
  })();
  return {
    async stop() {
      stopped = true;
      // A sample stuck on a server that went away does not hold the case up.
      await Promise.race([running, sleep(5000)]);
      figures.top = Object.fromEntries(Object.entries(figures.top).sort((a, b) => b[1] - a[1]).slice(0, 5));
      return figures;
    },
  };
}
