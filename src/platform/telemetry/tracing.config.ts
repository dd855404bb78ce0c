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
