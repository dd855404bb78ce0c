import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { parse } from 'yaml';
import { SEED_DEPLOYMENT_SPEC, checkDeploymentSpec, withOverrides } from '../manifests/deployment-spec.ts';
import { prometheusRule } from '../manifests/render-k8s.ts';
import { ALERT_RULES } from './alert-rules.ts';
import { ALERT_FIXTURES } from './alert-rules.fixtures.ts';
import { getAnnotations, renderPrometheusRules } from './prometheus-rules.ts';
import { expandLabelTemplates, renderPromtoolTests } from './promtool-tests.ts';
import { DEFAULT_RUNBOOK_URL, findRunbookUrlProblem, getRunbookAnchor, getRunbookUrl } from './runbook-links.ts';

const RUNBOOK_FILE = path.resolve(import.meta.dirname, '../../..', DEFAULT_RUNBOOK_URL);

interface Heading {
  level: number;
  text: string;
  anchor: string;
  /** The lines up to the next heading of the same or a higher level. */
  body: string;
}

/** GitHub's anchor for a heading: lower case, punctuation other than `-` and `_` dropped, spaces as `-`. */
function githubAnchor(text: string): string {
  return text
    .toLowerCase()
    .replace(/[^\p{L}\p{N}\s_-]/gu, '')
    .replace(/\s/g, '-');
}

/** The Markdown headings of a document, outside fenced code blocks. */
function getHeadings(markdown: string): Heading[] {
  const lines = markdown.split('\n');
  const found: { level: number; text: string; line: number }[] = [];
  let fenced = false;
  lines.forEach((line, i) => {
    if (/^(```|~~~)/.test(line)) fenced = !fenced;
    const match = fenced ? null : /^(#{1,6})\s+(.+?)\s*#*\s*$/.exec(line);
    if (match) found.push({ level: match[1]!.length, text: match[2]!, line: i });
  });
  return found.map((h, i) => {
    const end = found.slice(i + 1).find((next) => next.level <= h.level)?.line ?? lines.length;
    return { level: h.level, text: h.text, anchor: githubAnchor(h.text), body: lines.slice(h.line + 1, end).join('\n') };
  });
}

const headings = getHeadings(readFileSync(RUNBOOK_FILE, 'utf8'));
/** One section per alert: the level-3 headings. */
const sections = headings.filter((h) => h.level === 3);

describe('alert runbook links', () => {
  it('gives every alert a description of its impact and a runbook_url to its own section', () => {
    for (const rule of ALERT_RULES) {
      const annotations = getAnnotations(rule);
      assert.ok(rule.description.trim().length >= 40, `${rule.name}: a description says what the alert costs shoppers`);
      assert.notEqual(rule.description, rule.summary, rule.name);
      assert.equal(annotations.runbook_url, `docs/runbook.md#${rule.name.toLowerCase()}`, rule.name);
      assert.equal(annotations.summary, rule.summary, 'the existing annotations stay');
      assert.match(annotations.source ?? '', /^(seed strategy|Salescale), /, rule.name);
    }
  });

  it('has a heading in docs/runbook.md for the anchor of every alert', () => {
    const anchors = new Set(headings.map((h) => h.anchor));
    const missing = ALERT_RULES.filter((rule) => !anchors.has(getRunbookAnchor(rule.name))).map((rule) => rule.name);
    assert.deepEqual(missing, [], `alerts without a section in ${DEFAULT_RUNBOOK_URL}`);
    for (const rule of ALERT_RULES) assert.equal(githubAnchor(rule.name), getRunbookAnchor(rule.name), `${rule.name}: the heading's anchor is the one the link names`);
  });

  it('has no runbook section for an alert that does not exist, and one section per alert', () => {
    const names = new Set(ALERT_RULES.map((rule) => rule.name));
    assert.deepEqual(
      sections.filter((h) => !names.has(h.text)).map((h) => h.text),
      [],
      'level-3 headings of docs/runbook.md are alert names: remove the section of a removed alert, rename it with its alert',
    );
    assert.equal(sections.length, ALERT_RULES.length, 'one section per alert');
  });

  it('keeps every anchor unique, so no alert link lands on another heading', () => {
    const seen = new Map<string, string>();
    for (const h of headings) {
      assert.ok(!seen.has(h.anchor), `"${h.text}" and "${seen.get(h.anchor)}" share the anchor #${h.anchor} (GitHub would number the second)`);
      seen.set(h.anchor, h.text);
    }
  });

  it('orders the sections as the alert table does', () => {
    assert.deepEqual(
      sections.map((h) => h.text),
      ALERT_RULES.map((rule) => rule.name),
    );
  });

  it('says for every actionable alert what fired, the impact, the causes, how to confirm and what to do', () => {
    for (const rule of ALERT_RULES.filter((r) => r.severity !== 'info')) {
      const body = sections.find((h) => h.text === rule.name)?.body ?? '';
      for (const part of ['**What fired.**', '**Impact.**', '**Likely causes', '**Confirm.**', '**What to do.**', '**Do not.**']) {
        assert.ok(body.includes(part), `${rule.name}: its section lacks ${part}`);
      }
      assert.ok(body.includes(`\`${rule.severity}\` · action \`${rule.action}\``), `${rule.name}: its section names its severity and action`);
    }
    for (const rule of ALERT_RULES.filter((r) => r.severity === 'info')) {
      const body = sections.find((h) => h.text === rule.name)?.body ?? '';
      assert.match(body, /No action/, `${rule.name}: an informational section says when no action is needed`);
    }
  });
});

