import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ScalingInputError } from '../errors.ts';
import { parseHpa, parsePodMetricsList, parseQuantityMilli } from './hpa-k8s-input.ts';

describe('kubectl inputs for the HPA port', () => {
  it('reads quantities as MilliValue, rounding up like the API machinery', () => {
    assert.equal(parseQuantityMilli('500m'), 500);
    assert.equal(parseQuantityMilli('1'), 1000);
    assert.equal(parseQuantityMilli('1.5'), 1500);
    assert.equal(parseQuantityMilli('12345678n'), 13); // metrics-server nanocores: 12.345678m → 13m
    assert.equal(parseQuantityMilli('1Ki'), 1024000);
    assert.equal(parseQuantityMilli('2k'), 2000000);
    assert.equal(parseQuantityMilli(3), 3000);
    assert.equal(parseQuantityMilli('lots'), null);
    assert.equal(parseQuantityMilli('5 m'), null);
  });

  it('defaults minReplicas to 1 and the metrics to CPU at 80 %, keeps unknown metric types as invalid metrics', () => {
    const h = parseHpa({ apiVersion: 'autoscaling/v2', kind: 'HorizontalPodAutoscaler', metadata: { name: 'web' }, spec: { scaleTargetRef: { kind: 'Deployment', name: 'web' }, maxReplicas: 10 } });
    assert.equal(h.spec.minReplicas, 1);
    assert.deepEqual(h.spec.metrics, [{ type: 'Resource', name: 'cpu', target: { type: 'Utilization', averageUtilization: 80 } }]);
    const u = parseHpa({ apiVersion: 'autoscaling/v2', kind: 'HorizontalPodAutoscaler', spec: { scaleTargetRef: { kind: 'Deployment', name: 'web' }, maxReplicas: 3, metrics: [{ type: 'CheddarCheese' }] } });
    assert.deepEqual(u.spec.metrics, [{ type: 'Unknown', sourceType: 'CheddarCheese' }]);
  });

  it('reads behavior with per-direction tolerance and fills the API defaults', () => {
    const h = parseHpa({
      apiVersion: 'autoscaling/v2',
      kind: 'HorizontalPodAutoscaler',
      spec: { scaleTargetRef: { kind: 'Deployment', name: 'web' }, maxReplicas: 10, behavior: { scaleUp: { tolerance: '50m', selectPolicy: 'Disabled' } } },
    });
    assert.equal(h.spec.behavior?.scaleUp.tolerance, 0.05);
    assert.equal(h.spec.behavior?.scaleUp.selectPolicy, 'Disabled');
    assert.equal(h.spec.behavior?.scaleDown.stabilizationWindowSeconds, 300);
  });

  it('refuses a behavior policy out of range with the field named', () => {
    assert.throws(
      () => parseHpa({ apiVersion: 'autoscaling/v2', kind: 'HorizontalPodAutoscaler', spec: { scaleTargetRef: { kind: 'Deployment', name: 'web' }, maxReplicas: 10, behavior: { scaleDown: { policies: [{ type: 'Pods', value: 1, periodSeconds: 4000 }] } } } }),
      (e: unknown) => e instanceof ScalingInputError && e.code === 'MALFORMED_HPA' && /spec\.behavior\.scaleDown\.policies\[\]\.periodSeconds/.test(e.message),
    );
  });

  it('refuses a policy value that is not an int32 (HPAScalingPolicy.value is int32; the API server refuses 1.5)', () => {
    const hpa = (value: unknown) => ({ apiVersion: 'autoscaling/v2', kind: 'HorizontalPodAutoscaler', spec: { scaleTargetRef: { kind: 'Deployment', name: 'web' }, maxReplicas: 10, behavior: { scaleUp: { policies: [{ type: 'Pods', value, periodSeconds: 15 }] } } } });
    for (const value of [1.5, 2 ** 31]) {
      assert.throws(
        () => parseHpa(hpa(value)),
        (e: unknown) => e instanceof ScalingInputError && e.code === 'MALFORMED_HPA' && /spec\.behavior\.scaleUp\.policies\[\]\.value must be an integer from 1 to 2147483647/.test(e.message),
        String(value),
      );
    }
    assert.equal(parseHpa(hpa(2)).spec.behavior?.scaleUp.policies[0].value, 2);
  });

  it('reads metrics-server windows as Go durations', () => {
    const m = parsePodMetricsList({ kind: 'PodMetricsList', items: [{ metadata: { name: 'a' }, timestamp: '2026-11-27T10:00:00Z', window: '1m0s', containers: [{ name: 'app', usage: { cpu: '250m' } }] }] });
    assert.equal(m[0].window, 60);
    const n = parsePodMetricsList({ kind: 'PodMetricsList', items: [{ metadata: { name: 'a' }, timestamp: '2026-11-27T10:00:00Z', window: '15.5s', containers: [] }] });
    assert.equal(n[0].window, 15.5);
  });
});
