/**
 * Starts the OpenTelemetry Node SDK. Imported (dynamically) by `src/main.ts` before the CLI and the
 * roles are loaded, so that `@fastify/otel` sees Fastify being initialised and the pools are created
 * with tracing known to be on.
 *
 * Exporter, protocol, endpoint, headers, sampler and batching come from the standard `OTEL_*`
 * variables, read by the SDK itself (OTLP over HTTP/protobuf to `OTEL_EXPORTER_OTLP_ENDPOINT` by default).
 *
 * What is traced: incoming requests through Fastify (`@fastify/otel`: the SERVER span, which also
 * takes the caller's `traceparent`; probes left out; lifecycle-hook and handler spans off: one span per
 * hook, and a handler span that repeats the request's, cost throughput and say little), PostgreSQL
 * statements made inside a trace (`traceQueries`, on every pool: one span per statement), every Lua
 * step in Redis as one span named after its script, or as an event on the request's span for
 * bookkeeping steps such as the idempotency record (`defineScript`, see `redisSpan`), and BullMQ
 * producers and consumers (BullMQ's own telemetry through `bullmq-otel`, see `queueTelemetry`).
 *
 * Left out on purpose, measured with `npx salescale bench checkout-tracing`:
 * - `@opentelemetry/instrumentation-http`: a second span per request (Fastify's already is the SERVER
 *   span) and per-request attribute work on every header, for nothing a reader of the trace needs.
 * - `@opentelemetry/instrumentation-ioredis`: a span per command (seven per checkout), and with
 *   auto-pipelining wrong ones: a pipeline is sent from the context of whichever request started it,
 *   so other requests' commands landed in that request's trace (one trace held hundreds of them).
 * - `@opentelemetry/instrumentation-pg`: see `query-spans.ts` (its metrics work on every statement).
 */
import { redactUrl } from '../logger/redact-url.ts';
import type { TracingSettings } from './tracing.config.ts';
import { markTracingStarted } from './trace-context.ts';

/** Probes and scrapes: frequent, uninteresting, and they would drown the traces worth reading. */
const UNTRACED_PATHS = new Set(['/health', '/ready', '/metrics']);

/** Registers the SDK and the instrumentations; `flushTracing()` exports what is left before exit. */
export async function startTracing(settings: TracingSettings): Promise<void> {
  const { NodeSDK } = await import('@opentelemetry/sdk-node');
  const { FastifyOtelInstrumentation } = await import('@fastify/otel');

  // The SDK reads its configuration from the environment only; these fill what the operator left unset.
  for (const [name, value] of Object.entries(settings.sdkEnvDefaults)) process.env[name] = value;
  const sdk = new NodeSDK({
    ...(settings.defaultServiceName ? { serviceName: settings.defaultServiceName } : {}),
    instrumentations: [
      new FastifyOtelInstrumentation({
        registerOnInitialization: true,
        instrumentHooks: false,
        instrumentHandler: false,
        ignorePaths: (options) => UNTRACED_PATHS.has(options.url),
        // `url.path` is the raw URL: a guest order's access token must not reach the trace backend.
        requestHook: (span, request) => span.setAttribute('url.path', redactUrl(request.url, request.routeOptions.url)),
      }),
    ],
  });
  sdk.start();
  markTracingStarted(() => sdk.shutdown());
}
