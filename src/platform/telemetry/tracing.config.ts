/**
 * Whether this process traces, decided from the standard OpenTelemetry variables only (the SDK reads
 * them itself for everything else: exporter, protocol, headers, sampler, batch delays, resource).
 *
 * The rule: tracing is on when `OTEL_TRACES_EXPORTER` names an exporter (anything but `none`), or when
 * `OTEL_EXPORTER_OTLP_ENDPOINT` or `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT` is set; `OTEL_SDK_DISABLED=true`
 * turns it off whatever else is set. Off by default: nothing is loaded or hooked then.
 *
 * Read before the config module (and before any instrumented module is loaded), so it takes the
 * environment as an argument and depends on nothing.
 */
export interface TracingSettings {
  enabled: boolean;
  /** `service.name` when `OTEL_SERVICE_NAME` does not give one (`salescale-<role>`); undefined when it does. */
  defaultServiceName: string | undefined;
  /**
   * Variables the SDK reads that Salescale defaults differently: OpenTelemetry metrics and logs off
   * (`none`) unless `OTEL_METRICS_EXPORTER` / `OTEL_LOGS_EXPORTER` ask for them. The SDK's own default is
   * OTLP for both, which would record a second set of metrics next to Prometheus' (every request and
   * query into OTel histograms, exported every minute) and cost checkout throughput for nothing.
   */
  sdkEnvDefaults: Record<string, string>;
}

export function tracingSettings(env: Record<string, string | undefined>, role: string): TracingSettings {
  const set = (name: string) => (env[name] ?? '').trim() !== '';
  const exporter = (env.OTEL_TRACES_EXPORTER ?? '').trim().toLowerCase();
  const disabled = (env.OTEL_SDK_DISABLED ?? '').trim().toLowerCase() === 'true';
  const wanted = (exporter !== '' && exporter !== 'none') || (exporter === '' && (set('OTEL_EXPORTER_OTLP_ENDPOINT') || set('OTEL_EXPORTER_OTLP_TRACES_ENDPOINT')));
  const sdkEnvDefaults: Record<string, string> = {};
  for (const name of ['OTEL_METRICS_EXPORTER', 'OTEL_LOGS_EXPORTER']) if (!set(name)) sdkEnvDefaults[name] = 'none';
  return { enabled: wanted && !disabled, defaultServiceName: set('OTEL_SERVICE_NAME') ? undefined : `salescale-${role}`, sdkEnvDefaults };
}

/** Trace exporters the Node SDK knows; it skips any other name with a diagnostic nobody sees (no diag logger). */
const TRACE_EXPORTERS = ['otlp', 'zipkin', 'console', 'none'];
const OTLP_PROTOCOLS = ['http/protobuf', 'http/json', 'grpc'];
/**
 * Samplers the Node SDK builds from OTEL_TRACES_SAMPLER. It takes any other name, and a ratio that is not a number
 * in [0, 1] (`10` meant as 10 %, `0,1`), for its default with a diagnostic nobody sees: every trace sampled, at a
 * sale's peak, costing a quarter to a third of each checkout's CPU (README "Tracing").
 */
const TRACE_SAMPLERS = ['always_on', 'always_off', 'traceidratio', 'parentbased_always_on', 'parentbased_always_off', 'parentbased_traceidratio'];
const RATIO_SAMPLERS = ['traceidratio', 'parentbased_traceidratio'];

/**
 * What is wrong with the OTEL_* variables the SDK reads for traces, as `VARIABLE: reason`, or undefined. The SDK
 * takes a value it does not know for its default (an unknown exporter: none at all; an unknown protocol:
 * http/protobuf) and an endpoint that is not a URL fails every export, each time without a word.
 */
export function tracingConfigProblem(env: Record<string, string | undefined>): string | undefined {
  const value = (name: string) => (env[name] ?? '').trim();
  for (const exporter of value('OTEL_TRACES_EXPORTER').split(',').map((part) => part.trim().toLowerCase()).filter(Boolean)) {
    if (!TRACE_EXPORTERS.includes(exporter)) return `OTEL_TRACES_EXPORTER: unknown exporter "${exporter}" (${TRACE_EXPORTERS.join(', ')})`;
  }
  for (const name of ['OTEL_EXPORTER_OTLP_PROTOCOL', 'OTEL_EXPORTER_OTLP_TRACES_PROTOCOL']) {
    if (value(name) !== '' && !OTLP_PROTOCOLS.includes(value(name))) return `${name}: must be one of ${OTLP_PROTOCOLS.join(', ')}, got "${value(name)}"`;
  }
  const sampler = value('OTEL_TRACES_SAMPLER');
  if (sampler !== '' && !TRACE_SAMPLERS.includes(sampler)) return `OTEL_TRACES_SAMPLER: unknown sampler "${sampler}" (${TRACE_SAMPLERS.join(', ')})`;
  const ratio = value('OTEL_TRACES_SAMPLER_ARG');
  if (ratio !== '' && !RATIO_SAMPLERS.includes(sampler)) return 'OTEL_TRACES_SAMPLER_ARG: is read only with OTEL_TRACES_SAMPLER=traceidratio or parentbased_traceidratio (unset: every trace is sampled)';
  if (ratio !== '' && !(/^(0(\.\d+)?|1(\.0+)?|\.\d+)$/.test(ratio) && Number(ratio) <= 1)) return `OTEL_TRACES_SAMPLER_ARG: must be a ratio between 0 and 1 (0.1 samples one trace in ten), got "${ratio}"`;
  for (const name of ['OTEL_EXPORTER_OTLP_ENDPOINT', 'OTEL_EXPORTER_OTLP_TRACES_ENDPOINT']) {
    if (value(name) === '') continue;
    // The message leaves the URL out: it may carry credentials.
    if (!URL.canParse(value(name)) || !['http:', 'https:'].includes(new URL(value(name)).protocol)) return `${name}: must be an http: or https: URL`;
  }
  return undefined;
}
