import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ConfigError, loadConfig } from '../../platform/config/config.ts';
import { DeploymentSpecError, SEED_DEPLOYMENT_SPEC, checkDeploymentSpec, getTerminationGraceSeconds, withOverrides } from './deployment-spec.ts';
import { renderHeroku } from './render-paas.ts';

describe('checkDeploymentSpec and the app’s shutdown limit', () => {
  it('refuses drain.shutdownTimeoutSeconds 0, which renders SHUTDOWN_TIMEOUT_MS=0 (no limit in the app) under a grace period that assumes a limit', () => {
    // SHUTDOWN_TIMEOUT_MS=0 is "no limit" for the web and worker roles: the platform's kill (drain + 0 + margin here) is then
    // the only one, so the rendered terminationGracePeriodSeconds no longer covers the drain it is computed for.
    const spec = withOverrides(SEED_DEPLOYMENT_SPEC, { drain: { shutdownTimeoutSeconds: 0 } });
    const heroku = renderHeroku(spec);
    const herokuTimeout = JSON.stringify(heroku).match(/SHUTDOWN_TIMEOUT_MS\\?"[^0-9]*(\d+)/)?.[1];
    assert.throws(
      () => checkDeploymentSpec(spec),
      DeploymentSpecError,
      `accepted: renders SHUTDOWN_TIMEOUT_MS=0 (no limit) with terminationGracePeriodSeconds ${getTerminationGraceSeconds(spec)}, and Heroku SHUTDOWN_TIMEOUT_MS=${herokuTimeout} under its 30 s kill`,
    );
  });
});

describe('checkDeploymentSpec and the app’s REDIS_PREFIX rule', () => {
  it('refuses a worker.redisPrefix the app refuses at boot (a brace, a glob character, whitespace), instead of rendering manifests whose every pod exits 2', () => {
    const base = { DATABASE_URL: 'postgres://u@h/db', REDIS_URL: 'redis://h:6379' };
    const accepted = ['shop}', '{shop', 'my shop', 'shop*'].filter((prefix) => {
      assert.throws(() => loadConfig({ ...base, REDIS_PREFIX: prefix }), (error: ConfigError) => error instanceof ConfigError && error.variable === 'REDIS_PREFIX');
      try {
        checkDeploymentSpec(withOverrides(SEED_DEPLOYMENT_SPEC, { worker: { redisPrefix: prefix } }));
        return true;
      } catch (error) {
        return !(error instanceof DeploymentSpecError);
      }
    });
    assert.deepEqual(accepted, [], 'worker.redisPrefix values the spec accepts and the app refuses');
  });
});
