import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { tracingConfigProblem, tracingSettings } from './tracing.config.ts';

describe('tracingSettings', () => {
  it('is off with no OTEL_* variable', () => {
    assert.equal(tracingSettings({}, 'web').enabled, false);
  });
  it('is on when an OTLP endpoint is set', () => {
    assert.equal(tracingSettings({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:4318' }, 'web').enabled, true);
    assert.equal(tracingSettings({ OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'http://127.0.0.1:4318/v1/traces' }, 'web').enabled, true);
  });
  it('is on when a traces exporter is named, off when it is none', () => {
    assert.equal(tracingSettings({ OTEL_TRACES_EXPORTER: 'otlp' }, 'worker').enabled, true);
    assert.equal(tracingSettings({ OTEL_TRACES_EXPORTER: 'console' }, 'worker').enabled, true);
    assert.equal(tracingSettings({ OTEL_TRACES_EXPORTER: 'none', OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:4318' }, 'web').enabled, false);
  });
  it('OTEL_SDK_DISABLED=true wins', () => {
    assert.equal(tracingSettings({ OTEL_SDK_DISABLED: 'true', OTEL_TRACES_EXPORTER: 'otlp' }, 'web').enabled, false);
  });
  it('names the service after the role', () => {
    assert.equal(tracingSettings({}, 'worker').defaultServiceName, 'salescale-worker');
    assert.equal(tracingSettings({ OTEL_SERVICE_NAME: 'shop' }, 'worker').defaultServiceName, undefined);
  });
  it('leaves OpenTelemetry metrics and logs off unless their exporters are named', () => {
    assert.deepEqual(tracingSettings({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:4318' }, 'web').sdkEnvDefaults, { OTEL_METRICS_EXPORTER: 'none', OTEL_LOGS_EXPORTER: 'none' });
    assert.deepEqual(tracingSettings({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:4318', OTEL_METRICS_EXPORTER: 'otlp' }, 'web').sdkEnvDefaults, { OTEL_LOGS_EXPORTER: 'none' });
  });

  it('takes the samplers and ratios the SDK builds (a problem only for what it would replace by sampling everything)', () => {
    for (const env of [
      {},
      { OTEL_TRACES_SAMPLER: 'parentbased_traceidratio', OTEL_TRACES_SAMPLER_ARG: '0.1' },
      { OTEL_TRACES_SAMPLER: 'traceidratio', OTEL_TRACES_SAMPLER_ARG: '1' },
      { OTEL_TRACES_SAMPLER: 'traceidratio', OTEL_TRACES_SAMPLER_ARG: '0' },
      { OTEL_TRACES_SAMPLER: 'parentbased_traceidratio', OTEL_TRACES_SAMPLER_ARG: '.05' },
      { OTEL_TRACES_SAMPLER: 'always_off' },
    ]) assert.equal(tracingConfigProblem(env), undefined, JSON.stringify(env));
    for (const arg of ['10', '1.5', '-0.1', '0,1', '10%', 'abc']) {
      assert.match(tracingConfigProblem({ OTEL_TRACES_SAMPLER: 'parentbased_traceidratio', OTEL_TRACES_SAMPLER_ARG: arg }) ?? '', /^OTEL_TRACES_SAMPLER_ARG: must be a ratio/, arg);
    }
    assert.match(tracingConfigProblem({ OTEL_TRACES_SAMPLER: 'ratio' }) ?? '', /^OTEL_TRACES_SAMPLER: unknown sampler "ratio"/);
  });
});
