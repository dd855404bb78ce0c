import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ConfigError, loadConfig } from '../../platform/config/config.ts';
import { DeploymentSpecError, SEED_DEPLOYMENT_SPEC, WEB_IDLE_MEMORY_MIB, WORKER_IDLE_MEMORY_MIB, checkDeploymentSpec, getIdleMemoryFloorReplicas, getTerminationGraceSeconds, withOverrides } from './deployment-spec.ts';
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

describe('checkDeploymentSpec and the cron triggers’ time zone', () => {
  // The KEDA cron trigger's `timezone` is "One of the acceptable values from the IANA Time Zone Database"
  // (https://keda.sh/docs/2.17/scalers/cron/), read with Go's time.LoadLocation (kedacore/keda pkg/scalers/cron_scaler.go:
  // `location, err := time.LoadLocation(s.metadata.timezone)` → "Unable to load timezone"), which looks the name up as a
  // file, case-sensitively, and knows no bare offsets. Node's Intl takes both, so the plan computes and renders.
  it('refuses a prescale.timeZone KEDA cannot load (a UTC offset, a name in the wrong case) instead of rendering cron triggers that fail', () => {
    const accepted = ['+01:00', '-05:00', 'europe/paris', 'utc'].filter((timeZone) => {
      try {
        checkDeploymentSpec(withOverrides(SEED_DEPLOYMENT_SPEC, { prescale: { timeZone } }));
        return true;
      } catch (error) {
        return !(error instanceof DeploymentSpecError);
      }
    });
    assert.deepEqual(accepted, [], 'prescale.timeZone values the spec accepts and KEDA cannot load');
    for (const timeZone of ['UTC', 'Europe/Paris', 'America/New_York', 'Etc/GMT-1']) checkDeploymentSpec(withOverrides(SEED_DEPLOYMENT_SPEC, { prescale: { timeZone } }));
  });
});

describe('the web HPA’s memory target and a web pod’s own memory', () => {
  // WEB_IDLE_MEMORY_MIB: measured (deployment-spec.ts). The HPA compares the container's working set with the request
  // and asks for ceil(n × idle / target) pods: adding pods does not lower a per-pod baseline.
  const withMemoryTarget = (memoryPercent: number | null, min = SEED_DEPLOYMENT_SPEC.web.replicas.min) => {
    const spec = structuredClone(SEED_DEPLOYMENT_SPEC);
    spec.web.autoscaling.memoryPercent = memoryPercent;
    spec.web.replicas.min = min;
    spec.web.replicas.desired = Math.max(min, spec.web.replicas.desired);
    return spec;
  };

  it('scales web on no memory metric by default, so memory never holds pods above replicas.min', () => {
    assert.equal(SEED_DEPLOYMENT_SPEC.web.autoscaling.memoryPercent, null);
  });

  it('puts the idle floor at the largest n with ceil(n × idle / target) = n: 4 pods at the seed’s former 80 % of 512 MiB', () => {
    assert.equal(getIdleMemoryFloorReplicas(WEB_IDLE_MEMORY_MIB, 512, 80, 0.1), 4);
    assert.equal(getIdleMemoryFloorReplicas(WEB_IDLE_MEMORY_MIB, 512, 100, 0.1), 2);
    assert.equal(getIdleMemoryFloorReplicas(WEB_IDLE_MEMORY_MIB, 1024, 80, 0.1), 1);
    // Within the tolerance of the target the HPA never scales in on memory: any count holds.
    assert.equal(getIdleMemoryFloorReplicas(WEB_IDLE_MEMORY_MIB, 512, 65, 0.1), Number.POSITIVE_INFINITY);
  });

  it('refuses a memory target whose idle floor exceeds web.replicas.min, naming the floor', () => {
    assert.throws(() => checkDeploymentSpec(withMemoryTarget(80)), /memoryPercent 80 holds an idle web Deployment at 4 pods, above web.replicas.min 2/);
    assert.throws(() => checkDeploymentSpec(withMemoryTarget(60)), /memoryPercent 60 holds an idle web Deployment at replicas.max/);
  });

  it('accepts a memory target whose idle floor is at most web.replicas.min', () => {
    assert.doesNotThrow(() => checkDeploymentSpec(withMemoryTarget(80, 4)));
    assert.doesNotThrow(() => checkDeploymentSpec(withMemoryTarget(100)));
  });

  it('refuses a web memory request below an idle web pod’s memory (the 256 MiB of earlier seeds)', () => {
    assert.throws(() => checkDeploymentSpec(withOverrides(SEED_DEPLOYMENT_SPEC, { web: { requests: { cpuMillicores: 250, memoryMiB: 256 } } })), /web.requests.memoryMiB 256/);
  });
});

