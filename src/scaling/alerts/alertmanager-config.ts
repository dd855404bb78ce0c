/**
 * Where the alert table's alerts go: an Alertmanager configuration (`salescale alerts --alertmanager`,
 * deploy/prometheus/alertmanager.yml), derived from the same table as the rules, so a new rule is routed and its
 * twin inhibited without anyone editing a second file.
 *
 * - Routing by `severity` (each rule's label): critical pages, warning goes to the team's chat, info is recorded
 *   only (the alert timeline and Prometheus' `ALERTS` series keep it) — except an info rule whose `action` asks to
 *   notify the team (`notify_team`: SaleEventStarted), which goes to chat. An alert of a severity the tree does not
 *   know falls back to chat: someone sees it.
 * - Grouping by alert name and the labels that say where (role, queue, sale event, provider), so one notification
 *   covers every instance of one problem, and web and worker stay apart.
 * - Inhibition: a critical alert silences its warning twin for the same labels (HighCpuUsage for role=web
 *   silences ElevatedCpuUsage for role=web, not for role=worker). Twins are found in the table, not listed: two
 *   rules of different severities whose expressions differ only in the threshold and the range windows watch one
 *   signal (see `getAlertSignal`).
 * - Receivers are placeholders: webhook URLs on the reserved `.invalid` domain, which can never resolve, so an
 *   Alertmanager started from this file notifies nobody (and leaks nothing) until the team puts its own there — a
 *   paging service's Alertmanager webhook, a chat integration — or replaces the webhook with a `pagerduty_configs`
 *   or `slack_configs` block. `salescale alerts --paging-url … --chat-url …` renders them in.
 */
import { Document } from 'yaml';
import type { AlertRule, AlertSeverity } from './alert-rules.ts';
import { ALERT_RULES } from './alert-rules.ts';

/** The receivers' names, as routes and `amtool config routes test` name them. */
export const RECEIVERS = { paging: 'salescale-paging', chat: 'salescale-chat', quiet: 'salescale-null' } as const;

/** Placeholder webhook URLs (RFC 2606 `.invalid`: never resolves, so nothing is sent until the team sets its own). */
export const PLACEHOLDER_URLS = { paging: 'https://paging.example.invalid/salescale', chat: 'https://chat.example.invalid/salescale' } as const;

/** Alerts that share these labels are sent together (one notification); `alertname` keeps problems apart. */
export const ALERT_GROUP_BY = ['alertname', 'role', 'queue', 'sale_event', 'provider'] as const;

/**
 * The labels the rules' expressions keep (their `by`): a critical alert inhibits its twin only where these are
 * equal. A label neither alert carries counts as equal (Alertmanager compares the empty values).
 */
export const ALERT_IDENTITY_LABELS = ['role', 'pool', 'queue', 'instance_id', 'sale_event', 'provider', 'payment_action'] as const;

interface Timing {
  /** How long the first notification of a new group waits for more alerts of it. */
  groupWait: string;
  /** How long before a group that changed (an alert added or resolved) is sent again. */
  groupInterval: string;
  /** How long before a group that did not change is sent again while it fires. */
  repeatInterval: string;
}

/**
 * How each severity is routed, for a sale day: a page goes out 10 s after the first critical alert (a minute of
 * sale is worth more than one batched page) and repeats hourly while it fires; warnings batch for 30 s and repeat
 * every 4 hours; info waits a minute and repeats daily.
 */
export const SEVERITY_ROUTING: Record<AlertSeverity, { receiver: keyof typeof RECEIVERS } & Timing> = {
  critical: { receiver: 'paging', groupWait: '10s', groupInterval: '1m', repeatInterval: '1h' },
  warning: { receiver: 'chat', groupWait: '30s', groupInterval: '5m', repeatInterval: '4h' },
  info: { receiver: 'quiet', groupWait: '1m', groupInterval: '10m', repeatInterval: '24h' },
};

/** Actions that ask for the team to be told: an info alert with one of these goes to chat, not to the null receiver. */
export const TEAM_ACTIONS: readonly AlertRule['action'][] = ['notify_team'];

const SEVERITY_RANK: Record<AlertSeverity, number> = { critical: 3, warning: 2, info: 1 };

/**
 * What a rule watches, without how much of it fires the rule: the expression with its range windows (`[1m]`,
 * `[5m]`) blanked and its trailing threshold comparison (`> 0.9`) removed. HighCpuUsage (`… > 0.9`, 2 min) and
 * ElevatedCpuUsage (`… > 0.7`, 5 min) watch one signal; HighResponseTimeP95 and HighResponseTimeP99 do not (0.95
 * and 0.99 are quantiles, not thresholds).
 */
