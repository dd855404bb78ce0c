/**
 * Starts the OpenTelemetry Node SDK. Imported (dynamically) by `src/main.ts` before any module it
 * instruments is loaded: the ESM loader hook has to see `pg` and `ioredis` being imported, and the
 * CommonJS hook `node:http`, for their instrumentations to patch them.
 *
 * Exporter, protocol, endpoint, headers, sampler and batching come from the standard `OTEL_*`
 * variables, read by the SDK itself (OTLP over HTTP/protobuf to `OTEL_EXPORTER_OTLP_ENDPOINT` by default).
 *
 * What is traced: incoming requests through Fastify (`@fastify/otel`: the SERVER span, which also
 * takes the caller's `traceparent`; probes left out; lifecycle-hook and handler spans off: one span per
 * hook, and a handler span that repeats the request's, cost throughput and say little), pg queries made inside a trace
 * (`requireParentSpan`, so pollers don't open a trace each), every Lua step in Redis as one span named
 * after its script, or as an event on the request's span for bookkeeping steps such as the idempotency
 * record (`defineScript`, see `redisSpan`), and BullMQ producers and consumers (BullMQ's own
 * telemetry through `bullmq-otel`, see `queueTelemetry`).
 *
 * Left out on purpose, measured with `npx salescale bench checkout-tracing`:
 * - `@opentelemetry/instrumentation-http`: a second span per request (Fastify's already is the SERVER
 *   span) and per-request attribute work on every header, for nothing a reader of the trace needs.
 * - `@opentelemetry/instrumentation-ioredis`: a span per command (seven per checkout), and with
 *   auto-pipelining wrong ones: a pipeline is sent from the context of whichever request started it,
 *   so other requests' commands landed in that request's trace (one trace held hundreds of them).
 */
import { register as registerEsmHook } from 'import-in-the-middle/register-hooks.mjs';
import type { TracingSettings } from './tracing.config.ts';
import { markTracingStarted } from './trace-context.ts';

/** Probes and scrapes: frequent, uninteresting, and they would drown the traces worth reading. */
const UNTRACED_PATHS = new Set(['/health', '/ready', '/metrics']);

/** Registers the SDK and the instrumentations; `flushTracing()` exports what is left before exit. */
export async function startTracing(settings: TracingSettings): Promise<void> {
  // In-thread ESM hook for the modules instrumented here only (the rest load untouched).
  registerEsmHook({ include: ['pg', 'pg-pool'] });
  const { NodeSDK } = await import('@opentelemetry/sdk-node');
  const { PgInstrumentation } = await import('@opentelemetry/instrumentation-pg');
  const { FastifyOtelInstrumentation } = await import('@fastify/otel');

  // The SDK reads its configuration from the environment only; these fill what the operator left unset.
  for (const [name, value] of Object.entries(settings.sdkEnvDefaults)) process.env[name] = value;
  const sdk = new NodeSDK({
    ...(settings.defaultServiceName ? { serviceName: settings.defaultServiceName } : {}),
    instrumentations: [
      new FastifyOtelInstrumentation({ registerOnInitialization: true, instrumentHooks: false, instrumentHandler: false, ignorePaths: (options) => UNTRACED_PATHS.has(options.url) }),
      new PgInstrumentation({ requireParentSpan: true, ignoreConnectSpans: true }),
    ],
  });
  sdk.start();
  markTracingStarted(() => sdk.shutdown());
}
