/**
 * Acceptance: a real Prometheus (Debian's `prometheus` package) scrapes two `salescale serve`
 * instances and evaluates the generated alert rules; a synthetic overload (many concurrent
 * database-bound requests against DB_POOL_MAX=1) drives HighDbConnections to firing, and forged payment
 * webhooks drive PaymentWebhookSignatureFailures.
 * The rules are the real table with every `for` divided by 60 (2 min → 2 s, 5 min → 5 s) to keep the test short;
 * the full durations are proven by `promtool test rules` (alert-rules.test.ts).
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { TEST_SIGNATURE_HEADER } from '../../src/modules/payments/index.ts';
import { ALERT_RULES } from '../../src/scaling/alerts/alert-rules.ts';
import { renderPrometheusRules } from '../../src/scaling/alerts/prometheus-rules.ts';
import { createTestApp, type TestApp } from '../helpers/app.ts';
import { startInstance, type Instance } from '../helpers/instances.ts';
import { startListeningChild } from '../helpers/listening-child.ts';

const hasPrometheus = spawnSync('prometheus', ['--version']).status === 0;
const TIME_SCALE = 60;
const DEADLINE_MS = 90_000;

interface PromAlert {
  labels: Record<string, string>;
  state: 'pending' | 'firing';
}

describe('a real Prometheus scraping two instances', { skip: hasPrometheus ? false : 'prometheus not installed (apt-get install -y prometheus)' }, () => {
  let t: TestApp;
  const instances: Instance[] = [];
  let prometheus: ChildProcess | undefined;
  let promUrl = '';
  let dir = '';
  let promLog = '';

  before(async () => {
    t = await createTestApp();
    const env = { ...t.env, DB_POOL_MAX: '1', RATE_LIMIT_ENABLED: 'false' };
    // One after the other, so that a failed start leaves no process behind (the machine may be busy).
    for (const id of ['web-a', 'web-b']) instances.push(await startInstance({ env: { ...env, INSTANCE_ID: id }, timeoutMs: 60_000 }));

    dir = mkdtempSync(path.join(tmpdir(), 'salescale-prometheus-'));
    const rules = ALERT_RULES.map((rule) => ({ ...rule, forSeconds: Math.ceil(rule.forSeconds / TIME_SCALE) }));
    writeFileSync(path.join(dir, 'alert-rules.yml'), renderPrometheusRules(rules));
    const targets = instances.map((i) => `'127.0.0.1:${i.port}'`).join(', ');
    writeFileSync(
      path.join(dir, 'prometheus.yml'),
      `global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\nrule_files:\n  - alert-rules.yml\nscrape_configs:\n  - job_name: salescale-web\n    static_configs:\n      - targets: [${targets}]\n`,
    );
    // Its port is found by startListeningChild, which starts it again on another if another process took it first;
    // the Prometheus that answers must be this one (its configuration file).
    const configFile = path.join(dir, 'prometheus.yml');
    ({ url: promUrl } = await startListeningChild({
      what: 'prometheus',
      spawn(port) {
        prometheus = spawn('prometheus', [`--config.file=${configFile}`, `--storage.tsdb.path=${path.join(dir, 'data')}`, `--web.listen-address=127.0.0.1:${port}`, '--log.level=warn'], {
          stdio: ['ignore', 'pipe', 'pipe'],
        });
        prometheus.stdout?.on('data', (c) => (promLog += c));
        prometheus.stderr?.on('data', (c) => (promLog += c));
        return prometheus;
      },
      async ours(url) {
        if (!(await fetch(`${url}/-/ready`, { signal: AbortSignal.timeout(5000) })).ok) return false;
        const flags = (await (await fetch(`${url}/api/v1/status/flags`, { signal: AbortSignal.timeout(5000) })).json()) as { data: Record<string, string> };
        return flags.data['config.file'] === configFile;
      },
      timeoutMs: 20_000,
    }));
  });

  after(async () => {
    if (prometheus && prometheus.exitCode === null) {
      const exited = new Promise((resolve) => prometheus?.once('exit', resolve));
      prometheus.kill('SIGTERM');
      await exited;
    }
    await Promise.all(instances.map((i) => i.stop()));
    await t?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  const query = async (expr: string) => {
    const body = (await (await fetch(`${promUrl}/api/v1/query?query=${encodeURIComponent(expr)}`)).json()) as { data: { result: { metric: Record<string, string>; value: [number, string] }[] } };
    return body.data.result;
  };
  const alerts = async () => ((await (await fetch(`${promUrl}/api/v1/alerts`)).json()) as { data: { alerts: PromAlert[] } }).data.alerts;
  const waitFor = async <T>(what: string, probe: () => Promise<T | undefined>): Promise<T> => {
    const deadline = Date.now() + DEADLINE_MS;
    for (;;) {
      const value = await probe();
      if (value !== undefined) return value;
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}\n${promLog}`);
      await new Promise((r) => setTimeout(r, 500));
    }
  };

  it('scrapes both instances and loads every generated rule', async () => {
    await waitFor('two healthy targets', async () => ((await query('sum(up{job="salescale-web"})'))[0]?.value[1] === '2' ? true : undefined));
    const instancesSeen = await query('count by (instance_id) (process_cpu_limit_cores)');
    assert.deepEqual(instancesSeen.map((r) => r.metric.instance_id).sort(), ['web-a', 'web-b']);
    const groups = ((await (await fetch(`${promUrl}/api/v1/rules`)).json()) as { data: { groups: { rules: { name: string; health: string }[] }[] } }).data.groups;
    const loaded = groups.flatMap((g) => g.rules);
    assert.equal(loaded.length, ALERT_RULES.length);
    for (const rule of loaded) assert.notEqual(rule.health, 'err', rule.name);
  });

  it('fires HighDbConnections under a synthetic overload (pool of 1, many concurrent database reads)', async () => {
    const before = await alerts();
    assert.ok(!before.some((a) => a.labels.alertname === 'HighDbConnections'), 'not firing while idle');

    let stop = false;
    let sent = 0;
    const admin = { authorization: t.admin.authorization };
    const client = async (n: number) => {
      for (let i = 0; !stop; i++) {
        const target = instances[(n + i) % instances.length]!;
        // Admin reads bypass the cache: each one needs the (single) pool connection.
        await fetch(`${target.url}/api/v1/admin/products/${1_000_000 + n * 10_000 + i}`, { headers: admin }).then((r) => r.arrayBuffer(), () => undefined);
        sent++;
      }
    };
    const load = Promise.all(Array.from({ length: 24 }, (_, n) => client(n)));
    try {
      const firing = await waitFor('HighDbConnections to fire', async () => {
        const list = (await alerts()).filter((a) => a.labels.alertname === 'HighDbConnections' && a.state === 'firing');
        return list.length > 0 ? list : undefined;
      });
      assert.equal(firing[0]!.labels.severity, 'critical');
      assert.equal(firing[0]!.labels.action, 'scale_up');
      assert.equal(firing[0]!.labels.pool, 'primary');
      // The overload is visible in the raw signal too: requests queued for a connection.
      const waiting = await query('max_over_time(max(db_pool_connections{state="waiting"})[1m:1s])');
      assert.ok(Number(waiting[0]?.value[1]) > 0, 'queued checkouts seen during the overload');
    } finally {
      stop = true;
      await load;
    }
    assert.ok(sent > 0);
  });

  it('fires PaymentWebhookSignatureFailures on forged payment webhooks', async () => {
    assert.ok(!(await alerts()).some((a) => a.labels.alertname === 'PaymentWebhookSignatureFailures'), 'not firing before');
    const [target] = instances;
    const forge = async () => {
      const reply = await fetch(`${target!.url}/api/v1/payments/webhooks/test`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', [TEST_SIGNATURE_HEADER]: `t=${Math.floor(Date.now() / 1000)},v1=${'0'.repeat(64)}` },
        body: JSON.stringify({ id: `evt_forged_${Math.random()}`, type: 'payment.authorized', data: { orderId: 1, intentId: 'tpi_1_x' } }),
      });
      assert.equal(reply.status, 400);
      assert.equal(((await reply.json()) as { error: { code: string } }).error.code, 'WEBHOOK_SIGNATURE_INVALID');
    };
    // The counter's series starts at the first refusal: let Prometheus see it once, then the burst.
    await forge();
    await waitFor('the refusal counter to be scraped', async () =>
      (await query('salescale_payment_webhooks_total{outcome="signature_invalid"}')).length > 0 ? true : undefined,
    );
    for (let i = 0; i < 12; i++) await forge();
    const firing = await waitFor('PaymentWebhookSignatureFailures to fire', async () => {
      const list = (await alerts()).filter((a) => a.labels.alertname === 'PaymentWebhookSignatureFailures' && a.state === 'firing');
      return list.length > 0 ? list : undefined;
    });
    assert.equal(firing[0]!.labels.provider, 'test');
    assert.equal(firing[0]!.labels.severity, 'warning');
    assert.equal(firing[0]!.labels.action, 'investigate');
  });
});