describe('where runbook links point', () => {
  it('appends the anchor to the runbook URL the deployment gives', () => {
    assert.equal(getRunbookUrl('HighQueueDepth'), 'docs/runbook.md#highqueuedepth');
    const url = 'https://git.example.com/shop/salescale/blob/main/docs/runbook.md';
    assert.equal(getRunbookUrl('HighQueueDepth', url), `${url}#highqueuedepth`);
    const rules = parse(renderPrometheusRules(ALERT_RULES, { runbookUrl: url })).groups.flatMap((g: { rules: unknown[] }) => g.rules);
    for (const rule of rules) assert.equal(rule.annotations.runbook_url, `${url}#${rule.alert.toLowerCase()}`);
  });

  it('takes an http(s) URL or a relative path, and refuses one with a fragment, another scheme, blanks or braces', () => {
    for (const ok of ['docs/runbook.md', 'https://docs.example.com/salescale/runbook', 'http://wiki.internal/runbook.md', '../runbook.md']) {
      assert.equal(findRunbookUrlProblem(ok), undefined, ok);
    }
    for (const [bad, why] of [
      ['', /empty/],
      ['docs/runbook.md#top', /fragment/],
      ['javascript:alert(1)', /scheme javascript/],
      ['file:///etc/passwd', /scheme file/],
      ['https://example.com/run book', /blanks/],
      ['https://example.com/{{ $labels.x }}', /braces/],
      ['https://', /not a valid URL/],
    ] as const) {
      assert.match(findRunbookUrlProblem(bad) ?? '', why, bad);
    }
  });

  it("renders the PrometheusRule's links from the deployment spec, whose check refuses an unusable URL", () => {
    assert.equal(SEED_DEPLOYMENT_SPEC.alerts.runbookUrl, DEFAULT_RUNBOOK_URL);
    const url = 'https://docs.example.com/salescale/runbook';
    const spec = withOverrides(SEED_DEPLOYMENT_SPEC, { alerts: { runbookUrl: url } });
    const alerts = (prometheusRule(spec).spec?.groups ?? []).flatMap((g) => g.rules ?? []).filter((r) => r?.alert);
    assert.equal(alerts.length, ALERT_RULES.length);
    for (const rule of alerts) assert.equal(rule?.annotations?.runbook_url, `${url}#${String(rule?.alert).toLowerCase()}`);
    assert.throws(() => checkDeploymentSpec(withOverrides(SEED_DEPLOYMENT_SPEC, { alerts: { runbookUrl: 'docs/runbook.md#x' } })), /alerts\.runbookUrl must not hold a fragment/);
  });

  it('expands {{ $labels.x }} in the promtool expectations, and refuses a template the alert cannot fill', () => {
    assert.equal(expandLabelTemplates('queue {{ $labels.queue }} is deep', { queue: 'email' }, 'x'), 'queue email is deep');
    assert.throws(() => expandLabelTemplates('{{ $labels.role }}', { queue: 'email' }, 'HighQueueDepth description'), /HighQueueDepth description: .*role/);
    assert.throws(() => expandLabelTemplates('at {{ $value }}', {}, 'x'), /only \{\{ \$labels/);
    // Every description's labels are ones its alert carries (the promtool file would not render otherwise).
    assert.doesNotThrow(() => renderPromtoolTests(ALERT_RULES, ALERT_FIXTURES, 'alert-rules.yml'));
  });
});
