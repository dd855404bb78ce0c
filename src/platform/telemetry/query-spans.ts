/**
 * PostgreSQL statements as spans: each statement run on a pool's connections inside a trace is one
 * CLIENT span, `pg <operation>`, carrying the statement's text (parameterised: values never leave
 * the process). Outside a trace (pollers, the relay between jobs) nothing is recorded.
 *
 * Why not `@opentelemetry/instrumentation-pg`: it needs an ESM loader hook on `pg`, binds every
 * callback to its context, and on every traced statement and every pool acquire/release computes
 * attribute sets for OpenTelemetry metrics that Salescale leaves off (Prometheus has them) — its own
 * frames cost about as much per checkout as all the spans it made (CPU profile of the traced
 * checkout load). This wrapper is the per-connection hook `instrumentPool` already uses for timing.
 */
import { context, type Span, SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import type pg from 'pg';
import { getOperation } from '../metrics/db-query-metrics.ts';

const TRACER = 'salescale';

type QueryFn = (...args: unknown[]) => unknown;

/** Wraps the pool's connections (as they open) so that statements inside a trace are spans. Call before the first connection. */
export function traceQueries(pool: pg.Pool): void {
  pool.on('connect', (connection) => {
    const original = connection.query as unknown as QueryFn;
    const traced: QueryFn = function (this: unknown, ...args: unknown[]) {
      const parent = context.active();
      if (trace.getSpan(parent) === undefined) return original.apply(this, args);
      const first = args[0] as string | { text?: string } | undefined;
      const text = typeof first === 'string' ? first : first?.text;
      const attributes: Record<string, string> = { 'db.system.name': 'postgresql', 'db.query.text': text ?? '' };
      const database = (this as pg.Client).database;
      if (database) attributes['db.namespace'] = database;
      const span = trace.getTracer(TRACER).startSpan(`pg ${getOperation(text)}`, { kind: SpanKind.CLIENT, attributes }, parent);
      // A statement pg refuses before sending it (e.g. a closed client) throws here: end its span too.
      const run = (self: unknown, callArgs: unknown[]) => {
        try {
          return original.apply(self, callArgs);
        } catch (error) {
          end(span, error);
          throw error;
        }
      };
      const last = args[args.length - 1];
      if (typeof last === 'function') {
        args[args.length - 1] = function (this: unknown, error: unknown, ...rest: unknown[]) {
          end(span, error);
          return (last as QueryFn).call(this, error, ...rest);
        };
        return run(this, args);
      }
      const result = run(this, args) as { then?: unknown; once?: unknown } | undefined;
      if (typeof result?.then === 'function') {
        (result as Promise<unknown>).then(
          () => end(span, undefined),
          (error: unknown) => end(span, error),
        );
      } else if (typeof result?.once === 'function') {
        // A Submittable (cursor, stream): done when it ends or fails.
        const emitter = result as unknown as NodeJS.EventEmitter;
        emitter.once('end', () => end(span, undefined));
        emitter.once('error', (error: unknown) => end(span, error));
      } else {
        end(span, undefined);
      }
      return result;
    };
    (connection as unknown as { query: QueryFn }).query = traced;
  });
}

function end(span: Span, error: unknown): void {
  if (error) {
    span.setStatus({ code: SpanStatusCode.ERROR, message: (error as Error).message });
    span.setAttribute('error.type', (error as { code?: string }).code ?? (error as Error).name ?? 'Error');
  }
  span.end();
}
