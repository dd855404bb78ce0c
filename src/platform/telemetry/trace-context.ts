/**
 * The application's side of tracing: span helpers for the order path and the trace context that
 * rides along with follow-up work (outbox rows → BullMQ jobs). Everything here is a no-op costing a
 * few property reads while tracing is off (the OpenTelemetry API without an SDK registered).
 */
import { context, propagation, ROOT_CONTEXT, type Attributes, type Span, SpanKind, SpanStatusCode, trace, TraceFlags } from '@opentelemetry/api';
import { BullMQOtel } from 'bullmq-otel';

const TRACER = 'salescale';
let started = false;
let bullmqTelemetry: BullMQOtel | undefined;
let shutdown: (() => Promise<void>) | undefined;

/** Called by the tracing bootstrap once the SDK is registered, with how to flush and stop it. */
export function markTracingStarted(stop: () => Promise<void>): void {
  started = true;
  shutdown = stop;
}

/** Exports the spans still buffered (bounded: 5 s); a no-op while tracing is off. Call before exiting. */
export async function flushTracing(): Promise<void> {
  if (!shutdown) return;
  const stop = shutdown;
  shutdown = undefined;
  await Promise.race([stop().catch(() => {}), new Promise((resolve) => setTimeout(resolve, 5000).unref())]);
}

export function isTracingStarted(): boolean {
  return started;
}

/**
 * BullMQ's telemetry add-on for queues and workers (producer → consumer spans, context carried in the
 * job's options), or undefined while tracing is off so that BullMQ skips its tracing code entirely.
 */
export function queueTelemetry(): BullMQOtel | undefined {
  if (!started) return undefined;
  bullmqTelemetry ??= new BullMQOtel({ tracerName: 'bullmq' });
  return bullmqTelemetry;
}

/**
 * The active trace context as BullMQ's telemetry metadata (a JSON W3C `traceparent` carrier), for
 * work that leaves the process through the outbox; undefined when there is no sampled trace.
 */
export function currentTraceContext(): string | undefined {
  if (!started) return undefined;
  const carrier: Record<string, string> = {};
  propagation.inject(context.active(), carrier);
  return carrier.traceparent ? JSON.stringify(carrier) : undefined;
}

/**
 * The ids of the active span when it is sampled (the trace backend has it), for log lines to lead to their trace;
 * undefined while tracing is off, outside a trace, or in a trace the sampler left out.
 */
export function sampledSpanIds(): { traceId: string; spanId: string } | undefined {
  if (!started) return undefined;
  const span = trace.getActiveSpan();
  if (!span) return undefined;
  const { traceId, spanId, traceFlags } = span.spanContext();
  return (traceFlags & TraceFlags.SAMPLED) === TraceFlags.SAMPLED ? { traceId, spanId } : undefined;
}

/**
 * The trace a job continues (its BullMQ telemetry metadata: the `traceparent` carrier of the work that queued it) as
 * `{ traceId }` when that trace is sampled, for the job's log lines outside its span (BullMQ's `failed` event);
 * undefined while tracing is off or when the job carries none.
 */
export function jobTraceIds(metadata: string | undefined): { traceId: string } | undefined {
  if (!started || !metadata) return undefined;
  try {
    const match = /^[\da-f]{2}-([\da-f]{32})-[\da-f]{16}-([\da-f]{2})$/.exec(String((JSON.parse(metadata) as { traceparent?: unknown }).traceparent));
    return match && (Number.parseInt(match[2]!, 16) & TraceFlags.SAMPLED) === TraceFlags.SAMPLED ? { traceId: match[1]! } : undefined;
  } catch {
    return undefined;
  }
}

/** Attributes on the active span (the request's or the job's), e.g. the order id once it is known. */
export function setSpanAttributes(attributes: Attributes): void {
  if (!started) return;
  trace.getActiveSpan()?.setAttributes(attributes);
}

/** Runs `run` in a span of its own (child of the active one), recording a thrown error on it. */
export async function inSpan<T>(name: string, attributes: Attributes, run: () => Promise<T>): Promise<T> {
  if (!started) return run();
  return trace.getTracer(TRACER).startActiveSpan(name, { attributes }, (span) => endAfter(span, run));
}

/** Ends `span` once `run` settles, recording a thrown error on it. */
async function endAfter<T>(span: Span, run: () => Promise<T>): Promise<T> {
  try {
    return await run();
  } catch (error) {
    span.recordException(error as Error);
    span.setStatus({ code: SpanStatusCode.ERROR });
    throw error;
  } finally {
    span.end();
  }
}

/**
 * How a Redis step (a Lua script) shows in a trace: `span`, a CLIENT span of its own named
 * `redis <step>`; `event`, an event of that name on the active span, with its duration
 * (`salescale.duration_ms`) and, when it failed, `error.type` — for bookkeeping around a request's
 * work (idempotency records), which a reader wants to see but which would otherwise cost every
 * traced request a span each.
 */
export type RedisTrace = 'span' | 'event';

/**
 * One Redis step inside a trace, shown as `mode` says. Only inside a trace: Redis work outside one
 * (pollers, heartbeats) records nothing. A span is not made active (nothing nests in it).
 */
export async function redisSpan<T>(step: string, run: () => Promise<T>, mode: RedisTrace = 'span'): Promise<T> {
  if (!started) return run();
  const parent = context.active();
  const active = trace.getSpan(parent);
  if (active === undefined) return run();
  if (mode === 'event') return withEvent(active, `redis ${step}`, run);
  // The span's name says the step; one attribute says the system (each attribute is cleaned and encoded per span).
  return endAfter(trace.getTracer(TRACER).startSpan(`redis ${step}`, { kind: SpanKind.CLIENT, attributes: { 'db.system.name': 'redis' } }, parent), run);
}

/** Adds event `name` (stamped with `run`'s start, carrying its duration) to `span` once `run` settles. */
async function withEvent<T>(span: Span, name: string, run: () => Promise<T>): Promise<T> {
  const start = performance.now();
  const at = performance.timeOrigin + start;
  let failure: string | undefined;
  try {
    return await run();
  } catch (error) {
    failure = (error as Error)?.name ?? 'Error';
    throw error;
  } finally {
    const durationMs = Math.round((performance.now() - start) * 1000) / 1000;
    span.addEvent(name, failure === undefined ? { 'salescale.duration_ms': durationMs } : { 'salescale.duration_ms': durationMs, 'error.type': failure }, at);
  }
}

/**
 * Runs bookkeeping that goes on after the reply outside the request's trace: it is not part of the
 * request's latency, and a span for it would cost every traced request for nothing a reader needs.
 */
export function outsideTrace<T>(run: () => T): T {
  if (!started) return run();
  return context.with(ROOT_CONTEXT, run);
}

/** Span attribute names of the order path. */
export const ORDER_ATTRIBUTES = {
  orderId: 'salescale.order.id',
  idempotencyKey: 'salescale.order.idempotency_key',
  customerId: 'salescale.customer.id',
} as const;
