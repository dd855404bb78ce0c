import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it, type TestContext } from 'node:test';
import { stringify } from 'yaml';
import { startListeningChild } from '../../../test/helpers/listening-child.ts';
import { ALERT_RULES } from './alert-rules.ts';
import { ALERT_FIXTURES } from './alert-rules.fixtures.ts';
import { RECEIVERS, SEVERITY_ROUTING, TEAM_ACTIONS, buildAlertmanagerConfig, getAlertSignal, getInhibitionPairs, renderAlertmanagerConfig } from './alertmanager-config.ts';

const CONFIG_FILE = path.resolve(import.meta.dirname, '../../../deploy/prometheus/alertmanager.yml');
const hasAmtool = spawnSync('amtool', ['--version']).status === 0;
const hasAlertmanager = spawnSync('prometheus-alertmanager', ['--version']).status === 0;

/** Skips without the tool, except on CI, which installs it (.ci/run) and must run these tests. */
function skipWithout(context: TestContext, present: boolean): boolean {
  if (present) return false;
  const reason = 'amtool / prometheus-alertmanager not installed (apt-get install -y prometheus-alertmanager)';
  if (process.env.CI === 'true') throw new Error(`${reason} — CI must run the Alertmanager tests`);
  context.skip(reason);
  return true;
}

/** The receiver an alert of `rule` should reach. */
function expectedReceiver(rule: (typeof ALERT_RULES)[number]): string {
  const { receiver } = SEVERITY_ROUTING[rule.severity];
  if (receiver === 'quiet' && TEAM_ACTIONS.includes(rule.action)) return RECEIVERS.chat;
  return RECEIVERS[receiver];
}

