/**
 * Starts the OpenTelemetry Node SDK. Imported (dynamically) by `src/main.ts` before any module it
 * instruments is loaded: the ESM loader hook has to see `pg` and `ioredis` being imported, and the
 * CommonJS hook `node:http`, for their instrumentations to patch them.
 *
 * Exporter, protocol, endpoint, headers, sampler and batching come from the standard `OTEL_*`
 * variables, read by the SDK itself (OTLP over HTTP/protobuf to `OTEL_EXPORTER_OTLP_ENDPOINT` by default).
 *
 * What is traced: incoming HTTP requests (`@opentelemetry/instrumentation-http`, probes left out),
 * Fastify's request and handler spans (`@fastify/otel`, lifecycle-hook spans off: one span per hook
 * and per request costs throughput and says little), pg and ioredis commands made inside a trace
 * (`requireParentSpan`, so pollers and BullMQ's blocking reads don't open a trace each), and BullMQ
 * producers and consumers (BullMQ's own telemetry through `bullmq-otel`, see `queueTelemetry`).
 */
import { register as registerEsmHook } from 'import-in-the-middle/register-hooks.mjs';
import type { TracingSettings } from './tracing.config.ts';
import { markTracingStarted } from './trace-context.ts';

/** Probes and scrapes: frequent, uninteresting, and they would drown the traces worth reading. */
const UNTRACED_PATHS = new Set(['/health', '/ready', '/metrics']);

/** Registers the SDK and the instrumentations; `flushTracing()` exports what is left before exit. */
export async function startTracing(settings: TracingSettings): Promise<void> {
  // In-thread ESM hook for the modules instrumented here only (the rest load untouched).
  registerEsmHook({ include: ['pg', 'pg-pool', 'ioredis'] });
  const { NodeSDK } = await import('@opentelemetry/sdk-node');
  const { HttpInstrumentation } = await import('@opentelemetry/instrumentation-http');
  const { PgInstrumentation } = await import('@opentelemetry/instrumentation-pg');
  const { IORedisInstrumentation } = await import('@opentelemetry/instrumentation-ioredis');
  const { FastifyOtelInstrumentation } = await import('@fastify/otel');

  const sdk = new NodeSDK({
    ...(settings.defaultServiceName ? { serviceName: settings.defaultServiceName } : {}),
    instrumentations: [
      new HttpInstrumentation({
        ignoreIncomingRequestHook: (request) => UNTRACED_PATHS.has((request.url ?? '').split('?')[0] ?? ''),
        // Outgoing HTTP is only the exporter's own traffic and the test clients' here.
        ignoreOutgoingRequestHook: () => true,
      }),
      new FastifyOtelInstrumentation({ registerOnInitialization: true, instrumentHooks: false, ignorePaths: (options) => UNTRACED_PATHS.has(options.url) }),
      new PgInstrumentation({ requireParentSpan: true, ignoreConnectSpans: true }),
      new IORedisInstrumentation({ requireParentSpan: true }),
    ],
  });
  sdk.start();
  markTracingStarted(() => sdk.shutdown());
}
