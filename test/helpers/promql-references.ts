/**
 * What a shipped PromQL query reads: its metric names and its equality label matchers, found by parsing the query
 * with Prometheus' own grammar (`@prometheus-io/lezer-promql`, the parser of the Prometheus web UI), not by
 * pattern matching, so that function names, aggregation labels (`by (queue)`), `label_replace` arguments and
 * string literals are never taken for metric names, and a query that does not parse is an error, not a query
 * that reads nothing.
 *
 * And where the shipped queries are: the runbook's inline code spans (see `getRunbookQueries`).
 */
import type { SyntaxNode } from '@lezer/common';
import { parser } from '@prometheus-io/lezer-promql';

/** One `label="value"` or `label!="value"` matcher of a selector (a regex cannot be checked by value). */
export interface EqualityMatcher {
  metric: string | undefined;
  label: string;
  value: string;
}

export interface QueryReferences {
  /** Metric names of the query's selectors (the identifier before `{`, or a `__name__="…"` matcher). */
  metrics: string[];
  /** Every `label="value"` and `label!="value"` matcher, with the metric of its selector (undefined for a selector without a name). */
  matchers: EqualityMatcher[];
  /**
   * Each `by (…)` of an aggregation: its labels, the metrics it aggregates, and the labels `label_replace` makes inside
   * it. A label no aggregated series carries groups everything under an empty value (a legend `{{queue}}` left blank,
   * an alert's `{{ $labels.queue }}` empty) instead of one series per value.
   */
  groupings: { labels: string[]; metrics: string[]; created: string[] }[];
}

export class PromqlSyntaxError extends Error {}

/** Grafana's interval variables are not PromQL: a stand-in duration, as Grafana substitutes one before sending. */
export function replaceGrafanaVariables(expr: string): string {
  return expr.replaceAll(/\$__(rate_interval|interval|range)\b/g, '1m');
}

/** Parses `expr`; throws PromqlSyntaxError (with the offending position) when it is not one PromQL expression. */
function parse(expr: string): SyntaxNode {
  const tree = parser.parse(expr);
  let error: number | undefined;
  tree.iterate({
    enter(node) {
      if (node.type.isError && error === undefined) error = node.from;
    },
  });
  if (error !== undefined) throw new PromqlSyntaxError(`not PromQL at ${error}: ${expr.slice(0, error)}⟨here⟩${expr.slice(error)}`);
  return tree.topNode;
}

/** The value of a StringLiteral node: PromQL strings are Go-style, so JSON reads the double-quoted ones. */
function readString(expr: string, node: SyntaxNode): string {
  const text = expr.slice(node.from, node.to);
  if (text.startsWith('`')) return text.slice(1, -1);
  if (text.startsWith("'")) return JSON.parse(`"${text.slice(1, -1).replaceAll('"', '\\"')}"`);
  return JSON.parse(text);
}

/** Is `expr` one PromQL expression? */
export function isPromql(expr: string): boolean {
  try {
    parse(expr);
    return true;
  } catch (e) {
    if (e instanceof PromqlSyntaxError) return false;
    throw e;
  }
}

/** The metric names and equality matchers `expr` reads; throws PromqlSyntaxError when it does not parse. */
export function getQueryReferences(expr: string): QueryReferences {
  const top = parse(expr);
  const metrics = new Set<string>();
  const matchers: EqualityMatcher[] = [];
  const groupings: QueryReferences['groupings'] = [];
  const cursor = top.cursor();
  do {
    if (cursor.name === 'AggregateExpr') {
      const modifier = cursor.node.getChild('AggregateModifier');
      const body = cursor.node.getChild('FunctionCallBody');
      if (modifier?.getChild('By') && body) {
        const labels = (modifier.getChild('GroupingLabels')?.getChildren('LabelName') ?? []).map((n) => expr.slice(n.from, n.to));
        const inner = getQueryReferences(expr.slice(body.from, body.to));
        groupings.push({ labels, metrics: inner.metrics, created: getCreatedLabels(expr.slice(body.from, body.to)) });
      }
      continue;
    }
    if (cursor.name !== 'VectorSelector') continue;
    const selector = cursor.node;
    let metric = selector.getChild('Identifier') ? expr.slice(selector.getChild('Identifier')!.from, selector.getChild('Identifier')!.to) : undefined;
    const found: Omit<EqualityMatcher, 'metric'>[] = [];
    for (const matcher of selector.getChild('LabelMatchers')?.getChildren('UnquotedLabelMatcher') ?? []) {
      const label = matcher.getChild('LabelName');
      const op = matcher.getChild('MatchOp')?.firstChild;
      const value = matcher.getChild('StringLiteral');
      if (!label || !op || !value || (op.name !== 'EqlSingle' && op.name !== 'Neq')) continue;
      found.push({ label: expr.slice(label.from, label.to), value: readString(expr, value) });
    }
    const name = found.find((m) => m.label === '__name__');
    if (name) metric = name.value;
    if (metric !== undefined) metrics.add(metric);
    for (const m of found) if (m.label !== '__name__') matchers.push({ metric, ...m });
  } while (cursor.next());
  return { metrics: [...metrics], matchers, groupings };
}