describe('Alertmanager configuration', () => {
  it('pairs each critical alert with the warning that watches the same signal, found in the table', () => {
    assert.deepEqual(getInhibitionPairs(), [
      { source: 'HighCpuUsage', target: 'ElevatedCpuUsage' },
      { source: 'HighMemoryUsage', target: 'ElevatedMemoryUsage' },
      { source: 'HighErrorRate', target: 'ElevatedErrorRate' },
      { source: 'HighResponseTimeP95', target: 'ElevatedResponseTimeP95' },
      { source: 'HighQueueDepth', target: 'ElevatedQueueDepth' },
    ]);
    // A quantile is not a threshold: p95 and p99 are different signals.
    assert.notEqual(getAlertSignal('histogram_quantile(0.95, x[1m]) > 2'), getAlertSignal('histogram_quantile(0.99, x[5m]) > 1'));
    assert.equal(getAlertSignal('avg by (role) (rate(c[1m])) > 0.9'), getAlertSignal('avg by (role) (rate(c[5m])) > 0.7'));
  });

  it('routes every severity of the table, and never inhibits without a twin of lower severity', () => {
    const config = buildAlertmanagerConfig();
    const routed = new Set(config.route.routes.map((r) => r.matchers[0]));
    for (const rule of ALERT_RULES) assert.ok(routed.has(`severity="${rule.severity}"`), rule.name);
    const names = new Map(ALERT_RULES.map((r) => [r.name, r]));
    for (const rule of config.inhibit_rules) {
      const [source, target] = [rule.source_matchers[0]!, rule.target_matchers[0]!].map((m) => names.get(/"(.*)"/.exec(m)![1]!)!);
      assert.ok(source.severity === 'critical' && target.severity === 'warning', `${source.name} ⇒ ${target.name}`);
    }
  });

  it('matches the committed deploy/prometheus/alertmanager.yml (run `salescale alerts --alertmanager …` after changing the table)', () => {
    assert.equal(readFileSync(CONFIG_FILE, 'utf8'), renderAlertmanagerConfig(), 'stale alertmanager.yml: npx salescale alerts --alertmanager deploy/prometheus/alertmanager.yml');
    assert.match(readFileSync(CONFIG_FILE, 'utf8'), /PLACEHOLDER/, 'the committed receivers say they are placeholders');
  });

  it('passes amtool check-config', (t) => {
    if (skipWithout(t, hasAmtool)) return;
    const result = spawnSync('amtool', ['check-config', CONFIG_FILE], { encoding: 'utf8' });
    assert.equal(result.status, 0, result.stdout + result.stderr);
    assert.match(result.stdout, /SUCCESS/);
    assert.match(result.stdout, /5 inhibit rules/);
  });

  it('routes each alert of the table to its receiver (amtool config routes test)', (t) => {
    if (skipWithout(t, hasAmtool)) return;
    for (const rule of ALERT_RULES) {
      // The labels the alert fires with: its own and those of its promtool fixture (role, queue, provider, …).
      const labels = { alertname: rule.name, severity: rule.severity, action: rule.action, ...ALERT_FIXTURES[rule.name]!.labels };
      const args = ['config', 'routes', 'test', `--config.file=${CONFIG_FILE}`, `--verify.receivers=${expectedReceiver(rule)}`, ...Object.entries(labels).map(([k, v]) => `${k}=${v}`)];
      const result = spawnSync('amtool', args, { encoding: 'utf8' });
      assert.equal(result.status, 0, `${rule.name} → ${expectedReceiver(rule)}: ${result.stdout}${result.stderr}`);
    }
    const unknown = spawnSync('amtool', ['config', 'routes', 'test', `--config.file=${CONFIG_FILE}`, 'alertname=Unknown', 'severity=page'], { encoding: 'utf8' });
    assert.equal(unknown.stdout.trim(), RECEIVERS.chat, 'an alert of an unknown severity still reaches people');
  });

  describe('a real Alertmanager', () => {
    let alertmanager: ChildProcess | undefined;
    let webhooks: Server | undefined;
    let amUrl = '';
    let log = '';
    let dir = '';
    const received: { receiver: string; path: string; alerts: { labels: Record<string, string> }[] }[] = [];

    before(async () => {
      if (!hasAlertmanager) return;
      webhooks = createServer((req, res) => {
        let body = '';
        req.on('data', (c) => (body += c));
        req.on('end', () => {
          const parsed = JSON.parse(body) as { receiver: string; alerts: { labels: Record<string, string> }[] };
          received.push({ receiver: parsed.receiver, path: req.url ?? '', alerts: parsed.alerts });
          res.end('ok');
        });
      });
      await new Promise<void>((resolve) => webhooks!.listen(0, '127.0.0.1', resolve));
      const hook = `http://127.0.0.1:${(webhooks.address() as AddressInfo).port}`;
      // The generated configuration with the receivers pointing here and the waits shortened (routing and inhibition
      // are what is checked, not the timings).
      const config = buildAlertmanagerConfig(ALERT_RULES, { paging: `${hook}/paging`, chat: `${hook}/chat` });
      const fast = { group_wait: '1s', group_interval: '1s' };
      const shortened = { ...config, route: { ...config.route, ...fast, routes: config.route.routes.map((r) => ({ ...r, ...fast })) } };
      dir = mkdtempSync(path.join(tmpdir(), 'salescale-alertmanager-'));
      writeFileSync(path.join(dir, 'alertmanager.yml'), stringify(shortened));
      // Its port is found by startListeningChild, which starts it again on another if another process took it first;
      // the Alertmanager that answers must be this one (its configuration, with this test's receivers).
      ({ url: amUrl } = await startListeningChild({
        what: 'alertmanager',
        spawn(port) {
          alertmanager = spawn(
            'prometheus-alertmanager',
            [`--config.file=${path.join(dir, 'alertmanager.yml')}`, `--storage.path=${path.join(dir, 'data')}`, `--web.listen-address=127.0.0.1:${port}`, '--cluster.listen-address=', '--log.level=warn'],
            { stdio: ['ignore', 'pipe', 'pipe'] },
          );
          alertmanager.stdout?.on('data', (c) => (log += c));
          alertmanager.stderr?.on('data', (c) => (log += c));
          return alertmanager;
        },
        async ours(url) {
          if (!(await fetch(`${url}/-/ready`, { signal: AbortSignal.timeout(5000) })).ok) return false;
          const status = (await (await fetch(`${url}/api/v2/status`, { signal: AbortSignal.timeout(5000) })).json()) as { config?: { original?: string } };
          return status.config?.original?.includes(hook) ?? false;
        },
        timeoutMs: 20_000,
      }));
    });

    after(async () => {
      if (alertmanager && alertmanager.exitCode === null) {
        const exited = new Promise((resolve) => alertmanager?.once('exit', resolve));
        alertmanager.kill('SIGTERM');
        await exited;
      }
      await new Promise((resolve) => (webhooks ? webhooks.close(resolve) : resolve(undefined)));
      if (dir) rmSync(dir, { recursive: true, force: true });
    });

    it('pages for HighCpuUsage on web, silences its ElevatedCpuUsage twin on web only, and sends the worker warning to chat', async (t) => {
      if (skipWithout(t, hasAlertmanager)) return;
      const alert = (name: string, role: string) => {
        const rule = ALERT_RULES.find((r) => r.name === name)!;
        return { labels: { alertname: name, severity: rule.severity, action: rule.action, role }, annotations: { summary: rule.summary } };
      };
      const posted = await fetch(`${amUrl}/api/v2/alerts`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify([alert('HighCpuUsage', 'web'), alert('ElevatedCpuUsage', 'web'), alert('ElevatedCpuUsage', 'worker')]),
      });
      assert.equal(posted.status, 200, await posted.text());

      const deadline = Date.now() + 30_000;
      const has = (receiver: string, name: string, role: string) => received.some((r) => r.receiver === receiver && r.alerts.some((a) => a.labels.alertname === name && a.labels.role === role));
      while (!(has(RECEIVERS.paging, 'HighCpuUsage', 'web') && has(RECEIVERS.chat, 'ElevatedCpuUsage', 'worker'))) {
        if (Date.now() > deadline) throw new Error(`notifications not received: ${JSON.stringify(received)}\n${log}`);
        await new Promise((r) => setTimeout(r, 200));
      }
      const state = (await (await fetch(`${amUrl}/api/v2/alerts`)).json()) as { labels: Record<string, string>; status: { state: string; inhibitedBy: string[] } }[];
      const of = (name: string, role: string) => state.find((a) => a.labels.alertname === name && a.labels.role === role)!;
      assert.equal(of('ElevatedCpuUsage', 'web').status.state, 'suppressed');
      assert.equal(of('ElevatedCpuUsage', 'web').status.inhibitedBy.length, 1);
      assert.equal(of('ElevatedCpuUsage', 'worker').status.state, 'active', 'the critical alert on web does not silence the worker warning');
      assert.equal(of('HighCpuUsage', 'web').status.state, 'active');
      assert.ok(!has(RECEIVERS.chat, 'ElevatedCpuUsage', 'web') && !has(RECEIVERS.paging, 'ElevatedCpuUsage', 'web'), 'the inhibited twin was never sent');
      assert.ok(received.every((r) => r.path === (r.receiver === RECEIVERS.paging ? '/paging' : '/chat')));
    });
  });
});