export function getAlertSignal(expr: string): string {
  return expr
    .replaceAll(/\[\d+[smhdwy]\]/g, '[]')
    .replace(/\s*(>=|<=|==|!=|>|<)\s*-?\d+(\.\d+)?\s*$/, '')
    .trim();
}

/** Critical/warning twins of the table: `source` (the more severe) inhibits `target` (the same signal, less severe). */
export function getInhibitionPairs(rules: readonly AlertRule[] = ALERT_RULES): { source: string; target: string }[] {
  const pairs: { source: string; target: string }[] = [];
  for (const source of rules) {
    for (const target of rules) {
      if (SEVERITY_RANK[source.severity] <= SEVERITY_RANK[target.severity]) continue;
      if (getAlertSignal(source.expr) === getAlertSignal(target.expr)) pairs.push({ source: source.name, target: target.name });
    }
  }
  return pairs;
}

const timing = (t: Timing) => ({ group_wait: t.groupWait, group_interval: t.groupInterval, repeat_interval: t.repeatInterval });

/** The configuration as an object (Alertmanager's YAML field names). */
export function buildAlertmanagerConfig(rules: readonly AlertRule[] = ALERT_RULES, urls: { paging: string; chat: string } = PLACEHOLDER_URLS) {
  const severities = [...new Set(rules.map((rule) => rule.severity))].sort((a, b) => SEVERITY_RANK[b] - SEVERITY_RANK[a]);
  const routes = severities.flatMap((severity) => {
    const policy = SEVERITY_ROUTING[severity];
    const own = { matchers: [`severity="${severity}"`], receiver: RECEIVERS[policy.receiver], ...timing(policy) };
    if (policy.receiver !== 'quiet') return [own];
    // A quiet severity still tells the team what a rule's action asks to be told (only actions the table uses).
    const told = TEAM_ACTIONS.filter((action) => rules.some((rule) => rule.severity === severity && rule.action === action));
    return [
      ...told.map((action) => ({ matchers: [`severity="${severity}"`, `action="${action}"`], receiver: RECEIVERS.chat, ...timing(policy) })),
      own,
    ];
  });
  return {
    route: { receiver: RECEIVERS.chat, group_by: [...ALERT_GROUP_BY], ...timing(SEVERITY_ROUTING.warning), routes },
    inhibit_rules: getInhibitionPairs(rules).map((pair) => ({
      source_matchers: [`alertname="${pair.source}"`],
      target_matchers: [`alertname="${pair.target}"`],
      equal: [...ALERT_IDENTITY_LABELS],
    })),
    receivers: [
      { name: RECEIVERS.paging, webhook_configs: [{ url: urls.paging, send_resolved: true }] },
      { name: RECEIVERS.chat, webhook_configs: [{ url: urls.chat, send_resolved: true }] },
      { name: RECEIVERS.quiet },
    ],
  };
}

/** The configuration as deploy/prometheus/alertmanager.yml: the object above with comments for whoever fills it in. */
export function renderAlertmanagerConfig(rules: readonly AlertRule[] = ALERT_RULES, urls: { paging: string; chat: string } = PLACEHOLDER_URLS): string {
  const doc = new Document(buildAlertmanagerConfig(rules, urls));
  const receivers = doc.get('receivers') as { items: { commentBefore?: string }[] };
  const placeholder = (url: string) => (Object.values(PLACEHOLDER_URLS).includes(url as never) ? ' PLACEHOLDER: put your own URL here (or a pagerduty_configs / slack_configs block).' : '');
  receivers.items[0]!.commentBefore = ` Critical alerts: whoever is on call (a paging service's Alertmanager webhook).${placeholder(urls.paging)}`;
  receivers.items[1]!.commentBefore = ` Warnings, and info alerts whose action is notify_team: the team's chat.${placeholder(urls.chat)}`;
  receivers.items[2]!.commentBefore = ' Informational alerts: no notification (the alert timeline and Prometheus ALERTS keep them).';
  const header = [
    '# Generated by `salescale alerts --alertmanager` from src/scaling/alerts/alertmanager-config.ts. Do not edit by hand:',
    '# set the receivers with --paging-url and --chat-url (or replace their webhook_configs after rendering, and keep',
    '# the file out of the generator). Routes by severity; a critical alert inhibits its warning twin (same signal,',
    '# same labels); see docs/runbook.md, "Where alerts go".',
  ].join('\n');
  return `${header}\n${doc.toString({ lineWidth: 0 })}`;
}