describe('a worker pod’s memory request and an idle worker’s own memory', () => {
  // WORKER_IDLE_MEMORY_MIB: measured (deployment-spec.ts).
  const idleWorkerMiB = WORKER_IDLE_MEMORY_MIB;

  it('requests at least an idle worker’s memory, so the scheduler does not over-pack nodes and workers are not the first evicted under node memory pressure', () => {
    const { requests } = SEED_DEPLOYMENT_SPEC.worker;
    assert.ok(requests.memoryMiB >= idleWorkerMiB, `worker.requests.memoryMiB ${requests.memoryMiB} is below an idle worker's ${idleWorkerMiB} MiB: every worker runs above its request from boot`);
  });

  it('refuses a worker memory request below an idle worker’s memory (the 256 MiB of earlier seeds)', () => {
    assert.throws(() => checkDeploymentSpec(withOverrides(SEED_DEPLOYMENT_SPEC, { worker: { requests: { cpuMillicores: 250, memoryMiB: 256 } } })), /worker.requests.memoryMiB 256/);
  });
});

describe('checkDeploymentSpec and the app’s TRUST_PROXY rule', () => {
  const base = { DATABASE_URL: 'postgres://u@h/db', REDIS_URL: 'redis://h:6379' };
  // What the app says at start-up of the TRUST_PROXY the spec renders (role-env.ts joins the entries with commas).
  const appRefusal = (cidrs: readonly string[]): string | undefined => {
    try {
      loadConfig({ ...base, TRUST_PROXY: cidrs.join(',') });
      return undefined;
    } catch (error) {
      if (!(error instanceof ConfigError)) throw error;
      return error.message;
    }
  };
  const specProblems = (cidrs: readonly string[]): string[] => {
    try {
      checkDeploymentSpec(withOverrides(SEED_DEPLOYMENT_SPEC, { web: { trustedProxyCidrs: cidrs } }));
      return [];
    } catch (error) {
      if (!(error instanceof DeploymentSpecError)) throw error;
      return error.problems;
    }
  };

  it('refuses a web.trustedProxyCidrs the app refuses at boot (every address, an entry wider than a private range, a malformed entry, a hop count in a list), with the app’s own message, instead of rendering web pods that exit 2', () => {
    const refused: (readonly string[])[] = [
      ['0.0.0.0/0'], ['::/0'], ['::ffff:0:0/96'], ['0.0.0.0/1', '128.0.0.0/1'], ['::/1', '8000::/1'], ['10.0.0.0/7'], ['fc00::/6'], ['::ffff:10.0.0.0/103'],
      ['not-an-address'], ['10.0.0.0/33'], ['true'], ['10.0.0.0/8', '1'], ['0'], ['6'],
    ];
    const accepted = refused.filter((cidrs) => {
      const message = appRefusal(cidrs);
      assert.ok(message !== undefined, `the app accepts TRUST_PROXY=${cidrs.join(',')}`);
      return !specProblems(cidrs).some((problem) => problem.includes(message));
    });
    assert.deepEqual(accepted, [], 'web.trustedProxyCidrs values the spec accepts (or refuses without the app’s message) and the app refuses');
  });

  it('refuses a hop count alone (TRUST_PROXY=2 to the app), which is not a CIDR: behind the one proxy k8s and AWS put in front, a client forges an X-Forwarded-For entry', () => {
    for (const cidrs of [['1'], ['2'], [' 3 ']]) {
      assert.equal(appRefusal(cidrs), undefined, `the app reads TRUST_PROXY=${cidrs.join(',')} as a hop count`);
      const problems = specProblems(cidrs);
      assert.ok(problems.some((problem) => problem.startsWith('web.trustedProxyCidrs') && /hop count/.test(problem) && /not a CIDR/.test(problem)), `${cidrs.join(',')}: ${JSON.stringify(problems)}`);
    }
  });

  it('accepts the addresses/CIDRs the app accepts: the seed’s private ranges, fc00::/7, single addresses', () => {
    for (const cidrs of [SEED_DEPLOYMENT_SPEC.web.trustedProxyCidrs, ['fc00::/7'], ['10.1.2.3', '::1']]) {
      assert.equal(appRefusal(cidrs), undefined, cidrs.join(','));
      assert.deepEqual(specProblems(cidrs), [], cidrs.join(','));
    }
  });
});