/** The labels `label_replace(v, "dst", …)` calls of `expr` write. */
function getCreatedLabels(expr: string): string[] {
  const created: string[] = [];
  const cursor = parse(expr).cursor();
  do {
    if (cursor.name !== 'FunctionCall' || !cursor.node.getChild('FunctionIdentifier')?.getChild('LabelReplace')) continue;
    const destination = cursor.node.getChild('FunctionCallBody')?.getChildren('StringLiteral')[0];
    if (destination) created.push(readString(expr, destination));
  } while (cursor.next());
  return created;
}

/** A query found in a Markdown document, with the line it is on. */
export interface DocumentQuery {
  query: string;
  line: number;
}

/** The inline code spans of a Markdown document (outside fenced blocks), each with its line (1-based). */
export function getInlineCode(markdown: string): DocumentQuery[] {
  const spans: DocumentQuery[] = [];
  let fenced = false;
  // A span may wrap onto the next line (the runbook wraps long queries): join each paragraph first.
  const lines = markdown.split('\n');
  let paragraph: { text: string; line: number } | undefined;
  const flush = () => {
    if (!paragraph) return;
    const { text, line } = paragraph;
    for (const match of text.matchAll(/(`+)([^`]|[^`][\s\S]*?[^`])\1(?!`)/g)) {
      const before = text.slice(0, match.index);
      spans.push({ query: match[2]!.replaceAll(/\s*\n\s*/g, ' ').trim(), line: line + (before.match(/\n/g)?.length ?? 0) });
    }
    paragraph = undefined;
  };
  lines.forEach((text, i) => {
    if (/^(```|~~~)/.test(text)) {
      flush();
      fenced = !fenced;
      return;
    }
    if (fenced) return;
    if (text.trim() === '' || /^#{1,6}\s/.test(text)) {
      flush();
      return;
    }
    paragraph = paragraph ? { text: `${paragraph.text}\n${text}`, line: paragraph.line } : { text, line: i + 1 };
  });
  flush();
  return spans;
}

/**
 * Is `name` written the way Salescale's metrics are: lower case, and either a recording rule (`level:metric:operations`)
 * or a snake-case name whose first word is one of `metricPrefixes` (`salescale_…`, `queue_…`, `db_…`)?
 */
export function isMetricLike(name: string, metricPrefixes: ReadonlySet<string>): boolean {
  if (/^[a-z_][a-z0-9_]*(:[a-z0-9_]+){2}$/.test(name)) return true;
  return /^[a-z][a-z0-9]*(_[a-z0-9]+)+$/.test(name) && metricPrefixes.has(name.split('_')[0]!);
}

/**
 * The runbook's queries: its inline code spans that parse as PromQL and are plainly queries. A bare word parses as a
 * selector too (`DB_POOL_MAX`, `pending_payment`, `capture`), and so do `GET /health` (a division) and `redis-cli`
 * (a subtraction), so a span counts only when it has PromQL's own punctuation — a call, a selector's `{…}`, a range
 * `[…]` — or reads a name written the way Salescale's metrics are (`isMetricLike`). Spans that look like a query but
 * do not parse are returned in `unparsed`: a typo in a query must fail the check, not drop the query from it.
 */
export function getRunbookQueries(markdown: string, metricPrefixes: ReadonlySet<string>): { queries: DocumentQuery[]; unparsed: DocumentQuery[] } {
  const queries: DocumentQuery[] = [];
  const unparsed: DocumentQuery[] = [];
  for (const span of getInlineCode(markdown)) {
    if (!isPromql(span.query)) {
      if (looksLikeQuery(span.query)) unparsed.push(span);
      continue;
    }
    const punctuated = /[{[(]/.test(span.query);
    if (punctuated || getQueryReferences(span.query).metrics.some((name) => isMetricLike(name, metricPrefixes))) queries.push(span);
  }
  return { queries, unparsed };
}

/**
 * A span that a reader would take for a query: a PromQL aggregation or function call, or a lower-case metric name
 * followed by `{` or `[`. Shell commands, SQL (upper-case keywords), routes and JSON bodies do not look like one.
 */
function looksLikeQuery(span: string): boolean {
  if (/^(SELECT|SHOW|GET|PUT|POST|PATCH|DELETE)\b|^[a-z-]+ -|^\{"|^(kubectl|aws|gcloud|az|heroku|doctl|docker|psql|redis-cli|salescale|node|npx|npm|du)\b/.test(span)) return false;
  return /\b(sum|max|min|avg|count|rate|irate|increase|histogram_quantile|topk|bottomk|max_over_time|label_replace)\s*(by|without)?\s*\(|^[a-z_][a-z0-9_:]*[{[]/.test(span);
}
